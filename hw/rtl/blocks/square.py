"""Exact square of a short significand from a table (twin: golden.blocks.square, which computes
the same product arithmetically)."""
from amaranth.hdl import Module, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["SquareRom"]


class SquareRom(wiring.Component):
    """``sq = sig**2`` for a normalized significand ``sig = 1.f`` (``frac_bits`` fraction bits,
    the leading one implied), read from a ``2**frac_bits``-entry synchronous ROM: block RAM
    instead of a DSP multiplier, and no carry chain.

    Ports: ``sig`` (in, ``frac_bits + 1`` bits; only the fraction is used), ``en`` (in, read
    enable = pipeline advance); ``sq`` (out, ``2 * frac_bits + 2`` bits, ``2 * frac_bits``
    fraction bits). Latency 1.
    """
    def __init__(self, frac_bits):
        self.frac_bits = frac_bits
        super().__init__({"sig": In(frac_bits + 1), "en": In(1), "sq": Out(2 * frac_bits + 2)})

    def elaborate(self, platform):
        m = Module()
        f = self.frac_bits
        init = [((1 << f) | j) ** 2 for j in range(1 << f)]
        m.submodules.rom = rom = Memory(shape=unsigned(2 * f + 2), depth=1 << f, init=init)
        port = rom.read_port(domain="sync")
        m.d.comb += [port.addr.eq(self.sig[:f]), port.en.eq(self.en), self.sq.eq(port.data)]
        return m
