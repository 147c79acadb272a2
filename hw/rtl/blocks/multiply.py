"""Exact unsigned products and squares built from DSP-sized tiles and LUT rows (twin: the exact
integer product). The tiling is the device model's (:mod:`hw.spec.tiles`)."""
from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.spec.devices import DEFAULT_DEVICE
from hw.spec.tiles import has_split, product_width, tiles
from hw.rtl.pipeline import register
from .select_sum import carry_select

__all__ = ["Product", "Square", "multiply"]


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


def _compress(m, values, width, name, levels=None):
    """3:2 carry-save compressors (one LUT level each) until at most two rows are left, or (with
    ``levels``) until the next compressor would be deeper than that. Each compressor's sum and
    carry are signals: left as nested expressions, Amaranth re-emits every shared operand at each
    narrower width it is sliced to, and the netlist grows exponentially with the number of rows."""
    count, depths = 0, [0] * len(values)
    while len(values) > 2:
        depth = max(depths[:3]) + 1
        if levels is not None and depth > levels:
            break
        x, y, z = values[:3]
        total, carry = Signal(width, name=f"{name}_sum{count}"), Signal(width, name=f"{name}_carry{count}")
        m.d.comb += [total.eq(x ^ y ^ z), carry.eq(((x & y) | (x & z) | (y & z)) << 1)]
        values, depths, count = values[3:] + [total, carry], depths[3:] + [depth, depth], count + 1
    return values


class Product(wiring.Component):
    """``p = a * b``, exact, as the sum of tile products ``a[i] * b[j] << (i + j)``: DSP-sized
    tiles (``device.dsp_width``: 16x16 on the iCE40UP5K, each one SB_MAC16), except thin ones (a
    side of at most ``row_bits`` bits, default the device's ``row_max_bits``), which are that many
    rows of AND gates, reduced by 3:2 carry-save compressors (one LUT level each) beside the
    DSPs: with ``cut``, at most ``row_levels`` (default the device's) levels before the tile register
    (FP32's 24-bit operands: 16 rows, six levels, took 24-26 ns there) and the rest after it.
    Terms whose bits do not overlap share a row; the DSP products and the partial sums go through
    more compressors down to two rows, then one carry chain (a carry-select sum from the device's
    ``select_min_bits``: :func:`~hw.rtl.blocks.select_sum.carry_select`).

    Ports: ``a`` (in, ``a_width``), ``b`` (in, ``b_width``), ``en`` (in, pipeline advance); ``p``
    (out, ``a_width + b_width`` bits). Latency 0, plus 1 with ``cut``: a register after the DSP
    tiles (each one SB_MAC16 between fabric registers) and the rows' partial sums, so that the
    final sum is timed in the next stage; plus 1 with ``split`` (only where :func:`has_split`): a
    register of the two rows left by the compressors, before the carry chain. Bit-exact with the
    integer product (0 when an operand has zero width); with ``low_bits``, the product modulo
    ``2**low_bits`` (``p`` that wide), from the tiles that reach below it
    (:func:`~hw.spec.tiles.tiles`); with ``rows``, no final sum: ``p`` (twice as wide) holds the
    two rows ``Cat(a, b)`` whose sum is the product (the residual decision sums a part of them).
    With ``one_at``, a port ``one`` (in, 1 bit, beside ``a`` and ``b``): where it is set, ``b`` is
    taken as ``2**one_at`` (``p = a << one_at``). With both inner registers (``cut`` and
    ``split``), that is selected into the two rows before the split register, after the tiles and
    their sums, which leaves the LUT rows a level (the DSP tiles' slices of ``b`` are gated to 0
    there); without them, ``b`` itself is selected before the tiles, where the stage after the
    tiles has no room for the select.
    """
    square = False
    one_at = None

    def __init__(self, a_width, b_width, cut=False, row_bits=None, split=False, device=DEFAULT_DEVICE,
                 low_bits=None, rows=False, row_levels=None, one_at=None):
        self._options(a_width, b_width, cut, row_bits, split, device, low_bits, rows, row_levels)
        self.one_at = one_at
        ports = {"a": In(a_width), "b": In(b_width), "en": In(1),
                 "p": Out(product_width(a_width, b_width, low_bits) * (2 if rows else 1))}
        if one_at is not None:
            ports["one"] = In(1)
        super().__init__(ports)

    def _options(self, a_width, b_width, cut, row_bits, split, device, low_bits=None, rows=False, row_levels=None):
        if split and not has_split(a_width, b_width, self.square, row_bits, device, low_bits):
            raise ValueError(f"split: a {a_width}x{b_width} product has no sum with a carry chain of "
                             f"at least {device.split_min_bits} bits")
        self.cut, self.row_bits, self.split, self.device = cut, row_bits, split, device
        self.low_bits, self.rows, self.row_levels = low_bits, rows, row_levels

    @property
    def latency(self):
        return int(self.cut) + int(self.split)

    def _operands(self):
        return self.a, self.b

    def elaborate(self, platform):
        m = Module()
        width = len(self.p) // (2 if self.rows else 1)
        dsp, rows = [], []          # (value, shift) terms
        a, b = self._operands()
        # one: selected after the tiles where both inner registers hold the stage apart, else b itself
        after = self.one_at is not None and self.cut and self.split
        if self.one_at is not None and not after:
            b = Mux(self.one, 1 << self.one_at, b)
        for (a_lo, a_hi), (b_lo, b_hi), as_rows, weight in tiles(len(a), len(b), self.square, self.row_bits,
                                                                          self.device, self.low_bits):
            x, y, shift = a[a_lo:a_hi], b[b_lo:b_hi], a_lo + b_lo + (weight == 2)
            if not as_rows and after:
                # b's slice is 0 where one is set (that product is not used): a gate that keeps
                # the DSP's operand off b's bare register, which Yosys would otherwise pack into
                # the SB_MAC16 as its input register, behind the carry chain before it.
                y = Mux(self.one, 0, y)
            if not as_rows:
                dsp.append((register(m, self.en, x * y, f"tile_{a_lo}_{b_lo}", self.cut), shift))
                continue
            wide, narrow = (x, y) if len(x) >= len(y) else (y, x)
            rows += [(Mux(narrow[bit], wide, 0), shift + bit) for bit in range(len(narrow))]
        levels = (self.device.row_levels if self.row_levels is None else self.row_levels) if self.cut else None
        partial = [register(m, self.en, value, f"rows_{i}", self.cut)
                   for i, value in enumerate(_compress(m, _pack(rows, width), width, "rows", levels))]
        values = _compress(m, _pack(dsp, width) + partial, width, "sums")
        if after:
            one, kept = (register(m, self.en, value, name, self.cut) for value, name in ((self.one, "one"), (a, "a_one")))
            values = [Mux(one, (kept << self.one_at)[:width], values[0])] + [Mux(one, 0, value) for value in values[1:]]
        values = [register(m, self.en, value, f"split_{i}", self.split) for i, value in enumerate(values)]
        if self.rows:
            m.d.comb += self.p.eq(Cat(*(Cat(value[:width], Const(0, width - len(value[:width])))
                                        for value in (values + [Const(0, width)] * 2)[:2])))
        elif len(values) == 2:
            m.d.comb += self.p.eq(carry_select(m, values[0], values[1], width, self.device))
        elif values:
            m.d.comb += self.p.eq(values[0])
        return m


