"""Helpers shared by the co-simulation tests: input vectors and the bit-exact comparison with the
golden model (:func:`golden.eval.evaluate`), which reports the first differences in hex."""
import zlib

import numpy as np

from golden.eval import FLAGS, evaluate

__all__ = ["ICARUS_EXHAUSTIVE_STRIDE", "float_specials", "fixed_specials", "specials",
           "exhaustive_inputs", "golden", "mismatches", "assert_matches", "run", "fp32_stall_count",
           "check_fp32_with_stalls"]

ICARUS_EXHAUSTIVE_STRIDE = 4      # Icarus runs every 4th pattern (offset varies) of 16-bit formats


def float_specials(fmt):
    """Raw patterns of every special class of float format ``fmt``, both signs."""
    man, w = fmt.man_bits, fmt.width
    sign = 1 << (w - 1)
    inf = fmt.exp_max_field << man
    quiet = inf | (1 << (man - 1))
    positive = [
        0,                                   # zero
        1, 2, 3,                             # smallest subnormals
        (1 << man) - 1, (1 << man) - 2,      # largest subnormals
        1 << man, (1 << man) + 1,            # smallest normals
        fmt.max_finite, fmt.max_finite - 1,  # largest finite
        inf,                                 # infinity
        quiet, quiet | 1, inf | ((1 << man) - 1),          # quiet NaNs
        inf | 1, inf | (1 << (man - 2)) if man >= 2 else inf | 1,  # signalling NaNs
    ]
    # Powers of two (so of four) over the whole range, subnormal ones included, and neighbours.
    for e in range(fmt.emin - man, fmt.emax + 1):
        p = (e + fmt.bias) << man if e >= fmt.emin else 1 << (e - fmt.emin + man)
        positive += [p, p - 1, p + 1, p | ((1 << man) - 1)]
    values = {v & ((1 << w) - 1) for p in positive if p >= 0 for v in (p, p | sign)}
    try:  # the golden model's own list, if it has more
        from golden.accuracy import special_inputs
        values.update(int(v) for v in special_inputs(fmt))
    except ImportError:
        pass
    return np.array(sorted(values), dtype=np.uint64)


def fixed_specials(fmt):
    """Raw patterns of the edge cases of fixed-point format ``fmt`` (two's complement)."""
    w = fmt.width
    mask = (1 << w) - 1
    values = {0, 1, mask, 1 << (w - 1), (1 << (w - 1)) - 1, (1 << (w - 1)) + 1}
    for b in range(w - 1):
        p = 1 << b
        values.update(v & mask for v in (p, p - 1, p + 1, -p, -p - 1, -p + 1))
    return np.array(sorted(values), dtype=np.uint64)


def specials(config):
    return float_specials(config.format) if config.is_float else fixed_specials(config.format)


def exhaustive_inputs(config, simulator):
    """Every input pattern; Icarus: every 4th (offset from the configuration's name) plus the
    special patterns."""
    x = np.arange(1 << config.in_width, dtype=np.uint64)
    if simulator == "icarus":
        offset = zlib.crc32(config.name.encode()) % ICARUS_EXHAUSTIVE_STRIDE
        x = np.union1d(x[offset::ICARUS_EXHAUSTIVE_STRIDE], float_specials(config.format)
                       if config.is_float else x[:0])
    return x


def _operands(config, x=None, grad=None, alpha=None, **operands):
    """The given operands as uint64 arrays, in the unit's port order (``None`` = not given)."""
    given = dict(x=x, grad=grad, alpha=alpha, **operands)
    unknown = set(given) - set(FLAGS)
    if unknown:
        raise TypeError(f"unknown operand(s) {', '.join(sorted(unknown))}")
    order = list(config.operands) + [name for name in FLAGS if name not in config.operands]
    return {name: np.asarray(given[name], dtype=np.uint64) for name in order
            if given.get(name) is not None}


