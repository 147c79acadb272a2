"""The golden model's command line (``python -m golden.eval``) and the operand handling of
:func:`golden.eval.evaluate`: every function's operands, and clear usage errors (exit 2) for
missing, superfluous or mis-shaped ones."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from golden.eval import evaluate, flag_path, main
from hw.rtl.top import build_unit
from golden.fma import fma
from hw.config import Config

REPO = Path(__file__).resolve().parent.parent


def f16(values):
    return np.array(values, dtype=np.float16).view(np.uint16)


def bf16(values):
    return (np.array(values, dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16)


@pytest.fixture
def files(tmp_path, monkeypatch):
    """``save(name, array)`` -> the file name, in a temporary working directory."""
    monkeypatch.chdir(tmp_path)

    def save(name, array):
        np.save(tmp_path / f"{name}.npy", array)
        return f"{name}.npy"
    return save


def usage_error(capsys, argv):
    """Run the CLI expecting a usage error; return its message."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    return capsys.readouterr().err


def test_rsqrt(files, capsys):
    x = f16([1.0, 4.0, 0.25, 2.0, 0.0, -1.0, np.inf, np.nan])
    assert main(["--format", "fp16", "--x", files("x", x), "--out", "y.npy"]) == 0
    y = np.load("y.npy")
    assert y.dtype == np.uint16
    np.testing.assert_array_equal(y, evaluate(Config("fp16"), x)[0])
    assert [float(v) for v in y[:4].view(np.float16)] == [1.0, 0.5, 2.0, float(np.float16(2 ** -0.5))]
    assert "rsqrt_fp16" in capsys.readouterr().out


def test_backward_activation_with_grad(files):
    config = Config("bf16", function="isru-grad", alpha=3.0)
    x = bf16([0.0, 1.0, -2.0, 0.5])
    g = bf16([1.0, 2.0, -1.0, 0.0])
    assert main(["--format", "bf16", "--function", "isru-grad", "--alpha", "3",
                 "--x", files("x", x), "--grad", files("g", g), "--out", "y.npy"]) == 0
    y = np.load("y.npy")
    assert y.shape == (4,)
    np.testing.assert_array_equal(y, evaluate(config, x, g)[0])
    assert y[0] == bf16([1.0])[0]              # grad 1 * isru'(0) = 1


def test_runtime_alpha(files):
    config = Config("fp16", function="isru", runtime_alpha=True)
    x = f16([1.0, 2.0, -3.0, 0.0])
    alpha = f16([1.0, 3.0, 0.5, 2.0])
    assert main(["--format", "fp16", "--function", "isru", "--runtime-alpha", "--x", files("x", x),
                 "--alpha-bits", files("a", alpha), "--out", "y.npy"]) == 0
    y = np.load("y.npy")
    np.testing.assert_array_equal(y, evaluate(config, x, alpha=alpha)[0])
    fixed = [evaluate(Config("fp16", function="isru", alpha=float(a)), x[i:i + 1])[0][0]
             for i, a in enumerate(alpha.view(np.float16))]
    np.testing.assert_array_equal(y, fixed)    # runtime alpha = build-time alpha, element-wise


def test_fixed_point_writes_flags(files):
    x = np.array([0x1000, 0x0000, 0x8000, 0x0400], dtype=np.uint16)
    assert main(["--format", "q4.12", "--x", files("x", x), "--out", "y.npy"]) == 0
    y, flag = evaluate(Config("q4.12"), x)
    np.testing.assert_array_equal(np.load("y.npy"), y)
    np.testing.assert_array_equal(np.load(flag_path("y.npy")), flag.astype(np.uint8))
    assert np.load(flag_path("y.npy"))[1] == 1           # rsqrt(0) saturates


def test_fma(files):
    config = Config("fp32", function="fma")
    as_bits = lambda v: np.array(v, dtype=np.float32).view(np.uint32)
    a = as_bits([1.0, 2.0, 1 + 2 ** -23, np.inf, -0.0, 3e38])
    b = as_bits([1.0, 3.0, 1 - 2 ** -23, 0.0, 1.0, 10.0])
    c = as_bits([-1.0, 0.5, -1.0, 1.0, -0.0, 0.0])
    assert main(["--format", "fp32", "--function", "fma", "--a", files("a", a), "--b", files("b", b),
                 "--c", files("c", c), "--out", "y.npy"]) == 0
    y = np.load("y.npy")
    assert y.dtype == np.uint32 and y.shape == (6,)
    np.testing.assert_array_equal(y, fma(config, a, b, c))
    values = y.view(np.float32)
    assert values[0] == 0.0 and not np.signbit(values[0])      # exact cancellation: +0
    assert values[1] == 6.5
    assert values[2] == -(2.0 ** -46)                          # fused: one rounding
    assert np.isnan(values[3])                                 # inf * 0
    assert values[4] == 0.0 and np.signbit(values[4])          # -0 + -0
    assert values[5] == np.inf                                 # overflow


def test_fma_16_bit_formats(files):
    for fmt, conv in (("fp16", f16), ("bf16", bf16)):
        # 0 * -1 + -0 = -0 + -0 = -0
        a, b, c = conv([1.5, -2.0, 0.0]), conv([2.0, 0.25, -1.0]), conv([0.25, 0.5, -0.0])
        assert main(["--format", fmt, "--function", "fma", "--a", files("a", a),
                     "--b", files("b", b), "--c", files("c", c), "--out", "y.npy"]) == 0
        y = np.load("y.npy")
        np.testing.assert_array_equal(y, conv([3.25, 0.0, -0.0]))


