"""Accuracy of the golden ISRLU/ISRU models (golden.activation; forward, backward, alpha gradient) against the exact reference, and
the activation side of golden.accuracy (sweeps, statistics, CLI).

The ``TARGET`` tests are the accuracy contract of the golden model (correct rounding of every
16-bit input at the default configuration). They check the golden model's behaviour, not the
measurement: if one fails, the golden model (or its datapath widths) misses the target.
"""
import json

import numpy as np
import pytest

from golden import accuracy, reference
from golden.eval import evaluate
from hw.config import Config
from hw.spec.formats import BF16, FP16, FP32, FloatFormat

ACTIVATIONS = ("isrlu", "isru", "isrlu-grad", "isru-grad", "isrlu-alpha-grad", "isru-alpha-grad")
E4M3 = FloatFormat(4, 3)


# ---------------------------------------------------------------------------------------------
# TARGET: correct rounding of every bf16/fp16 input (grad = 1 for the backward functions)

@pytest.mark.parametrize("fmt", ["bf16", "fp16"])
@pytest.mark.parametrize("function", ACTIVATIONS)
@pytest.mark.parametrize("alpha", [1.0, 3.0])
def test_target_16bit_correctly_rounded(fmt, function, alpha):
    result = accuracy.measure(Config(fmt, function=function, alpha=alpha), progress=False)
    assert result["exhaustive"] is True and result["inputs"] == 1 << 16
    assert result["not_correctly_rounded"] == 0, result["worst_wrong"]
    assert result["max_ulp"] <= 0.5


@pytest.mark.parametrize("fmt", ["bf16", "fp16"])
@pytest.mark.parametrize("function", ["isrlu-alpha-grad", "isru-alpha-grad"])
def test_alpha_gradient_with_any_grad(fmt, function):
    """With arbitrary grad_out the alpha gradient is correctly rounded wherever the result is
    normal; a subnormal result can be ``grad/2 * (1 - eps)`` (large x, grad_out subnormal) that the
    datapath sees on a midpoint, and then rounds to even: within a hair of half an ulp."""
    config = Config(fmt, function=function)
    rng = np.random.default_rng(5)
    x, grad = (rng.integers(0, 1 << 16, 1 << 17, dtype=np.uint64) for _ in range(2))
    y, _ = evaluate(config, x, grad)
    d = reference.activation_compare(config, y, x, grad)
    subnormal = (d["reference"] & np.uint64(config.format.inf)) == 0          # exponent field 0
    assert not (d["wrong"] & ~subnormal).any()
    assert np.nanmax(d["ulp"]) < 0.50001


@pytest.mark.parametrize("function", ACTIVATIONS)
def test_target_fp32_within_one_ulp(function):
    """FP32 (p + guard bits, not 2p): within 1 ulp, at least 99.5 % correctly rounded."""
    config = Config("fp32", function=function, alpha=1.0)
    result = accuracy.measure(config, samples=30_000, progress=False)
    assert result["max_ulp"] < 1.0
    assert result["not_correctly_rounded_share"] < 5e-3
    if config.is_backward:
        result = accuracy.measure(config, grad_samples=30_000, progress=False)
        assert result["max_ulp"] < 1.0


@pytest.mark.parametrize("fmt", [BF16, FP16, FP32, E4M3], ids=lambda f: f.name)
@pytest.mark.parametrize("function", ACTIVATIONS)
@pytest.mark.parametrize("runtime", [False, True], ids=["alpha3", "runtime_alpha"])
def test_golden_special_values_match_reference(fmt, function, runtime):
    """Every special class of x (with every special grad, every special alpha) gives bit for bit
    the reference's result wherever the exact result is not a finite nonzero number."""
    config = Config(fmt, function=function, alpha=None if runtime else 3.0, runtime_alpha=runtime)
    xs, gs = accuracy.special_inputs(fmt), accuracy.grad_specials(fmt)
    x = np.repeat(xs, len(gs))
    grad = np.tile(gs, len(xs)) if config.is_backward else None
    alpha = None
    if runtime:
        alphas = np.concatenate([accuracy.grad_specials(fmt), accuracy.alpha_samples(
            fmt, 4, np.random.default_rng(0))])
        x, alpha = np.repeat(x, len(alphas)), np.tile(alphas, len(x))
        grad = None if grad is None else np.repeat(grad, len(alphas))
    y, _ = evaluate(config, x, grad, alpha)
    d = reference.activation_compare(config, y, x, grad, alpha)
    bad = np.flatnonzero(d["wrong"] & ~d["numeric"])
    assert not len(bad), [(hex(x[i]), None if grad is None else hex(grad[i]),
                           None if alpha is None else hex(alpha[i]), hex(y[i]),
                           hex(d["reference"][i])) for i in bad[:5]]


# ---------------------------------------------------------------------------------------------
# The measurement

def test_measure_activation_report_keys():
    result = accuracy.measure(Config("bf16", function="isru-grad", alpha=3.0), progress=False)
    for key in ("format", "function", "seed", "newton", "table_bits", "magic", "config", "inputs",
                "exhaustive", "max_ulp", "mean_ulp", "max_rel_error", "not_correctly_rounded",
                "not_correctly_rounded_share", "worst_input", "worst_output", "worst_exact",
                "seconds", "alpha", "runtime_alpha", "grad", "sweep", "worst_grad", "worst_alpha",
                "worst_wrong"):
        assert key in result
    assert result["function"] == "isru-grad" and result["alpha"] == 3.0
    assert result["grad"] == "1.0" and result["worst_grad"] == "0x3f80"
    json.dumps(result)


