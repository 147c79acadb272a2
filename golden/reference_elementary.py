"""Exact references of the comparison functions, element by element with MPFR (gmpy2): ELU, tanh,
the logistic sigmoid, the ISRU sigmoid, and their derivatives as the backward units return them,
``grad * f'(x)``.

* ELU: ``x`` for ``x >= 0`` (``-0`` stays ``-0``), ``alpha*(exp(x) - 1)`` below (``-inf``:
  ``-alpha``); ``f' = 1`` or ``alpha*exp(x)`` (``-inf``: 0).
* tanh: odd, ``+-inf`` gives ``+-1``; ``f' = 1 - tanh(x)**2``, computed as ``sech(x)**2`` (no
  cancellation).
* sigmoid ``1/(1 + exp(-x))``: ``+inf`` 1, ``-inf`` ``+0``; ``f' = s(x)*s(-x)`` (no cancellation).
* ISRU sigmoid ``(1 + ISRU(x/2))/2``, ``ISRU(y) = y/sqrt(1 + alpha*y**2)``: for ``y < 0`` as
  ``(1 + (alpha - 1)*y**2) / (s*(s + |y|)) / 2``, ``s = sqrt(1 + alpha*y**2)`` (the cancellation
  of ``1 + ISRU`` removed); ``+-inf`` gives ``(1 +- alpha**-0.5)/2``; ``f' = (1 + alpha*x**2/4)**-1.5
  / 4``.

A backward value is ``grad * f'(x)`` with ``f' >= 0``: ``f' = 0`` (at an infinity) gives a zero of
``grad``'s sign, or NaN for an infinite ``grad``. Each value is computed to 320 bits and rounded
once to the output (floats: nearest even with subnormals and overflow; fixed point: the nearest
grid point, ties to even, then saturation with the flag). The values are transcendental (or, for
the ISRU sigmoid, algebraic) for every non-zero finite ``x``; each rounding is checked anyway
(Ziv): the value nudged by ``2**-300`` either way must round the same, else
:class:`AmbiguousRounding` is raised rather than a guess returned.
"""
import math

import gmpy2
import numpy as np
from gmpy2 import mpfr

from hw.spec.formats import FloatFormat
from .reference import decode_float, encode_float_value

__all__ = ["elu_mpfr", "tanh_mpfr", "sigmoid_mpfr", "isru_sigmoid_mpfr", "AmbiguousRounding", "round_mpfr"]

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


def round_mpfr(fmt, value, out_format=None, exact=False):
    """``(bits, flag)``: the signed mpfr ``value`` rounded once to float format ``fmt`` (flag
    False), or to the fixed-point ``out_format`` (flag: saturated); checked as the module says,
    unless ``value`` is ``exact`` (then a tie rounds to even)."""
    results = []
    with _context():
        nudge = mpfr(2) ** -NUDGE
        candidates = [value, value * (1 + nudge), value * (1 - nudge)] if value != 0 and not exact else [value]
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


def _reference(value_of, fmt, x, grad, out_format, alpha):
    """``{"bits", "flag", "value"}`` of ``value_of(x, grad, alpha)`` (see :func:`elu_mpfr`)."""
    is_float = isinstance(fmt, FloatFormat)
    out = None if is_float else (out_format or fmt)
    shape = np.shape(x)
    xs = _decode(fmt, x)
    gs = None if grad is None else _decode(fmt, np.broadcast_to(grad, shape))
    ys, flags, values = [], [], []
    with _context():
        a = None if alpha is None else mpfr(alpha, 53)
    for i, xv in enumerate(xs):
        gv = None if gs is None else gs[i]
        if math.isnan(xv) or (gv is not None and math.isnan(gv)):
            value = None
        else:
            with _context():
                value = value_of(xv, a) if gv is None else _times_grad(gv, value_of(xv, a, derivative=True))
        if value is None:                                  # invalid: NaN in, inf * 0
            ys.append(fmt.quiet_nan if is_float else 0), flags.append(not is_float), values.append(math.nan)
            continue
        if isinstance(value, float) and is_float:          # an exact special result
            bits, flag = int(encode_float_value(fmt, np.float64(value))), False
        else:                                              # a float: exact (a tie rounds to even)
            bits, flag = round_mpfr(fmt, mpfr(value) if isinstance(value, float) else value, out,
                                    exact=isinstance(value, float))
        ys.append(bits), flags.append(flag), values.append(float(value))
    y = np.array(ys, dtype=U).reshape(shape)
    return {"bits": y, "flag": None if is_float else np.array(flags, dtype=bool).reshape(shape),
            "value": np.array(values, dtype=np.float64).reshape(shape)}


