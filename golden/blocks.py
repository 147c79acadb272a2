"""NumPy twins of the hardware blocks in :mod:`hw.rtl.blocks`, with the same names, widths and rounding.

Every function takes and returns integer arrays (``int64`` for signed quantities, ``uint64`` for
significands) and the :class:`~hw.spec.datapath.Datapath` that sizes them.
"""
import numpy as np

from hw.spec.classes import Cls
from hw.spec.intmath import bit_length, lookup, mul_shr, round_shift
from hw.spec.seeds import poly_seed, table_index

__all__ = ["float_fields", "unpack_float", "unpack_fixed", "range_reduce", "seed_lut", "seed_poly", "seed_magic",
           "newton_stage", "round_pack_float", "round_pack_fixed", "square", "product", "add_one",
           "normalize_sum", "cube"]

U = np.uint64


def float_fields(fmt, bits):
    """Fields of raw float bits without normalization (twin of ``FloatFields``): ``sign, cls, exp,
    sig`` with ``sig`` the fraction and its hidden bit (0 for subnormals, whose ``exp`` is ``emin``)."""
    bits = np.asarray(bits).astype(np.uint64, copy=False)
    man = fmt.man_bits
    sign = ((bits >> U(fmt.width - 1)) & U(1)).astype(np.int64)
    magnitude = bits & U(fmt.sign_bit - 1)
    field = (magnitude >> U(man)).astype(np.int64)
    frac = bits & U((1 << man) - 1)
    # ZERO 1, INF 2, NAN 3, FINITE 0: from the magnitude's order against 0 and infinity's pattern
    cls = ((magnitude == 0).view(np.int8) + 2 * (magnitude >= U(fmt.inf)).view(np.int8)
           + (magnitude > U(fmt.inf)).view(np.int8)).astype(np.int64)
    normal = field != 0
    sig = frac | (normal.astype(np.uint64) << U(man))
    exp = np.maximum(field - fmt.bias, fmt.emin)
    return sign, cls, exp, sig


def unpack_float(fmt, bits):
    """Fields of raw float bits: ``sign, cls, exp, sig``; subnormals normalized (``sig`` has its
    leading one at bit ``man_bits``, ``exp`` is unbiased and may lie below ``emin``)."""
    sign, cls, exp, sig = float_fields(fmt, bits)
    man = fmt.man_bits
    shift = man + 1 - bit_length(sig)               # 0 if normal, else leading zeros + 1 of the fraction
    return sign, cls, exp - shift, sig << shift.astype(np.uint64)


def unpack_fixed(fmt, bits, magnitude=False):
    """Fields of a two's-complement fixed-point word: ``sign, cls, exp, sig``. Without
    ``magnitude``, ``sig`` is the positive value normalized to ``width - 2`` fraction bits (0 for
    negative inputs); with it, ``|x|`` normalized to ``width - 1`` fraction bits. In both cases
    ``x = ±sig * 2**(exp - fraction bits)``."""
    bits = np.asarray(bits).astype(np.uint64) & U((1 << fmt.width) - 1)
    sign = ((bits >> U(fmt.width - 1)) & U(1)).astype(np.int64)
    cls = np.where(bits == 0, int(Cls.ZERO), int(Cls.FINITE)).astype(np.int64)
    if magnitude:
        mag = np.where(sign == 1, (U(1 << fmt.width) - bits) & U((1 << fmt.width) - 1), bits)
        mag = np.where((sign == 1) & (mag == 0), U(1 << (fmt.width - 1)), mag)
        frac, use = fmt.width - 1, bits != 0
    else:
        mag = bits
        frac, use = fmt.width - 2, (sign == 0) & (bits != 0)
    length = bit_length(mag)
    sig = np.where(use, mag << np.where(use, frac + 1 - length, 0).astype(np.uint64), U(0))
    exp = length - 1 - fmt.frac_bits
    return sign, cls, exp, sig


def range_reduce(dp, exp, sig):
    """``x = MR * 2**(2k - P)`` with ``MR = sig << parity`` in ``[1, 4)``: returns ``parity, k, MR``."""
    parity = exp & 1
    return parity, exp >> 1, sig << parity.astype(np.uint64)


