"""The exact references: ``1/sqrt(x)`` and the ISRU/ISRLU activations (forward and backward),
correctly rounded, independent of the golden model.

Nothing here imports the golden model (:mod:`golden.rsqrt`, :mod:`golden.blocks`) or the datapath:
the reference only knows the number formats. Three entry points:

* :func:`rsqrt_exact` (floats) and :func:`rsqrt_exact_fixed` (fixed point): vectorized NumPy,
  correctly rounded (round to nearest, ties to even). A float64 estimate picks the two representable
  neighbours of the result; which one is nearer is then decided *exactly* by the sign of
  ``x * mid**2 - 1`` for their midpoint ``mid``, computed with 128-bit integer limb arithmetic.
* :func:`exact_value`: ``1/sqrt(x)`` in float64 (relative error below ``2**-52``), for measuring
  errors in ulps.
* :func:`rsqrt_mpfr` and :func:`rsqrt_fixed_int`: slow per-element references (MPFR through gmpy2,
  and Python integers) used to cross-check the vectorized ones.

The activations (:func:`activation_exact`, :func:`activation_value`, :func:`activation_compare`,
and the slow :func:`activation_mpfr` and :func:`activation_fixed_int`) are described in their
section below.

Special values of rsqrt (IEEE 754-2008 ``rSqrt``): ``+0 -> +inf``, ``-0 -> -inf``, ``+inf -> +0``, negative
numbers (including ``-inf``) and NaNs -> the canonical quiet NaN ``fmt.quiet_nan``. Fixed point:
zero -> ``max_int`` flagged, negative -> ``0`` flagged, results beyond ``out_format`` saturate to
``max_int`` flagged.
"""
import math
from fractions import Fraction

import numpy as np

from hw.spec.formats import FixedFormat, FloatFormat
from .blocked import blocked

__all__ = ["decode_float", "encode_float_value", "rsqrt_exact", "rsqrt_exact_fixed", "exact_value",
           "rsqrt_mpfr", "rsqrt_fixed_int", "fma_mpfr", "relu_exact", "float_classes", "activation_exact", "activation_value",
           "activation_compare", "activation_mpfr", "activation_fixed_int"]

U = np.uint64
_MASK32 = U(0xFFFFFFFF)


# ---------------------------------------------------------------------------------------------
# 128-bit helpers (pairs of uint64 arrays hi, lo)

def _mul_64x64(a, b):
    """Full 128-bit product ``(hi, lo)`` of two uint64 arrays."""
    a0, a1 = a & _MASK32, a >> U(32)
    b0, b1 = b & _MASK32, b >> U(32)
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    middle = (p00 >> U(32)) + (p01 & _MASK32) + (p10 & _MASK32)
    lo = (p00 & _MASK32) | ((middle & _MASK32) << U(32))
    hi = p11 + (p01 >> U(32)) + (p10 >> U(32)) + (middle >> U(32))
    return hi, lo


def _compare_pow2(hi, lo, n):
    """Sign of ``(hi*2**64 + lo) - 2**n`` (-1, 0, +1) for any integer array ``n``."""
    n = np.asarray(n, dtype=np.int64)
    big = n >= 64
    p_hi = np.where(big & (n < 128), U(1) << np.clip(n - 64, 0, 63).astype(U), U(0))
    p_lo = np.where((n >= 0) & ~big, U(1) << np.clip(n, 0, 63).astype(U), U(0))
    sign = np.where(hi > p_hi, 1, np.where(hi < p_hi, -1,
                    np.where(lo > p_lo, 1, np.where(lo < p_lo, -1, 0))))
    sign = np.where(n < 0, 1, sign)          # the operand is a positive integer, >= 1 > 2**n
    return np.where(n >= 128, -1, sign)      # operands are below 2**128


# ---------------------------------------------------------------------------------------------
# Float formats

def float_classes(fmt: FloatFormat, bits):
    """``sign, zero, inf, nan`` boolean arrays (sign as bool) of raw float bits."""
    bits = np.asarray(bits).astype(np.int64).astype(U) & U((1 << fmt.width) - 1)
    sign = (bits >> U(fmt.width - 1)) & U(1) == U(1)
    mag = bits & U(fmt.sign_bit - 1)
    return sign, mag == U(0), mag == U(fmt.inf), mag > U(fmt.inf)


def _unpack(fmt: FloatFormat, bits):
    """``(sig, e)`` with ``|x| = sig * 2**(e - man_bits)``; ``sig`` uint64 (unnormalized for subnormals:
    ``sig = frac``, ``e = emin``)."""
    man = fmt.man_bits
    field = ((bits >> U(man)) & U(fmt.exp_max_field)).astype(np.int64)
    frac = bits & U((1 << man) - 1)
    normal = field != 0
    sig = np.where(normal, frac | U(1 << man), frac)
    e = np.where(normal, field - fmt.bias, fmt.emin)
    return sig, e


def decode_float(fmt: FloatFormat, bits):
    """Raw bits to float64 (exact for every format here); NaN payloads become NaN."""
    bits = np.asarray(bits).astype(np.int64).astype(U) & U((1 << fmt.width) - 1)
    sign, zero, inf, nan = float_classes(fmt, bits)
    sig, e = _unpack(fmt, bits)
    value = np.ldexp(sig.astype(np.float64), (e - fmt.man_bits).astype(np.int32))
    value = np.where(inf, np.inf, np.where(nan, np.nan, value))
    return np.where(sign, -value, value)


