"""Seeds ``R0 ~ MR**-0.5`` (twins: golden.blocks.seed_lut, golden.blocks.seed_magic)."""
from types import SimpleNamespace

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hw.rtl.pipeline import register
from .multiply import multiply

__all__ = ["LutSeed", "PolySeed", "MagicSeed", "POLY_CUTS", "SQUARE_ROM_CUTS", "SPLIT_CUTS", "CURVE_TILES",
           "poly_cuts", "quad_cuts", "quad_table"]


class LutSeed(wiring.Component):
    """Table seed: a ROM indexed by ``parity`` and the top ``table_bits - 1`` fraction bits.

    Ports: ``parity``, ``sig`` (in); ``en`` (in, read enable = pipeline advance); ``r0`` (out,
    ``seed_bits`` fraction bits). Latency 1 (a synchronous ROM read, so it maps to block RAM).
    Contents: :func:`hw.spec.datapath.lut_contents`.
    """
    def __init__(self, config, dp):
        self.config, self.dp = config, dp
        super().__init__({
            "parity": In(1), "sig": In(dp.frac_bits + 1), "en": In(1),
            "r0": Out(dp.seed_bits + 1),
        })

    def elaborate(self, platform):
        m = Module()
        top = self.config.table_bits - 1
        frac = self.dp.frac_bits
        m.submodules.rom = rom = Memory(shape=unsigned(self.dp.table_width),
                                        depth=len(self.dp.table), init=self.dp.table)
        port = rom.read_port(domain="sync")
        m.d.comb += [
            port.addr.eq(Cat(self.sig[frac - top:frac], self.parity)),
            port.en.eq(self.en),
            self.r0.eq(port.data),
        ]
        return m


POLY_CUTS = {"pwl": ("seed_linear_tiles", "seed_linear"),
             "quad": ("seed_products_tiles", "seed_products", "seed_curve", "seed_sum")}
# A parabola whose ``ut**2`` is read from a table beside its coefficients: no curve step.
SQUARE_ROM_CUTS = ("seed_products_tiles", "seed_products", "seed_sum")
# A parabola whose ``c1*u`` has a split register before its carry chain (after its tile register).
SEED_SPLIT = "seed_products_split"
SPLIT_CUTS = POLY_CUTS["quad"][:1] + (SEED_SPLIT,) + POLY_CUTS["quad"][1:]
# A parabola whose ``c2*v`` sums a DSP tile and LUT rows through carry-save levels: a register
# after its tiles (:attr:`hw.spec.datapath.Datapath.seed_curve_tiles`).
CURVE_TILES = "seed_curve_tiles"


def poly_cuts(seed, square_rom=False, split=False, curve_tiles=False):
    """The optional cuts of a :class:`PolySeed` of ``seed`` (``pwl`` or ``quad``)."""
    if seed == "quad" and square_rom:
        return SQUARE_ROM_CUTS
    cuts = SPLIT_CUTS if seed == "quad" and split else POLY_CUTS[seed]
    if seed == "quad" and curve_tiles:
        at = cuts.index("seed_curve")
        cuts = cuts[:at] + (CURVE_TILES,) + cuts[at:]
    return cuts


