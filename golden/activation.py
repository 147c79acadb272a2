"""Bit-exact golden model of the ISRLU/ISRU forward and backward units: the composition of the
block twins, in the same order as :class:`hw.rtl.units.activation.ActivationUnit`.

Datapath (one rounding, at the end): ``Q = x**2``, ``T = alpha * Q``, ``U = 1 + T`` (aligned),
``R = U**-0.5`` (seed and Newton stages of the rsqrt core), then ``y = x * R`` (forward),
``g_in = grad * R**3`` (backward: a polynomial seed with no Newton stage gives ``R**3 = U**-1.5``
itself) or ``x**3 * (grad * R**3) / 2`` (alpha gradient, negated for ``x > 0``; ``x**3`` the
product of ``x`` and ``Q``), all in fixed point with ``work_bits`` fraction bits. The ISRU sigmoid's core
sees ``alpha/4``; its forward tail is :mod:`golden.isru_sigmoid`, its backward result ``/4``.
"""
import numpy as np

from hw.spec.classes import Cls
from hw.spec.config import Config
from hw.spec.datapath import datapath
from . import blocks
from .elu import pack_fixed
from .isru_sigmoid import isru_sigmoid_tail_model
from .rsqrt import rsqrt_core

__all__ = ["activation"]

U64 = np.uint64


def _bits(config, raw):
    raw = np.asarray(raw).astype(np.uint64, copy=False)        # signed inputs wrap: two's complement
    return raw & U64((1 << config.format.width) - 1)


def _unpack(config, raw):
    if config.is_float:
        return blocks.unpack_float(config.format, raw)
    return blocks.unpack_fixed(config.format, raw, magnitude=True)


def activation(config: Config, x, grad=None, alpha=None):
    """Raw-bit results of an activation unit. ``grad`` (backward functions) and ``alpha``
    (``runtime_alpha``) are raw-bit arrays broadcastable with ``x``. Floats return raw result bits;
    fixed point returns ``(y, flag)`` with ``flag`` set where the result saturated or alpha was
    not positive."""
    dp, fmt, w = datapath(config), config.format, datapath(config).work_bits
    x = _bits(config, x)
    shape = x.shape
    if config.is_backward:
        if grad is None:
            raise ValueError(f"{config.function} needs grad")
        grad = np.broadcast_to(_bits(config, grad), shape)
    if config.runtime_alpha:
        if alpha is None:
            raise ValueError("runtime_alpha needs alpha")
        alpha = np.broadcast_to(_bits(config, alpha), shape)
    # No normalization where a subnormal x is its own result (forward) or its alpha*x**2
    # vanishes beside 1 (backward).
    if dp.subnormal_x_passes or dp.subnormal_x_vanishes:
        sx, cx, ex, sigx = blocks.float_fields(fmt, x)
    else:
        sx, cx, ex, sigx = _unpack(config, x)
    passes = np.zeros(shape, dtype=bool)
    if dp.subnormal_x_passes:
        passes = (cx == Cls.FINITE) & (sigx >> U64(fmt.man_bits) == 0)
    if config.is_float:
        ex = np.where(cx == Cls.INF, dp.big_exp, ex)        # sigx is already 1 << x_frac_bits
    if config.runtime_alpha:
        sa, ca, ea, siga = _unpack(config, alpha)
        alpha_ok = (sa == 0) & (ca == Cls.FINITE)
        siga = siga << U64(dp.work_bits - dp.x_frac_bits)
    else:
        alpha_ok = np.ones(shape, dtype=bool)
        ea, siga = dp.alpha_exp, U64(dp.alpha_sig)

    q = blocks.square(dp, sigx)
    t = blocks.product(siga, w, q)
    u, eu = blocks.add_one(dp, t, 2 * ex + ea)
    eu, sigu = blocks.normalize_sum(dp, u, eu)
    r, k = rsqrt_core(config, eu, sigu)
    if config.newton == 0:                  # the bare seed has seed_bits fraction bits
        r = r << U64(w - dp.seed_bits)

    # f'(x) = 1 (and ISRLU's f(x) = x): x >= 0 for ISRLU, x = 0 for both; R = 1 passes x or grad.
    unit = cx == Cls.ZERO
    if config.entry.identity_nonnegative:
        unit = unit | (sx == 0)
    r = np.where(unit, U64(1 << w), r)
    k = np.where(unit, 0, k)
    if config.is_backward:
        sg, cg, eg, sigg = _unpack(config, grad)
        v = blocks.product(sigg, dp.x_frac_bits, r if dp.seed_power == 3 else blocks.cube(dp, r))
        exp, sign = eg - 3 * k - (2 if config.entry.sigmoid_form else 0), sg     # the sigmoid form's 1/4
        if config.entry.alpha_gradient:         # grad * u**-1.5 * x**3 / 2, negated where x > 0
            v = blocks.product(blocks.product(sigx, dp.x_frac_bits, q), w, v)
            identity = unit if config.entry.identity_nonnegative else np.zeros(shape, dtype=bool)
            exp, sign = exp + 3 * ex - 1, np.where(identity, sg, sg ^ (1 - sx))
    else:
        v = blocks.product(sigx, dp.x_frac_bits, r)
        exp, sign = ex - k, sx
        if config.entry.sigmoid_form:
            v, frac, exp = isru_sigmoid_tail_model(config, dp, (sx == 1) & (cx != Cls.ZERO), ex, q, r, k, v)
            if not config.is_float:
                return pack_fixed(config.out_format, v, frac, exp, np.False_, np.False_)
            y = blocks.round_pack_float(fmt, v, frac, exp, subnormals=True)
            return np.where(cx == Cls.NAN, U64(fmt.quiet_nan), y)

    if not config.is_float:                     # an invalid runtime alpha: 0, flagged
        zero = (cx == Cls.ZERO) if not config.is_backward else (cg == Cls.ZERO)
        y, flag = pack_fixed(config.out_format, v, w, exp, sign == 1, zero | ~alpha_ok)
        return y, flag | ~alpha_ok

    y = blocks.round_pack_float(fmt, v, w, exp, subnormals=True, below_max=dp.below_emin_max)
    y = y | (sign.astype(np.uint64) << U64(fmt.width - 1))
    if config.entry.alpha_gradient:                             # df/dalpha = 0 where unit
        y = np.where((cg == Cls.ZERO) | unit, U64(fmt.sign_bit) * sign.astype(np.uint64), y)
        y = np.where(cg == Cls.INF, U64(fmt.inf) | (U64(fmt.sign_bit) * sign.astype(np.uint64)), y)
        invalid = (cx == Cls.NAN) | (cg == Cls.NAN) | (unit & (cg == Cls.INF))
    elif config.is_backward:
        vanishing = (cx == Cls.INF) & ~unit                     # f'(±inf) = +0
        y = np.where(cg == Cls.ZERO, U64(fmt.sign_bit) * sg.astype(np.uint64), y)
        y = np.where(cg == Cls.INF, U64(fmt.inf) | (U64(fmt.sign_bit) * sg.astype(np.uint64)), y)
        invalid = (cx == Cls.NAN) | (cg == Cls.NAN) | (vanishing & (cg == Cls.INF))
    else:
        y = np.where((cx == Cls.ZERO) | passes, x, y)
        invalid = cx == Cls.NAN
    return np.where(invalid | ~alpha_ok, U64(fmt.quiet_nan), y)
