"""Co-simulation of the exported ReLU units (the cost floor of the library) against the golden
model: every 16-bit input, FP32 specials and random patterns, fixed point with its flags, random
stalls, and the stated latency."""
import numpy as np
import pytest

from hw.config import Config
from sim.checks import assert_matches, exhaustive_inputs, float_specials, run
from sim.toolchain import SIMULATORS


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("config", [Config("bf16", function="relu"), Config("fp16", function="relu"),
                                    Config("q4.12", function="relu")], ids=lambda c: c.name)
def test_exhaustive(design, config, simulator):
    d = design(config, simulator)
    x = exhaustive_inputs(config, simulator)
    result = run(d, x)
    assert_matches(config, x, result.y, result.flag)


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_fp32_with_stalls(design, simulator):
    """FP32 specials and 10**5 random patterns (Icarus 10**4) on two lanes, with random input gaps
    and output stalls; the stated latency of one cycle."""
    from sim.runner import run_latency
    config = Config("fp32", function="relu", lanes=2)
    d = design(config, simulator)
    rng = np.random.default_rng(61)
    count = 100_000 if simulator == "verilator" else 10_000
    specials = float_specials(config.format)
    x = np.concatenate([specials, rng.integers(0, 1 << 32, count, dtype=np.uint64), specials[::-1]])
    result = run(d, x, in_gap=0.3, out_stall=0.3, seed=5)
    assert result.stats["in_ready_low"] > 0, "backpressure never reached the input"
    assert_matches(config, x, result.y)
    stats, result = run_latency(d, x[:128])
    assert stats["lone_latency"] == d.latency == 1 and stats["latencies"] == [1]
    assert_matches(config, x[:128], result.y)