def golden(config, x=None, grad=None, alpha=None, **operands):
    """``golden.eval.evaluate`` on uint64 arrays: ``(y, flag)`` (``flag`` None for floats).
    Operands as for ``evaluate``: ``x`` (``grad``, ``alpha``), or ``a=``, ``b=``, ``c=`` (FMA)."""
    ops = _operands(config, x, grad, alpha, **operands)
    gy, gflag = evaluate(config, **ops)
    return gy.astype(np.uint64), gflag


def mismatches(config, x, y, flag=None, grad=None, alpha=None, limit=12, **operands):
    """``(count, lines)``: the number of results differing from the golden model and a
    description of the first ``limit`` of them (inputs and both results in hex). The operands
    are ``x`` (with ``grad``/``alpha`` as the unit takes them), or ``x=None`` and ``a=``, ``b=``,
    ``c=`` for the FMA."""
    ops = _operands(config, x, grad, alpha, **operands)
    y = np.asarray(y, dtype=np.uint64)
    gy, gflag = evaluate(config, **ops)
    gy = gy.astype(np.uint64)
    n = len(gy)
    if len(y) != n:
        raise AssertionError(f"{len(y)} results for {n} inputs")
    if gflag is None:
        bad = np.flatnonzero(gy != y)
    else:
        if flag is None or len(flag) != n:
            raise AssertionError("flags missing")
        bad = np.flatnonzero((gy != y) | (np.asarray(gflag, bool) != np.asarray(flag, bool)))
    lines = []
    for i in bad[:limit]:
        line = f"  [{i}] " + " ".join(f"{name}={int(v[i]):#x}" for name, v in ops.items())
        line += f": rtl y={int(y[i]):#x}"
        if gflag is not None:
            line += f" flag={int(flag[i])}"
        line += f", golden y={int(gy[i]):#x}"
        if gflag is not None:
            line += f" flag={int(gflag[i])}"
        lines.append(line)
    return len(bad), lines


def assert_matches(config, x, y, flag=None, what="results", grad=None, alpha=None, **operands):
    """Bit-exact comparison with the golden model, reporting the first differences precisely.
    Operands as for :func:`mismatches` (FMA: ``assert_matches(config, None, y, a=a, b=b, c=c)``)."""
    ops = _operands(config, x, grad, alpha, **operands)
    n = len(next(iter(ops.values())))
    assert len(y) == n, f"{len(y)} {what} for {n} inputs"
    count, lines = mismatches(config, ops.pop("x", None), y, flag, **ops)
    if count:
        import pytest
        pytest.fail(f"{config.name}: {count} of {n} {what} differ from the golden "
                    f"model:\n" + "\n".join(lines))


def run(d, x=None, **kwargs):
    from sim.runner import run_stream
    return run_stream(d, x, **kwargs)


def fp32_stall_count(simulator, full):
    """Patterns of an FP32 stalled run: Verilator 6,000 (100,000 with ``--sim-full``), Icarus 2,000."""
    return (100_000 if full else 6_000) if simulator == "verilator" else 2_000


def check_fp32_with_stalls(d, config, shaped, random_bits):
    """``d`` (an FP32 unit ``config``) on the float specials, the ``shaped`` patterns, the
    ``random_bits`` and the specials reversed (an even count, for two lanes; backward units get
    random ``grad_out``), with random input gaps and output stalls: bit-exact, back-pressure
    reached, then the stated latency on the first 128."""
    from sim.runner import run_latency
    specials = float_specials(config.format)
    x = np.concatenate([specials, shaped, random_bits, specials[::-1]])
    x = x[:len(x) - len(x) % 2]
    grad = (np.random.default_rng(9).integers(0, 1 << config.in_width, x.size, dtype=np.uint64)
            if config.is_backward else None)
    result = run(d, x, grad=grad, in_gap=0.3, out_stall=0.3, seed=7)
    assert result.stats["in_ready_low"] > 0, "backpressure never reached the input"
    assert_matches(config, x, result.y, grad=grad)
    stats, result = run_latency(d, x[:128], grad=None if grad is None else grad[:128])
    assert stats["lone_latency"] == d.latency and stats["latencies"] == [d.latency]
