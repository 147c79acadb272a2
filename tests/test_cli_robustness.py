"""Every command line's handling of a newcomer's mistakes (hw/spec/cli.py, hw/spec/operands.py,
golden/files.py): a bad input or output path exits 2 with one line on stderr, no traceback and no
file left behind, before any long work; float arrays of the format's own dtype are values;
``--json -`` writes JSON to stdout; ``--version`` works everywhere."""
import json
import os
import re
import subprocess
import sys
import unittest.mock
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from golden.eval import evaluate
from golden.files import save_npy, write_files
from hw.config import Config
from hw.spec.cli import package_version
from hw.spec.formats import parse_format
from hw.spec.operands import OperandError, operand_bits

REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
CLIS = ("golden.eval", "golden.accuracy", "golden.train", "golden.nn_benchmark", "golden.plots", "sim.run",
        "sim.exhaustive", "sim.formal", "hw.build", "hw.export", "hw.report", "hw.vectors",
        "fpga.client")


def cli(tmp_path, module, *args):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=tmp_path, env=ENV,
                          capture_output=True, text=True, timeout=300)


def files_in(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


def assert_usage_error(tmp_path, module, args, message):
    """``python -m module args`` exits 2 with one line naming ``message``, no traceback, and
    leaves the folder as it was."""
    before = files_in(tmp_path)
    done = cli(tmp_path, module, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"python -m {module}: error: "), done.stderr
    assert message in lines[0], lines[0]
    assert files_in(tmp_path) == before


@pytest.fixture
def inputs(tmp_path):
    """Operand files of every kind in ``tmp_path``."""
    np.save(tmp_path / "bits.npy", np.array([0x3f80, 0x4080, 0x0000], dtype=np.uint16))
    np.save(tmp_path / "f16.npy", np.array([1.0, 4.0, 0.0], dtype=np.float16))
    np.save(tmp_path / "f64.npy", np.array([1.0, 4.0], dtype=np.float64))
    np.save(tmp_path / "wide.npy", np.array([0x3f80, 0x10000], dtype=np.uint32))
    np.save(tmp_path / "square.npy", np.zeros((2, 2), dtype=np.uint16))
    np.save(tmp_path / "objects.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
    (tmp_path / "text.npy").write_text("1 2 3\n")
    (tmp_path / "a_file").write_text("")
    return tmp_path


@pytest.mark.parametrize("module", CLIS)
def test_version(tmp_path, module):
    done = cli(tmp_path, module, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"isrlu-ip {package_version()}"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", package_version())


OPERAND_CASES = [
    (["--x", "f16.npy"], "--x f16.npy: float16 values, but this unit's format is bf16: if they hold "
                         "raw bits, did you mean x.view(np.uint16)? else convert values with "
                         "x.astype(ml_dtypes.bfloat16)"),
    (["--x", "f64.npy"], "--x f64.npy: float64 values, but"),
    (["--x", "wide.npy"], "--x wide.npy: element 1 is 65536, which does not fit 16-bit bf16 "
                          "patterns"),
    (["--x", "square.npy"], "--x square.npy: shape (2, 2): operands must be 1-D"),
    (["--x", "objects.npy"], "--x objects.npy: not a readable .npy file"),
    (["--x", "text.npy"], "--x text.npy: not a readable .npy file"),
    (["--x", "missing.npy"], "--x missing.npy: no such file"),
    (["--x", "bits.npy", "--out", "no/y.npy"], "--out no/y.npy: folder no does not exist"),
    (["--x", "bits.npy", "--out", "."], "--out .: is a folder, not a file"),
]


@pytest.mark.parametrize("module", ["golden.eval", "sim.run"])
@pytest.mark.parametrize("args, message", OPERAND_CASES, ids=[m[:30] for _, m in OPERAND_CASES])
def test_bad_operands_and_outputs(inputs, module, args, message):
    """Refused before any work (sim.run: before the build), the same way by both tools."""
    out = [] if "--out" in args else ["--out", "y.npy"]
    assert_usage_error(inputs, module, ["--format", "bf16", *args, *out], message)


def test_float16_is_not_bf16_and_wide_patterns_are_not_masked():
    bf16 = parse_format("bf16")
    with pytest.raises(OperandError, match="float16 values, but this unit's format is bf16"):
        operand_bits(np.ones(2, dtype=np.float16), bf16)
    with pytest.raises(OperandError, match="element 0 is 131073"):
        operand_bits(np.array([0x20001]), bf16)
    with pytest.raises(OperandError, match="element 1 is -32769"):
        operand_bits(np.array([0, -32769]), bf16)


@pytest.mark.parametrize("fmt, values", [
    ("bf16", np.array([1.0, 4.0, 0.25, -2.0], dtype=ml_dtypes.bfloat16)),
    ("fp16", np.array([1.0, 4.0, 0.25, -2.0], dtype=np.float16)),
    ("fp32", np.array([1.0, 4.0, 0.25, -2.0], dtype=np.float32))])
def test_float_values_of_the_format(tmp_path, fmt, values):
    """A float array of the format's own dtype is values: the results of its bit patterns
    (a bfloat16 array comes back from np.save as 2-byte void)."""
    np.save(tmp_path / "x.npy", values)
    done = cli(tmp_path, "golden.eval", "--format", fmt, "--x", "x.npy", "--out", "y.npy")
    assert done.returncode == 0, done.stderr
    width = values.dtype.itemsize * 8
    want = evaluate(Config(fmt), values.view(f"uint{width}"))[0]
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), want)


def test_signed_fixed_point_patterns(tmp_path):
    """Negative integers are two's-complement patterns: -1 in q4.12 is 0xffff."""
    np.save(tmp_path / "s.npy", np.array([-1, 0x1000], dtype=np.int16))
    np.save(tmp_path / "u.npy", np.array([0xffff, 0x1000], dtype=np.uint16))
    for name in "su":
        done = cli(tmp_path, "golden.eval", "--format", "q4.12", "--x", f"{name}.npy",
                   "--out", f"y{name}.npy")
        assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "ys.npy"), np.load(tmp_path / "yu.npy"))
    np.testing.assert_array_equal(np.load(tmp_path / "ys.flag.npy"), np.load(tmp_path / "yu.flag.npy"))


