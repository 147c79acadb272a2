"""Golden model of the ELU datapath (:mod:`hw.spec.elu`): ``ELU(x)`` and ``grad * ELU'(x)`` on raw
float or fixed-point bits, in exact integer arithmetic, as the planned unit computes them.

Specials as the exact reference (:func:`golden.reference_elementary.elu_mpfr`): NaN in gives the
canonical quiet NaN; ``x >= 0`` (``+0``, ``-0``, ``+inf`` included) gives ``x`` forward and
``grad`` backward; ``-inf`` gives ``-alpha`` forward and ``f' = 0`` backward (``inf * 0``: NaN).
Fixed point: the magnitude is unpacked as a float with ``width`` significand bits, the same
datapath runs, and the packer rounds to the output grid instead (nearest even, saturating with the
flag set); 0 gives 0.
"""
import numpy as np

from hw.spec.classes import Cls
from hw.spec.elu import EXP_MAX, elu_datapath
from hw.spec.formats import FloatFormat, significand_span
from hw.spec.intmath import mul_shr
from hw.spec.seeds import quad_value
from . import blocks

__all__ = ["elu", "elu_model", "pack_fixed"]

U = np.uint64


def _shift(value, amount):
    """``value << amount`` (a right shift for a negative amount, truncating; 0 beyond 63)."""
    amount = np.asarray(amount, dtype=np.int64)
    right = np.minimum(np.maximum(-amount, 0), 63).astype(U)
    left = np.minimum(np.maximum(amount, 0), 63).astype(U)
    return np.where(amount <= -64, U(0), (value << left) >> right)       # one of the shifts is 0


def _exp_part(dp, fmt, exp, sig):
    """``(Q', k)`` with ``Q' * 2**-k`` ~ ``alpha * 2**-t``, ``t = a*log2(e)``, ``a = sig *
    2**(exp - man)``; ``t`` truncated."""
    man = significand_span(fmt)[0] - 1
    exp = np.minimum(exp, EXP_MAX)
    # t = sig * log2e * 2**(exp - man - log2e_bits), kept to t_bits fraction bits: the product
    # aligned for the largest exponent, then shifted right by the distance to it.
    top = mul_shr(sig, U(dp.log2e), man + dp.log2e_bits - dp.t_bits - EXP_MAX)
    t = _shift(top, exp - EXP_MAX)
    k = (t >> U(dp.t_bits)).astype(np.int64)
    f = t & U((1 << dp.t_bits) - 1)
    return quad_value(dp.table, f), k


def _unpack(fmt, bits):
    """``(raw, sign, cls, exp, sig)`` of raw operand bits: floats as stored, fixed point by its
    magnitude (``width - 1`` fraction bits, the float twin's ``man_bits``)."""
    raw = np.asarray(bits).astype(np.int64).astype(U) & U((1 << fmt.width) - 1)
    if isinstance(fmt, FloatFormat):
        return (raw, *blocks.unpack_float(fmt, raw))
    return (raw, *blocks.unpack_fixed(fmt, raw, magnitude=True))


def pack_fixed(fmt, v, frac, exp, negative, zero):
    """A fixed-point result ``(y, flag)``: ``±v / 2**frac * 2**exp`` rounded to ``fmt``'s grid
    (nearest even), saturated (flag set) beyond its range; 0 where ``zero``."""
    mag, flag = blocks.round_pack_fixed(fmt, np.where(zero, U(0), v), frac, exp, negative=negative)
    mask = U((1 << fmt.width) - 1)
    return np.where(negative, (U(0) - mag) & mask, mag), flag & ~zero


def elu_model(fmt, alpha, x, grad=None):
    """``ELU(x)`` (``grad`` None) or ``grad * ELU'(x)`` of raw operand bits: raw result bits
    (floats), ``(y, flag)`` (fixed point: ``flag`` where the result saturated)."""
    backward = grad is not None
    dp = elu_datapath(fmt, alpha, backward)
    w, man = dp.work_bits, significand_span(fmt)[0] - 1
    x, sx, cx, ex, sigx = _unpack(fmt, x)
    fixed = not isinstance(fmt, FloatFormat)
    negative = (sx == 1) & (cx != Cls.ZERO)
    if not backward:
        # Small regime, a < 1: -a * P'(a), the "strictly below" unit subtracted from v*2.
        a = _shift(sigx, ex - man + dp.t_bits)
        p = quad_value(dp.table, np.minimum(a, U((1 << dp.t_bits) - 1)), parity=1)
        small_v, small_exp = U(2) * (sigx * p) - U(1), ex + dp.alpha_exp
        # Exp regime: alpha - Q'*2**-k with the subtrahend rounded up (a sticky bit).
        q, k = _exp_part(dp, fmt, ex, sigx)
        kk = np.minimum(k, dp.k_max).astype(U)
        sub = np.where(k >= dp.k_max, U(1), (q >> kk) + ((q & ((U(1) << kk) - U(1))) != 0).astype(U))
        big_v = U(dp.alpha_fixed) - sub
        # One packer, as in the unit: the exp regime's value aligned to the small one's fraction bits.
        v = np.where(ex < 0, small_v, big_v << U(man + 1))
        exp = np.where(ex < 0, small_exp, dp.alpha_exp)
        if fixed:
            v = np.where(negative, v, sigx << U(w + 1))                 # x >= 0: x itself
            return pack_fixed(fmt, v, man + w + 1, np.where(negative, exp, ex), negative, cx == Cls.ZERO)
        magnitude = blocks.round_pack_float(fmt, v, man + w + 1, exp, subnormals=True)
        y = np.where(negative, magnitude | U(fmt.sign_bit), x)
        return np.where(cx == Cls.NAN, U(fmt.quiet_nan), y)
    g, sg, cg, eg, sigg = _unpack(fmt, np.broadcast_to(grad, x.shape))
    q, k = _exp_part(dp, fmt, ex, sigx)
    v = U(2) * mul_shr(sigg, q, 0) - U(1)                  # grad * Q', strictly below
    if fixed:
        v = np.where(negative, v, sigg << U(w + 1))                     # f'(x) = 1: grad itself
        exp = np.where(negative, eg - k + dp.alpha_exp, eg)
        return pack_fixed(fmt, v, man + w + 1, exp, sg == 1, cg == Cls.ZERO)
    magnitude = blocks.round_pack_float(fmt, v, man + w + 1, eg - k + dp.alpha_exp, subnormals=True)
    y = np.where(cg == Cls.ZERO, U(0), np.where(cg == Cls.INF, U(fmt.inf), magnitude))
    y = np.where(negative & (cx == Cls.INF), np.where(cg == Cls.INF, U(fmt.quiet_nan), U(0)), y)
    y = np.where(negative, y, g & U(fmt.sign_bit - 1))      # f'(x) = 1 for x >= 0
    y = np.where(y == U(fmt.quiet_nan), y, y | (sg.astype(U) << U(fmt.width - 1)))
    return np.where((cx == Cls.NAN) | (cg == Cls.NAN), U(fmt.quiet_nan), y)


def elu(config, x, grad=None):
    """The golden twin of :class:`hw.rtl.units.elu.EluUnit`: raw result bits for ``config``
    (``grad``: the backward unit's operand); fixed point ``(y, flag)``."""
    return elu_model(config.format, config.alpha, x, grad)
