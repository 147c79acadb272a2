"""Golden model of the logistic family's datapath (:mod:`hw.spec.logistic`): tanh, the sigmoid
and their backward units ``grad * f'(x)`` on raw float or fixed-point bits, in exact integer arithmetic, as the
planned unit computes them.

Specials as the exact references (:func:`golden.reference_elementary.tanh_mpfr`,
``sigmoid_mpfr``): NaN in gives the canonical quiet NaN; tanh keeps a zero's sign and gives
``+-1`` at ``+-inf``; the sigmoid gives 0.5 at ``+-0``, 1 at ``+inf`` and ``+0`` at ``-inf``;
backward, ``f'`` is 0 at an infinity (``grad * 0``: a zero of grad's sign, NaN for an infinite
grad) and exact at zero (``f'(0)`` is 1 for tanh, 0.25 for the sigmoid). Fixed point as
:mod:`golden.elu`'s: the same datapath, the packer rounding to the output grid.
"""
import numpy as np

from hw.spec.classes import Cls
from hw.spec.elu import EXP_MAX
from hw.spec.formats import FloatFormat, significand_span
from hw.spec.intmath import mul_shr
from hw.spec.logistic import SMALL_EXP, kind_of, logistic_datapath
from hw.spec.seeds import quad_value
from . import blocks
from .elu import _shift, _unpack, pack_fixed

__all__ = ["logistic", "logistic_model"]

U = np.uint64


def _qr(dp, ex, sigx, man):
    """``(QR, k, small)``: ``QR = Q'(f) * R(E)`` (backward ``R2``; the small regime ``sig *
    T(b/2)``) with ``qr_bits`` fraction bits, ``t = b*log2(e) = k + f``, ``b = c*a``, ``E = Q' *
    2**-k``."""
    w, tb = dp.work_bits, dp.t_bits
    exp = np.minimum(ex + dp.t_exp, EXP_MAX)
    top = mul_shr(sigx, U(dp.log2e), man + dp.log2e_bits - tb - EXP_MAX)
    t = _shift(top, exp - EXP_MAX)
    k = (t >> U(tb)).astype(np.int64)
    operand, parity, small = t & U((1 << tb) - 1), 0, None
    if not dp.backward:
        small = ex + dp.t_exp <= SMALL_EXP
        b = _shift(sigx, ex + dp.t_exp - man + tb) & U((1 << tb) - 1)      # b = c*a < 1 where small
        operand = np.where(small, U((1 << tb) - 1) - b, operand)
        parity = small.astype(np.int64)
    q = quad_value(dp.table, operand, parity)
    e = np.minimum(_shift(q, tb - w - np.minimum(k, 63)), U((1 << tb) - 1))
    r = quad_value(dp.recip, e)
    if small is None:                   # backward: no small regime
        return mul_shr(q, r, 2 * w - dp.qr_bits), k, np.zeros(ex.shape, dtype=bool)
    a_op = np.where(small, sigx << U(w - man), q)
    b_op = np.where(small, U(dp.small_one) - q, r)
    return mul_shr(a_op, b_op, 2 * w - dp.qr_bits), k, small


def _forward(dp, sx, cx, ex, qr, k, small):
    """The forward unit's magnitude ``(v, frac, exp)`` before the packer: ``QR`` itself ("direct": tanh small, sigmoid ``x <= -1``)
    or ``C +- QR * 2**-shift`` ("aligned": ``C`` 1, or 0.5 for the sigmoid's small regime)."""
    qb = dp.qr_bits
    negative = sx == 1
    if dp.tanh:
        direct, exp_direct, shift = small, ex, k - 1
    else:
        direct, exp_direct = negative & ~small, -k
        shift, half, plus = np.where(small, 2 - ex, k), small, small & ~negative
    # The aligned term: QR >> shift, then one more bit: set when bits were shifted out (strictly
    # between its neighbours).
    sh = np.minimum(np.maximum(shift, 0), dp.k_max).astype(U)
    lost = (qr & ((U(1) << sh) - U(1))) != 0
    term = np.where(shift >= dp.k_max, U(1), ((qr >> sh) << U(1)) | lost.astype(U))
    if dp.tanh:                                                  # 1 - term
        aligned = U(2 << qb) - term
    else:                                                        # 1 - term, or 0.5 -+ term
        c = U(2 << qb) >> half.astype(U)
        aligned = np.where(plus, c + term, c - term)
    v = np.where(direct, U(2) * qr - U(1), aligned)
    v = np.where(cx == Cls.ZERO, U(1), v)                        # a zero is decided below
    return v, qb + 1, np.where(direct, exp_direct, 0)