def _times_grad(gv, derivative):
    """``grad * f'`` for ``f' >= 0`` (a float where exact: 0, 1, 1/4, else an mpfr); exact
    products stay floats (``grad`` is a float64 of at most 24 significant bits)."""
    if isinstance(derivative, float) and derivative == 0:
        return None if math.isinf(gv) else math.copysign(0.0, gv)
    if gv == 0 or math.isinf(gv) or isinstance(derivative, float):
        return gv * derivative if isinstance(derivative, float) else gv
    return mpfr(gv, 53) * derivative


def _elu(xv, a, derivative=False):
    if xv >= 0:                                            # -0 included
        return 1.0 if derivative else xv
    if math.isinf(xv):
        return 0.0 if derivative else -a
    x = mpfr(xv, 53)
    return a * gmpy2.exp(x) if derivative else a * gmpy2.expm1(x)


def _tanh(xv, a, derivative=False):
    if math.isinf(xv):
        return 0.0 if derivative else math.copysign(1.0, xv)
    if xv == 0 and not derivative:
        return xv
    if xv == 0:
        return 1.0                                         # tanh'(0), exact
    x = mpfr(xv, 53)
    return gmpy2.sech(x) ** 2 if derivative else gmpy2.tanh(x)


def _sigmoid(xv, a, derivative=False):
    if math.isinf(xv):
        return 0.0 if derivative else (1.0 if xv > 0 else 0.0)
    if xv == 0:
        return 0.25 if derivative else 0.5                 # exact
    x = mpfr(xv, 53)
    s = lambda v: 1 / (1 + gmpy2.exp(-v))
    return s(x) * s(-x) if derivative else s(x)


def _isru_sigmoid(xv, a, derivative=False):
    if math.isinf(xv):
        return 0.0 if derivative else (1 + math.copysign(1.0, xv) * gmpy2.rec_sqrt(a)) / 2
    if xv == 0:
        return 0.25 if derivative else 0.5                 # exact
    y = mpfr(xv, 53) / 2
    u = 1 + a * y * y
    if derivative:
        return gmpy2.rec_sqrt(u) ** 3 / 4
    s = gmpy2.sqrt(u)
    return (1 + y / s) / 2 if y >= 0 else (1 + (a - 1) * y * y) / (s * (s - y)) / 2


def elu_mpfr(fmt, alpha, x, grad=None, out_format=None):
    """ELU (``grad`` None) or ``grad * ELU'(x)`` of raw bits in ``fmt`` (fixed point: results in
    ``out_format``, default ``fmt``): ``{"bits", "flag", "value"}``, the correctly rounded raw
    bits, the flags (floats: None; fixed point: saturated) and the exact values as float64 (NaN
    for an invalid operation)."""
    return _reference(_elu, fmt, x, grad, out_format, alpha)


def tanh_mpfr(fmt, x, grad=None, out_format=None):
    """tanh or ``grad * tanh'(x)``, as :func:`elu_mpfr`."""
    return _reference(_tanh, fmt, x, grad, out_format, None)


def sigmoid_mpfr(fmt, x, grad=None, out_format=None):
    """The logistic sigmoid or ``grad * sigmoid'(x)``, as :func:`elu_mpfr`."""
    return _reference(_sigmoid, fmt, x, grad, out_format, None)


def isru_sigmoid_mpfr(fmt, alpha, x, grad=None, out_format=None):
    """The ISRU sigmoid ``(1 + ISRU(x/2))/2`` or ``grad`` times its derivative, as :func:`elu_mpfr`."""
    return _reference(_isru_sigmoid, fmt, x, grad, out_format, alpha)
