"""Co-simulation of the exported fused multiply-add units (``Config(fmt, function="fma")``,
ports ``in_a``, ``in_b``, ``in_c``) against the correctly rounded golden model
(:func:`golden.fma.fma`, through :func:`golden.eval.evaluate`), bit for bit.

Verilator: 100,000 random operand triples per format (a million with ``--sim-full``; fp32,
fp16, bf16; 4 lanes, so four triples a clock) drawn from several distributions (uniform raw patterns, product and addend of
comparable size, near-cancellation, subnormal and extreme exponents), the directed cases
(specials crossed in every position, signs of exact zeros, cancellation, overflow and the overflow
tie, underflow to subnormals and to zero, subnormal inputs, product ties broken by a far addend,
borrows across a binade), e4m3 with every ``(a, b)`` pair, random stalls, reset mid-stream,
latency, and the command line. Icarus (skipped without ``iverilog``) runs the directed cases and
a few thousand random triples on single-lane fp32 and bf16 units. Run with ``pytest sim/ -n 2``.
"""
import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from golden.fma import fma as golden_fma
from hw.config import Config
from sim.checks import golden, run

REPO = Path(__file__).resolve().parent.parent
U64 = np.uint64

# Random triples per format: Verilator (a million with --sim-full) / Icarus.
RANDOM_TRIPLES = {"verilator": 100_000, "full": 1_000_000, "icarus": 4_000}
DIRECTED_SAMPLES = {"verilator": 4_000, "icarus": 200}    # per random directed category
ICARUS_SPECIALS_SHARE = 0.25                              # of the specials crossed
STALL_TRANSACTIONS = 20_000

WIDE = [Config(f, function="fma", lanes=4) for f in ("fp32", "fp16", "bf16")]
SINGLE = Config("bf16", function="fma")                    # one lane: latency, command line
CUSTOM = Config("e4m3", function="fma", lanes=4)
ICARUS = [Config("fp32", function="fma"), SINGLE]
STALL_CONFIG = WIDE[1]

name_of = lambda v: v.name if isinstance(v, Config) else str(v)


# ---------------------------------------------------------------------------------------------
# Operand patterns (raw bits, uint64).

def pattern(fmt, sign, field, frac):
    """Raw bits from sign, exponent field and fraction (arrays or ints)."""
    sign, field, frac = (np.asarray(v, dtype=np.int64).astype(U64) for v in (sign, field, frac))
    return (sign << U64(fmt.width - 1)) | (field << U64(fmt.man_bits)) | frac


def random_bits(rng, fmt, n):
    return rng.integers(0, 1 << fmt.width, n, dtype=np.uint64)


def with_exponent(rng, fmt, exp, signs=True):
    """Random finite values of unbiased exponents ``exp`` (array): normal where representable,
    subnormal (the fraction shifted) below ``emin``, flushed to the smallest subnormal beyond."""
    exp = np.asarray(exp, dtype=np.int64)
    n = len(exp)
    man = fmt.man_bits
    frac = rng.integers(0, 1 << man, n, dtype=np.int64)
    sign = rng.integers(0, 2, n) if signs else np.zeros(n, dtype=np.int64)
    field = np.clip(exp + fmt.bias, 1, fmt.exp_max_field - 1)
    sub_shift = np.clip(fmt.emin - exp, 0, man + 1)
    sub = ((frac | (1 << man)) >> sub_shift)
    sub = np.maximum(sub, 1)
    bits = np.where(exp < fmt.emin, pattern(fmt, sign, 0, sub), pattern(fmt, sign, field, frac))
    return bits.astype(U64)


def negate(fmt, bits):
    return np.asarray(bits, dtype=U64) ^ U64(fmt.sign_bit)


def product(config, a, b):
    """``round(a*b)`` (the golden FMA with ``c = +0``)."""
    return golden_fma(config, a, b, np.zeros(len(a), dtype=U64)).astype(U64)


def special_values(fmt):
    """One value of every class a unit must distinguish, both signs where it matters."""
    man = fmt.man_bits
    one = fmt.bias << man
    positive = [0, 1, (1 << man) - 1, 1 << man, one, one | (1 << (man - 1)), one - 1,
                fmt.max_finite, fmt.inf]
    nans = [fmt.quiet_nan, fmt.inf | 1, fmt.quiet_nan | 1, fmt.quiet_nan | fmt.sign_bit]
    return np.array(positive + [p | fmt.sign_bit for p in positive] + nans, dtype=U64)


