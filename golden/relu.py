"""Golden model of the ReLU unit (:class:`hw.rtl.units.relu.ReluUnit`): ``max(x, +0)`` on raw
bits, NaN to the canonical quiet NaN; fixed point with an all-zero flag."""
import numpy as np

from hw.spec.config import Config

__all__ = ["relu"]

U = np.uint64


def relu(config: Config, x):
    """Raw result bits of ``x`` (raw input bits); fixed point: ``(y, flag)``."""
    fmt = config.format
    x = np.asarray(x).astype(np.int64).astype(U) & U((1 << fmt.width) - 1)
    negative = (x >> U(fmt.width - 1)) == U(1)
    y = np.where(negative, U(0), x)
    if not config.is_float:
        return y, np.zeros(x.shape, dtype=bool)
    magnitude = x & U(fmt.sign_bit - 1)
    return np.where(magnitude > U(fmt.inf), U(fmt.quiet_nan), y)
