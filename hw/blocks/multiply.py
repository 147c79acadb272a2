"""Exact unsigned products built from DSP-sized tiles (twin: the exact NumPy/int product)."""
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..pipeline import register

__all__ = ["DSP_WIDTH", "is_wide", "tile_slices", "Product"]

DSP_WIDTH = 16          # the iCE40UP5K's SB_MAC16 multiplies 16x16 unsigned


def is_wide(a_width, b_width):
    """Whether an ``a_width`` x ``b_width`` product needs more than one DSP."""
    return max(a_width, b_width) > DSP_WIDTH


def tile_slices(width):
    """``(start, stop)`` bit ranges of an operand cut into DSP-wide pieces, least significant first."""
    return [(start, min(start + DSP_WIDTH, width)) for start in range(0, width, DSP_WIDTH)]


class Product(wiring.Component):
    """``p = a * b``, exact, as the sum of DSP-sized tile products ``a[i] * b[j] << (i + j)``.
    Tiles whose bits do not overlap share a row (concatenation costs nothing); the rows go through
    3:2 carry-save compressors (one LUT level each) down to two, then one carry chain.

    Ports: ``a`` (in, ``a_width``), ``b`` (in, ``b_width``), ``en`` (in, pipeline advance); ``p``
    (out, ``a_width + b_width`` bits). Latency 0, or 1 with ``cut``: a register after the tile
    products (each one SB_MAC16 between fabric registers), so that their sum is timed in the next
    stage instead of in series with the DSPs. Bit-exact with the integer product either way.
    """
    def __init__(self, a_width, b_width, cut=False):
        self.cut = cut
        super().__init__({"a": In(a_width), "b": In(b_width), "en": In(1),
                          "p": Out(a_width + b_width)})

    @property
    def latency(self):
        return int(self.cut)

    def elaborate(self, platform):
        m = Module()
        width = len(self.p)
        rows = []           # [value, bits occupied]
        for a_lo, a_hi in tile_slices(len(self.a)):
            for b_lo, b_hi in tile_slices(len(self.b)):
                tile = register(m, self.en, self.a[a_lo:a_hi] * self.b[b_lo:b_hi],
                                f"tile_{a_lo}_{b_lo}", self.cut)
                bits = set(range(a_lo + b_lo, a_lo + b_lo + len(tile)))
                placed = (tile << (a_lo + b_lo))[:width]
                row = next((row for row in rows if not row[1] & bits), None)
                if row is None:
                    rows.append([placed, bits])
                else:
                    row[0], row[1] = row[0] | placed, row[1] | bits
        values = [row[0] for row in rows]
        while len(values) > 2:
            x, y, z = values[:3]
            values = values[3:] + [(x ^ y ^ z)[:width], (((x & y) | (x & z) | (y & z)) << 1)[:width]]
        m.d.comb += self.p.eq(values[0] + values[1] if len(values) == 2 else values[0])
        return m
