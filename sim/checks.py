"""Helpers shared by the co-simulation tests: input vectors and the bit-exact comparison with the
golden model (:func:`golden.eval.evaluate`), which reports the first differences in hex."""
import zlib

import numpy as np

from golden.eval import evaluate

__all__ = ["ICARUS_EXHAUSTIVE_STRIDE", "float_specials", "fixed_specials", "specials",
           "exhaustive_inputs", "golden", "mismatches", "assert_matches", "run"]

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


def golden(config, x, grad=None, alpha=None):
    """``golden.eval.evaluate`` on uint64 arrays: ``(y, flag)`` (``flag`` None for floats)."""
    as_bits = lambda v: None if v is None else np.asarray(v, dtype=np.uint64)
    gy, gflag = evaluate(config, as_bits(x), as_bits(grad), as_bits(alpha))
    return gy.astype(np.uint64), gflag


def mismatches(config, x, y, flag=None, grad=None, alpha=None, limit=12):
    """``(count, lines)``: the number of results differing from the golden model and a
    description of the first ``limit`` of them (inputs and both results in hex)."""
    x = np.asarray(x, dtype=np.uint64)
    y = np.asarray(y, dtype=np.uint64)
    gy, gflag = golden(config, x, grad, alpha)
    if gflag is None:
        bad = np.flatnonzero(gy != y)
    else:
        if flag is None or len(flag) != len(x):
            raise AssertionError("flags missing")
        bad = np.flatnonzero((gy != y) | (np.asarray(gflag, bool) != np.asarray(flag, bool)))
    lines = []
    for i in bad[:limit]:
        line = f"  [{i}] x={int(x[i]):#x}"
        if grad is not None:
            line += f" grad={int(grad[i]):#x}"
        if alpha is not None:
            line += f" alpha={int(alpha[i]):#x}"
        line += f": rtl y={int(y[i]):#x}"
        if gflag is not None:
            line += f" flag={int(flag[i])}"
        line += f", golden y={int(gy[i]):#x}"
        if gflag is not None:
            line += f" flag={int(gflag[i])}"
        lines.append(line)
    return len(bad), lines


def assert_matches(config, x, y, flag=None, what="results", grad=None, alpha=None):
    """Bit-exact comparison with the golden model, reporting the first differences precisely."""
    assert len(y) == len(x), f"{len(y)} {what} for {len(x)} inputs"
    count, lines = mismatches(config, x, y, flag, grad, alpha)
    if count:
        import pytest
        pytest.fail(f"{config.name}: {count} of {len(x)} {what} differ from the golden "
                    f"model:\n" + "\n".join(lines))


def run(d, x, **kwargs):
    from sim.runner import run_stream
    return run_stream(d, x, **kwargs)
