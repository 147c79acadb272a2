"""The exact reference for ``1/sqrt(x)``: correctly rounded results, independent of the golden model.

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

Special values (IEEE 754-2008 ``rSqrt``): ``+0 -> +inf``, ``-0 -> -inf``, ``+inf -> +0``, negative
numbers (including ``-inf``) and NaNs -> the canonical quiet NaN ``fmt.quiet_nan``. Fixed point:
zero -> ``max_int`` flagged, negative -> ``0`` flagged, results beyond ``out_format`` saturate to
``max_int`` flagged.
"""
import math

import numpy as np

from hw.formats import FixedFormat, FloatFormat

__all__ = ["decode_float", "encode_float_value", "rsqrt_exact", "rsqrt_exact_fixed", "exact_value",
           "rsqrt_mpfr", "rsqrt_fixed_int", "float_classes"]

U = np.uint64
_MASK32 = U(0xFFFFFFFF)
_BLOCK = 1 << 16     # large arrays are processed in cache-sized blocks (several times faster)


def _blocked(function, bits, outputs):
    """Apply the elementwise ``function`` (returning ``outputs`` arrays) block by block."""
    bits = np.asarray(bits)
    if bits.size <= _BLOCK:
        return function(bits)
    flat = bits.reshape(-1)
    results = None
    for start in range(0, flat.size, _BLOCK):
        part = function(flat[start:start + _BLOCK])
        part = part if outputs > 1 else (part,)
        if results is None:
            results = [np.empty(flat.shape, dtype=p.dtype) for p in part]
        for out, p in zip(results, part):
            out[start:start + _BLOCK] = p
    results = [r.reshape(bits.shape) for r in results]
    return tuple(results) if outputs > 1 else results[0]


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
    return _blocked(lambda b: _rsqrt_exact(fmt, b), bits, 1)


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
    return _blocked(lambda b: _rsqrt_exact_fixed(config, b), bits, 2)


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