@pytest.mark.parametrize("argv, message", [
    (["--function", "fma", "--a", "a.npy", "--b", "a.npy"], "requires --a, --b and --c (missing: --c)"),
    (["--function", "fma", "--a", "a.npy"], "(missing: --b and --c)"),
    (["--function", "fma", "--x", "a.npy", "--a", "a.npy", "--b", "a.npy", "--c", "a.npy"],
     "--x is not used with --function fma (it takes --a, --b and --c)"),
    (["--function", "fma", "--a", "a.npy", "--b", "a.npy", "--c", "a.npy", "--grad", "a.npy"],
     "--grad is not used with --function fma"),
    (["--function", "fma", "--a", "a.npy", "--b", "a.npy", "--c", "short.npy"],
     "--c short.npy: 2 elements, but --a a.npy has 3"),
    (["--format", "q4.12", "--function", "fma", "--a", "a.npy", "--b", "a.npy", "--c", "a.npy"],
     "function 'fma' takes a float format"),
    (["--x", "a.npy", "--a", "a.npy"], "--a is not used with --function rsqrt (it takes --x)"),
    (["--x", "a.npy", "--b", "a.npy", "--c", "a.npy"], "--b and --c are not used"),
    ([], "--function rsqrt requires --x (missing: --x)"),
    (["--function", "isru-grad", "--x", "a.npy"], "(missing: --grad)"),
    (["--function", "isru", "--x", "a.npy", "--grad", "a.npy"], "--grad is not used with --function isru"),
    (["--function", "isru", "--runtime-alpha", "--x", "a.npy"],
     "--function isru --runtime-alpha requires --x and --alpha-bits (missing: --alpha-bits)"),
    (["--function", "isru", "--x", "a.npy", "--alpha-bits", "a.npy"], "--alpha-bits is not used"),
    (["--function", "isru-grad", "--x", "a.npy", "--grad", "short.npy"],
     "--grad short.npy: 2 elements, but --x a.npy has 3"),
    (["--x", "float.npy"], "--x float.npy: float32 values, but this unit's format is fp16"),
    (["--x", "missing.npy"], "--x missing.npy: no such file"),
])
def test_usage_errors(files, capsys, argv, message):
    files("a", f16([1.0, 2.0, 3.0]))
    files("short", f16([1.0, 2.0]))
    files("float", np.ones(3, dtype=np.float32))
    err = usage_error(capsys, ["--format", "fp16", *argv, "--out", "y.npy"])
    assert message in err, err
    assert not Path("y.npy").exists()


def test_float_values_of_the_format(files):
    """A float16 array for fp16 is values: the same results as its bit patterns."""
    x = np.array([1.0, 4.0, 0.25], dtype=np.float16)
    assert main(["--format", "fp16", "--x", files("x", x), "--out", "y.npy"]) == 0
    np.testing.assert_array_equal(np.load("y.npy"), evaluate(Config("fp16"), x.view(np.uint16))[0])


def test_evaluate_operands():
    config = Config("fp16", function="fma")
    one, two = f16([1.0]), f16([2.0])
    assert evaluate(config, a=one, b=two, c=one)[0][0] == f16([3.0])[0]
    assert evaluate(config, **{"a": one, "b": two, "c": two})[0][0] == f16([4.0])[0]
    with pytest.raises(ValueError, match=r"operands a, b and c are required for function 'fma' \(missing: c\)"):
        evaluate(config, a=one, b=two)
    with pytest.raises(ValueError, match="function 'fma' takes operands a, b and c, not x"):
        evaluate(config, one, a=one, b=one, c=one)
    with pytest.raises(ValueError, match=r"b has shape \(2,\), but a has shape \(1,\)"):
        evaluate(config, a=one, b=f16([1.0, 2.0]), c=one)
    with pytest.raises(ValueError, match="a and c are only used with function 'fma', not with 'rsqrt'"):
        evaluate(Config("fp16"), one, a=one, c=one)
    with pytest.raises(ValueError, match="x is required for function 'rsqrt'"):
        evaluate(Config("fp16"))
    with pytest.raises(ValueError, match="c must be integer bit patterns"):
        evaluate(config, a=one, b=one, c=np.ones(1))


@pytest.mark.parametrize("config", [Config("fp16"), Config("q4.12", function="isrlu"),
                                    Config("bf16", function="isru-grad"),
                                    Config("fp16", function="isrlu-grad", runtime_alpha=True),
                                    Config("bf16", function="fma", lanes=2)],
                         ids=lambda c: c.name)
def test_operand_names_match_the_rtl(config):
    """The operands the golden side reads (Config.operands, from the registry) are the unit's
    input payload fields, in the same order."""
    unit = build_unit(config)
    unit._MustUse__silence = True
    assert tuple(unit.i.payload.shape().members) == config.operands


def test_module_entry_point(tmp_path):
    """``python -m golden.eval`` from the repository root: success, and exit 2 on a usage error."""
    for name, value in zip("abc", (f16([1.0]), f16([2.0]), f16([0.5]))):
        np.save(tmp_path / f"{name}.npy", value)
    args = [sys.executable, "-m", "golden.eval", "--format", "fp16", "--function", "fma",
            "--a", str(tmp_path / "a.npy"), "--b", str(tmp_path / "b.npy")]
    done = subprocess.run(args + ["--c", str(tmp_path / "c.npy"), "--out", str(tmp_path / "y.npy")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert np.load(tmp_path / "y.npy")[0] == f16([2.5])[0]
    done = subprocess.run(args + ["--out", str(tmp_path / "z.npy")], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "missing: --c" in done.stderr