def test_out_without_suffix_is_the_printed_file(inputs):
    done = cli(inputs, "golden.eval", "--format", "bf16", "--x", "bits.npy", "--out", "result")
    assert done.returncode == 0, done.stderr
    assert "-> result " in done.stdout
    assert (inputs / "result").is_file() and not (inputs / "result.npy").exists()
    assert np.load(inputs / "result").shape == (3,)


def test_json_to_stdout(tmp_path):
    done = cli(tmp_path, "golden.accuracy", "--format", "e4m3", "--quiet", "--json", "-")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["format"] == "e4m3" and result["inputs"] == 256
    assert "max" in done.stderr                   # the report, out of the JSON's way
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("module, args, message", [
    ("golden.accuracy", ["--format", "e4m3", "--json", "no/r.json"], "--json no/r.json: folder no"),
    ("golden.train", ["--quick", "--json", "no/r.json"], "--json no/r.json: folder no"),
    ("golden.nn_benchmark", ["--json", "no/r.json"], "--json no/r.json: folder no"),
    ("golden.nn_benchmark", ["--formats", "fp64"], "--formats takes names among bf16, fp16, fp32, not 'fp64'"),
    ("sim.exhaustive", ["--format", "fp16", "--json", "no/r.json"], "--json no/r.json: folder no"),
    ("hw.report", ["--json", "no/r.json"], "--json no/r.json: folder no does not exist"),
    ("hw.report", ["--plot", "no/p.svg"], "--plot no/p.svg: folder no does not exist"),
    ("hw.report", ["--cost-plot", "p.png"], "--cost-plot p.png: the file name must end in .svg"),
    ("hw.report", ["--formats", "bf17"], "--formats bf17: format must be one of"),
    ("hw.report", ["--from-json", "missing.json"], "--from-json missing.json: [Errno 2]"),
    ("hw.report", ["--from-json", "a_file"], "--from-json a_file: Expecting value"),
    ("hw.report", ["--parity-plot", "no/p.svg"], "--parity-plot no/p.svg: folder no does not exist"),
    ("golden.plots", ["--out", "no/figs"], "--out no/figs: folder no does not exist"),
    ("golden.plots", ["--out", "a_file"], "--out a_file: is a file, not a folder"),
    ("golden.plots", ["--out", "figs", "--formats", "fp32"], "--formats fp32: the error plots sweep"),
    ("hw.build", ["--seed", "3"], "--seed 3: --seed is the unit's seed type"),
    ("hw.build", ["--out", "no/b"], "--out no/b: folder no does not exist"),
    ("hw.build", ["--out", "a_file"], "--out a_file: is a file, not a folder"),
    ("hw.build", ["--json", "no/s.json"], "--json no/s.json: folder no does not exist"),
    ("hw.build", ["--clock", "-5"], "--clock must be positive, not -5"),
    ("hw.build", ["--baud", "0"], "--baud must be positive, not 0"),
    ("hw.export", ["--format", "e4m3", "--out", "a_file"], "--out a_file: is a file, not a folder"),
    ("hw.export", ["--format", "e4m3", "--out", "no/core"], "--out no/core: folder no does not"),
    ("hw.vectors", ["--format", "e4m3", "--out", "a_file"], "--out a_file: is a file, not a folder"),
    ("hw.vectors", ["--format", "e4m3", "--out", "v", "--count", "0"], "--count must be at least 1"),
    ("fpga.client", ["--port", "/dev/null", "--baud", "0", "info"], "argument --baud: must be positive"),
    ("fpga.client", ["--port", "/dev/null", "--baud", "-9600", "info"], "must be positive, not -9600"),
    ("fpga.client", ["--port", "/dev/no-such-tty", "run", "--in", "f16.npy", "--out", "y.npy"],
     "--in f16.npy: float16 values"),
    ("fpga.client", ["--port", "/dev/no-such-tty", "run", "--in", "missing.npy", "--out", "y.npy"],
     "--in missing.npy: no such file"),
    ("fpga.client", ["--port", "/dev/no-such-tty", "run", "--in", "bits.npy", "--out", "no/y.npy"],
     "--out no/y.npy: folder no does not exist"),
])
def test_usage_errors_before_any_work(inputs, module, args, message):
    assert_usage_error(inputs, module, args, message)


