"""Tests of sim/exhaustive.py: the Verilator CRC harness against the golden model.

Small slices only (ranges of 2**16 inputs); the full 2**32 sweep is ``python -m sim.exhaustive
--format fp32``. Three harness builds (fp32 rsqrt, fp32 isrlu-grad, bf16 rsqrt), cached in
``sim_build/``.
"""
import json
import zlib

import numpy as np
import pytest

from hw.config import Config
from sim.toolchain import simulator_status

RSQRT_FP32 = Config("fp32")
ONE_RANGE = 0x3f80          # with 2**16 inputs per range: x = 0x3f800000 .. 0x3f80ffff (1.0 up)
SPECIALS_RANGE = 0x7f80     # +inf, the NaNs
NEGATIVE_ONE_RANGE = 0xbf80


@pytest.fixture(scope="module")
def exhaustive():
    reason = simulator_status("verilator")
    if reason is not None:
        pytest.skip(f"verilator unavailable: {reason}")
    from sim import exhaustive
    return exhaustive


def _latency(config):
    from hw.rtl.top import unit_latency
    return unit_latency(config)


def test_pair_operands_are_splitmix64(exhaustive):
    # splitmix64 from state 0: the published first outputs.
    x, grad = exhaustive.pair_operands(RSQRT_FP32, 0, 2, seed=0)
    assert [hex(int(g) << 32 | int(v)) for v, g in zip(x, grad)] == ["0xe220a8397b1dcdaf",
                                                                      "0x6e789e6aa1b965f4"]
    # Counter-based: any slice is the same as the whole.
    whole = exhaustive.pair_operands(RSQRT_FP32, 0, 1000, seed=7)
    part = exhaustive.pair_operands(RSQRT_FP32, 600, 1000, seed=7)
    assert all(np.array_equal(a[600:], b) for a, b in zip(whole, part))
    x16, g16 = exhaustive.pair_operands(Config("fp16", function="isru-grad"), 0, 4096)
    assert x16.max() < 1 << 16 and g16.max() < 1 << 16


def test_golden_crc_is_zlib_of_the_outputs(exhaustive):
    from golden.eval import evaluate
    x = np.arange(0x3f800000, 0x3f800000 + 3 * exhaustive.BLOCK // 2, dtype=np.uint64)
    y, _ = evaluate(RSQRT_FP32, x)
    crc = exhaustive.golden_crc(RSQRT_FP32, "x", int(x[0]), int(x[-1]) + 1, 0, 0)
    assert crc == (zlib.crc32(y.astype("<u4").tobytes()), 0)


def test_plan_ranges(exhaustive):
    assert exhaustive.plan_ranges(RSQRT_FP32) == (24, range(0, 256), 0)
    assert exhaustive.plan_ranges(Config("bf16")) == (16, range(0, 1), 0)
    assert exhaustive.plan_ranges(RSQRT_FP32, (3, 5), 16) == (16, range(3, 5), 0)
    grad = Config("fp32", function="isru-grad")
    assert exhaustive.plan_ranges(grad)[2] == exhaustive.DEFAULT_PAIRS
    with pytest.raises(ValueError):
        exhaustive.plan_ranges(RSQRT_FP32, (0, 257))
    with pytest.raises(ValueError):
        exhaustive.plan_ranges(RSQRT_FP32, pairs=10)
    with pytest.raises(ValueError):
        exhaustive.plan_ranges(RSQRT_FP32, range_bits=33)


def test_fp32_rsqrt_ranges_match(exhaustive):
    for index in (ONE_RANGE, SPECIALS_RANGE):
        result = exhaustive.run(RSQRT_FP32, ranges=(index, index + 1), range_bits=16, jobs=2,
                                progress=False)
        assert result["match"], exhaustive.format_report(result)
        assert result["ranges_compared"] == 1 and result["inputs"] == 1 << 16
        assert result["measured_latency"] == result["latency"] == _latency(RSQRT_FP32)
        assert result["rtl_cycles"] >= 1 << 16 and result["rtl_fast_eval"]


def test_fp32_isrlu_grad_pairs_match(exhaustive):
    config = Config("fp32", function="isrlu-grad")
    result = exhaustive.run(config, ranges=(NEGATIVE_ONE_RANGE, NEGATIVE_ONE_RANGE + 1),
                            range_bits=16, pairs=100_000, jobs=2, progress=False)
    assert result["match"], exhaustive.format_report(result)
    assert result["grad_bits"] == "0x3f800000"
    assert result["ranges_compared"] == 1 + 2           # 100,000 pairs: two ranges of 2**16
    assert result["measured_latency"] == _latency(config)


def test_mismatch_is_detected_and_detailed(exhaustive):
    # The RTL of the default FP32 unit (correctly rounded) against the golden model of the unit that
    # rounds its approximation directly (0.76 ulp).
    other = RSQRT_FP32.with_(rounding="direct")
    result = exhaustive.run(RSQRT_FP32, ranges=(ONE_RANGE, ONE_RANGE + 1), range_bits=16,
                            jobs=2, progress=False, golden_config=other)
    assert not result["match"]
    [mismatch] = result["mismatches"]
    assert mismatch["sweep"] == "x" and mismatch["range"] == ONE_RANGE
    assert mismatch["rtl_crc"] != mismatch["golden_crc"]
    first = mismatch["first"]
    assert 0 < mismatch["differing"] < 1 << 16 and len(first) == exhaustive.DETAIL_LIMIT
    # Every listed input really differs, and the dumped RTL values are the unit's own results.
    from golden.eval import evaluate
    x = np.array([int(d["x"], 16) for d in first], dtype=np.uint64)
    own, _ = evaluate(RSQRT_FP32, x)
    theirs, _ = evaluate(other, x)
    assert [int(d["rtl"], 16) for d in first] == own.tolist()
    assert [int(d["golden"], 16) for d in first] == theirs.tolist()
    assert all(d["rtl"] != d["golden"] for d in first)
    assert x.tolist() == sorted(x.tolist()) and int(x[0]) >> 16 == ONE_RANGE
    report = exhaustive.format_report(result)
    assert "MISMATCH in 1 of 1 ranges" in report and first[0]["x"] in report


def test_cli_16_bit_format_exhaustive(exhaustive, tmp_path, capsys):
    out = tmp_path / "bf16.json"
    status = exhaustive.main(["--format", "bf16", "--jobs", "2", "--quiet", "--json", str(out)])
    text = capsys.readouterr().out
    assert status == 0, text
    result = json.loads(out.read_text())
    assert result["match"] and result["inputs"] == 1 << 16 and result["range_count"] == 1
    assert result["name"] == Config("bf16").name
    assert "all 1 ranges match" in text and "Mcycles/s" in text


def test_cli_rejects_bad_arguments(exhaustive, capsys):
    for argv in (["--format", "fp32", "--ranges", "0:300"],
                 ["--format", "fp32", "--pairs", "10"],
                 ["--format", "fp32", "--function", "fma"]):
        with pytest.raises(SystemExit) as error:
            exhaustive.main(argv)
        assert error.value.code == 2
    capsys.readouterr()