def test_measure_grad_samples_and_runtime_alpha():
    config = Config("fp16", function="isrlu-grad", runtime_alpha=True)
    result = accuracy.measure(config, grad_samples=5_000, progress=False)
    assert result["exhaustive"] is False and result["grad"] == "random"
    special_pairs = len(accuracy.special_inputs(FP16)) * len(accuracy.grad_specials(FP16))
    alpha_pairs = len(accuracy.special_inputs(FP16)) * len(accuracy.grad_specials(FP16))
    assert result["inputs"] == max(5_000, special_pairs) + alpha_pairs
    assert "random alpha" in result["sweep"]
    assert result["worst_alpha"] is not None
    with pytest.raises(ValueError):
        accuracy.measure(Config("fp16", function="isru"), grad_samples=10, progress=False)
    with pytest.raises(ValueError):
        accuracy.measure(Config("fp16"), grad_samples=10, progress=False)


def test_alpha_samples_range():
    rng = np.random.default_rng(1)
    for fmt in (BF16, FP16, FP32):
        a = reference.decode_float(fmt, accuracy.alpha_samples(fmt, 10_000, rng))
        assert (a >= 2.0 ** -4).all() and (a < 2.0 ** 4).all()
    fmt = Config("q4.12").format
    raw = accuracy.alpha_samples(fmt, 10_000, rng)
    assert (raw >= 1).all() and (raw <= fmt.max_int).all()


@pytest.mark.parametrize("function", ["isru", "rsqrt"])
def test_exhaustive_chunk_ranges(monkeypatch, function):
    """``ranges`` sweeps only the chosen chunks of an exhaustive sweep: the same statistics as
    those inputs given directly (chunks of 2**12 here, so that FP16 has 16)."""
    monkeypatch.setattr(accuracy, "CHUNK", 1 << 12)
    config = Config("fp16", function=function)
    part = accuracy.measure(config, exhaustive=True, ranges=(9, 16), progress=False)
    given = accuracy.measure(config, inputs=np.arange(9 << 12, 16 << 12, dtype=np.uint64), progress=False)
    assert part["ranges"] == [9, 16] and part["inputs"] == given["inputs"] == 7 << 12
    for key in ("max_ulp", "not_correctly_rounded", "worst_input"):
        assert part[key] == given[key]
    for bad in [(0, 17), (5, 5), (-1, 3)]:
        with pytest.raises(ValueError, match="ranges must be A:B"):
            accuracy.measure(config, exhaustive=True, ranges=bad, progress=False)
    with pytest.raises(ValueError, match="ranges: only with exhaustive"):
        accuracy.measure(config, ranges=(0, 1), progress=False)


def test_measure_counts_wrong_results(monkeypatch):
    """A golden model that is one ulp off on chosen inputs is caught, with the right errors."""
    config = Config("bf16", function="isru", alpha=3.0)
    x = np.arange(0x3F80, 0x4000, dtype=np.uint64)           # 1 <= x < 2: results in [0.5, 0.58]
    broken = x[::16]

    def off_by_one(cfg, xs, grad=None, alpha=None):
        y, flag = evaluate(cfg, xs, grad, alpha)
        return np.where(np.isin(xs, broken), y + 1, y), flag

    monkeypatch.setattr(accuracy, "evaluate", off_by_one)
    result = accuracy.measure(config, inputs=x, progress=False)
    assert result["not_correctly_rounded"] == len(broken)
    assert 0.5 < result["max_ulp"] <= 1.5
    assert int(result["worst_wrong"]["input"], 16) in broken.tolist()


def test_measure_fixed_point_activation():
    config = Config("q4.12", function="isru-grad", alpha=3.0)
    result = accuracy.measure(config, progress=False)
    assert result["exhaustive"] is True and result["inputs"] == 1 << 16
    assert result["max_ulp"] <= 1.0
    config = Config("q8.8", function="isrlu", runtime_alpha=True)
    x = np.array([0x0100, 0xFF00, 0], dtype=np.uint64)
    alpha = np.array([0x0300, 0xFF00, 0x0100], dtype=np.uint64)     # 3, -1 (invalid), 1
    result = accuracy.measure(config, inputs=x, alpha=alpha, progress=False)
    assert result["inputs"] == 3 and result["not_correctly_rounded"] == 0


def test_cli_activation(tmp_path, capsys):
    path = tmp_path / "isrlu.json"
    assert accuracy.main(["--format", "bf16", "--function", "isrlu", "--alpha", "3", "--quiet",
                          "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "isrlu_bf16_a3" in out and "65,536" in out
    result = json.loads(path.read_text())
    assert result["function"] == "isrlu" and result["exhaustive"] is True
    assert accuracy.main(["--format", "fp16", "--function", "isru-grad", "--grad-samples", "3000",
                          "--quiet"]) == 0
    assert "random (x, grad) pairs" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        accuracy.main(["--format", "fp16", "--function", "isru", "--grad-samples", "10"])


def test_cli_activation_table(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(accuracy, "ACTIVATION_TABLE_FORMATS", ("bf16", "fp32"))
    monkeypatch.setattr(accuracy, "ACTIVATION_TABLE_FUNCTIONS", ("isru", "isru-grad"))
    path = tmp_path / "table.json"
    assert accuracy.main(["--activation-table", "--samples", "2000", "--grad-samples", "2000",
                          "--quiet", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| bf16") or line.startswith("| fp32")]
    # 2 formats x 2 functions x 2 alphas, plus 2 formats x 1 backward function x 2 alphas
    assert len(rows) == 12
    assert "random (x, grad) pairs" in out and "all x, grad 1" in out
    assert len(json.loads(path.read_text())) == 12