def test_fpga_client_reads_files_before_the_port(inputs):
    """A float16 file for the default bf16 flags is refused before the port is opened: a
    usage error, not the missing port's exit 3."""
    np.save(inputs / "f16.npy", np.ones(3, dtype=np.float16))
    done = cli(inputs, "fpga.client", "--port", "/dev/no-such-tty", "run", "--in", "f16.npy",
               "--out", "y.npy")
    assert done.returncode == 2 and "serial port" not in done.stderr


def test_export_writes_a_small_core(tmp_path):
    done = cli(tmp_path, "hw.export", "--format", "e4m3", "--out", "cores")
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in (tmp_path / "cores").iterdir())
    assert len(names) == 3 and {Path(n).suffix for n in names} == {".v", ".json", ".core"}


def test_write_files_is_all_or_nothing(tmp_path):
    def fail(tmp):
        raise OSError("disk full")
    with pytest.raises(OSError, match="disk full"):
        write_files({tmp_path / "a.v": lambda tmp: Path(tmp).write_text("a"),
                     tmp_path / "b.json": fail})
    assert files_in(tmp_path) == []
    save_npy({tmp_path / "y": np.arange(3), tmp_path / "y.flag.npy": np.zeros(3, dtype=bool)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["y", "y.flag.npy"]
    assert (tmp_path / "y").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_export_failure_leaves_no_file(tmp_path):
    from hw.emit.core import export_core
    with unittest.mock.patch("hw.emit.core.core_text", side_effect=RuntimeError("broken")):
        with pytest.raises(RuntimeError, match="broken"):
            export_core(Config("e4m3"), tmp_path)
    assert files_in(tmp_path) == []


def test_standard_export_deletes_only_its_own_cores(tmp_path):
    """--standard removes stale standard cores it wrote, never a user's files: not a core named
    otherwise (even one this exporter wrote) nor a file without its header."""
    from hw.emit.core import export_core, export_standard
    mine = export_core(Config("e4m3"), tmp_path, name="my_core")
    stale = tmp_path / "isru_bf16_a1_old.v"
    stale.write_text("// isru_bf16_a1_old: ...\n// Generated by isrlu-ip 0.0.1 (...); do not edit.\n")
    (tmp_path / "isru_bf16_notes.v").write_text("module notes; endmodule\n")
    with unittest.mock.patch("hw.emit.core.standard_configs", lambda: [Config("e4m3")]):
        written, removed = export_standard(tmp_path)
    assert removed == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [p.name for p in written] + [p.name for p in mine.values()] + ["isru_bf16_notes.v"])
