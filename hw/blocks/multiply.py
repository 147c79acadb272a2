"""Exact unsigned products and squares built from DSP-sized tiles and LUT rows (twin: the exact
integer product)."""
from amaranth.hdl import Module, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..pipeline import register

__all__ = ["DSP_WIDTH", "ROW_MAX_BITS", "SPLIT_MIN_BITS", "is_wide", "tile_slices", "tiles", "sum_levels",
           "dsp_tiles", "has_sum", "has_split", "inner_cuts", "Product", "Square", "multiply"]

DSP_WIDTH = 16          # the iCE40UP5K's SB_MAC16 multiplies 16x16 unsigned
# By default a tile with a side of at most this many bits is built from that many LUT rows (AND
# gates into the carry-save sum) instead of a DSP: a 16x6 tile costs about 100 LUTs where a DSP
# would be mostly wasted on it. Units short of DSPs raise it (``row_bits``): 8 makes the low byte
# of an FP32 significand rows.
ROW_MAX_BITS = 6
# A product whose final carry chain has at least this many bits (FP32-sized; the DSPs' return,
# the last compressors and such a chain together exceed a 25 ns, 40 MHz, stage) may hold a second
# register, between its compressors and that chain (``split``).
SPLIT_MIN_BITS = 40


def is_wide(a_width, b_width):
    """Whether an ``a_width`` x ``b_width`` product is more than one DSP tile."""
    return max(a_width, b_width) > DSP_WIDTH


def tile_slices(width):
    """``(start, stop)`` bit ranges of an operand cut into DSP-wide pieces, least significant first."""
    return [(start, min(start + DSP_WIDTH, width)) for start in range(0, width, DSP_WIDTH)]


def tiles(a_width, b_width, square=False, row_bits=ROW_MAX_BITS):
    """``(a_slice, b_slice, as_rows, weight)`` for every tile of an ``a_width`` x ``b_width``
    product: ``as_rows`` for a tile with a side of at most ``row_bits`` bits, built from LUT rows
    (except the largest tile of a product that would have no DSP and more than
    :data:`ROW_MAX_BITS` rows a tile); ``weight`` 2 for the off-diagonal tiles of a square
    (``a[i]*a[j]`` and ``a[j]*a[i]`` computed once), else 1."""
    if square and a_width != b_width:
        raise ValueError(f"a square has equal widths, not {a_width} and {b_width}")
    out = []
    for i, a in enumerate(tile_slices(a_width)):
        for j, b in enumerate(tile_slices(b_width)):
            if square and j < i:
                continue
            rows = min(a[1] - a[0], b[1] - b[0]) <= row_bits
            out.append((a, b, rows, 2 if square and i != j else 1))
    if all(rows for _, _, rows, _ in out) and min(a_width, b_width) > ROW_MAX_BITS:
        # More rows than reduce quickly and no DSP beside them: the largest tile takes one.
        largest = max(range(len(out)), key=lambda k: (out[k][0][1] - out[k][0][0]) * (out[k][1][1] - out[k][1][0]))
        out[largest] = out[largest][:2] + (False,) + out[largest][3:]
    return out


def _levels(rows):
    levels = 0
    while rows > 2:
        rows, levels = rows - rows // 3, levels + 1
    return levels


def sum_levels(a_width, b_width, square=False, row_bits=ROW_MAX_BITS):
    """Carry-save (3:2) levels of a :class:`Product` or :class:`Square`: ``(rows, final)``, those
    reducing its LUT rows to two partial sums (beside the DSPs) and those reducing the DSP
    products and partial sums before the carry chain. Counts every tile product and LUT row as its
    own row (an upper bound: terms whose bits do not overlap share one)."""
    parts = tiles(a_width, b_width, square, row_bits)
    rows = sum(min(a[1] - a[0], b[1] - b[0]) for a, b, as_rows, _ in parts if as_rows)
    dsp = sum(not as_rows for _, _, as_rows, _ in parts)
    return _levels(rows), _levels(dsp + min(rows, 2))


def dsp_tiles(a_width, b_width, square=False, row_bits=ROW_MAX_BITS):
    """How many SB_MAC16 a :class:`Product` (or :class:`Square`) of these widths uses."""
    return sum(not rows for _, _, rows, _ in tiles(a_width, b_width, square, row_bits))


def has_sum(a_width, b_width, square=False, row_bits=ROW_MAX_BITS):
    """Whether a :class:`Product` (or :class:`Square`) adds terms (several tiles, or LUT rows)
    after its DSP tiles and rows, where its optional register goes."""
    parts = tiles(a_width, b_width, square, row_bits)
    return len(parts) > 1 or any(as_rows for _, _, as_rows, _ in parts)


def has_split(a_width, b_width, square=False, row_bits=ROW_MAX_BITS):
    """Whether a :class:`Product` (or :class:`Square`) may hold its ``split`` register: it adds
    terms and its carry chain has at least :data:`SPLIT_MIN_BITS` bits."""
    return has_sum(a_width, b_width, square, row_bits) and a_width + b_width >= SPLIT_MIN_BITS


def inner_cuts(step):
    """The names of the optional registers inside the product of a pipeline step ``step``, in a
    cut list (:mod:`hw.plan`): after its DSP tiles (``cut``) and before its carry chain
    (``split``)."""
    return f"{step}_tiles", f"{step}_split"