def logistic_model(fmt, kind, x, grad=None):
    """``f(x)`` (``grad`` None) or ``grad * f'(x)`` of ``kind`` (``tanh`` or ``sigmoid``) on raw
    operand bits: raw result bits (floats), ``(y, flag)`` (fixed point: ``flag`` where the result
    saturated)."""
    backward = grad is not None
    dp = logistic_datapath(fmt, kind, backward)
    qb, man = dp.qr_bits, significand_span(fmt)[0] - 1
    fixed = not isinstance(fmt, FloatFormat)
    x, sx, cx, ex, sigx = _unpack(fmt, x)
    qr, k, small = _qr(dp, ex, sigx, man)
    zero = cx == Cls.ZERO
    if not backward:
        v, frac, exp = _forward(dp, sx, cx, ex, qr, k, small)
        if fixed:                       # tanh(0) = 0; the sigmoid's 0.5 at 0 is v = 1, frac 1
            v = np.where(zero & ~dp.tanh, U(1) << U(frac - 1), v)
            return pack_fixed(fmt, v, frac, exp, (sx == 1) & dp.tanh, zero & dp.tanh)
        magnitude = blocks.round_pack_float(fmt, v, frac, exp, subnormals=True)
        one = U(fmt.bias << man)
        if dp.tanh:
            magnitude = np.where(cx == Cls.INF, one, np.where(zero, U(0), magnitude))
            y = magnitude | (sx.astype(U) << U(fmt.width - 1))
        else:
            inf = np.where(sx == 1, U(0), one)
            y = np.where(cx == Cls.INF, inf, np.where(zero, U((fmt.bias - 1) << man), magnitude))
        return np.where(cx == Cls.NAN, U(fmt.quiet_nan), y)
    g, sg, cg, eg, sigg = _unpack(fmt, np.broadcast_to(grad, x.shape))
    # Q' * R2 <= 1/4 at k = 0 (E = Q'): strictly below but at x = 0, where it is exact.
    quarter = U(1 << (qb - 2))
    qr = np.where(zero, quarter, np.where(k == 0, np.minimum(qr, quarter - U(1)), qr))
    v = np.maximum(U(2) * mul_shr(sigg, qr, 0) - (~zero).astype(U), U(1))   # strictly below, but at zero
    exp = eg - k + 2 * dp.t_exp
    if fixed:
        return pack_fixed(fmt, v, man + qb + 1, exp, sg == 1, cg == Cls.ZERO)
    magnitude = blocks.round_pack_float(fmt, v, man + qb + 1, exp, subnormals=True)
    y = np.where(cg == Cls.ZERO, U(0), np.where(cg == Cls.INF, U(fmt.inf), magnitude))
    y = np.where(cx == Cls.INF, np.where(cg == Cls.INF, U(fmt.quiet_nan), U(0)), y)
    y = np.where(y == U(fmt.quiet_nan), y, y | (sg.astype(U) << U(fmt.width - 1)))
    return np.where((cx == Cls.NAN) | (cg == Cls.NAN), U(fmt.quiet_nan), y)


def logistic(config, x, grad=None):
    """The golden twin of :class:`hw.rtl.units.logistic.LogisticUnit`: raw result bits for
    ``config`` (``grad``: the backward unit's operand); fixed point ``(y, flag)``."""
    return logistic_model(config.format, kind_of(config.function), x, grad)
