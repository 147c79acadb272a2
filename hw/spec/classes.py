"""Operand classes shared by the unpack blocks of the RTL and the golden model."""
import enum

__all__ = ["Cls"]


class Cls(enum.IntEnum):
    """Class of an unpacked operand (the sign is carried separately)."""
    FINITE = 0   # normal, subnormal (normalized) or non-zero fixed point
    ZERO = 1
    INF = 2
    NAN = 3