def cross3(values):
    a, b, c = np.meshgrid(values, values, values, indexing="ij")
    return a.ravel(), b.ravel(), c.ravel()


def directed_cases(config, rng, samples):
    """``{category: (a, b, c)}`` of the directed cases; the random categories have ``samples``
    triples each."""
    fmt = config.format
    man, p, bias = fmt.man_bits, fmt.precision, fmt.bias
    emin, emax = fmt.emin, fmt.emax
    n = samples
    one = fmt.bias << man
    cases = {}
    arr = lambda *vals: np.array(vals, dtype=U64)

    # NaN / infinity / zero / extreme in every position (inf*0, inf-inf, NaN a, b or c, ...).
    cases["specials crossed"] = cross3(special_values(fmt))

    # Exact zero results: every sign combination of zero products and zero addends, and exact
    # cancellation x*y - x*y (+0 under round to nearest), and tiny results rounding to signed 0.
    zeros_like = arr(0, fmt.sign_bit, one, one | fmt.sign_bit, 1, 1 | fmt.sign_bit,
                     fmt.max_finite, fmt.max_finite | fmt.sign_bit)
    za, zb, zc = cross3(zeros_like)
    keep = (((za & U64(fmt.sign_bit - 1)) == 0) | ((zb & U64(fmt.sign_bit - 1)) == 0)) \
        & ((zc & U64(fmt.sign_bit - 1)) == 0)
    cases["zero signs"] = (za[keep], zb[keep], zc[keep])
    ea = rng.integers(-(p // 2), p // 2 + 1, n)
    a = with_exponent(rng, fmt, ea)
    b = with_exponent(rng, fmt, rng.integers(-(p // 2), p // 2 + 1, n))
    a &= ~U64((1 << (man // 2 + 1)) - 1) if man >= 4 else ~U64(0)    # short significands:
    b &= ~U64((1 << (man // 2 + 1)) - 1) if man >= 4 else ~U64(0)    # products mostly exact
    cases["exact cancellation"] = (a, b, negate(fmt, product(config, a, b)))
    tiny = arr(1, 1 | fmt.sign_bit, 2, 3 | fmt.sign_bit, (1 << man) - 1)
    halves = arr(one - (1 << man), (one - (1 << man)) | fmt.sign_bit,           # 0.5, -0.5
                 one - (2 << man) if bias > 2 else one - (1 << man),           # 0.25
                 one - (1 << man) + 1, one - 1)                                # just above/below 0.5
    ta, tb = np.meshgrid(tiny, halves, indexing="ij")
    ta, tb = ta.ravel(), tb.ravel()
    cases["underflow to zero or min subnormal"] = (
        np.concatenate([ta, ta]), np.concatenate([tb, tb]),
        np.concatenate([np.zeros(len(ta), U64), np.full(len(ta), fmt.sign_bit, U64)]))

    # Near cancellation: c = -round(a*b) and its neighbours (a few ulps, both ways).
    a = with_exponent(rng, fmt, rng.integers(-p, p + 1, n))
    b = with_exponent(rng, fmt, rng.integers(-p, p + 1, n))
    prod = product(config, a, b)
    finite = (prod & U64(fmt.sign_bit - 1)) < U64(fmt.inf)
    delta = rng.integers(-3, 4, n).astype(np.int64)
    c = negate(fmt, (prod.astype(np.int64) + delta).astype(U64))
    c = np.where(finite & ((c & U64(fmt.sign_bit - 1)) < U64(fmt.inf)), c, negate(fmt, prod))
    cases["cancellation"] = (a, b, c)
    # The classic: (1 + ulp)(1 - ulp) - 1 = -ulp**2, lost without fusion; and scaled versions.
    up, down = one + 1, one - 1
    cases["fused (1+u)(1-u)-1"] = (arr(up, down, up, up | fmt.sign_bit),
                                   arr(down, up, up, down),
                                   arr(one | fmt.sign_bit, one | fmt.sign_bit,
                                       one | fmt.sign_bit, one))

    # Overflow: products beyond the range, rescued or not by c; the max + half-ulp tie.
    big = arr(fmt.max_finite, fmt.max_finite - 1, (fmt.exp_max_field - 1) << man,
              ((fmt.exp_max_field - 1) << man) | 1)
    factors = arr(one, one + 1, one + (1 << man), one - 1, one - (1 << man),
                  one + (1 << (man - 1)))
    ties = (emax - p + bias) << man                 # 2**(emax - p): half an ulp of max_finite
    addends = arr(0, fmt.max_finite, ties, ties - 1, ties + 1, fmt.inf, 1, one)
    oa, ob, oc = np.meshgrid(big, factors, np.concatenate([addends, negate(fmt, addends)]),
                             indexing="ij")
    sa = rng.integers(0, 2, oa.size).astype(U64) << U64(fmt.width - 1)
    cases["overflow"] = (oa.ravel() ^ sa, ob.ravel(), oc.ravel())
    ea = rng.integers(emax // 2, emax + 1, n)
    eb = emax - ea + rng.integers(-2, 3, n)
    a, b = with_exponent(rng, fmt, ea), with_exponent(rng, fmt, eb)
    c = np.where(rng.random(n) < 0.5, with_exponent(rng, fmt, rng.integers(emax - 2, emax + 1, n)),
                 with_exponent(rng, fmt, rng.integers(0, emax + 1, n)))
    cases["overflow random"] = (a, b, c)

    # Underflow: products in and below the subnormal range, c zero, subnormal or min normal.
    ea = rng.integers(emin // 2 - 2, emin // 2 + 3, n)
    eb = rng.integers(emin - p - 3, emin + 3, n) - ea
    a, b = with_exponent(rng, fmt, ea), with_exponent(rng, fmt, eb)
    pick = rng.integers(0, 4, n)
    c = np.select([pick == 0, pick == 1, pick == 2],
                  [np.zeros(n, U64) | (rng.integers(0, 2, n).astype(U64) << U64(fmt.width - 1)),
                   with_exponent(rng, fmt, rng.integers(emin - man, emin, n)),
                   with_exponent(rng, fmt, np.full(n, emin))],
                  with_exponent(rng, fmt, rng.integers(emin, emin + 3, n)))
    cases["underflow to subnormal"] = (a, b, c)
    # Rounding up from the largest subnormal to the smallest normal.
    max_sub = (1 << man) - 1
    cases["subnormal to normal carry"] = (arr(max_sub, max_sub, 1 << man, max_sub),
                                          arr(one, one + 1, one - 1, one + (1 << (man - 1))),
                                          arr(1, 0, 1, 0))

    # Subnormal inputs: in a and/or b (product normal or not), in c.
    sub = lambda k: rng.integers(1, 1 << man, k, dtype=np.uint64) \
        | (rng.integers(0, 2, k).astype(U64) << U64(fmt.width - 1))
    a = sub(n)
    b = np.where(rng.random(n) < 0.5, with_exponent(rng, fmt, rng.integers(emax - p, emax + 1, n)),
                 random_bits(rng, fmt, n))
    c = np.where(rng.random(n) < 0.3, sub(n), with_exponent(rng, fmt, rng.integers(emin, emin + p, n)))
    swap = rng.random(n) < 0.5
    cases["subnormal inputs"] = (np.where(swap, b, a), np.where(swap, a, b), c)
    cases["subnormal all three"] = (sub(n), sub(n), sub(n))
    a = with_exponent(rng, fmt, rng.integers(-p, p + 1, n))
    b = with_exponent(rng, fmt, rng.integers(-p, p + 1, n))
    cases["subnormal addend"] = (a, b, sub(n))

    # Product exactly on a rounding midpoint (odd significand times 1.5 or 3), the tie broken
    # only by a far-away c (sticky bit), or by nothing (to even).
    a = with_exponent(rng, fmt, rng.integers(-p, p + 1, n)) | U64(1)
    b = rng.choice(arr(one | (1 << (man - 1)), (one + (1 << man)) | (1 << (man - 1)),
                       (one - (1 << man)) | (1 << (man - 1))), n)
    b |= rng.integers(0, 2, n).astype(U64) << U64(fmt.width - 1)
    far = np.clip(rng.integers(-3 * p, -p, n) - rng.integers(0, 3, n), emin - man, None)
    pick = rng.integers(0, 4, n)
    c = np.select([pick == 0, pick == 1, pick == 2],
                  [np.zeros(n, U64), with_exponent(rng, fmt, far), arr(1)[np.zeros(n, int)]
                   | (rng.integers(0, 2, n).astype(U64) << U64(fmt.width - 1))],
                  with_exponent(rng, fmt, rng.integers(-p - 3, -p + 2, n)))
    cases["product tie, far c"] = (a, b, c)

    # c dominant, a tiny product of the other sign: borrow across c's binade boundary.
    c = pattern(fmt, rng.integers(0, 2, n), rng.integers(max(1, bias - p), min(fmt.exp_max_field - 1, bias + p), n),
                np.where(rng.random(n) < 0.5, 0, rng.integers(0, 1 << man, n)))
    ea = rng.integers(-2 * p - 4, -p + 2, n)
    a = with_exponent(rng, fmt, ea + (c.astype(np.int64) >> man & fmt.exp_max_field) - bias)
    b = with_exponent(rng, fmt, rng.integers(-2, 3, n))
    cases["c dominant, tiny product"] = (a, b, c)
    return cases


def random_triples(config, rng, n):
    """``n`` random triples from a mix of distributions (shuffled together)."""
    fmt = config.format
    p, emin, emax = fmt.precision, fmt.emin, fmt.emax
    k = n // 4
    parts = []
    # Uniform raw patterns (mostly c-dominated, NaN, infinite results for wide formats).
    parts.append(tuple(random_bits(rng, fmt, k) for _ in range(3)))
    # Product and c of comparable size: exponents of c around that of the product, within the
    # alignment window and a little beyond.
    span = min(fmt.bias - 1, 3 * p)
    ea, eb = rng.integers(-span, span + 1, k), rng.integers(-span, span + 1, k)
    ec = np.clip(ea + eb + rng.integers(-2 * p - 4, 2 * p + 5, k), emin - fmt.man_bits, emax)
    parts.append((with_exponent(rng, fmt, ea), with_exponent(rng, fmt, eb),
                  with_exponent(rng, fmt, ec)))
    # Near cancellation: c = -round(a*b) with low bits perturbed.
    a = with_exponent(rng, fmt, rng.integers(-span, span + 1, k))
    b = with_exponent(rng, fmt, rng.integers(-span, span + 1, k))
    prod = product(config, a, b)
    low = rng.integers(0, 1 << min(fmt.man_bits, 8), k, dtype=np.uint64)
    c = negate(fmt, prod ^ np.where(rng.random(k) < 0.2, U64(0), low))
    c = np.where((c & U64(fmt.sign_bit - 1)) < U64(fmt.inf), c, negate(fmt, prod))
    parts.append((a, b, c))
    # Extreme and subnormal exponents anywhere.
    m = n - 3 * k
    ops = []
    for _ in range(3):
        e = rng.integers(emin - fmt.man_bits, emax + 1, m)
        pick = rng.random(m)
        bits = np.where(pick < 0.35, with_exponent(rng, fmt, np.full(m, emin - 1) - rng.integers(0, fmt.man_bits, m)),
                        np.where(pick < 0.7, with_exponent(rng, fmt, e), random_bits(rng, fmt, m)))
        ops.append(bits)
    parts.append(tuple(ops))
    a, b, c = (np.concatenate([part[i] for part in parts]) for i in range(3))
    order = rng.permutation(n)
    return a[order], b[order], c[order]


def rng_for(config, salt=0):
    return np.random.default_rng(zlib.crc32(config.name.encode()) + salt)


def concat(cases):
    """Concatenate ``{category: (a, b, c)}``; returns ``(a, b, c, labels)`` with the category of
    every element."""
    a, b, c = (np.concatenate([np.asarray(v[i], dtype=U64) for v in cases.values()]) for i in range(3))
    labels = np.concatenate([np.full(len(v[0]), k, dtype=object) for k, v in cases.items()])
    return a, b, c, labels


def check(config, a, b, c, y, labels=None, what="results", limit=20):
    """Bit-exact comparison with the golden model; the failure lists the first differences in
    hex (with their category) and the number of differences per category."""
    assert len(y) == len(a), f"{len(y)} {what} for {len(a)} triples"
    y = np.asarray(y, dtype=U64)
    gy = golden(config, a=a, b=b, c=c)[0]
    bad = np.flatnonzero(gy != y)
    if not len(bad):
        return
    lines = [f"  [{i}] a={int(a[i]):#x} b={int(b[i]):#x} c={int(c[i]):#x}: rtl y={int(y[i]):#x}, "
             f"golden y={int(gy[i]):#x}" + (f"  ({labels[i]})" if labels is not None else "")
             for i in bad[:limit]]
    summary = ""
    if labels is not None:
        names, counts = np.unique(labels[bad].astype(str), return_counts=True)
        summary = " (" + ", ".join(f"{k}: {v}" for k, v in zip(names, counts)) + ")"
    pytest.fail(f"{config.name}: {len(bad)} of {len(a)} {what} differ from the golden model"
                f"{summary}:\n" + "\n".join(lines))


# ---------------------------------------------------------------------------------------------
# Tests.

@pytest.mark.parametrize("config", WIDE, ids=name_of)
def test_random_triples(design, config, sim_full):
    """100,000 random triples (a million with --sim-full; four a clock), bit-exact."""
    d = design(config, "verilator")
    a, b, c = random_triples(config, rng_for(config), RANDOM_TRIPLES["full" if sim_full else "verilator"])
    result = run(d, a=a, b=b, c=c)
    check(config, a, b, c, result.y)


@pytest.mark.parametrize("config, simulator",
                         [(c, "verilator") for c in WIDE] + [(c, "icarus") for c in ICARUS],
                         ids=name_of)
def test_directed(design, config, simulator):
    """The directed cases (Icarus: with fewer random samples, plus some random triples)."""
    d = design(config, simulator)
    rng = rng_for(config, 1)
    cases = directed_cases(config, rng, DIRECTED_SAMPLES[simulator])
    if simulator == "icarus":
        a, b, c = cases["specials crossed"]
        keep = rng.random(len(a)) < ICARUS_SPECIALS_SHARE
        cases["specials crossed"] = (a[keep], b[keep], c[keep])
        cases["random"] = random_triples(config, rng, RANDOM_TRIPLES["icarus"])
    a, b, c, labels = concat(cases)
    result = run(d, a=a, b=b, c=c)
    check(config, a, b, c, result.y, labels)


def test_custom_format_every_product(design):
    """e4m3: every (a, b) pair with a zero c of random sign and with two random c each; the
    directed cases; random triples."""
    config = CUSTOM
    fmt = config.format
    d = design(config, "verilator")
    rng = rng_for(config)
    every = np.arange(1 << fmt.width, dtype=U64)
    a, b = (v.ravel() for v in np.meshgrid(every, every, indexing="ij"))
    m = len(a)
    cases = {"every a*b +- 0": (a, b, rng.integers(0, 2, m).astype(U64) << U64(fmt.width - 1)),
             "every a*b + random c": (a, b, random_bits(rng, fmt, m)),
             "every a*b + random c'": (a, b, random_bits(rng, fmt, m)),
             "random": tuple(random_bits(rng, fmt, 50_000) for _ in range(3))}
    cases.update(directed_cases(config, rng, 2000))
    a, b, c, labels = concat(cases)
    result = run(d, a=a, b=b, c=c)
    check(config, a, b, c, result.y, labels)


@pytest.mark.parametrize("in_gap, out_stall, share", [(0.3, 0.3, 1.0), (0.0, 0.8, 0.2),
                                                      (0.8, 0.0, 0.2)],
                         ids=["both30", "sink80", "source80"])
def test_random_stalls(design, in_gap, out_stall, share):
    """Random in_valid gaps and out_ready stalls on a 4-lane unit: every result arrives once, in
    order, bit-exact (the testbench checks out_y/out_valid hold while stalled)."""
    config = STALL_CONFIG
    d = design(config, "verilator")
    transactions = int(STALL_TRANSACTIONS * share)
    rng = np.random.default_rng(int(in_gap * 100) * 1000 + int(out_stall * 100))
    a, b, c = random_triples(config, rng, transactions * config.lanes - 1)
    result = run(d, a=a, b=b, c=c, in_gap=in_gap, out_stall=out_stall,
                 seed=int(rng.integers(1 << 31)))
    assert result.stats["payloads"] == transactions
    fewest = transactions / min(1 - in_gap, 1 - out_stall)
    assert result.cycles > 0.9 * fewest, (result.cycles, fewest)
    if out_stall >= 0.5:
        assert result.stats["in_ready_low"] > 0, "backpressure never reached the input"
    check(config, a, b, c, result.y)


def test_reset_midstream(design):
    """rst mid-stream with stalls: a correct prefix before, an exact stream after."""
    from sim.runner import run_reset
    config = WIDE[2]
    d = design(config, "verilator")
    rng = np.random.default_rng(17)
    before = random_triples(config, rng, 2000)
    after = random_triples(config, rng, 2003)
    pre, post, _ = run_reset(d, a_before=before[0], b_before=before[1], c_before=before[2],
                             a_after=after[0], b_after=after[1], c_after=after[2],
                             reset_after=300, reset_cycles=1, seed=5)
    k = len(pre[0])
    assert 0 < k < len(before[0]), "the reset did not hit a stream in flight"
    check(config, *(v[:k] for v in before), pre[0], what="results before the reset")
    check(config, *after, post[0], what="results after the reset")


@pytest.mark.parametrize("config, simulator",
                         [(c, "verilator") for c in (WIDE[0], SINGLE)]
                         + [(ICARUS[0], "icarus")], ids=name_of)
def test_latency(design, config, simulator):
    """With no stalls every result transfers exactly ExportTop(config).latency (9 cycles: the
    output register and the eight optional ones; FP32 12: its 48-bit product's split register,
    its sum's carry register and its leading-one trees' group register, :func:`hw.spec.plan.fma_cuts`)
    after its input, one payload a clock; the Verilog header states the same latency."""
    import re
    from sim.runner import run_latency
    d = design(config, simulator)
    expected = 12 if config.format.name == "fp32" else 9
    assert d.latency == expected, f"stated latency {d.latency}, expected {expected} (FmaUnit)"
    assert d.operands == ("a", "b", "c")
    header = re.search(r"latency: (\d+) cycles", d.verilog.read_text()[:4000])
    assert header and int(header.group(1)) == d.latency, "Verilog header and ExportTop disagree"
    rng = np.random.default_rng(5)
    a, b, c = random_triples(config, rng, 64 * config.lanes)
    stats, result = run_latency(d, a=a, b=b, c=c)
    assert stats["lone_latency"] == d.latency
    assert stats["latencies"] == [d.latency]
    check(config, a, b, c, result.y)


def _cli(cwd, args):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return subprocess.run([sys.executable, str(REPO / "sim" / "run.py"), *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=600)


def test_cli(design, tmp_path):
    """``sim/run.py --function fma --a --b --c`` from another directory, with stalls; a missing
    or superfluous operand is a usage error (exit 2)."""
    config = SINGLE
    design(config, "verilator")  # skips if unavailable; builds (cached) for the CLI
    fmt = config.format
    rng = np.random.default_rng(3)
    a, b, c = (v.astype(np.uint16) for v in random_triples(config, rng, 100))
    a[:3] = [fmt.inf, 0, fmt.quiet_nan]
    b[:3] = [0, fmt.sign_bit, 0x3f80]
    for name, v in zip("abc", (a, b, c)):
        np.save(tmp_path / f"{name}.npy", v)
    (tmp_path / "out").mkdir()
    done = _cli(tmp_path, ["--format", "bf16", "--function", "fma", "--a", "a.npy", "--b", "b.npy",
                           "--c", "c.npy", "--out", "out/y.npy", "--stall", "0.3"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all 100 results match" in done.stdout
    y = np.load(tmp_path / "out" / "y.npy")
    assert y.dtype == np.uint16 and y.shape == (100,)
    np.testing.assert_array_equal(y, golden(config, a=a, b=b, c=c)[0])

    np.save(tmp_path / "short.npy", c[:10])
    for args, message in (
            (["--function", "fma", "--a", "a.npy", "--b", "b.npy"], "missing: --c"),
            (["--function", "fma", "--x", "a.npy", "--a", "a.npy", "--b", "b.npy", "--c", "c.npy"],
             "--x is not used"),
            (["--function", "fma", "--a", "a.npy", "--b", "b.npy", "--c", "short.npy"],
             "--c short.npy: 10 elements, but --a a.npy has 100"),
            (["--x", "a.npy", "--c", "c.npy"], "--c is not used"),
            (["--function", "fma", "--format", "q4.12", "--a", "a.npy", "--b", "b.npy",
              "--c", "c.npy"], "float format")):
        done = _cli(tmp_path, ["--format", "bf16", *args, "--out", "bad.npy"])
        assert done.returncode == 2, (args, done.stdout + done.stderr)
        assert message in done.stderr, (args, done.stderr)