def _pack(terms, width):
    """``(value, shift)`` terms as rows: terms whose bits do not overlap share a row."""
    rows = []           # [value, bits occupied]
    for value, shift in terms:
        bits = set(range(shift, shift + len(value)))
        placed = (value << shift)[:width]
        row = next((row for row in rows if not row[1] & bits), None)
        if row is None:
            rows.append([placed, bits])
        else:
            row[0], row[1] = row[0] | placed, row[1] | bits
    return [row[0] for row in rows]


def _compress(values, width):
    """3:2 carry-save compressors (one LUT level each) until at most two rows are left."""
    while len(values) > 2:
        x, y, z = values[:3]
        values = values[3:] + [(x ^ y ^ z)[:width], (((x & y) | (x & z) | (y & z)) << 1)[:width]]
    return values


class Product(wiring.Component):
    """``p = a * b``, exact, as the sum of tile products ``a[i] * b[j] << (i + j)``: DSP-sized
    (16x16) tiles, each one SB_MAC16, except thin ones (a side of at most ``row_bits`` bits,
    default :data:`ROW_MAX_BITS`), which are that many rows of AND gates, reduced by 3:2
    carry-save compressors (one LUT level each) to two partial sums beside the DSPs. Terms whose
    bits do not overlap share a row; the DSP products and the partial sums go through more
    compressors down to two rows, then one carry chain.

    Ports: ``a`` (in, ``a_width``), ``b`` (in, ``b_width``), ``en`` (in, pipeline advance); ``p``
    (out, ``a_width + b_width`` bits). Latency 0, plus 1 with ``cut``: a register after the DSP
    tiles (each one SB_MAC16 between fabric registers) and the rows' partial sums, so that the
    final sum is timed in the next stage; plus 1 with ``split`` (only where :func:`has_split`): a
    register of the two rows left by the compressors, before the carry chain. Bit-exact with the
    integer product (0 when an operand has zero width).
    """
    square = False

    def __init__(self, a_width, b_width, cut=False, row_bits=ROW_MAX_BITS, split=False):
        self._options(a_width, b_width, cut, row_bits, split)
        super().__init__({"a": In(a_width), "b": In(b_width), "en": In(1),
                          "p": Out(a_width + b_width)})

    def _options(self, a_width, b_width, cut, row_bits, split):
        if split and not has_split(a_width, b_width, self.square, row_bits):
            raise ValueError(f"split: a {a_width}x{b_width} product has no sum with a carry chain of "
                             f"at least {SPLIT_MIN_BITS} bits")
        self.cut, self.row_bits, self.split = cut, row_bits, split

    @property
    def latency(self):
        return int(self.cut) + int(self.split)

    def _operands(self):
        return self.a, self.b

    def elaborate(self, platform):
        m = Module()
        width = len(self.p)
        dsp, rows = [], []          # (value, shift) terms
        a, b = self._operands()
        for (a_lo, a_hi), (b_lo, b_hi), as_rows, weight in tiles(len(a), len(b), self.square, self.row_bits):
            x, y, shift = a[a_lo:a_hi], b[b_lo:b_hi], a_lo + b_lo + (weight == 2)
            if not as_rows:
                dsp.append((register(m, self.en, x * y, f"tile_{a_lo}_{b_lo}", self.cut), shift))
                continue
            wide, narrow = (x, y) if len(x) >= len(y) else (y, x)
            rows += [(Mux(narrow[bit], wide, 0), shift + bit) for bit in range(len(narrow))]
        partial = [register(m, self.en, value, f"rows_{i}", self.cut)
                   for i, value in enumerate(_compress(_pack(rows, width), width))]
        values = [register(m, self.en, value, f"split_{i}", self.split)
                  for i, value in enumerate(_compress(_pack(dsp, width) + partial, width))]
        if values:
            m.d.comb += self.p.eq(values[0] + values[1] if len(values) == 2 else values[0])
        return m


class Square(Product):
    """``p = a * a``, exact: :class:`Product`'s tiles, each off-diagonal one computed once and
    weighted twice (a 24-bit square: one 16x16 DSP tile and 16x8 and 8x8 LUT rows).

    Ports: ``a`` (in, ``width``), ``en`` (in, pipeline advance); ``p`` (out, ``2 * width``).
    Latency as :class:`Product` (``cut``, ``split``).
    """
    square = True

    def __init__(self, width, cut=False, row_bits=ROW_MAX_BITS, split=False):
        self._options(width, width, cut, row_bits, split)
        wiring.Component.__init__(self, {"a": In(width), "en": In(1), "p": Out(2 * width)})

    def _operands(self):
        return self.a, self.a


def multiply(m, name, a, b, en, cut=False, row_bits=ROW_MAX_BITS, split=False):
    """``a * b`` as ``m.submodules[name]``: a :class:`Square` when ``b`` is ``a`` (the same value),
    else a :class:`Product`; ``en`` advances its ``cut`` and ``split`` registers. Returns the
    product."""
    if a is b:
        block = m.submodules[name] = Square(len(a), cut, row_bits, split)
    else:
        block = m.submodules[name] = Product(len(a), len(b), cut, row_bits, split)
        m.d.comb += block.b.eq(b)
    m.d.comb += [block.a.eq(a), block.en.eq(en)]
    return block.p