def encode_float_value(fmt: FloatFormat, value):
    """Exactly representable float64 values (finite, inf, or NaN) to raw bits of ``fmt``."""
    value = np.asarray(value, dtype=np.float64)
    sign = np.signbit(value)
    mag = np.abs(value)
    finite = np.isfinite(mag)
    safe = np.where(finite & (mag > 0), mag, 1.0)
    _, e2 = np.frexp(safe)
    e = np.maximum(e2.astype(np.int64) - 1, fmt.emin)
    q = np.ldexp(safe, (fmt.man_bits - e).astype(np.int32))   # exact for representable values
    q_int = q.astype(np.int64).astype(U)
    out = ((e + fmt.bias - 1).astype(U) << U(fmt.man_bits)) + q_int
    out = np.where(mag == 0, U(0), out)
    out = np.where(np.isinf(mag), U(fmt.inf), out)
    out = np.where(sign, out | U(fmt.sign_bit), out)
    return np.where(np.isnan(value), U(fmt.quiet_nan), out)


def _round_finite(fmt: FloatFormat, sig, e):
    """Correctly rounded raw bits (sign 0) of ``(sig * 2**(e - man))**-0.5`` for positive operands."""
    man = fmt.man_bits
    x = np.ldexp(sig.astype(np.float64), (e - man).astype(np.int32))
    est = 1.0 / np.sqrt(x)                       # relative error < 2**-51
    _, e2 = np.frexp(est)
    # Quantum exponent of the result: that of its binade, clamped to emin (subnormal results).
    eq = np.maximum(e2.astype(np.int64) - 1, fmt.emin)
    t = np.ldexp(est, (man - eq).astype(np.int32))   # the estimate in units of the quantum
    q0 = np.floor(t).astype(np.int64).astype(U)
    # The true value lies within 2**-27 quanta of t, so it rounds to q0 or q0 + 1 (even when the
    # estimate sits on the wrong side of a binade boundary): decide with the midpoint exactly.
    # x * mid**2 = sig * (2*q0 + 1)**2 * 2**(e - man + 2*(eq - man - 1)) compared with 1.
    odd = U(2) * q0 + U(1)                        # < 2**27: its square fits in 64 bits
    hi, lo = _mul_64x64(sig, odd * odd)
    n = 3 * man + 2 - e - 2 * eq
    cmp = _compare_pow2(hi, lo, n)              # sign of x*mid**2 - 1
    up = (cmp < 0) | ((cmp == 0) & ((q0 & U(1)) == U(1)))
    q = q0 + up.astype(U)
    # Pack: ((eq + bias - 1) << man) + q covers normals, subnormals and both carries.
    out = ((eq + fmt.bias - 1).astype(U) << U(man)) + q
    return np.where(out >= U(fmt.inf), U(fmt.inf), out)


def rsqrt_exact(fmt: FloatFormat, bits):
    """Correctly rounded (nearest even) ``1/sqrt(x)`` of raw float bits, as raw bits (uint64)."""
    if not isinstance(fmt, FloatFormat):
        raise TypeError(f"rsqrt_exact takes a FloatFormat, not {fmt!r}")
    return blocked(lambda b: _rsqrt_exact(fmt, b), [bits])


def _rsqrt_exact(fmt, bits):
    bits = np.asarray(bits).astype(np.int64).astype(U) & U((1 << fmt.width) - 1)
    sign, zero, inf, nan = float_classes(fmt, bits)
    finite = ~(sign | zero | inf | nan)
    sig, e = _unpack(fmt, np.where(finite, bits, U(1 << fmt.man_bits)))   # 1.0 where not finite
    out = _round_finite(fmt, sig, e)
    out = np.where(inf, U(0), out)
    out = np.where(zero, U(fmt.inf) | np.where(sign, U(fmt.sign_bit), U(0)), out)
    return np.where((sign & ~zero) | nan, U(fmt.quiet_nan), out)


# ---------------------------------------------------------------------------------------------
# Fixed point

def _fixed_inputs(fmt: FixedFormat, bits):
    bits = np.asarray(bits).astype(np.int64).astype(U) & U((1 << fmt.width) - 1)
    negative = (bits >> U(fmt.width - 1)) == U(1)
    return bits, negative, bits == U(0)


def rsqrt_exact_fixed(config, bits):
    """Correctly rounded ``1/sqrt(x)`` of raw fixed-point words in ``config.out_format``.

    Returns ``(y, flag)`` like the golden model: zero -> ``max_int`` flagged, negative -> ``0``
    flagged, results beyond ``out_format`` saturate to ``max_int`` flagged.
    """
    return blocked(lambda b: _rsqrt_exact_fixed(config, b), [bits])


def _rsqrt_exact_fixed(config, bits):
    fmt, out = config.format, config.out_format
    bits, negative, zero = _fixed_inputs(fmt, bits)
    positive = ~negative & ~zero
    xi = np.where(positive, bits, U(1))
    # y = round(sqrt(2**k / X)) with k = 2*F' + F.
    k = 2 * out.frac_bits + fmt.frac_bits
    est = np.sqrt(np.ldexp(1.0, k) / xi.astype(np.float64))     # relative error < 2**-51
    limit = float(out.max_int + 1)                                 # <= 2**31
    q0 = np.floor(np.minimum(est, limit)).astype(np.int64).astype(U)
    # X * (2*q0 + 1)**2 compared with 2**(k + 2); 2*q0 + 1 < 2**33, X < 2**31.
    odd = U(2) * q0 + U(1)
    hi, lo = _mul_64x64(xi * odd, odd)
    cmp = _compare_pow2(hi, lo, np.full(bits.shape, k + 2, dtype=np.int64))
    up = (cmp < 0) | ((cmp == 0) & ((q0 & U(1)) == U(1)))
    y = q0 + up.astype(U)
    saturated = y > U(out.max_int)
    y = np.where(saturated | zero, U(out.max_int), y)
    y = np.where(negative, U(0), y)
    return y, saturated | zero | negative


# ---------------------------------------------------------------------------------------------
# Unrounded values

