"""Bit-exact golden model of the inverse-square-root unit: the composition of the block twins."""
import numpy as np

from hw.spec.classes import Cls
from hw.spec.config import Config
from hw.spec.datapath import datapath
from . import blocks

__all__ = ["rsqrt_core", "rsqrt"]


def rsqrt_core(config: Config, exp, sig):
    """Inverse square root of a normalized operand ``sig * 2**(exp - frac_bits)``: returns
    ``(R, k)`` with ``1/sqrt(operand) ~= R / 2**work_bits * 2**-k`` (with rounding "residual", ``R``
    is the correctly rounded result, :func:`golden.blocks.residual_round`)."""
    dp = datapath(config)
    parity, k, mr = blocks.range_reduce(dp, exp, sig)
    seed = {"lut": blocks.seed_lut, "pwl": blocks.seed_poly, "quad": blocks.seed_poly,
            "magic": blocks.seed_magic}[config.seed]
    r = seed(config, dp, parity, sig)
    r_bits = dp.seed_bits
    for stage in range(config.newton):
        r = blocks.newton_stage(dp, r, r_bits, mr, last=stage == config.newton - 1)
        r_bits = dp.work_bits
    if dp.residual is not None:
        r = blocks.residual_round(dp.residual, r, mr)
    return r, k


def rsqrt(config: Config, x):
    """Raw-bit results of the unit for raw-bit inputs ``x`` (any shape, unsigned or signed ints).

    Floats return raw result bits. Fixed point returns ``(y, flag)``: ``y`` the raw output word and
    ``flag`` set where the result saturated (zero input, or a result beyond the output format) or
    the input was negative (``y = 0``).
    """
    fmt = config.format
    x = np.asarray(x).astype(np.int64).astype(np.uint64) & np.uint64((1 << fmt.width) - 1)
    dp = datapath(config)
    if config.is_float:
        sign, cls, exp, sig = blocks.unpack_float(fmt, x)
        r, k = rsqrt_core(config, exp, sig)
        y = blocks.round_pack_float(fmt, r, dp.work_bits, -k, subnormals=False)
        y = np.where(cls == Cls.INF, np.uint64(0), y)
        y = np.where(cls == Cls.ZERO, np.uint64(fmt.inf), y)
        y = np.where(sign == 1, np.uint64(fmt.inf | fmt.sign_bit), y)
        y = np.where((sign == 1) & (cls != Cls.ZERO) | (cls == Cls.NAN), np.uint64(fmt.quiet_nan), y)
        return y
    sign, cls, exp, sig = blocks.unpack_fixed(fmt, x)
    r, k = rsqrt_core(config, exp, sig)
    y, flag = blocks.round_pack_fixed(config.out_format, r, dp.work_bits, -k)
    y = np.where(cls == Cls.ZERO, np.uint64(config.out_format.max_int), y)
    y = np.where(sign == 1, np.uint64(0), y)
    flag = flag | (cls == Cls.ZERO) | (sign == 1)
    return y, flag