class Square(Product):
    """``p = a * a``, exact: :class:`Product`'s tiles, each off-diagonal one computed once and
    weighted twice (a 24-bit square: one 16x16 DSP tile and 16x8 and 8x8 LUT rows).

    Ports: ``a`` (in, ``width``), ``en`` (in, pipeline advance); ``p`` (out, ``2 * width``).
    Latency as :class:`Product` (``cut``, ``split``).
    """
    square = True

    def __init__(self, width, cut=False, row_bits=None, split=False, device=DEFAULT_DEVICE, row_levels=None):
        self._options(width, width, cut, row_bits, split, device, row_levels=row_levels)
        wiring.Component.__init__(self, {"a": In(width), "en": In(1), "p": Out(2 * width)})

    def _operands(self):
        return self.a, self.a


def multiply(m, name, a, b, en, cut=False, row_bits=None, split=False, device=DEFAULT_DEVICE, low_bits=None,
             rows=False, row_levels=None, one=None):
    """``a * b`` as ``m.submodules[name]``: a :class:`Square` when ``b`` is ``a`` (the same value),
    else a :class:`Product` (modulo ``2**low_bits`` when given; ``rows``: its two carry-save rows,
    not their sum; ``one``: a pair ``(flag, at)``, ``b`` taken as ``2**at`` where ``flag`` is set);
    ``en`` advances its ``cut`` and ``split`` registers; ``row_levels``: the carry-save levels
    before the tile register. Returns the product."""
    if a is b:
        if low_bits is not None or one is not None:
            raise ValueError("low_bits, one: only products, not squares, are taken modulo a power of two "
                             "or with a power of two for b")
        block = m.submodules[name] = Square(len(a), cut, row_bits, split, device, row_levels)
    else:
        block = m.submodules[name] = Product(len(a), len(b), cut, row_bits, split, device, low_bits, rows, row_levels,
                                             one_at=None if one is None else one[1])
        m.d.comb += block.b.eq(b)
        if one is not None:
            m.d.comb += block.one.eq(one[0])
    m.d.comb += [block.a.eq(a), block.en.eq(en)]
    return block.p