def exact_value(fmt_or_config, bits):
    """``1/sqrt(x)`` as float64 (relative error below ``2**-51``): ``+inf`` for ``+0``, ``-inf``
    for ``-0`` (floats), ``0`` for ``+inf``, NaN for negative inputs and NaNs. Fixed point gives the
    real value (not in output LSBs), ``+inf`` for zero."""
    fmt = getattr(fmt_or_config, "format", fmt_or_config)
    if isinstance(fmt, FloatFormat):
        x = decode_float(fmt, bits)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = 1.0 / np.sqrt(x)
        return np.where(x == 0, np.copysign(np.inf, x), value)
    bits, negative, zero = _fixed_inputs(fmt, bits)
    x = np.ldexp(bits.astype(np.float64), -fmt.frac_bits)
    with np.errstate(divide="ignore"):
        value = 1.0 / np.sqrt(x)
    return np.where(negative, np.nan, value)


# ---------------------------------------------------------------------------------------------
# Slow per-element references for cross-checking

def rsqrt_mpfr(fmt: FloatFormat, bits):
    """``rsqrt_exact`` computed element by element with MPFR (gmpy2): precision ``man_bits + 1``,
    the format's exponent range and subnormals emulated (``emin``/``emax``/``subnormalize``),
    round to nearest even."""
    import gmpy2
    bits = np.asarray(bits).astype(np.int64).astype(U) & U((1 << fmt.width) - 1)
    flat = bits.reshape(-1)
    values = decode_float(fmt, flat)
    out = np.empty(flat.shape, dtype=U)
    # MPFR exponents: x = m * 2**e with m in [0.5, 1); the smallest subnormal is 2**(emin - man).
    ctx = gmpy2.context(precision=fmt.precision, emin=fmt.emin - fmt.man_bits + 1,
                        emax=fmt.emax + 1, subnormalize=True, round=gmpy2.RoundToNearest)
    with ctx:
        for i, v in enumerate(values.tolist()):
            if math.isnan(v) or (v < 0) or (v == 0 and math.copysign(1.0, v) < 0):
                # MPFR gives +inf for -0; IEEE 754 rSqrt(-0) = -inf. Negatives and NaN -> qNaN.
                out[i] = fmt.inf | fmt.sign_bit if v == 0 else fmt.quiet_nan
                continue
            x = gmpy2.mpfr(v, 64)                 # exact: v is representable in fmt
            r = gmpy2.rec_sqrt(x)
            out[i] = int(encode_float_value(fmt, float(r)))
    return out.reshape(bits.shape)


