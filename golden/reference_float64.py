"""Fast exact references of the comparison functions: float64 estimates with a proven error bound,
decided by MPFR wherever the bound does not settle the rounding.

For float formats of at most 24 significand bits whose range lies well inside float64's (BF16,
FP16, FP32, ``eXmY`` with at most 24 bits and values in ``[2**-256, 2**256]``) each
result is first estimated in float64 from NumPy's elementary functions, with a relative error
bound per element (:data:`REL_LIBM` per library call, ``2**-53`` per basic operation, and for the
ISRU sigmoid's ``1 + (alpha - 1)*y**2`` the error of that sum relative to its own size). The
estimate's interval ``value * (1 +- rel) +- 2**-700`` is rounded at both ends to the output
format: where both ends round to the same bits, those are the correctly rounded result, since the
exact value lies in the interval. Every other element (intervals that straddle a rounding
boundary, zeros, infinities, the ISRU sigmoid's sign change) is computed with MPFR by
:mod:`golden.reference_elementary`, element by element, as the slow reference does everywhere.
NaN operands give the canonical quiet NaN without MPFR. The results are bit-identical to the MPFR
reference (tests check every BF16 and FP16 input and sampled FP32 inputs); only the ``value`` of
decided elements is the float64 estimate instead of MPFR's (relative error within the bound).

Fixed-point outputs and wider formats go to MPFR directly. :data:`REL_LIBM` (``2**-46``, a
hundred times the few float64 ulps glibc and NumPy's SIMD loops document) makes about one FP32
input in 10**6 fall back to MPFR.
"""
import numpy as np

from hw.spec.formats import FloatFormat
from . import reference_elementary as mp
from .reference import decode_float

__all__ = ["round_float64", "decide", "elu_fast", "tanh_fast", "sigmoid_fast", "isru_sigmoid_fast",
           "elu_exact", "tanh_exact", "sigmoid_exact", "isru_sigmoid_exact", "REL_LIBM",
           "MAX_PRECISION", "MAX_EXPONENT"]

U = np.uint64
REL_LIBM = 2.0 ** -46          # relative error bound of one NumPy elementary function (float64)
OP = 2.0 ** -53                # one rounded float64 operation
ABS_FLOOR = 2.0 ** -700        # absolute slack: float64 underflow in an estimate (times grad)
MAX_PRECISION = 24             # float64 keeps 29 bits beyond the result's significand
MAX_EXPONENT = 256             # formats whose values and rounding boundaries lie in [2**-256, 2**256]


def round_float64(fmt: FloatFormat, value):
    """Raw bits of float64 ``value`` rounded once (nearest even, subnormals, overflow to infinity)
    to ``fmt``; NaN gives the canonical quiet NaN."""
    value = np.asarray(value, dtype=np.float64)
    mag = np.abs(value)
    finite = np.isfinite(mag) & (mag > 0)
    safe = np.where(finite, mag, 1.0)
    _, e2 = np.frexp(safe)
    e = np.maximum(e2.astype(np.int64) - 1, fmt.emin)
    q = np.rint(np.ldexp(safe, (fmt.man_bits - e).astype(np.int32)))     # exact scaling, one rounding
    out = ((e + fmt.bias - 1).astype(U) << U(fmt.man_bits)) + q.astype(U)
    out = np.minimum(out, U(fmt.inf))
    out = np.where(mag == 0, U(0), np.where(np.isinf(mag), U(fmt.inf), out))
    out = np.where(np.signbit(value), out | U(fmt.sign_bit), out)
    return np.where(np.isnan(value), U(fmt.quiet_nan), out)


def decide(fmt, value, rel):
    """``(bits, decided)``: the rounding of ``value`` and whether every point of its error interval
    (relative ``rel``, plus :data:`ABS_FLOOR`) rounds the same. The sign of ``value`` (also of a
    zero) must be that of the exact value: the interval does not cross zero."""
    mag = np.abs(value)
    err = mag * rel + ABS_FLOOR
    bits = round_float64(fmt, value)
    low = round_float64(fmt, np.copysign(np.maximum(mag - err, 0.0), value))
    high = round_float64(fmt, np.copysign(mag + err, value))
    return bits, (low == bits) & (high == bits)


# ---------------------------------------------------------------------------------------------
# Estimates: f(x) or f'(x) and its relative error bound, for finite nonzero x (float64 arrays);
# the sign of each estimate (also of an underflowed zero) is the exact value's

def _elu(x, alpha, derivative):
    neg = x < 0
    core = alpha * (np.exp(x) if derivative else np.expm1(x))
    value = np.where(neg, core, 1.0 if derivative else x)
    return value, np.where(neg, REL_LIBM + OP, 0.0)


def _tanh(x, alpha, derivative):
    if not derivative:
        return np.tanh(x), np.full(x.shape, REL_LIBM)
    t = np.exp(-2 * np.abs(x))                  # sech**2 = 4t/(1 + t)**2, no cancellation
    return 4 * t / ((1 + t) * (1 + t)), np.full(x.shape, REL_LIBM + 4 * OP)