def _table_entry(config, dp, parity, sig):
    """The seed table's entry for the parity and the top ``table_bits - 1`` fraction bits."""
    return lookup(np.asarray(dp.table, dtype=np.uint64), table_index(config.table_bits, dp.frac_bits, parity, sig))


def seed_lut(config, dp, parity, sig):
    """Table seed ``R0`` (``seed_bits`` fraction bits) indexed by parity and the top fraction bits."""
    return _table_entry(config, dp, parity, sig)


def seed_poly(config, dp, parity, sig):
    """Polynomial seed ``R0`` (``seed_bits`` fraction bits): a line (``pwl``) or a parabola
    (``quad``) of the entry indexed like :func:`seed_lut`, evaluated by
    :func:`hw.spec.seeds.poly_seed` (the table's own arithmetic, with which its error is measured)."""
    return poly_seed(config.seed, config.table_bits, dp, parity, sig)


def seed_magic(config, dp, parity, sig):
    """Magic-constant seed ``R0`` (``seed_bits = magic_bits + 2`` fraction bits) from the top
    ``magic_bits`` fraction bits of ``sig``, see :mod:`hw.spec.magic`."""
    man = dp.magic_bits
    frac = ((sig >> U(dp.frac_bits - man)) & U((1 << man) - 1)).astype(np.int64)
    kf = config.magic & ((1 << man) - 1)
    low = kf - (((1 - parity) << (man - 1)) | (frac >> 1))
    borrow = (low < 0).astype(np.int64)
    yf = (low & ((1 << man) - 1)).astype(np.uint64)
    return (yf | U(1 << man)) << (2 - parity - borrow).astype(np.uint64)


def newton_stage(dp, r, r_bits, mr, last):
    """One Newton-Raphson step ``r * (3 - m*r*r) / 2``; ``r`` has ``r_bits`` fraction bits, the result
    ``work_bits``. Each product is truncated to ``work_bits`` fraction bits. The last stage uses
    ``3 + newton_bias`` to centre its error (see :func:`hw.spec.datapath.newton_bias`)."""
    w = dp.work_bits
    sq_shift = 2 * r_bits - w
    sq = mul_shr(r, r, sq_shift) if sq_shift >= 0 else (r * r) << U(-sq_shift)
    sq &= U((1 << (w + 2)) - 1)
    t = mul_shr(mr, sq, dp.frac_bits)
    h = (U((3 << w) + (dp.newton_bias if last else 0)) - t) & U((1 << (w + 2)) - 1)
    return mul_shr(r, h, r_bits + 1) & U((1 << (w + 1)) - 1)


def residual_round(res, r, mr):
    """The correctly rounded significand of ``1/sqrt(MR)`` from ``r`` (``res.r_bits`` fraction bits,
    within half an ulp), decided by the sign of ``Y**2 * MR - 2**(2p + 2 + P)``
    (:mod:`hw.spec.residual`), with ``r_bits`` fraction bits again: ``T`` or ``T + 1`` at the
    result's last place, so that rounding it is exact. ``T = 2**p`` rounds down undecided (the
    hardware forms no ``Y`` for it)."""
    p, shift = res.precision, U(res.r_bits - res.precision)
    t = np.asarray(r, dtype=np.uint64) >> shift
    y = 2 * (t & U((1 << p) - 1)) + U(1)
    low = (y * y * np.asarray(mr, dtype=np.uint64)) & U((1 << res.low_bits) - 1)    # modulo 2**64 first
    up = (low >> U(res.low_bits - 1)) & ~(t >> U(p))
    return (t + up) << shift


