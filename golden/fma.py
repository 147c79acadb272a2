"""Golden model of the FMA unit: ``a*b + c`` correctly rounded (nearest even) in the unit's format.

The RTL (:class:`hw.rtl.units.fma.FmaUnit`) rounds once, exactly, so its golden model is the correctly
rounded result itself, computed here without an arbitrary-precision library: for every supported
format (at most 24 significant bits) the product is exact in float64, ``s = fl(p + c)`` plus the
TwoSum error ``err`` is exactly ``p + c``, and ``err`` only decides results that ``s`` puts exactly
on a rounding midpoint of the target format.
"""
import numpy as np

from hw.spec.config import Config

__all__ = ["fma", "decode", "encode_rounded"]

U64 = np.uint64


def decode(fmt, bits):
    """Raw bits of ``fmt`` to float64 values (exact: every value of the formats fits)."""
    bits = np.asarray(bits).astype(np.int64).astype(np.uint64) & U64((1 << fmt.width) - 1)
    man = fmt.man_bits
    sign = (bits >> U64(fmt.width - 1)).astype(bool)
    field = ((bits >> U64(man)) & U64(fmt.exp_max_field)).astype(np.int64)
    frac = (bits & U64((1 << man) - 1)).astype(np.float64)
    value = np.where(field == 0, np.ldexp(frac, fmt.emin - man),
                     np.ldexp(frac + 2.0 ** man, (field - fmt.bias - man).astype(np.int32)))
    value = np.where(field == fmt.exp_max_field, np.where(frac == 0, np.inf, np.nan), value)
    return np.where(sign, -value, value)


def encode_rounded(fmt, s, err):
    """Raw bits of ``s + err`` rounded to nearest even, where ``|err|`` is below half an ulp of
    ``s`` in float64 (so only a tie of ``s`` itself needs it); NaN gives the canonical qNaN."""
    man = fmt.man_bits
    negative = np.signbit(s)
    a = np.abs(s)
    toward = np.where(negative, -err, err)                 # err in the direction of |s|
    _, e2 = np.frexp(np.where(a > 0, a, 1.0))
    exp = np.where(a > 0, np.maximum(e2.astype(np.int64) - 1, fmt.emin), fmt.emin)
    scaled = np.ldexp(np.where(np.isfinite(a), a, 0.0), (man - exp).astype(np.int32))   # exact
    low = np.floor(scaled)
    frac = scaled - low
    up = (frac > 0.5) | ((frac == 0.5) & ((toward > 0) | ((toward == 0) & (np.fmod(low, 2) == 1))))
    q = (low + up).astype(np.uint64)                       # significand on the ulp grid of exp
    bits = ((exp + fmt.bias - 1).astype(np.uint64) << U64(man)) + q   # carries land in the field
    bits = np.where((bits >= U64(fmt.inf)) | np.isinf(a), U64(fmt.inf), bits)
    bits = bits | (negative.astype(np.uint64) << U64(fmt.width - 1))
    return np.where(np.isnan(s), U64(fmt.quiet_nan), bits)


def fma(config: Config, a, b, c):
    """Raw bits of ``a*b + c`` (arrays of raw bits of the same shape), correctly rounded."""
    fmt = config.format
    if fmt.precision > 26:
        raise ValueError(f"the FMA golden model needs at most 26 significant bits, not {fmt.precision}")
    va, vb, vc = decode(fmt, a), decode(fmt, b), decode(fmt, c)
    with np.errstate(invalid="ignore", over="ignore"):
        p = va * vb                                         # exact
        s = p + vc
        bp = s - vc
        err = (p - bp) + (vc - (s - bp))                     # TwoSum: p + c = s + err exactly
        err = np.where(np.isfinite(s), err, 0.0)
    return encode_rounded(fmt, s, err)