def _sigmoid(x, alpha, derivative):
    e = np.exp(-np.abs(x))
    if derivative:                              # s(x)*s(-x) = e/(1 + e)**2
        return e / ((1 + e) * (1 + e)), np.full(x.shape, REL_LIBM + 4 * OP)
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)), np.full(x.shape, REL_LIBM + 3 * OP)


def _isru_sigmoid(x, alpha, derivative):
    y = x / 2
    y2 = y * y                                  # exact: at most 48 significant bits, no underflow
    u = 1 + alpha * y2
    s = np.sqrt(u)
    if derivative:                              # (1 + alpha*y**2)**-1.5 / 4
        return 1 / (u * s) / 4, np.full(x.shape, 6 * OP)
    positive = (1 + y / s) / 2
    n = 1 + (alpha - 1) * y2                    # 1 + ISRU(y) = n/(s*(s - y)) for y < 0
    negative = n / (s * (s - y)) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_n = 3 * OP * (1 + np.abs(alpha - 1) * y2) / np.abs(n)     # inf where n == 0: MPFR
    return np.where(y >= 0, positive, negative), np.where(y >= 0, 6 * OP, rel_n + 8 * OP)


# ---------------------------------------------------------------------------------------------

def _fast_format(fmt):
    return (isinstance(fmt, FloatFormat) and fmt.precision <= MAX_PRECISION and fmt.emax < MAX_EXPONENT
            and fmt.emin - fmt.man_bits > -MAX_EXPONENT)


def _fast(estimate, value_of, fmt, alpha, x, grad, out_format):
    """``{"bits", "flag", "value"}`` as :func:`golden.reference_elementary.elu_mpfr`."""
    if not _fast_format(fmt):
        return mp._reference(value_of, fmt, x, grad, out_format, alpha)
    x = np.asarray(x)
    shape = x.shape
    xv = decode_float(fmt, x).reshape(-1)
    gv = None if grad is None else decode_float(fmt, np.broadcast_to(grad, shape)).reshape(-1)
    nan = np.isnan(xv) if gv is None else np.isnan(xv) | np.isnan(gv)
    ordinary = np.isfinite(xv) & (xv != 0)
    if gv is not None:
        ordinary &= np.isfinite(gv) & (gv != 0)
    a = 1.0 if alpha is None else float(alpha)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        value, rel = estimate(np.where(ordinary, xv, 1.0), a, gv is not None)
        if gv is not None:
            value, rel = gv * value, rel + OP
        bits, decided = decide(fmt, value, rel)
    decided &= ordinary & np.isfinite(value)
    bits = np.where(nan, U(fmt.quiet_nan), bits)
    value = np.where(nan, np.nan, value)
    rest = np.flatnonzero(~decided & ~nan)
    if rest.size:
        slow = mp._reference(value_of, fmt, x.reshape(-1)[rest],
                             None if grad is None else np.broadcast_to(grad, shape).reshape(-1)[rest],
                             out_format, alpha)
        bits[rest], value[rest] = slow["bits"], slow["value"]
    return {"bits": bits.reshape(shape), "flag": None, "value": value.reshape(shape)}


def elu_fast(fmt, alpha, x, grad=None, out_format=None):
    """:func:`golden.reference_elementary.elu_mpfr`, fast (see the module)."""
    return _fast(_elu, mp._elu, fmt, alpha, x, grad, out_format)


def tanh_fast(fmt, x, grad=None, out_format=None):
    """:func:`golden.reference_elementary.tanh_mpfr`, fast."""
    return _fast(_tanh, mp._tanh, fmt, None, x, grad, out_format)


def sigmoid_fast(fmt, x, grad=None, out_format=None):
    """:func:`golden.reference_elementary.sigmoid_mpfr`, fast."""
    return _fast(_sigmoid, mp._sigmoid, fmt, None, x, grad, out_format)


def isru_sigmoid_fast(fmt, alpha, x, grad=None, out_format=None):
    """:func:`golden.reference_elementary.isru_sigmoid_mpfr`, fast."""
    return _fast(_isru_sigmoid, mp._isru_sigmoid, fmt, alpha, x, grad, out_format)


def elu_exact(config, x, grad=None):
    """ELU or its backward value for ``config`` (its format, alpha and output format)."""
    return elu_fast(config.format, config.alpha, x, grad, config.out_format)


def tanh_exact(config, x, grad=None):
    """tanh or its backward value for ``config``."""
    return tanh_fast(config.format, x, grad, config.out_format)


def sigmoid_exact(config, x, grad=None):
    """The logistic sigmoid or its backward value for ``config``."""
    return sigmoid_fast(config.format, x, grad, config.out_format)


def isru_sigmoid_exact(config, x, grad=None):
    """The ISRU sigmoid or its backward value for ``config``."""
    return isru_sigmoid_fast(config.format, config.alpha, x, grad, config.out_format)
