"""Exact reference of ELU and its derivative, element by element with MPFR (gmpy2).

``ELU(x) = x`` for ``x >= 0`` (``-0`` stays ``-0``, ``+inf`` stays ``+inf``), ``alpha*(exp(x) - 1)``
for ``x < 0`` (``-inf``: ``-alpha``); the backward value is ``grad * f'(x)`` with ``f'(x) = 1`` for
``x >= 0`` and ``alpha*exp(x)`` below (``-inf``: 0). Each value is computed to 320 bits and
rounded once to the output (floats: nearest even with subnormals and overflow; fixed point: the
nearest grid point, ties to even, then saturation with the flag). The values are transcendental
for every non-zero finite ``x`` (``expm1`` and ``exp`` of a non-zero rational), so no exact
midpoint occurs; each rounding is checked anyway (Ziv): the value nudged by ``2**-300`` either way
must round the same, else :class:`AmbiguousRounding` is raised rather than a guess returned.
"""
import math

import gmpy2
import numpy as np
from gmpy2 import mpfr

from hw.spec.formats import FloatFormat
from .reference import decode_float, encode_float_value

__all__ = ["elu_mpfr", "elu_exact", "AmbiguousRounding", "round_mpfr"]

U = np.uint64
PRECISION = 320
NUDGE = 300


class AmbiguousRounding(ArithmeticError):
    """A value too close to a rounding boundary for the working precision."""


def _context():
    return gmpy2.context(precision=PRECISION, emin=-(1 << 30), emax=1 << 30)


def _float_target(fmt):
    return gmpy2.context(precision=fmt.precision, emin=fmt.emin - fmt.man_bits + 1,
                         emax=fmt.emax + 1, subnormalize=True, round=gmpy2.RoundToNearest)


def round_mpfr(fmt, value, out_format=None):
    """``(bits, flag)``: the signed mpfr ``value`` rounded once to float format ``fmt`` (flag
    False), or to the fixed-point ``out_format`` (flag: saturated); checked as the module says."""
    results = []
    with _context():
        nudge = mpfr(2) ** -NUDGE
        candidates = [value, value * (1 + nudge), value * (1 - nudge)] if value != 0 else [value]
    for candidate in candidates:
        if out_format is None:
            with _float_target(fmt):
                rounded = +candidate
            bits = int(encode_float_value(fmt, np.float64(float(rounded))))
            results.append((bits, False))
        else:
            with gmpy2.context(precision=PRECISION, emin=-(1 << 30), emax=1 << 30, round=gmpy2.RoundToNearest):
                q = int(gmpy2.rint(candidate * mpfr(2) ** out_format.frac_bits))
            low, high = -out_format.max_int - 1, out_format.max_int
            saturated = not low <= q <= high
            q = min(max(q, low), high)
            results.append((q & ((1 << out_format.width) - 1), saturated))
    if len(set(results)) != 1:
        raise AmbiguousRounding(f"{float(value)!r} rounds differently within 2**-{NUDGE}")
    return results[0]


def _decode(fmt, bits):
    bits = np.asarray(bits).astype(np.int64).astype(U) & U((1 << fmt.width) - 1)
    if isinstance(fmt, FloatFormat):
        return decode_float(fmt, bits).reshape(-1).tolist()
    signed = bits.astype(np.int64) - np.where(bits >> U(fmt.width - 1) == U(1), 1 << fmt.width, 0)
    return np.ldexp(signed.astype(np.float64), -fmt.frac_bits).reshape(-1).tolist()


def elu_mpfr(fmt, alpha, x, grad=None, out_format=None):
    """ELU (``grad`` None) or ``grad * ELU'(x)`` of raw bits in ``fmt`` (fixed point: results in
    ``out_format``, default ``fmt``): ``{"bits", "flag", "value"}``, the correctly rounded raw
    bits, the flags (floats: None; fixed point: saturated) and the exact values as float64 (NaN
    for an invalid operation)."""
    is_float = isinstance(fmt, FloatFormat)
    out = None if is_float else (out_format or fmt)
    shape = np.shape(x)
    xs = _decode(fmt, x)
    gs = None if grad is None else _decode(fmt, np.broadcast_to(grad, shape))
    ys, flags, values = [], [], []
    with _context():
        a = mpfr(alpha, 53)
    for i, xv in enumerate(xs):
        gv = None if gs is None else gs[i]
        value = _value(xv, gv, a)
        if value is None:                                  # invalid: NaN in, inf * 0
            ys.append(fmt.quiet_nan if is_float else 0), flags.append(not is_float), values.append(math.nan)
            continue
        if isinstance(value, float):                       # an exact special result
            bits, flag = ((int(encode_float_value(fmt, np.float64(value))), False) if is_float
                          else round_mpfr(fmt, mpfr(value), out))
        else:
            bits, flag = round_mpfr(fmt, value, out)
        ys.append(bits), flags.append(flag), values.append(float(value))
    y = np.array(ys, dtype=U).reshape(shape)
    return {"bits": y, "flag": None if is_float else np.array(flags, dtype=bool).reshape(shape),
            "value": np.array(values, dtype=np.float64).reshape(shape)}


def _value(xv, gv, a):
    """The exact result as a float (exact special values), an mpfr, or None (invalid)."""
    if math.isnan(xv) or (gv is not None and math.isnan(gv)):
        return None
    with _context():
        if gv is None:
            if xv >= 0 or xv == 0:                         # x itself, -0 included
                return xv
            if math.isinf(xv):
                return -a
            return a * gmpy2.expm1(mpfr(xv, 53))
        if xv >= 0:                                        # f'(x) = 1, -0 included
            return gv
        if math.isinf(xv):                                 # f'(-inf) = 0
            return None if math.isinf(gv) else math.copysign(0.0, gv)
        if gv == 0 or math.isinf(gv):                     # f'(x) > 0: grad's zero or infinity
            return gv
        return mpfr(gv, 53) * a * gmpy2.exp(mpfr(xv, 53))


def elu_exact(config, x, grad=None):
    """:func:`elu_mpfr` for ``config`` (its format and alpha)."""
    return elu_mpfr(config.format, config.alpha, x, grad, config.out_format)
