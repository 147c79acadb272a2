"""Seeds ``R0 ~ MR**-0.5`` (twins: golden.blocks.seed_lut, golden.blocks.seed_magic)."""
from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..pipeline import register

__all__ = ["LutSeed", "PwlSeed", "MagicSeed"]


class LutSeed(wiring.Component):
    """Table seed: a ROM indexed by ``parity`` and the top ``table_bits - 1`` fraction bits.

    Ports: ``parity``, ``sig`` (in); ``en`` (in, read enable = pipeline advance); ``r0`` (out,
    ``seed_bits`` fraction bits). Latency 1 (a synchronous ROM read, so it maps to block RAM).
    Contents: :func:`hw.datapath.lut_contents`.
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


class PwlSeed(wiring.Component):
    """Piecewise-linear seed: a ROM of lines indexed like :class:`LutSeed`, then
    ``r0 = c0 - floor(c1 * u / 2**U)`` with ``u`` the ``U = dp.pwl_u_bits`` fraction bits of
    ``sig`` below the index (one small product instead of a Newton stage's three wide ones).

    Ports: ``parity``, ``sig`` (in); ``en`` (in, read enable = pipeline advance); ``r0`` (out,
    ``seed_bits`` fraction bits). Latency 1 (the synchronous ROM read; ``u`` is registered beside
    it), 2 with ``cut`` (a register after the line). Contents: :func:`hw.datapath.pwl_contents`.
    """
    def __init__(self, config, dp, cut=False):
        self.config, self.dp, self.cut = config, dp, cut
        super().__init__({
            "parity": In(1), "sig": In(dp.frac_bits + 1), "en": In(1),
            "r0": Out(dp.seed_bits + 1),
        })

    @property
    def latency(self):
        return 1 + int(self.cut)

    def elaborate(self, platform):
        m = Module()
        dp = self.dp
        top, frac, u_bits, slope = self.config.table_bits - 1, dp.frac_bits, dp.pwl_u_bits, dp.pwl_slope_width
        m.submodules.rom = rom = Memory(shape=unsigned(dp.table_width), depth=len(dp.table), init=dp.table)
        port = rom.read_port(domain="sync")
        m.d.comb += [port.addr.eq(Cat(self.sig[frac - top:frac], self.parity)), port.en.eq(self.en)]
        u = register(m, self.en, self.sig[:u_bits], "u")
        c0, c1 = port.data[slope:], port.data[:slope]
        line = (c0 - ((c1 * u) >> u_bits))[:dp.seed_bits + 1]
        m.d.comb += self.r0.eq(register(m, self.en, line, "line", self.cut))
        return m


class MagicSeed(wiring.Component):
    """Magic-constant seed (bit trick ``K - (x >> 1)`` in the reduced domain, see :mod:`hw.magic`)
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
