"""Co-simulation of the exported ISRLU/ISRU units (forward and backward) against the bit-exact
golden model (:func:`golden.eval.evaluate`).

Verilator runs the full vector sets; Icarus (skipped without ``iverilog``) runs a subset of the
configurations with fewer vectors (it is ~10x slower on these designs). Every configuration is a
separate build (alpha is a build-time constant), so each test below is one build and one run.
By default one configuration of each kind runs (every function, both 16-bit formats, both alphas,
each operand port); ``--sim-full`` runs every configuration below with the full FP32 vector
counts. Run with ``pytest sim/ -n 2``.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hw.spec.config import ACTIVATIONS, Config
from sim.checks import ICARUS_EXHAUSTIVE_STRIDE, assert_matches, exhaustive_inputs, run, specials

REPO = Path(__file__).resolve().parent.parent

# Vector counts: Verilator / Icarus; FP32: default / with --sim-full.
FP32_RANDOM = {"verilator": (20_000, 100_000), "icarus": (4_000, 10_000)}
STALL_TRANSACTIONS = {"verilator": 20_000, "icarus": 2_000}

# One of each function, both formats, both alphas by default; every combination with --sim-full.
FP16_ISRLU = Config("fp16", function="isrlu")
BF16_ISRU_A3 = Config("bf16", function="isru", alpha=3.0)
BF16_ISRLU_GRAD = Config("bf16", function="isrlu-grad")
FP16_ISRU_GRAD_A3 = Config("fp16", function="isru-grad", alpha=3.0)
# The alpha gradients: runtime alpha (as the torch layer's learnable alpha uses them), and a constant.
BF16_ISRLU_ALPHA_GRAD = Config("bf16", function="isrlu-alpha-grad", runtime_alpha=True)
FP16_ISRU_ALPHA_GRAD_A3 = Config("fp16", function="isru-alpha-grad", alpha=3.0)
FLOAT16_DEFAULT = [FP16_ISRLU, BF16_ISRU_A3, BF16_ISRLU_GRAD, FP16_ISRU_GRAD_A3, BF16_ISRLU_ALPHA_GRAD,
                   FP16_ISRU_ALPHA_GRAD_A3]
FLOAT16_FULL = [c for c in (Config(fmt, function=f, alpha=a) for fmt in ("fp16", "bf16")
                            for f in ACTIVATIONS for a in (1.0, 3.0)) if c not in FLOAT16_DEFAULT]
FLOAT16_ICARUS = [BF16_ISRU_A3, BF16_ISRLU_GRAD]
FLOAT16_ICARUS_FULL = [FP16_ISRLU, FP16_ISRU_GRAD_A3]
# FP32 backward by default: sim/test_exhaustive.py (its C++ harness, two ranges of x and pairs).
FP32_ISRU = Config("fp32", function="isru")
FP32_ISRU_ALPHA_GRAD = Config("fp32", function="isru-alpha-grad", runtime_alpha=True)
FP32_FULL = [Config("fp32", function=f) for f in ("isrlu", "isrlu-grad", "isru-grad")]
FP32_ICARUS_FULL = [Config("fp32", function="isrlu-grad")]
RUNTIME_ALPHA_CONFIG = Config("bf16", function="isru", runtime_alpha=True)
FIXED = [Config("q4.12", function="isrlu"), Config("q4.12", function="isru-grad")]
FIXED_FULL = [Config("q4.12", function="isru", runtime_alpha=True, lanes=2)]
# Multi-lane, every input port (x, grad, alpha per lane).
STALL_CONFIG = Config("bf16", function="isrlu-grad", runtime_alpha=True, lanes=2)
LATENCY_CONFIGS = [FP16_ISRLU, BF16_ISRLU_GRAD,
                   FP32_ISRU, Config("q4.12", function="isru-grad"),
                   RUNTIME_ALPHA_CONFIG, STALL_CONFIG]

name_of = lambda v: v.name if isinstance(v, Config) else str(v)


def on(simulator, configs, full_only=()):
    """``(config, simulator)`` parameters: ``configs`` always, ``full_only`` with ``--sim-full``."""
    return [(c, simulator) for c in configs] + [pytest.param(c, simulator, marks=pytest.mark.full)
                                                for c in full_only]


# ---------------------------------------------------------------------------------------------
# Operand vectors.

def grad_specials(config):
    """A few ``grad_out`` patterns of every class: zeros, subnormals, normals, extremes, infinities,
    NaNs (floats), or the edges of the range (fixed point)."""
    fmt = config.format
    mask = (1 << fmt.width) - 1
    if config.is_float:
        man, sign = fmt.man_bits, 1 << (fmt.width - 1)
        one = fmt.bias << man
        positive = [0, 1, (1 << man) - 1, 1 << man, one, one + 1, fmt.max_finite,
                    fmt.exp_max_field << man, (fmt.exp_max_field << man) | (1 << (man - 1)),
                    (fmt.exp_max_field << man) | 1]
        values = positive + [p | sign for p in positive]
    else:
        one = 1 << fmt.frac_bits
        values = [0, 1, one, one + 1, (1 << (fmt.width - 1)) - 1, 1 << (fmt.width - 1), mask,
                  -one & mask, (-one - 1) & mask]
    return np.array(sorted(set(values)), dtype=np.uint64)


def cross(a, b):
    """Every pair of ``a`` and ``b``: ``(a repeated, b tiled)``."""
    return np.repeat(a, len(b)), np.tile(b, len(a))


def random_bits(rng, width, n):
    return rng.integers(0, 1 << width, n, dtype=np.uint64)


def moderate_floats(rng, fmt, n, span=24):
    """Random patterns of either sign with unbiased exponents in ``[-span, span)``: where the
    activations bend (|x| near 1/sqrt(alpha)), rarely reached by uniform raw patterns of fp32."""
    exp = rng.integers(max(1, fmt.bias - span), min(fmt.exp_max_field, fmt.bias + span), n)
    man = rng.integers(0, 1 << fmt.man_bits, n)
    sign = rng.integers(0, 2, n)
    return ((sign << (fmt.width - 1)) | (exp << fmt.man_bits) | man).astype(np.uint64)


def with_grad(config, rng, x, simulator):
    """``(x, grad)``: ``x`` with random raw ``grad_out`` patterns, followed by the special
    patterns of ``x`` crossed with those of ``grad`` (Icarus: with fewer of them). Forward
    functions: ``(x, None)``."""
    if not config.is_backward:
        return x, None
    grad = random_bits(rng, config.in_width, len(x))
    gs = grad_specials(config)
    if simulator == "icarus":
        gs = gs[::3]
    sx, sg = cross(specials(config), gs)
    return np.concatenate([x, sx]), np.concatenate([grad, sg])


def runtime_alphas(config, rng, n, invalid=0.03):
    """Random alpha patterns: mostly positive (floats: half with exponents within 2**+-8 of 1,
    half any positive finite pattern, subnormals included; fixed point: any positive value), and
    a share ``invalid`` of zeros, negatives, infinities and NaNs."""
    fmt, w = config.format, config.in_width
    sign = 1 << (w - 1)
    if config.is_float:
        near = moderate_floats(rng, fmt, n, span=8) & np.uint64(sign - 1)
        anywhere = rng.integers(1, fmt.max_finite + 1, n, dtype=np.uint64)
        alpha = np.where(rng.random(n) < 0.5, near, anywhere)
        inf = fmt.exp_max_field << fmt.man_bits
        bad = np.array([0, sign, inf, inf | sign, inf | (1 << (fmt.man_bits - 1)), inf | 1,
                        sign | (fmt.bias << fmt.man_bits), sign | 1, sign | fmt.max_finite],
                       dtype=np.uint64)
        negative = rng.integers(0, sign, n, dtype=np.uint64) | np.uint64(sign)
    else:
        alpha = rng.integers(1, sign, n, dtype=np.uint64)
        bad = np.array([0, sign, (1 << w) - 1, (-(1 << fmt.frac_bits)) & ((1 << w) - 1)],
                       dtype=np.uint64)
        negative = rng.integers(sign, 1 << w, n, dtype=np.uint64)
    pick = rng.random(n)
    alpha = np.where(pick < invalid / 2, bad[rng.integers(0, len(bad), n)], alpha)
    alpha = np.where((pick >= invalid / 2) & (pick < invalid), negative, alpha)
    return alpha.astype(np.uint64)


def operands(config, rng, x, simulator):
    """Keyword operands for :func:`run` and :func:`assert_matches`: ``x`` and, as the unit needs
    them, ``grad`` and ``alpha`` (all the same length)."""
    x, grad = with_grad(config, rng, x, simulator)
    ops = {"x": x}
    if grad is not None:
        ops["grad"] = grad
    if config.runtime_alpha:
        ops["alpha"] = runtime_alphas(config, rng, len(x))
    return ops


def check(d, config, ops, **kwargs):
    result = run(d, ops["x"], grad=ops.get("grad"), alpha=ops.get("alpha"), **kwargs)
    assert_matches(config, ops["x"], result.y, result.flag, grad=ops.get("grad"),
                   alpha=ops.get("alpha"))
    return result


def rng_for(config, salt=0):
    import zlib
    return np.random.default_rng(zlib.crc32(config.name.encode()) + salt)


# ---------------------------------------------------------------------------------------------
# Tests.

@pytest.mark.parametrize("config, simulator",
                         on("verilator", FLOAT16_DEFAULT, FLOAT16_FULL)
                         + on("icarus", FLOAT16_ICARUS, FLOAT16_ICARUS_FULL), ids=name_of)
def test_float16_exhaustive(design, config, simulator):
    """Every 16-bit x (Icarus: every 4th, plus the specials); backward: with random grad_out
    patterns, then the specials of x crossed with those of grad_out."""
    d = design(config, simulator)
    ops = operands(config, rng_for(config), exhaustive_inputs(config, simulator), simulator)
    check(d, config, ops)


@pytest.mark.parametrize("config, simulator",
                         on("verilator", [FP32_ISRU, FP32_ISRU_ALPHA_GRAD], FP32_FULL)
                         + on("icarus", [FP32_ISRU], FP32_ICARUS_FULL), ids=name_of)
def test_fp32_random_and_specials(design, sim_full, config, simulator):
    """The specials, random raw patterns (half uniform, half with moderate exponents), the
    specials again in reverse order; backward: random grad_out, then specials crossed."""
    d = design(config, simulator)
    rng = rng_for(config)
    n = FP32_RANDOM[simulator][sim_full]
    s = specials(config)
    random = np.where(rng.random(n) < 0.5, random_bits(rng, 32, n),
                      moderate_floats(rng, config.format, n))
    x = np.concatenate([s, random, s[::-1]])
    check(d, config, operands(config, rng, x, simulator))


@pytest.mark.parametrize("simulator", ["verilator", pytest.param("icarus", marks=pytest.mark.full)])
def test_runtime_alpha(design, simulator):
    """bf16 ISRU with alpha an input: every x (Icarus: every 4th) with random positive alphas
    and some invalid ones (zero, negative, infinite, NaN: the result is NaN)."""
    config = RUNTIME_ALPHA_CONFIG
    d = design(config, simulator)
    x = exhaustive_inputs(config, simulator)
    ops = operands(config, rng_for(config), x, simulator)
    check(d, config, ops)


@pytest.mark.parametrize("config, simulator",
                         on("verilator", FIXED, FIXED_FULL) + [(FIXED[1], "icarus")],
                         ids=name_of)
def test_fixed_exhaustive_with_flags(design, config, simulator):
    """q4.12: every x (Icarus: every 4th plus the edges), results and saturation/invalid flags."""
    d = design(config, simulator)
    x = np.arange(1 << config.in_width, dtype=np.uint64)
    if simulator == "icarus":
        x = np.union1d(x[1::ICARUS_EXHAUSTIVE_STRIDE], specials(config))
    result = check(d, config, operands(config, rng_for(config), x, simulator))
    assert result.flag is not None


@pytest.mark.parametrize("in_gap, out_stall, share, simulator",
                         [(0.3, 0.3, 1.0, "verilator"), (0.0, 0.8, 0.2, "verilator"),
                          (0.8, 0.0, 0.2, "verilator"), (0.5, 0.5, 1.0, "icarus")],
                         ids=["both30", "sink80", "source80", "both50-icarus"])
def test_random_stalls(design, simulator, in_gap, out_stall, share):
    """Random in_valid gaps and out_ready stalls on a 4-lane unit with three input ports: every
    result arrives once, in order, equal to the golden model (the testbench also checks that
    out_y/out_valid hold while stalled)."""
    config = STALL_CONFIG
    d = design(config, simulator)
    transactions = int(STALL_TRANSACTIONS[simulator] * share)
    rng = np.random.default_rng(int(in_gap * 100) * 1000 + int(out_stall * 100))
    n = transactions * config.lanes - 1
    x = np.where(rng.random(n) < 0.5, random_bits(rng, config.in_width, n),
                 moderate_floats(rng, config.format, n, span=6))
    ops = {"x": x, "grad": random_bits(rng, config.in_width, n),
           "alpha": runtime_alphas(config, rng, n)}
    result = check(d, config, ops, in_gap=in_gap, out_stall=out_stall,
                   seed=int(rng.integers(1 << 31)))
    assert result.stats["payloads"] == transactions
    fewest = transactions / min(1 - in_gap, 1 - out_stall)
    assert result.cycles > 0.9 * fewest, (result.cycles, fewest)
    if out_stall >= 0.5:
        assert result.stats["in_ready_low"] > 0, "backpressure never reached the input"


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_reset_midstream(design, simulator):
    """rst mid-stream with stalls on the 4-lane three-operand unit: a correct prefix before, an
    exact stream after."""
    from sim.runner import run_reset
    config = STALL_CONFIG
    d = design(config, simulator)
    rng = np.random.default_rng(11)
    w = config.in_width
    before = {k: random_bits(rng, w, 2000) for k in ("x", "grad")}
    after = {k: random_bits(rng, w, 2003) for k in ("x", "grad")}
    before["alpha"] = runtime_alphas(config, rng, 2000)
    after["alpha"] = runtime_alphas(config, rng, 2003)
    pre, post, stats = run_reset(d, before["x"], after["x"], grad_before=before["grad"],
                                 grad_after=after["grad"], alpha_before=before["alpha"],
                                 alpha_after=after["alpha"], reset_after=300, reset_cycles=1,
                                 seed=3)
    k = len(pre[0])
    assert 0 < k < len(before["x"]), "the reset did not hit a stream in flight"
    assert_matches(config, before["x"][:k], pre[0], what="results before the reset",
                   grad=before["grad"][:k], alpha=before["alpha"][:k])
    assert_matches(config, after["x"], post[0], what="results after the reset",
                   grad=after["grad"], alpha=after["alpha"])


@pytest.mark.parametrize("config, simulator",
                         [(c, "verilator") for c in LATENCY_CONFIGS] + [(STALL_CONFIG, "icarus")],
                         ids=name_of)
def test_latency(design, config, simulator):
    """With no stalls every result transfers exactly ExportTop(config).latency cycles after its
    input (a lone input and a back-to-back stream), one payload a clock."""
    import re
    from sim.runner import run_latency
    d = design(config, simulator)
    assert d.latency is not None, "the unit states no latency (ExportTop(config).latency)"
    header = re.search(r"latency: (\d+) cycles", d.verilog.read_text()[:4000])
    if header:
        assert int(header.group(1)) == d.latency, "Verilog header and ExportTop disagree"
    rng = np.random.default_rng(5)
    x = random_bits(rng, config.in_width, 64 * config.lanes)
    ops = operands(config, rng, x, "icarus")
    ops = {k: v[:len(x)] for k, v in ops.items()}
    stats, result = run_latency(d, ops["x"], grad=ops.get("grad"), alpha=ops.get("alpha"))
    assert stats["lone_latency"] == d.latency
    assert stats["latencies"] == [d.latency]
    assert_matches(config, ops["x"], result.y, result.flag, grad=ops.get("grad"),
                   alpha=ops.get("alpha"))


def _cli(tmp_path, args):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return subprocess.run([sys.executable, str(REPO / "sim" / "run.py"), *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)


def test_cli_backward_and_runtime_alpha(design, tmp_path):
    """``sim/run.py`` with --grad (alpha 3) and with --runtime-alpha --alpha-bits; a missing or
    unused operand file is a usage error (exit 2)."""
    from sim.checks import golden
    grad_config = FP16_ISRU_GRAD_A3        # built by test_float16_exhaustive
    alpha_config = RUNTIME_ALPHA_CONFIG
    design(grad_config, "verilator")  # skips if unavailable; builds (cached) for the CLI
    design(alpha_config, "verilator")
    x = np.array([0x3c00, 0xbc00, 0x0001, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x0000], dtype=np.uint16)
    g = np.array([0x3c00, 0x4000, 0xc000, 0x3c00, 0x3c00, 0x3c00, 0x7c00, 0x0000], dtype=np.uint16)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "g.npy", g)
    done = _cli(tmp_path, ["--format", "fp16", "--function", "isru-grad", "--alpha", "3",
                           "--x", "x.npy", "--grad", "g.npy", "--out", "y.npy"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all 8 results match" in done.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"),
                                  golden(grad_config, x, grad=g)[0].astype(np.uint16))

    xb = np.array([0x3f80, 0xbf80, 0x4040, 0x7f80, 0x0000], dtype=np.uint16)
    ab = np.array([0x3f80, 0x4040, 0x3e80, 0x3f80, 0xbf80], dtype=np.uint16)
    np.save(tmp_path / "xb.npy", xb)
    np.save(tmp_path / "a.npy", ab)
    done = _cli(tmp_path, ["--format", "bf16", "--function", "isru", "--runtime-alpha",
                           "--x", "xb.npy", "--alpha-bits", "a.npy", "--out", "yb.npy"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all 5 results match" in done.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "yb.npy"),
                                  golden(alpha_config, xb, alpha=ab)[0].astype(np.uint16))

    for args in (["--format", "fp16", "--function", "isru-grad", "--x", "x.npy"],
                 ["--format", "fp16", "--function", "isrlu", "--x", "x.npy", "--grad", "g.npy"],
                 ["--format", "bf16", "--function", "isru", "--runtime-alpha", "--x", "xb.npy"]):
        done = _cli(tmp_path, args + ["--out", "bad.npy"])
        assert done.returncode == 2, (args, done.stdout + done.stderr)