class PolySeed(wiring.Component):
    """Polynomial seed: a ROM of lines (``pwl``) or parabolas (``quad``) indexed like
    :class:`LutSeed`, evaluated at ``u``, the ``U = dp.poly_u_bits`` fraction bits of ``sig`` below
    the index: ``r0 = c0 - floor(c1*u / 2**U)`` [``+ floor(c2*v / 2**D)``, ``v = floor(ut**2 /
    2**D)``, ``ut`` the top ``D = dp.square_bits`` bits of ``u``]. One small product for a line;
    for a parabola ``c1*u`` and ``ut**2`` side by side, then ``c2*v`` (each a
    :class:`~hw.rtl.blocks.multiply.Product`).

    Ports: ``parity``, ``sig`` (in); ``en`` (in, read enable = pipeline advance); ``r0`` (out,
    ``seed_bits`` fraction bits). Latency 1 (the synchronous ROM read; ``u`` is registered beside
    it) plus one per enabled cut of :func:`poly_cuts` (``cuts`` maps each name to whether it holds
    a register): ``pwl``: the product's tile register, after the line; ``quad``: the first
    products' tile registers, after them, [``c2*v``'s tile register,] after ``c2*v`` (beside
    ``c0 - c1*u``), after the sum.
    With ``square_rom`` (``quad``), ``v`` is read from a ``2**D``-entry table of squares beside
    the coefficients, so ``c2*v`` runs beside ``c1*u``: their tile registers, after them, after
    ``c0 - c1*u + c2*v``.
    Contents: :func:`hw.spec.datapath.pwl_contents`, :func:`hw.spec.datapath.quad_contents`.
    With ``slope_rows`` (``quad`` without ``square_rom`` or ``split``), the register after the
    first products holds ``c1*u``'s two carry-save rows, summed beside ``c2*v``.
    With ``split`` (``quad`` without ``square_rom``), ``c1*u`` has a split register before its
    carry chain (``ut**2`` and the coefficients are registered beside it); with ``curve_tiles``,
    ``c2*v`` has its tile register (``c0 - c1*u`` registered beside it), so that its DSP's
    return and carry chain are timed in the next stage.
    ``block_ram``: ask synthesis for block RAM (``ram_style``), which Yosys otherwise skips for
    short, wide tables and builds from LUTs. ``slope_row_bits``: the ``row_bits`` of ``c1*u``
    (default ``dp.row_bits``; :attr:`hw.spec.datapath.Datapath.slope_row_bits`).
    """
    def __init__(self, config, dp, cuts=None, block_ram=False, square_rom=False, slope_row_bits=None, split=False,
                 curve_tiles=False, slope_rows=False):
        if slope_rows and (config.seed != "quad" or square_rom or split):
            raise ValueError("slope_rows: a quad seed without square_rom or split only")
        self.config, self.dp, self.block_ram, self.slope_rows = config, dp, block_ram, slope_rows
        self.slope_row_bits = dp.row_bits if slope_row_bits is None else slope_row_bits
        self.square_rom = square_rom and config.seed == "quad"
        self.cuts = {name: bool((cuts or {}).get(name, False))
                     for name in poly_cuts(config.seed, self.square_rom, split, curve_tiles)}
        super().__init__({
            "parity": In(1), "sig": In(dp.frac_bits + 1), "en": In(1),
            "r0": Out(dp.seed_bits + 1),
        })

    @property
    def latency(self):
        return 1 + sum(self.cuts.values())

    def _cut(self, m, name, values):
        return [register(m, self.en, value, f"{name}_{i}", self.cuts[name]) for i, value in enumerate(values)]

    def elaborate(self, platform):
        m = Module()
        dp, seed = self.dp, self.config.seed
        top, frac, u_bits = self.config.table_bits - 1, dp.frac_bits, dp.poly_u_bits
        curve = dp.curve_width if seed == "quad" else 0
        m.submodules.rom = rom = Memory(shape=unsigned(dp.table_width), depth=len(dp.table), init=dp.table,
                                        attrs={"ram_style": "block"} if self.block_ram else None)
        port = rom.read_port(domain="sync")
        m.d.comb += [port.addr.eq(Cat(self.sig[frac - top:frac], self.parity)), port.en.eq(self.en)]
        u = register(m, self.en, self.sig[:u_bits], "u")
        c0, c1, c2 = port.data[dp.slope_width + curve:], port.data[curve:curve + dp.slope_width], port.data[:curve]
        first = POLY_CUTS[seed][0]
        split = self.cuts.get(SEED_SPLIT, False)
        slope = multiply(m, "slope", c1, u, self.en, self.cuts[first], self.slope_row_bits, split, dp.device,
                         rows=self.slope_rows)
        if seed == "pwl":
            (c0,) = self._cut(m, first, [c0])
            line = (c0 - (slope >> u_bits))[:dp.seed_bits + 1]
            m.d.comb += self.r0.eq(self._cut(m, "seed_linear", [line])[0])
            return m
        d = dp.square_bits
        if self.square_rom:
            return self._square_rom_parabola(m, c0, c2, slope)
        ut = u[u_bits - d:]
        square = multiply(m, "square", ut, ut, self.en, self.cuts[first], dp.row_bits, device=dp.device)
        c0, c2 = self._cut(m, first, [c0, c2])
        # Only v = square[d:] is registered, not the whole square: a register holding the whole
        # product is, on some netlists, taken by Yosys' ice40_dsp both as the square DSP's output
        # register and as the curve DSP's input register, which loses the square's DSP and ties
        # the curve's operand to 0 (seen on the FP32 ISRLU board top at pipeline level 8).
        v = square[d:]
        if SEED_SPLIT in self.cuts:            # c1*u's split register inside its product
            c0, c2, v = self._cut(m, SEED_SPLIT, [c0, c2, v])
        if self.slope_rows:         # the carry out of the rows' lower U bits, before the register
            half = len(slope) // 2
            carry = Signal(name="slope_carry")
            m.d.comb += carry.eq((slope[:u_bits] + slope[half:half + u_bits])[u_bits])
            c0, c2, slope, v, carry = self._cut(m, "seed_products", [c0, c2, slope, v, carry])
            line = self._line_from_rows(m, c0, slope, carry)
        else:
            c0, c2, slope, v = self._cut(m, "seed_products", [c0, c2, slope, v])
            line = (c0 - (slope >> u_bits))[:dp.seed_bits + 2]
        bend = multiply(m, "curve", c2, v, self.en, self.cuts.get(CURVE_TILES, False), dp.row_bits,
                        device=dp.device)
        if CURVE_TILES in self.cuts:
            (line,) = self._cut(m, CURVE_TILES, [line])
        line, bend = self._cut(m, "seed_curve", [line, bend])
        total = (line + (bend >> d))[:dp.seed_bits + 1]
        m.d.comb += self.r0.eq(self._cut(m, "seed_sum", [total])[0])
        return m

    def _line_from_rows(self, m, c0, rows, carry):
        """``c0 - floor(c1*u / 2**U)`` modulo ``2**n`` (``n = seed_bits + 2``) from ``c1*u``'s two
        rows ``a, b`` and the ``carry`` out of their lower ``U`` bits: ``c0 + ~(a >> U) + ~(b >> U)
        + 2 - carry``, through one 3:2 level (its carry row's free bit holds one of the 2) and one
        carry chain with ``1 - carry`` as its carry in."""
        u_bits, n = self.dp.poly_u_bits, self.dp.seed_bits + 2
        half = len(rows) // 2
        a, b = rows[:half], rows[half:]
        x, y, z = (Signal(n, name=f"line_{i}") for i in range(3))
        m.d.comb += [x.eq(c0), y.eq(~Cat(a[u_bits:], Const(0, n))), z.eq(~Cat(b[u_bits:], Const(0, n)))]
        total, twice = Signal(n, name="line_sum"), Signal(n, name="line_carry")
        m.d.comb += [total.eq(x ^ y ^ z), twice.eq(Cat(Const(1, 1), (x & y) | (x & z) | (y & z)))]
        return ((Cat(~carry, total) + Cat(~carry, twice)) >> 1)[:n]

    def _square_rom_parabola(self, m, c0, c2, slope):
        """``c0 - c1*u + c2*v`` with ``v`` read from a table of squares (``slope = c1*u``)."""
        dp, u_bits, d = self.dp, self.dp.poly_u_bits, self.dp.square_bits
        m.submodules.squares = squares = Memory(shape=unsigned(d), depth=1 << d,
                                                init=[(j * j) >> d for j in range(1 << d)])
        square_port = squares.read_port(domain="sync")
        m.d.comb += [square_port.addr.eq(self.sig[u_bits - d:u_bits]),
                     square_port.en.eq(self.en)]
        first = SQUARE_ROM_CUTS[0]
        bend = multiply(m, "curve", c2, square_port.data, self.en, self.cuts[first], dp.row_bits, device=dp.device)
        c0, slope, bend = self._cut(m, "seed_products", self._cut(m, first, [c0]) + [slope, bend])
        total = (c0 - (slope >> u_bits) + (bend >> d))[:dp.seed_bits + 1]
        m.d.comb += self.r0.eq(self._cut(m, "seed_sum", [total])[0])
        return m


