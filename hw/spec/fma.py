"""The FMA's window (:class:`~hw.rtl.units.fma.FmaUnit`): where the product and the addend sit,
and how its sum and normalization are cut; shared by the plan (:func:`hw.spec.plan.fma_cuts`)
and the RTL.

The exact ``2p``-bit product is never shifted: it sits at ``[4, 2p + 4)``, above the two guard
bits and the sticky bit that an addend shifted below it leaves (its bits there lie at least two
places below the result's rounding bit, because the product then leads: at most one factor is
subnormal, so the product has at least ``p`` significant bits). The addend's ``p``-bit
significand starts at ``[top, top + p)``, ``top = 2p + 6``, two empty bits above the product,
and is shifted right by ``0..window`` (the bits it shifts out ORed into bit 0). An addend further
above the product stays at the top: the product under it is then below a quarter of the addend's
last place and decides the rounding only as a sticky part would. The sum has one more bit than
the window (the carry of an addition).
"""
from dataclasses import dataclass
from math import ceil

__all__ = ["FmaWindow", "fma_window", "PRODUCT_LSB", "CHUNK_MAX", "GROUP_LEVELS", "GROUPS_FROM"]

PRODUCT_LSB = 4         # two guard bits and the sticky bit's room below the product's last bit
CHUNK_MAX = 24          # the longest carry chain of the sum's carry-select chunks
GROUP_LEVELS = 4        # the leading-one trees' register, when they have one: after 16-bit groups
GROUPS_FROM = 48        # sums of more bits than this get that register


@dataclass(frozen=True)
class FmaWindow:
    precision: int

    @property
    def top(self):
        """The addend's last bit before its shift."""
        return 2 * self.precision + 6

    @property
    def window(self):
        """Bits of the aligned operands; also the largest shift of the addend (all sticky)."""
        return self.top + self.precision

    @property
    def width(self):
        """Bits of the sum (and of the normalization)."""
        return self.window + 1

    @property
    def chunks(self):
        """``(lo, hi)`` bit ranges of the sum's carry-select chunks, each at most CHUNK_MAX bits."""
        count = ceil(self.width / CHUNK_MAX)
        size = ceil(self.width / count)
        return tuple((lo, min(lo + size, self.width)) for lo in range(0, self.width, size))

    @property
    def carries_cut(self):
        """Whether the sum has a register after its chunks' carries are resolved, before the
        choice between the sum and the two differences (more than two chunks)."""
        return len(self.chunks) > 2

    @property
    def grouped(self):
        """Whether the leading- and trailing-one trees have a register after their 16-bit groups."""
        return self.width > GROUPS_FROM


def fma_window(fmt):
    return FmaWindow(fmt.precision)
