"""Golden model of the logistic family's datapath (:mod:`hw.spec.logistic`): tanh, the sigmoid
and their backward units ``grad * f'(x)`` on raw float bits, in exact integer arithmetic, as the
planned unit computes them.

Specials as the exact references (:func:`golden.reference_elementary.tanh_mpfr`,
``sigmoid_mpfr``): NaN in gives the canonical quiet NaN; tanh keeps a zero's sign and gives
``+-1`` at ``+-inf``; the sigmoid gives 0.5 at ``+-0``, 1 at ``+inf`` and ``+0`` at ``-inf``;
backward, ``f'`` is 0 at an infinity (``grad * 0``: a zero of grad's sign, NaN for an infinite
grad) and exact at zero (``f'(0)`` is 1 for tanh, 0.25 for the sigmoid).
"""
import numpy as np

from hw.spec.classes import Cls
from hw.spec.elu import EXP_MAX
from hw.spec.intmath import mul_shr
from hw.spec.logistic import SMALL_EXP, kind_of, logistic_datapath
from hw.spec.seeds import quad_value
from . import blocks
from .elu import _shift

__all__ = ["logistic", "logistic_model"]

U = np.uint64


def _qr(dp, fmt, ex, sigx):
    """``(QR, k, small)``: ``QR = Q'(f) * R(E)`` (backward ``R2``; the small regime ``sig *
    T(b/2)``) with ``qr_bits`` fraction bits, ``t = b*log2(e) = k + f``, ``b = c*a``, ``E = Q' *
    2**-k``."""
    w, tb, man = dp.work_bits, dp.t_bits, fmt.man_bits
    exp = np.minimum(ex + dp.t_exp, EXP_MAX)
    top = mul_shr(sigx, np.full(sigx.shape, dp.log2e, dtype=U), man + dp.log2e_bits - tb - EXP_MAX)
    t = _shift(top, exp - EXP_MAX)
    k = (t >> U(tb)).astype(np.int64)
    operand, parity = t & U((1 << tb) - 1), np.zeros(ex.shape, dtype=np.int64)
    small = np.zeros(ex.shape, dtype=bool)
    if not dp.backward:
        small = ex + dp.t_exp <= SMALL_EXP
        b = _shift(sigx, ex + dp.t_exp - man + tb) & U((1 << tb) - 1)      # b = c*a < 1 where small
        operand = np.where(small, U((1 << tb) - 1) - b, operand)
        parity = small.astype(np.int64)
    q = quad_value(dp.table, operand, parity)
    e = np.minimum(_shift(q, tb - w - np.minimum(k, 63)), U((1 << tb) - 1))
    r = quad_value(dp.recip, e)
    a_op = np.where(small, sigx << U(w - man), q)
    b_op = np.where(small, U(dp.small_one) - q, r)
    return mul_shr(a_op, b_op, 2 * w - dp.qr_bits), k, small


def _forward(dp, fmt, sx, cx, ex, qr, k, small):
    """Magnitude bits of the forward unit: ``QR`` itself ("direct": tanh small, sigmoid ``x <= -1``)
    or ``C +- QR * 2**-shift`` ("aligned": ``C`` 1, or 0.5 for the sigmoid's small regime)."""
    qb = dp.qr_bits
    negative = sx == 1
    if dp.tanh:
        direct, exp_direct = small, ex
        shift, half, plus = k - 1, np.zeros(ex.shape, bool), np.zeros(ex.shape, bool)
    else:
        direct, exp_direct = negative & ~small, -k
        shift, half, plus = np.where(small, 2 - ex, k), small, small & ~negative
    # The aligned term: QR >> shift, then one more bit: set when bits were shifted out (strictly
    # between its neighbours).
    sh = np.clip(shift, 0, dp.k_max).astype(U)
    lost = (qr & ((U(1) << sh) - U(1))) != 0
    term = np.where(shift >= dp.k_max, U(1), ((qr >> sh) << U(1)) | lost.astype(U))
    c = np.where(half, U(1 << qb), U(2 << qb))
    aligned = np.where(plus, c + term, c - term)
    v = np.where(direct, U(2) * qr - U(1), aligned)
    v = np.where(cx == Cls.ZERO, U(1), v)                        # a zero is decided below
    return blocks.round_pack_float(fmt, v, qb + 1, np.where(direct, exp_direct, 0), subnormals=True)


def logistic_model(fmt, kind, x, grad=None):
    """Raw result bits of ``kind`` (``tanh`` or ``sigmoid``): ``f(x)`` (``grad`` None) or ``grad *
    f'(x)``, arrays of raw bits."""
    backward = grad is not None
    dp = logistic_datapath(fmt, kind, backward)
    qb, man = dp.qr_bits, fmt.man_bits
    x = np.asarray(x).astype(np.int64).astype(U) & U((1 << fmt.width) - 1)
    sx, cx, ex, sigx = blocks.unpack_float(fmt, x)
    qr, k, small = _qr(dp, fmt, ex, sigx)
    zero = cx == Cls.ZERO
    if not backward:
        magnitude = _forward(dp, fmt, sx, cx, ex, qr, k, small)
        one = U(fmt.bias << man)
        if dp.tanh:
            magnitude = np.where(cx == Cls.INF, one, np.where(zero, U(0), magnitude))
            y = magnitude | (sx.astype(U) << U(fmt.width - 1))
        else:
            inf = np.where(sx == 1, U(0), one)
            y = np.where(cx == Cls.INF, inf, np.where(zero, U((fmt.bias - 1) << man), magnitude))
        return np.where(cx == Cls.NAN, U(fmt.quiet_nan), y)
    g = np.broadcast_to(np.asarray(grad).astype(np.int64).astype(U), x.shape) & U((1 << fmt.width) - 1)
    sg, cg, eg, sigg = blocks.unpack_float(fmt, g)
    # Q' * R2 <= 1/4 at k = 0 (E = Q'): strictly below but at x = 0, where it is exact.
    quarter = U(1 << (qb - 2))
    qr = np.where(zero, quarter, np.where(k == 0, np.minimum(qr, quarter - U(1)), qr))
    v = U(2) * mul_shr(sigg, qr, 0) - (~zero).astype(U)          # strictly below, but at zero
    magnitude = blocks.round_pack_float(fmt, np.maximum(v, U(1)), man + qb + 1, eg - k + 2 * dp.t_exp,
                                        subnormals=True)
    y = np.where(cg == Cls.ZERO, U(0), np.where(cg == Cls.INF, U(fmt.inf), magnitude))
    y = np.where(cx == Cls.INF, np.where(cg == Cls.INF, U(fmt.quiet_nan), U(0)), y)
    y = np.where(y == U(fmt.quiet_nan), y, y | (sg.astype(U) << U(fmt.width - 1)))
    return np.where((cx == Cls.NAN) | (cg == Cls.NAN), U(fmt.quiet_nan), y)


def logistic(config, x, grad=None):
    """The golden twin of :class:`hw.rtl.units.logistic.LogisticUnit`: raw result bits for
    ``config`` (``grad``: the backward unit's operand)."""
    return logistic_model(config.format, kind_of(config.function), x, grad)
