"""Exact unsigned products built from DSP-sized tiles and LUT rows (twin: the exact integer product)."""
from amaranth.hdl import Module, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..pipeline import register

__all__ = ["DSP_WIDTH", "ROW_MAX_BITS", "is_wide", "tile_slices", "tiles", "sum_levels", "dsp_tiles",
           "Product"]

DSP_WIDTH = 16          # the iCE40UP5K's SB_MAC16 multiplies 16x16 unsigned
# A tile with a side of at most this many bits is built from that many LUT rows (AND gates into
# the carry-save sum) instead of a DSP: a 16x6 tile costs about 100 LUTs where a DSP would be
# wasted on it.
ROW_MAX_BITS = 6


def is_wide(a_width, b_width):
    """Whether an ``a_width`` x ``b_width`` product is more than one DSP tile."""
    return max(a_width, b_width) > DSP_WIDTH


def tile_slices(width):
    """``(start, stop)`` bit ranges of an operand cut into DSP-wide pieces, least significant first."""
    return [(start, min(start + DSP_WIDTH, width)) for start in range(0, width, DSP_WIDTH)]


def _is_rows(a_bits, b_bits):
    return min(a_bits, b_bits) <= ROW_MAX_BITS


def tiles(a_width, b_width):
    """``(a_slice, b_slice, as_rows)`` for every tile of an ``a_width`` x ``b_width`` product."""
    return [(a, b, _is_rows(a[1] - a[0], b[1] - b[0]))
            for a in tile_slices(a_width) for b in tile_slices(b_width)]


def sum_levels(a_width, b_width):
    """Carry-save (3:2) levels of an ``a_width`` x ``b_width`` :class:`Product` before its carry
    chain, counting every tile product and LUT row as its own row (an upper bound: tiles whose
    bits do not overlap share one)."""
    rows = sum(min(a[1] - a[0], b[1] - b[0]) if as_rows else 1 for a, b, as_rows in tiles(a_width, b_width))
    levels = 0
    while rows > 2:
        rows, levels = rows - rows // 3, levels + 1
    return levels


def dsp_tiles(a_width, b_width):
    """How many SB_MAC16 an ``a_width`` x ``b_width`` :class:`Product` uses."""
    return sum(not rows for _, _, rows in tiles(a_width, b_width))


class Product(wiring.Component):
    """``p = a * b``, exact, as the sum of tile products ``a[i] * b[j] << (i + j)``: DSP-sized
    (16x16) tiles, each one SB_MAC16, except thin ones (a side of at most :data:`ROW_MAX_BITS`
    bits), which are that many rows of AND gates. Tiles whose bits do not overlap share a row
    (concatenation costs nothing); the rows go through 3:2 carry-save compressors (one LUT level
    each) down to two, then one carry chain.

    Ports: ``a`` (in, ``a_width``), ``b`` (in, ``b_width``), ``en`` (in, pipeline advance); ``p``
    (out, ``a_width + b_width`` bits). Latency 0, or 1 with ``cut``: a register after the tile
    products (each one SB_MAC16 between fabric registers) and on the operands of the rows, so that
    the sum is timed in the next stage instead of in series with the DSPs. Bit-exact with the
    integer product.
    """
    def __init__(self, a_width, b_width, cut=False):
        self.cut = cut
        super().__init__({"a": In(a_width), "b": In(b_width), "en": In(1),
                          "p": Out(a_width + b_width)})

    @property
    def latency(self):
        return int(self.cut)

    def _tile_rows(self, m, a_slice, b_slice, as_rows):
        """``[(value, shift)]`` for one tile: its DSP product, or one AND row per bit of its
        narrower side."""
        (a_lo, a_hi), (b_lo, b_hi) = a_slice, b_slice
        a, b = self.a[a_lo:a_hi], self.b[b_lo:b_hi]
        if not as_rows:
            return [(register(m, self.en, a * b, f"tile_{a_lo}_{b_lo}", self.cut), a_lo + b_lo)]
        a = register(m, self.en, a, f"rows_{a_lo}_{b_lo}_a", self.cut)
        b = register(m, self.en, b, f"rows_{a_lo}_{b_lo}_b", self.cut)
        wide, narrow = (a, b) if len(a) >= len(b) else (b, a)
        return [(Mux(narrow[bit], wide, 0), a_lo + b_lo + bit) for bit in range(len(narrow))]

    def elaborate(self, platform):
        m = Module()
        width = len(self.p)
        rows = []           # [value, bits occupied]
        for a_slice, b_slice, as_rows in tiles(len(self.a), len(self.b)):
            for value, shift in self._tile_rows(m, a_slice, b_slice, as_rows):
                bits = set(range(shift, shift + len(value)))
                placed = (value << shift)[:width]
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
