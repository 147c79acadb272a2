"""Co-simulation of the exported logistic units (tanh, the sigmoid and their backward units)
against the bit-exact golden model: every BF16 and FP16 input (backward: with random grads;
Icarus: every 4th input), FP32 specials and random patterns with random stalls, two lanes, and
the stated latency; q4.12 exhaustively with random stalls and the flags. The default suite runs one forward and one backward configuration of each
kind; ``--sim-full`` every function, format and simulator."""
import numpy as np
import pytest

from hw.config import Config
from sim.options import with_full
from sim.checks import assert_matches, check_fp32_with_stalls, exhaustive_inputs, fp32_stall_count, run
from sim.toolchain import SIMULATORS

FUNCTIONS = ("tanh", "tanh-grad", "sigmoid", "sigmoid-grad")


def _grad(config, x, seed):
    return np.random.default_rng(seed).integers(0, 1 << config.in_width, x.size, dtype=np.uint64)


EXHAUSTIVE = [Config(fmt, function=fn) for fmt in ("bf16", "fp16") for fn in FUNCTIONS]
# The default suite: one forward and one backward unit (the others with --sim-full; all twelve
# take about 25 minutes). Icarus runs these netlists at a few thousand cycles a second.
DEFAULT = [Config("bf16", function="tanh"), Config("fp16", function="sigmoid-grad")]
ICARUS = [Config("bf16", function="tanh")]
ICARUS_FULL = [Config("fp16", function="sigmoid-grad")]


@pytest.mark.parametrize("config, simulator",
                         with_full([(c, "verilator") for c in EXHAUSTIVE] + [(c, "icarus") for c in ICARUS + ICARUS_FULL],
                                   [(c, "verilator") for c in DEFAULT] + [(c, "icarus") for c in ICARUS]),
                         ids=lambda v: getattr(v, "name", v))
def test_float16_exhaustive(design, config, simulator):
    d = design(config, simulator)
    x = exhaustive_inputs(config, simulator)
    grad = _grad(config, x, 3) if config.is_backward else None
    result = run(d, x, grad=grad)
    assert_matches(config, x, result.y, grad=grad)


@pytest.mark.parametrize("simulator, function", with_full(
    [(s, f) for s in SIMULATORS for f in FUNCTIONS], [("verilator", "tanh"), ("verilator", "sigmoid-grad")]))
def test_fp32_with_stalls(design, function, simulator, sim_full):
    config = Config("fp32", function=function, lanes=2)
    d = design(config, simulator)
    rng = np.random.default_rng(71)
    count = fp32_stall_count(simulator, sim_full)
    sign = np.where(rng.random(count // 2) < 0.5, -1.0, 1.0)
    near = (sign * np.ldexp(rng.random(count // 2) + 1, rng.integers(-30, 7, count // 2))).astype(np.float32)
    check_fp32_with_stalls(d, config, near.view(np.uint32).astype(np.uint64),
                           rng.integers(0, 1 << 32, count // 2, dtype=np.uint64))


FIXED = [Config("q4.12", function="tanh-grad")] + [Config("q4.12", function=fn) for fn in FUNCTIONS
                                                  if fn != "tanh-grad"]


@pytest.mark.parametrize("config", with_full([(c,) for c in FIXED], [(FIXED[0],)]),
                         ids=lambda v: getattr(v, "name", v))
def test_fixed_exhaustive_with_stalls(design, config):
    """q4.12: every x (backward: with random grads), random stalls, results and saturation flags."""
    d = design(config, "verilator")
    x = np.arange(1 << config.in_width, dtype=np.uint64)
    grad = _grad(config, x, 5) if config.is_backward else None
    result = run(d, x, grad=grad, in_gap=0.2, out_stall=0.2, seed=11)
    assert result.flag is not None
    assert_matches(config, x, result.y, result.flag, grad=grad)
