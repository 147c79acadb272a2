"""NumPy twins of the hardware blocks in :mod:`hw.blocks`, with the same names, widths and rounding.

Every function takes and returns integer arrays (``int64`` for signed quantities, ``uint64`` for
significands) and the :class:`~hw.datapath.Datapath` that sizes them.
"""
import numpy as np

from hw.classes import Cls
from .intmath import bit_length, mul_shr, round_shift

__all__ = ["unpack_float", "unpack_fixed", "range_reduce", "seed_lut", "seed_magic",
           "newton_stage", "normalize", "round_pack_float", "round_pack_fixed"]

U = np.uint64


def unpack_float(fmt, bits):
    """Fields of raw float bits: ``sign, cls, exp, sig``; subnormals normalized (``sig`` has its
    leading one at bit ``man_bits``, ``exp`` is unbiased and may lie below ``emin``)."""
    bits = np.asarray(bits).astype(np.uint64)
    man = fmt.man_bits
    sign = ((bits >> U(fmt.width - 1)) & U(1)).astype(np.int64)
    field = ((bits >> U(man)) & U(fmt.exp_max_field)).astype(np.int64)
    frac = bits & U((1 << man) - 1)
    cls = np.full(bits.shape, int(Cls.FINITE), dtype=np.int64)
    cls[(field == 0) & (frac == 0)] = Cls.ZERO
    cls[(field == fmt.exp_max_field) & (frac == 0)] = Cls.INF
    cls[(field == fmt.exp_max_field) & (frac != 0)] = Cls.NAN
    shift = man + 1 - bit_length(frac)              # leading zeros + 1 of a subnormal fraction
    subnormal = field == 0
    sig = np.where(subnormal, (frac << np.where(subnormal, shift, 0).astype(np.uint64)) & U((1 << (man + 1)) - 1),
                   frac | U(1 << man))
    exp = np.where(subnormal, fmt.emin - shift, field - fmt.bias)
    return sign, cls, exp, sig


def unpack_fixed(fmt, bits):
    """Fields of a two's-complement fixed-point word: ``sign, cls, exp, sig`` with ``sig``
    normalized to ``width - 2`` fraction bits (value = ``sig * 2**(exp - (width-2))``)."""
    bits = np.asarray(bits).astype(np.uint64) & U((1 << fmt.width) - 1)
    sign = ((bits >> U(fmt.width - 1)) & U(1)).astype(np.int64)
    frac = fmt.width - 2
    cls = np.where(bits == 0, int(Cls.ZERO), int(Cls.FINITE)).astype(np.int64)
    length = bit_length(bits)
    positive = (sign == 0) & (bits != 0)
    sig = np.where(positive, bits << np.where(positive, frac + 1 - length, 0).astype(np.uint64), U(0))
    exp = length - 1 - fmt.frac_bits
    return sign, cls, exp, sig


def range_reduce(dp, exp, sig):
    """``x = MR * 2**(2k - P)`` with ``MR = sig << parity`` in ``[1, 4)``: returns ``parity, k, MR``."""
    parity = exp & 1
    return parity, exp >> 1, sig << parity.astype(np.uint64)


def seed_lut(config, dp, parity, sig):
    """Table seed ``R0`` (``seed_bits`` fraction bits) indexed by parity and the top fraction bits."""
    top = config.table_bits - 1
    index = (parity << top) | ((sig >> U(dp.frac_bits - top)) & U((1 << top) - 1)).astype(np.int64)
    return np.asarray(dp.table, dtype=np.uint64)[index]


def seed_magic(config, dp, parity, sig):
    """Magic-constant seed ``R0`` (``seed_bits = frac_bits + 2`` fraction bits), see :mod:`hw.magic`."""
    man = dp.frac_bits
    frac = (sig & U((1 << man) - 1)).astype(np.int64)
    kf = config.magic & ((1 << man) - 1)
    low = kf - (((1 - parity) << (man - 1)) | (frac >> 1))
    borrow = (low < 0).astype(np.int64)
    yf = (low & ((1 << man) - 1)).astype(np.uint64)
    return (yf | U(1 << man)) << (2 - parity - borrow).astype(np.uint64)


def newton_stage(dp, r, r_bits, mr, last):
    """One Newton-Raphson step ``r * (3 - m*r*r) / 2``; ``r`` has ``r_bits`` fraction bits, the result
    ``work_bits``. Each product is truncated to ``work_bits`` fraction bits. The last stage uses
    ``3 + newton_bias`` to centre its error (see :func:`hw.datapath.newton_bias`)."""
    w = dp.work_bits
    sq_shift = 2 * r_bits - w
    sq = mul_shr(r, r, sq_shift) if sq_shift >= 0 else (r * r) << U(-sq_shift)
    sq &= U((1 << (w + 2)) - 1)
    t = mul_shr(mr, sq, dp.frac_bits)
    h = (U((3 << w) + (dp.newton_bias if last else 0)) - t) & U((1 << (w + 2)) - 1)
    return mul_shr(r, h, r_bits + 1) & U((1 << (w + 1)) - 1)


def normalize(dp, r, k):
    """Leading-one position of ``R`` (value ``r`` in ``(0.25, 2)``): ``(lead, exp)`` with
    ``lead`` the bit index of the leading one and ``exp = lead - work_bits - k`` the result's
    unbiased exponent."""
    lead = bit_length(r) - 1
    return lead, lead - dp.work_bits - k


def round_pack_float(fmt, dp, r, lead, exp):
    """Round ``R`` to ``man_bits + 1`` significant bits (nearest even) at the given exponent, with
    overflow to infinity, and pack to raw bits (sign 0). Results must be normal or overflow (rsqrt
    results are never subnormal for the supported formats)."""
    man = fmt.man_bits
    biased = exp + fmt.bias
    shift = lead - man
    q = round_shift(r, np.maximum(shift, 0)) << np.maximum(-shift, 0).astype(np.uint64)
    carry = q >= U(1 << (man + 1))
    q = np.where(carry, q >> U(1), q)
    biased = biased + carry
    out = (biased.astype(np.uint64) << U(man)) | (q & U((1 << man) - 1))
    return np.where(biased >= fmt.exp_max_field, U(fmt.inf), out)


def round_pack_fixed(out_fmt, dp, r, k):
    """``R * 2**-k`` rounded (nearest even) to ``out_fmt``; returns ``(y, saturated)``."""
    shift = dp.work_bits + k - out_fmt.frac_bits
    y = round_shift(r, np.maximum(shift, 0))
    left = np.maximum(-shift, 0)
    big = left >= 64 - bit_length(y)
    y = np.where(big, U(0), y << np.where(big, 0, left).astype(np.uint64))
    saturated = big | (y > U(out_fmt.max_int))
    return np.where(saturated, U(out_fmt.max_int), y), saturated