def quad_cuts(step, split=False):
    """The plan's cuts of a :func:`quad_table` whose cuts are named after ``step``: its read, then
    the parabola's inner cuts (``poly_cuts("quad", split=split)`` with ``seed`` replaced by
    ``step``)."""
    return (step,) + tuple(cut.replace("seed", step) for cut in poly_cuts("quad", split=split))


def quad_table(m, st, en, name, fields, value_bits, row_bits, device, step, parity, operand, split=False):
    """A table of parabolas (:func:`hw.spec.seeds.fit_quad` fields) as a :class:`PolySeed` in
    block RAM, read at ``operand`` (``fields.frac_bits`` fraction bits), half ``parity``, with the
    seed's inner cuts named after ``step`` in the plan ``st`` (with ``split``, ``c1*u``'s split
    register: :func:`hw.spec.tiles.table_split`); returns its value (``value_bits`` fraction
    bits). Latency: the read and those cuts."""
    layout = SimpleNamespace(**vars(fields), table_width=max(fields.table).bit_length(), seed_bits=value_bits,
                             row_bits=row_bits, device=device)
    inner = poly_cuts("quad", split=split)
    seed = m.submodules[name] = PolySeed(SimpleNamespace(seed="quad", table_bits=fields.index_bits + 1), layout,
                                         cuts=dict(zip(inner, map(st.on, quad_cuts(step, split)[1:]))),
                                         block_ram=True, split=split)
    m.d.comb += [seed.parity.eq(parity), seed.sig.eq(Cat(operand, Const(1, 1))), seed.en.eq(en)]
    return seed.r0


class MagicSeed(wiring.Component):
    """Magic-constant seed (bit trick ``K - (x >> 1)`` in the reduced domain, see :mod:`hw.spec.magic`)
    on the top ``magic_bits`` fraction bits of ``sig``.

    Ports: ``parity``, ``sig`` (in); ``r0`` (out, ``magic_bits + 2`` fraction bits). Combinational
    (latency 0).
    """
    def __init__(self, config, dp):
        self.config, self.dp = config, dp
        super().__init__({
            "parity": In(1), "sig": In(dp.frac_bits + 1), "r0": Out(dp.seed_bits + 1),
        })

    def elaborate(self, platform):
        m = Module()
        man, top = self.dp.magic_bits, self.dp.frac_bits
        kf = self.config.magic & ((1 << man) - 1)
        low = Signal(signed(man + 2))
        m.d.comb += low.eq(Const(kf, man + 1) - Cat(self.sig[top - man + 1:top], ~self.parity))
        mant = Cat(low[:man], Const(1, 1))
        borrow = low[-1]
        shift = Mux(self.parity & borrow, 0, Mux(self.parity | borrow, 1, 2))
        m.d.comb += self.r0.eq(mant << shift)
        return m
