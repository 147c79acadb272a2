"""Golden model of the ELU datapath (:mod:`hw.spec.elu`): ``ELU(x)`` and ``grad * ELU'(x)`` on raw
float bits, in exact integer arithmetic, as the planned unit computes them.

Specials as the exact reference (:func:`golden.reference_elementary.elu_mpfr`): NaN in gives the
canonical quiet NaN; ``x >= 0`` (``+0``, ``-0``, ``+inf`` included) gives ``x`` forward and
``grad`` backward; ``-inf`` gives ``-alpha`` forward and ``f' = 0`` backward (``inf * 0``: NaN).
"""
import numpy as np

from hw.spec.classes import Cls
from hw.spec.elu import EXP_MAX, elu_datapath
from hw.spec.intmath import mul_shr
from hw.spec.seeds import quad_value
from . import blocks

__all__ = ["elu", "elu_model"]

U = np.uint64


def _shift(value, amount):
    """``value << amount`` (a right shift for a negative amount, truncating; 0 beyond 63)."""
    amount = np.asarray(amount, dtype=np.int64)
    right = np.clip(-amount, 0, 63).astype(U)
    left = np.clip(amount, 0, 63).astype(U)
    out = np.where(amount >= 0, value << left, value >> right)
    return np.where(amount <= -64, U(0), out)


def _exp_part(dp, fmt, exp, sig):
    """``(Q', k)`` with ``Q' * 2**-k`` ~ ``alpha * 2**-t``, ``t = a*log2(e)``, ``a = sig *
    2**(exp - man)``; ``t`` truncated."""
    man = fmt.man_bits
    exp = np.minimum(exp, EXP_MAX)
    # t = sig * log2e * 2**(exp - man - log2e_bits), kept to t_bits fraction bits: the product
    # aligned for the largest exponent, then shifted right by the distance to it.
    top = mul_shr(sig, np.full(sig.shape, dp.log2e, dtype=U), man + dp.log2e_bits - dp.t_bits - EXP_MAX)
    t = _shift(top, exp - EXP_MAX)
    k = (t >> U(dp.t_bits)).astype(np.int64)
    f = t & U((1 << dp.t_bits) - 1)
    return quad_value(dp.table, f), k


def elu_model(fmt, alpha, x, grad=None):
    """Raw result bits: ``ELU(x)`` (``grad`` None) or ``grad * ELU'(x)``, arrays of raw bits."""
    backward = grad is not None
    dp = elu_datapath(fmt, alpha, backward)
    w, man = dp.work_bits, fmt.man_bits
    x = np.asarray(x).astype(np.int64).astype(U) & U((1 << fmt.width) - 1)
    sx, cx, ex, sigx = blocks.unpack_float(fmt, x)
    negative = (sx == 1) & (cx != Cls.ZERO)
    if not backward:
        # Small regime, a < 1: -a * P'(a), the "strictly below" unit subtracted from v*2.
        a = _shift(sigx, ex - man + dp.t_bits)
        p = quad_value(dp.table, np.minimum(a, U((1 << dp.t_bits) - 1)), parity=1)
        small = blocks.round_pack_float(fmt, U(2) * (sigx * p) - U(1), man + w + 1, ex + dp.alpha_exp,
                                        subnormals=True)
        # Exp regime: alpha - Q'*2**-k with the subtrahend rounded up (a sticky bit).
        q, k = _exp_part(dp, fmt, ex, sigx)
        kk = np.minimum(k, dp.k_max).astype(U)
        sub = np.where(k >= dp.k_max, U(1), (q >> kk) + ((q & ((U(1) << kk) - U(1))) != 0).astype(U))
        big = blocks.round_pack_float(fmt, U(dp.alpha_fixed) - sub, w, np.full(x.shape, dp.alpha_exp),
                                      subnormals=True)
        magnitude = np.where(ex < 0, small, big)
        y = np.where(negative, magnitude | U(fmt.sign_bit), x)
        return np.where(cx == Cls.NAN, U(fmt.quiet_nan), y)
    g = np.broadcast_to(np.asarray(grad).astype(np.int64).astype(U), x.shape) & U((1 << fmt.width) - 1)
    sg, cg, eg, sigg = blocks.unpack_float(fmt, g)
    q, k = _exp_part(dp, fmt, ex, sigx)
    v = U(2) * mul_shr(sigg, q, 0) - U(1)                  # grad * Q', strictly below
    magnitude = blocks.round_pack_float(fmt, v, man + w + 1, eg - k + dp.alpha_exp, subnormals=True)
    y = np.where(cg == Cls.ZERO, U(0), np.where(cg == Cls.INF, U(fmt.inf), magnitude))
    y = np.where(negative & (cx == Cls.INF), np.where(cg == Cls.INF, U(fmt.quiet_nan), U(0)), y)
    y = np.where(negative, y, g & U(fmt.sign_bit - 1))      # f'(x) = 1 for x >= 0
    y = np.where(y == U(fmt.quiet_nan), y, y | (sg.astype(U) << U(fmt.width - 1)))
    return np.where((cx == Cls.NAN) | (cg == Cls.NAN), U(fmt.quiet_nan), y)


def elu(config, x, grad=None):
    """The golden twin of :class:`hw.rtl.units.elu.EluUnit`: raw result bits for ``config``
    (``grad``: the backward unit's operand)."""
    return elu_model(config.format, config.alpha, x, grad)