def rsqrt_fixed_int(config, bits):
    """``rsqrt_exact_fixed`` with Python integers (``isqrt``), element by element."""
    fmt, out = config.format, config.out_format
    k = 2 * out.frac_bits + fmt.frac_bits
    ys, flags = [], []
    for raw in np.asarray(bits).astype(np.int64).reshape(-1).tolist():
        raw &= (1 << fmt.width) - 1
        if raw >> (fmt.width - 1):
            ys.append(0), flags.append(True)
            continue
        if raw == 0:
            ys.append(out.max_int), flags.append(True)
            continue
        n = math.isqrt((1 << k) // raw)           # floor(sqrt(2**k / raw))
        diff = (1 << (k + 2)) - (2 * n + 1) ** 2 * raw
        if diff > 0 or (diff == 0 and n & 1):
            n += 1
        ys.append(min(n, out.max_int)), flags.append(n > out.max_int)
    shape = np.shape(bits)
    return (np.array(ys, dtype=U).reshape(shape), np.array(flags, dtype=bool).reshape(shape))


# ---------------------------------------------------------------------------------------------
# Activations: ISRU, ISRLU and their backward units
#
#   ISRU(x) = x / sqrt(1 + alpha*x**2)     ISRLU(x) = x (x >= 0), ISRU(x) (x < 0)
#   ISRU'(x) = (1 + alpha*x**2)**-1.5      ISRLU'(x) = 1 (x >= 0), ISRU'(x) (x < 0)
#   backward: grad_in = grad * f'(x), one rounding of the exact product
#
# The exact result's magnitude is estimated in float64 as ``m * 2**e`` (``m`` a float64 near 1,
# ``e`` an int64, so nothing overflows or underflows whatever alpha and x are) with a relative
# error below 2**-48. Where that decides the rounding, it is used; the few estimates within
# ``2**-44`` relative of a rounding boundary (the midpoint of two neighbours on the output grid,
# the overflow threshold and the half-way point below the smallest subnormal included) are decided
# exactly with rationals: ``|V| > M`` <=> ``x**2 > M**2 * u`` (forward), ``g**2 > M**2 * u**3``
# (backward) or ``g**2 * x**6 > 4 * M**2 * u**3`` (alpha gradient) with ``u = 1 + alpha*x**2``, all
# dyadic, compared with Python integers.
#
#   alpha gradient: grad * df/dalpha, df/dalpha = -x**3/2 * u**-1.5 (ISRLU: 0 for x >= 0);
#   at x = ±inf the limit ∓alpha**-1.5/2

_EXACT, _FWD, _INF, _BWD, _AGRAD, _AGINF = 0, 1, 2, 3, 4, 5
_REL_TOLERANCE = 2.0 ** -44       # the float64 estimate's relative error is below 2**-48
_CLIP = 1100                      # exponent clip for np.ldexp: beyond it the result is 0 or huge


def _check_activation_args(config, x, grad, alpha):
    if not config.is_activation:
        raise ValueError(f"function {config.function!r} is not an activation")
    if config.is_backward != (grad is not None):
        raise ValueError(f"grad is {'required' if config.is_backward else 'not used'} "
                         f"for function {config.function!r}")
    if config.runtime_alpha != (alpha is not None):
        raise ValueError("alpha bits are required with runtime_alpha" if config.runtime_alpha
                         else "alpha bits are only used with runtime_alpha")
    shape = np.shape(x)
    operands = [np.asarray(x)]
    for name, value in (("grad", grad), ("alpha", alpha)):
        if value is not None:
            value = np.broadcast_to(np.asarray(value), shape)
        operands.append(value)
    return shape, operands


def _decode_input(config, bits):
    """Raw input bits to exact float64 values (fixed point: the two's-complement value)."""
    fmt = config.format
    bits = np.asarray(bits).astype(np.int64).astype(U) & U((1 << fmt.width) - 1)
    if isinstance(fmt, FloatFormat):
        return bits, decode_float(fmt, bits)
    signed = bits.astype(np.int64) - np.where(bits >> U(fmt.width - 1) == U(1), 1 << fmt.width, 0)
    return bits, np.ldexp(signed.astype(np.float64), -fmt.frac_bits)


def _alpha_values(config, alpha, shape):
    """``(alpha, valid)`` float64 arrays: the build-time alpha, or the decoded runtime alpha bits
    (valid where positive and finite; a sign bit, zero, infinity and NaN are invalid)."""
    if not config.runtime_alpha:
        return np.full(shape, float(config.alpha)), np.ones(shape, dtype=bool)
    _, a = _decode_input(config, alpha)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(a) & (a > 0)
    return a, valid


def _split(v):
    """``|v| = m * 2**e`` with ``m`` in ``[0.5, 1)`` (1.0, 0 where v is 0, inf or NaN)."""
    a = np.abs(v)
    safe = np.where(np.isfinite(a) & (a > 0), a, 1.0)
    m, e = np.frexp(safe)
    return m, e.astype(np.int64)


def _inv_sqrt_u(xv, av):
    """``(1 + alpha*x**2)**-0.5 = rm * 2**re`` for finite x (relative error below 2**-50)."""
    mx, ex = _split(xv)
    ma, ea = _split(av)
    p = ma * mx * mx                                # alpha*x**2 = p * 2**s, p in [1/8, 1)
    s = ea + 2 * ex
    big = s > 64
    with np.errstate(under="ignore"):
        z = np.ldexp(p, np.clip(s, -_CLIP, 64).astype(np.int32))
        rm_small = 1.0 / np.sqrt(1.0 + z)
        odd = s & 1
        p2 = np.where(odd == 1, 2.0 * p, p)           # alpha*x**2 = p2 * 2**s2, s2 even
        s2 = s - odd
        w = np.ldexp(1.0 / p2, np.clip(-s2, -_CLIP, 0).astype(np.int32))   # 1/(alpha*x**2)
        rm_big = 1.0 / np.sqrt(p2 * (1.0 + w))
    return np.where(big, rm_big, rm_small), np.where(big, -(s2 // 2), 0), (mx, ex)


def _inv_sqrt_alpha(av):
    """``alpha**-0.5 = m * 2**e``."""
    ma, ea = _split(av)
    odd = ea & 1
    return 1.0 / np.sqrt(np.where(odd == 1, 2.0 * ma, ma)), -((ea - odd) // 2)


def _magnitude(config, kind, xv, gv, av):
    """Estimate ``m * 2**e`` of the exact result's magnitude for every element, by ``kind``."""
    rm, re, (mx, ex) = _inv_sqrt_u(xv, av)
    if config.entry.alpha_gradient:
        mg, eg = _split(gv)
        mi, ei = _inv_sqrt_alpha(av)
        m = np.where(kind == _AGINF, mg * (mi * mi * mi), mg * (mx * mx * mx) * (rm * rm * rm)) / 2
        e = np.where(kind == _AGINF, eg + 3 * ei, eg + 3 * ex + 3 * re)
        return m, e
    if config.is_backward:
        mg, eg = _split(gv)
        m = np.where(kind == _BWD, mg * (rm * rm * rm), mg)
        e = np.where(kind == _BWD, eg + 3 * re, eg)
        return m, e
    mi, ei = _inv_sqrt_alpha(av)
    m = np.where(kind == _FWD, mx * rm, np.where(kind == _INF, mi, mx))
    e = np.where(kind == _FWD, ex + re, np.where(kind == _INF, ei, ex))
    return m, e


def _compare_exact(kind, x, g, a, mid):
    """Sign of ``|V| - mid`` for the exact result V of one element (all arguments exact)."""
    mid = Fraction(mid)
    if kind == _EXACT:
        v = abs(Fraction(g if g is not None else x))
        diff = v - mid
    elif kind == _INF:
        diff = 1 - mid * mid * Fraction(a)
    elif kind == _AGINF:
        diff = Fraction(g) ** 2 - 4 * mid * mid * Fraction(a) ** 3
    elif kind == _AGRAD:
        x2 = Fraction(x) ** 2
        diff = Fraction(g) ** 2 * x2 ** 3 - 4 * mid * mid * (1 + Fraction(a) * x2) ** 3
    else:
        x2 = Fraction(x) ** 2
        u = 1 + Fraction(a) * x2
        diff = x2 - mid * mid * u if kind == _FWD else Fraction(g) ** 2 - mid * mid * u ** 3
    return (diff > 0) - (diff < 0)


def _round_magnitude(m, e, grid_exp, exact, cap):
    """``t = m * 2**(e - grid_exp)`` (the magnitude in units of the output grid), ``q0 = floor(t)``
    and whether ``t`` is too close to ``q0 + 1/2`` to decide from the estimate; ``up`` is the
    decision elsewhere (exact estimates tie to even)."""
    with np.errstate(under="ignore", over="ignore"):
        t = np.ldexp(m, np.clip(e - grid_exp, -_CLIP, _CLIP).astype(np.int32))
    t = np.minimum(t, cap)
    q0f = np.floor(t)
    d = t - q0f - 0.5
    q0 = q0f.astype(np.int64)
    ambiguous = ~exact & (np.abs(d) <= t * _REL_TOLERANCE)
    up = (d > 0) | ((d == 0) & ((q0 & 1) == 1))
    return q0, up, ambiguous


def _resolve(ambiguous, q0, up, grid_exp, kind, xv, gv, av):
    """Decide the ambiguous elements exactly (in place on ``up``)."""
    for i in np.flatnonzero(ambiguous):
        mid = Fraction(2 * int(q0[i]) + 1, 2) * Fraction(2) ** int(grid_exp[i])
        cmp = _compare_exact(int(kind[i]), float(xv[i]), None if gv is None else float(gv[i]),
                             float(av[i]), mid)
        up[i] = cmp > 0 or (cmp == 0 and int(q0[i]) & 1 == 1)


class _Analysis:
    """Everything the reference knows of a block of elements (see :func:`_analyse`)."""
    __slots__ = ("y", "flag", "negative", "numeric", "m", "e")


def _analyse(config, x, grad, alpha):
    """Correctly rounded raw result ``y`` (and ``flag``, fixed point) plus the exact value: its
    sign ``negative``, and ``m * 2**e`` (float64 estimate of the magnitude, relative error below
    2**-48) where ``numeric`` (the exact value is finite and nonzero)."""
    fmt = config.format
    isrlu = config.entry.identity_nonnegative
    xb, xv = _decode_input(config, x)
    gv = _decode_input(config, grad)[1] if config.is_backward else None
    av, valid = _alpha_values(config, alpha, xv.shape)
    with np.errstate(invalid="ignore"):
        x_nan, x_inf, x_zero = np.isnan(xv), np.isinf(xv), xv == 0
        x_neg = np.signbit(xv) & ~x_nan
        x_num = ~(x_nan | x_inf | x_zero)
        if config.entry.alpha_gradient:
            g_nan, g_inf, g_zero = np.isnan(gv), np.isinf(gv), gv == 0
            g_num = ~(g_nan | g_inf | g_zero)
            unit = x_zero | (isrlu & ~x_neg & ~x_nan)          # df/dalpha = 0
            kind = np.where(x_inf, _AGINF, _AGRAD)
            numeric = g_num & ~unit & ~x_nan & valid
            negative = np.signbit(gv) & ~g_nan
            negative = np.where(unit & isrlu, negative, negative ^ ~(x_neg | x_nan))
        elif config.is_backward:
            g_nan, g_inf, g_zero = np.isnan(gv), np.isinf(gv), gv == 0
            g_num = ~(g_nan | g_inf | g_zero)
            unit = x_zero | (isrlu & ~x_neg & ~x_nan)          # f'(x) = 1
            kind = np.where(unit, _EXACT, _BWD)
            numeric = g_num & (unit | x_num) & valid
            negative = np.signbit(gv) & ~g_nan
        else:
            kind = np.where(x_inf, _INF, np.where(isrlu & ~x_neg, _EXACT, _FWD))
            numeric = (x_num | (x_inf & (x_neg | (not isrlu)))) & valid
            negative = x_neg
    exact = kind == _EXACT
    m, e = _magnitude(config, kind, xv, gv, av)
    m = np.where(numeric, m, 1.0)
    e = np.where(numeric, e, 0)

    a = _Analysis()
    a.negative, a.numeric, a.m, a.e = negative, numeric, m, e
    if isinstance(fmt, FloatFormat):
        man = fmt.man_bits
        lm = np.frexp(m)[1].astype(np.int64) - 1 + e          # floor(log2) of the estimate
        overflow = lm > fmt.emax
        eq = np.clip(lm, fmt.emin, fmt.emax)                   # quantum exponent + man
        grid = eq - man
        q0, up, ambiguous = _round_magnitude(m, e, grid, exact, float(1 << (man + 2)))
        ambiguous &= numeric & ~overflow
        _resolve(ambiguous, q0, up, grid, kind, xv, gv, av)
        q = q0.astype(U) + up.astype(U)
        out = ((eq + fmt.bias - 1).astype(U) << U(man)) + q
        out = np.where(overflow | (out >= U(fmt.inf)), U(fmt.inf), out)
        sign = np.where(negative, U(fmt.sign_bit), U(0))
        out = out | sign
        if config.entry.alpha_gradient:
            out = np.where(g_zero | (unit & g_num), sign, out)
            out = np.where(g_inf, U(fmt.inf) | sign, out)
            invalid = x_nan | g_nan | (g_inf & unit)
        elif config.is_backward:
            vanishing = x_inf & ~unit                          # f'(±inf) = +0
            out = np.where(g_zero | (vanishing & g_num), sign, out)
            out = np.where(g_inf, U(fmt.inf) | sign, out)
            invalid = x_nan | g_nan | (g_inf & vanishing)
        else:
            out = np.where(x_zero, xb, out)
            out = np.where(x_inf & ~x_neg & isrlu, U(fmt.inf), out)
            invalid = x_nan
        a.y = np.where(invalid | ~valid, U(fmt.quiet_nan), out)
        a.flag = None
        return a

    out_fmt = config.out_format
    grid = np.full(xv.shape, -out_fmt.frac_bits, dtype=np.int64)
    q0, up, ambiguous = _round_magnitude(m, e, grid, exact, float(1 << 40))
    ambiguous &= numeric & (q0 <= out_fmt.max_int + 1)
    _resolve(ambiguous, q0, up, grid, kind, xv, gv, av)
    q = q0 + up
    limit = out_fmt.max_int + negative.astype(np.int64)
    saturated = numeric & (q > limit)
    mag = np.where(numeric, np.minimum(q, limit), 0).astype(U)
    mask = U((1 << out_fmt.width) - 1)
    a.y = np.where(negative, (U(0) - mag) & mask, mag)
    a.flag = saturated | ~valid
    return a


def activation_exact(config, x, grad=None, alpha=None):
    """Correctly rounded (nearest even) ISRU/ISRLU forward or backward results of raw inputs.

    Arguments follow :func:`golden.eval.evaluate`: ``x`` raw bits; ``grad`` raw ``grad_out`` bits
    (backward functions only); ``alpha`` raw alpha bits in the input format (``runtime_alpha``
    only; else ``config.alpha`` is used with its exact binary value). Floats return raw result
    bits (uint64), fixed point ``(y, flag)``.

    Special values (IEEE semantics of the exact math): a NaN operand gives the canonical quiet
    NaN; ``±0 -> ±0``; ``ISRU(±inf) = ±alpha**-0.5``; ``ISRLU(x) = x`` for ``x >= +0`` (and
    ``+inf``), ``ISRLU(-0) = -0``. Backward: ``f'(±0) = 1``, ``f'(±inf) = +0`` except
    ``ISRLU'(+inf) = 1``; ``inf * 0`` is NaN, ``0 * finite`` is zero with the sign of ``grad``,
    ``inf * positive`` is infinite. A runtime alpha that is not a positive finite number gives
    NaN. Fixed point: results round to ``config.out_format`` and saturate (flag set) to
    ``[-(max_int + 1), max_int]``; a zero ``x`` (forward) or ``grad`` (backward) gives 0; an
    invalid runtime alpha gives ``y = 0, flag = 1``.
    """
    _, operands = _check_activation_args(config, x, grad, alpha)

    def run(xs, gs, als):
        a = _analyse(config, xs, gs, als)
        return a.y if config.is_float else (a.y, a.flag)

    return blocked(run, operands)


def activation_value(config, x, grad=None, alpha=None):
    """The exact (unrounded) result as float64, relative error below ``2**-48``: NaN where the
    result is NaN (or an invalid runtime alpha), ``±inf`` where it is infinite, signed zeros
    where it is exactly zero. Fixed point gives the real value. Values beyond the float64 range
    (only ``grad * f'(x)`` with a huge alpha can get there) underflow to ``±0``; errors in ulps
    come from :func:`activation_compare`, which does not need the value in float64."""
    _, operands = _check_activation_args(config, x, grad, alpha)

    def run(xs, gs, als):
        a = _analyse(config, xs, gs, als)
        return _value_of(config, a)

    return blocked(run, operands)


def _value_of(config, a):
    with np.errstate(under="ignore", over="ignore"):
        mag = np.ldexp(a.m, np.clip(a.e, -_CLIP, _CLIP).astype(np.int32))
    if config.is_float:
        special = decode_float(config.format, a.y)            # NaN, ±inf, ±0 of the rounded result
    else:
        special = np.where(a.flag & ~a.numeric, np.nan, 0.0)  # invalid alpha -> NaN, else 0
    value = np.where(a.numeric, mag, np.abs(special))
    return np.where(a.negative, -value, value)


def activation_compare(config, y, x, grad=None, alpha=None, flag=None):
    """Compare results ``y`` (raw bits, e.g. of the golden model; ``flag`` for fixed point) with
    the exact reference. Returns a dict of arrays:

    * ``reference`` (and ``reference_flag``): the correctly rounded result;
    * ``value``: the exact value in float64 (see :func:`activation_value`);
    * ``numeric``: the exact value is finite and nonzero, and (floats) its correct rounding is
      finite (not an overflow), (fixed point) it does not saturate;
    * ``ulp``: ``|y - v| / ulp(v)`` where numeric (``inf`` where ``y`` is NaN or infinite), with
      ``ulp(v) = 2**(max(floor(log2 |v|), emin) - man_bits)`` (so subnormal results are measured
      in the subnormal ulp), the output LSB for fixed point; NaN elsewhere. Computed on the
      scaled estimate ``m * 2**e``, so it is right even where ``v`` is beyond the float64 range.
    * ``rel``: ``|y - v| / |v|`` where numeric, ``y`` finite and nonzero and (floats) ``|v|`` in
      the normal range (below it the relative error of even a correctly rounded result grows to
      100 %), NaN elsewhere;
    * ``wrong``: ``y`` (or ``flag``) differs from the reference.
    """
    shape, operands = _check_activation_args(config, x, grad, alpha)
    y = np.broadcast_to(np.asarray(y).astype(np.int64).astype(U), shape).reshape(-1)
    flag = None if flag is None else np.broadcast_to(np.asarray(flag, dtype=bool), shape).reshape(-1)
    names = ("reference", "reference_flag", "value", "numeric", "ulp", "rel", "wrong")
    offset = [0]

    def run(xs, gs, als):
        start = offset[0]
        offset[0] += len(xs)
        a = _analyse(config, xs, gs, als)
        ys = y[start:start + len(xs)]
        fmt = config.format
        if config.is_float:
            yv = decode_float(fmt, ys)
            numeric = a.numeric & ((a.y & U(fmt.sign_bit - 1)) < U(fmt.inf))
            lm = np.frexp(a.m)[1].astype(np.int64) - 1 + a.e
            unit_exp = np.maximum(lm, fmt.emin) - fmt.man_bits
            wrong = ys != a.y
            ref_flag = np.zeros(len(xs), dtype=bool)
        else:
            out = config.out_format
            signed = ys.astype(np.int64) - np.where(ys >> U(out.width - 1) == U(1), 1 << out.width, 0)
            yv = np.ldexp(signed.astype(np.float64), -out.frac_bits)
            numeric = a.numeric & ~a.flag
            unit_exp = np.full(len(xs), -out.frac_bits, dtype=np.int64)
            fs = None if flag is None else flag[start:start + len(xs)]
            wrong = (ys != a.y) | (False if fs is None else fs != a.flag)
            ref_flag = a.flag
        with np.errstate(invalid="ignore", over="ignore", under="ignore"):
            signed_m = np.where(a.negative, -a.m, a.m)
            # |y - v| / 2**unit_exp = |y * 2**-unit_exp - m * 2**(e - unit_exp)|
            ys_scaled = np.ldexp(yv, np.clip(-unit_exp, -_CLIP, _CLIP).astype(np.int32))
            vs_scaled = np.ldexp(signed_m, np.clip(a.e - unit_exp, -_CLIP, _CLIP).astype(np.int32))
            ulp = np.abs(ys_scaled - vs_scaled)
            ulp = np.where(np.isnan(ulp), np.inf, ulp)
            ulp = np.where(numeric, ulp, np.nan)
            y_rel = np.ldexp(yv, np.clip(-a.e, -_CLIP, _CLIP).astype(np.int32))
            rel = np.abs(y_rel - signed_m) / a.m
            normal = (lm >= fmt.emin) if config.is_float else True
            rel = np.where(numeric & normal & np.isfinite(yv) & (yv != 0), rel, np.nan)
        return a.y, ref_flag, _value_of(config, a), numeric, ulp, rel, wrong

    parts = blocked(run, operands)
    result = dict(zip(names, parts))
    if config.is_float:
        result["reference_flag"] = None
    return result


# ---------------------------------------------------------------------------------------------
# Slow per-element references for cross-checking the activations

def _element_inputs(config, x, grad, alpha):
    shape, operands = _check_activation_args(config, x, grad, alpha)
    xb, xv = _decode_input(config, operands[0])
    gv = _decode_input(config, operands[1])[1] if config.is_backward else None
    if config.runtime_alpha:
        av = _decode_input(config, operands[2])[1]
    else:
        av = np.full(xv.shape, float(config.alpha))
    flat = lambda v: None if v is None else v.reshape(-1).tolist()
    return shape, xb.reshape(-1).tolist(), flat(xv), flat(gv), flat(av)


def activation_mpfr(config, x, grad=None, alpha=None):
    """:func:`activation_exact` computed element by element with MPFR (gmpy2), straight from the
    definitions: ``1 + alpha*x**2`` exactly (precision grown with the exponent span), its inverse
    square root (and cube) to ``precision + 256`` bits, then one rounding to the output: for floats
    with precision ``man_bits + 1``, the format's exponent range and subnormals
    (``emin``/``emax``/``subnormalize``), round to nearest even; for fixed point ``rint`` (nearest
    even) on the output grid, then saturation."""
    import gmpy2
    from gmpy2 import mpfr
    shape, xbs, xs, gs, avs = _element_inputs(config, x, grad, alpha)
    fmt = config.format
    isrlu = config.entry.identity_nonnegative
    is_float = isinstance(fmt, FloatFormat)
    if is_float:
        target = gmpy2.context(precision=fmt.precision, emin=fmt.emin - fmt.man_bits + 1,
                               emax=fmt.emax + 1, subnormalize=True, round=gmpy2.RoundToNearest)
    ys, flags = [], []
    for i, xv in enumerate(xs):
        a = avs[i]
        gv = None if gs is None else gs[i]
        alpha_ok = a > 0 and math.isfinite(a)
        # Exact math, with special cases first: None means "compute".
        sign = math.copysign(1.0, gv if config.is_backward else xv) < 0
        result = None                            # a float64 special result, or None
        if not alpha_ok or math.isnan(xv) or (gv is not None and math.isnan(gv)):
            result = math.nan
        elif config.entry.alpha_gradient:                  # grad * -x**3/2 * u**-1.5
            unit = xv == 0 or (isrlu and xv > 0)           # df/dalpha = 0
            if not (unit and isrlu):
                sign = sign != (math.copysign(1.0, xv) > 0)
            if math.isinf(gv):
                result = math.nan if unit else (-math.inf if sign else math.inf)
            elif gv == 0 or unit:
                result = -0.0 if sign else 0.0
        elif not config.is_backward:
            if xv == 0 or (isrlu and xv > 0 and math.isinf(xv)):
                result = xv
        else:
            unit = xv == 0 or (isrlu and xv > 0)
            derivative_zero = math.isinf(xv) and not unit
            if math.isinf(gv):
                result = math.nan if derivative_zero else gv
            elif gv == 0 or derivative_zero:
                result = math.copysign(0.0, gv)
        if result is not None:
            if is_float:
                ys.append(fmt.quiet_nan if math.isnan(result) else
                          int(encode_float_value(fmt, np.float64(result))))
            else:
                ys.append(0)
            flags.append(math.isnan(result))
            continue
        # |result| with MPFR.
        ax, ag = abs(xv), None if gv is None else abs(gv)
        span = abs(math.frexp(a)[1]) + 2 * (abs(math.frexp(ax)[1]) if math.isfinite(ax) else 0)
        precision = 3 * span + 512
        with gmpy2.context(precision=precision, emin=-(1 << 30), emax=1 << 30):
            ma = mpfr(a, 53)
            if config.entry.alpha_gradient:
                mx = mpfr(ax, 53)
                r = gmpy2.rec_sqrt(ma) / mx if math.isinf(xv) else gmpy2.rec_sqrt(1 + ma * mx * mx)
                value = mpfr(ag, 53) * (1 if math.isinf(xv) else mx * mx * mx) * r * r * r / 2
            elif config.is_backward and (xv == 0 or (isrlu and xv > 0)):     # f'(x) = 1
                value = mpfr(ag, 53)
            elif math.isinf(xv):                                  # ISRU(±inf) = ±alpha**-0.5
                value = gmpy2.rec_sqrt(ma)
            elif isrlu and xv > 0:                                # ISRLU(x) = x
                value = mpfr(ax, 53)
            else:
                mx = mpfr(ax, 53)
                u = 1 + ma * mx * mx                              # exact
                r = gmpy2.rec_sqrt(u)
                value = mpfr(ag, 53) * r * r * r if config.is_backward else mx * r
        if is_float:
            with target:
                rounded = +value                 # one rounding, subnormals and overflow included
            bits = int(encode_float_value(fmt, np.float64(float(rounded))))
            ys.append(bits | (fmt.sign_bit if sign else 0))
            flags.append(False)
            continue
        out = config.out_format
        with gmpy2.context(precision=precision, emin=-(1 << 30), emax=1 << 30,
                           round=gmpy2.RoundToNearest):
            q = int(gmpy2.rint(value * mpfr(2) ** out.frac_bits))
        limit = out.max_int + (1 if sign else 0)
        flags.append(q > limit)
        q = min(q, limit)
        ys.append((-q if sign else q) & ((1 << out.width) - 1))
    y = np.array(ys, dtype=U).reshape(shape)
    if is_float:
        return y
    return y, np.array(flags, dtype=bool).reshape(shape)


def _round_sqrt_fraction(r):
    """``sqrt(r)`` for a non-negative Fraction, rounded to the nearest integer (ties to even)."""
    n, d = r.numerator, r.denominator
    q = math.isqrt(n // d)                     # floor(sqrt(n/d))
    diff = 4 * n - (2 * q + 1) ** 2 * d        # sign of sqrt(r) - (q + 1/2)
    return q + (1 if diff > 0 or (diff == 0 and q & 1) else 0)


def _round_fraction(r):
    """A non-negative Fraction rounded to the nearest integer, ties to even."""
    q, rest = divmod(r.numerator, r.denominator)
    twice = 2 * rest
    return q + (1 if twice > r.denominator or (twice == r.denominator and q & 1) else 0)


def activation_fixed_int(config, x, grad=None, alpha=None):
    """:func:`activation_exact` for fixed point with Python integers and fractions only: the
    output word ``q = round(V * 2**F_out)`` is ``round(sqrt(V**2 * 4**F_out))`` with ``V**2`` an
    exact fraction (``x**2 / u`` forward, ``grad**2 / u**3`` backward, ``u = 1 + alpha*x**2``),
    rounded with ``isqrt`` and an exact midpoint test."""
    fmt, out = config.format, config.out_format
    if isinstance(fmt, FloatFormat):
        raise TypeError("activation_fixed_int takes fixed-point configurations")
    shape, _, xs, gs, avs = _element_inputs(config, x, grad, alpha)
    isrlu = config.entry.identity_nonnegative
    scale = Fraction(2) ** out.frac_bits
    ys, flags = [], []
    for i, xv in enumerate(xs):
        xf, af = Fraction(xv), Fraction(avs[i])
        gf = None if gs is None else Fraction(gs[i])
        if af <= 0:
            ys.append(0), flags.append(True)
            continue
        operand = gf if config.is_backward else xf
        if operand == 0:
            ys.append(0), flags.append(False)
            continue
        negative = operand < 0
        u = 1 + af * xf * xf
        unit = (xf >= 0) if isrlu else False
        if config.is_backward:
            unit = unit or xf == 0
            q = (_round_fraction(abs(gf) * scale) if unit else
                 _round_sqrt_fraction(gf * gf * scale * scale / u ** 3))
        else:
            q = (_round_fraction(xf * scale) if unit else
                 _round_sqrt_fraction(xf * xf * scale * scale / u))
        limit = out.max_int + (1 if negative else 0)
        flags.append(q > limit)
        q = min(q, limit)
        ys.append((-q if negative else q) & ((1 << out.width) - 1))
    return np.array(ys, dtype=U).reshape(shape), np.array(flags, dtype=bool).reshape(shape)


def fma_mpfr(fmt: FloatFormat, a, b, c):
    """``a*b + c`` of raw bit patterns correctly rounded, as float64 values: per element with MPFR
    (gmpy2) at the format's precision, exponent range and subnormals (the FMA's reference)."""
    import gmpy2
    context = gmpy2.context(precision=fmt.precision, emin=fmt.emin - fmt.man_bits + 1,
                            emax=fmt.emax + 1, subnormalize=True, round=gmpy2.RoundToNearest)
    out = []
    for va, vb, vc in zip(decode_float(fmt, a), decode_float(fmt, b), decode_float(fmt, c)):
        with gmpy2.context(context):
            out.append(float(gmpy2.fma(gmpy2.mpfr(float(va)), gmpy2.mpfr(float(vb)), gmpy2.mpfr(float(vc)))))
    return np.array(out)


def relu_exact(config, x):
    """ReLU of raw input bits from the values: ``{"bits", "flag", "value"}``, the exact result's
    raw bits (canonical quiet NaN for a NaN), the flags (fixed point: never set; floats: None)
    and the exact value as float64 (NaN for a NaN input). Every result is representable, so
    the bits are the value encoded."""
    fmt = config.format
    _, v = _decode_input(config, x)
    with np.errstate(invalid="ignore"):
        value = np.where(v > 0, v, 0.0)
    value = np.where(np.isnan(v), np.nan, value)
    if isinstance(fmt, FloatFormat):
        bits = np.where(np.isnan(value), U(fmt.quiet_nan), encode_float_value(fmt, np.where(np.isnan(value), 0.0, value)))
        return {"bits": bits, "flag": None, "value": value}
    bits = np.round(value * 2.0 ** fmt.frac_bits).astype(np.int64).astype(U)
    return {"bits": bits, "flag": np.zeros(np.shape(bits), dtype=bool), "value": value}