def round_pack_float(fmt, v, frac, exp, subnormals, below_max=None):
    """Round ``v / 2**frac * 2**exp`` (``v > 0``) to ``man_bits + 1`` significant bits, nearest
    even, and pack to raw bits (sign 0): overflow gives infinity; below ``emin`` the result is
    subnormal (rounded once, at the subnormal position) when ``subnormals``, else it must not occur.
    ``below_max`` (twin of ``RoundPackFloat``'s): a result more binades below ``emin`` is rounded
    ``below_max`` bits below its normal position (the hardware's narrower shifter).

    With ``q`` the rounded significand and ``b`` the biased exponent (at least 1 when subnormal),
    the packed word is ``((b - 1) << man_bits) + q``: a carry out of ``q`` and a subnormal that
    rounds up to the smallest normal both land in the right field without a special case.
    """
    man = fmt.man_bits
    lead = bit_length(v) - 1
    biased = lead - frac + exp + fmt.bias
    shift = lead - man
    if subnormals:
        below = np.maximum(1 - biased, 0)
        shift = shift + (below if below_max is None else np.minimum(below, below_max))
        biased = np.maximum(biased, 1)
    if shift.size and int(shift.min()) >= 0:           # no value short of the significand's width
        q = round_shift(v, shift)
    else:
        q = round_shift(v, np.maximum(shift, 0)) << np.maximum(-shift, 0).astype(np.uint64)
    out = ((biased - 1).astype(np.uint64) << U(man)) + q
    return np.where((biased >= fmt.exp_max_field) | (out >= U(fmt.inf)), U(fmt.inf), out)


def round_pack_fixed(out_fmt, v, frac, exp, negative=None):
    """Magnitude ``v / 2**frac * 2**exp`` rounded (nearest even) to ``out_fmt``'s grid, saturating
    at ``max_int`` (``max_int + 1`` where ``negative``); returns ``(magnitude, saturated)``."""
    shift = frac - exp - out_fmt.frac_bits
    y = round_shift(v, np.maximum(shift, 0))
    left = np.maximum(-shift, 0)
    big = left >= 64 - bit_length(y)
    y = np.where(big, U(0), y << np.where(big, 0, left).astype(np.uint64))
    limit = U(out_fmt.max_int) + (U(0) if negative is None else np.asarray(negative).astype(np.uint64))
    saturated = big | (y > limit)
    return np.where(saturated, limit, y), saturated


def square(dp, sig):
    """``sig**2`` (``x_frac_bits`` fraction bits in) truncated to ``work_bits`` fraction bits."""
    shift = 2 * dp.x_frac_bits - dp.work_bits
    return mul_shr(sig, sig, shift) if shift >= 0 else (sig * sig) << U(-shift)


def product(a, a_frac, r):
    """``a * r`` truncated to ``r``'s fraction bits (``a`` has ``a_frac`` fraction bits)."""
    return mul_shr(a, r, a_frac)


def add_one(dp, t, exp):
    """``u = 1 + t * 2**exp`` (``t`` in ``[1, 8)``, ``work_bits`` fraction bits) as ``(U, eu)`` with
    ``u = U / 2**work_bits * 2**eu``, ``U`` in ``[1, 9) * 2**work_bits``, parts below the LSB
    truncated."""
    w = dp.work_bits
    exp = np.asarray(exp, dtype=np.int64)
    eu = np.maximum(exp, 0)
    up = np.minimum(eu, 63)
    down = np.minimum(np.maximum(-exp, 0), 63)
    # exp >= 0: t + 2**(w - exp) (0 beyond the LSB); exp < 0: 2**w + (t >> -exp).
    small = t >> down.astype(np.uint64)
    if w + 3 > 63:                                      # t may reach 2**63: a shift of 64 or more is 0
        small = np.where(-exp >= 64, U(0), small)
    return small + (U(1 << w) >> up.astype(np.uint64)), eu


def normalize_sum(dp, u, exp):
    """``(exp, sig)`` of ``U`` normalized to ``[1, 2)`` with ``work_bits`` fraction bits (the up to
    three low bits shifted out are truncated)."""
    lead = bit_length(u) - 1 - dp.work_bits
    return exp + lead, u >> lead.astype(np.uint64)


def cube(dp, r):
    """``r**3``, each product truncated to ``work_bits`` fraction bits and, like the RTL's ``r2`` and
    ``r3`` registers, to ``work_bits + 1`` bits in all (``r < sqrt(2)`` fits; a wild magic seed
    can exceed it, and then wraps in both)."""
    w = dp.work_bits
    mask = U((1 << (w + 1)) - 1)
    return mul_shr(mul_shr(r, r, w) & mask, r, w) & mask
