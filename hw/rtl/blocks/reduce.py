"""Range reduction ``x = MR * 2**(2k)`` (twin: golden.blocks.range_reduce)."""
from amaranth.hdl import Module, Mux, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["RangeReduce"]


class RangeReduce(wiring.Component):
    """Split the exponent into parity and ``k = floor(exp/2)``; ``MR = sig << parity`` in ``[1, 4)``.
    Combinational (latency 0).

    Ports: ``exp`` (in, signed), ``sig`` (in, ``P+1`` bits); ``parity``; ``k`` (signed);
    ``mr`` (``P+2`` bits, ``P`` fraction bits).
    """
    def __init__(self, frac_bits, exp_width):
        super().__init__({
            "exp": In(signed(exp_width)), "sig": In(frac_bits + 1),
            "parity": Out(1), "k": Out(signed(exp_width)), "mr": Out(frac_bits + 2),
        })

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [
            self.parity.eq(self.exp[0]),
            self.k.eq(self.exp[1:].as_signed()),
            self.mr.eq(Mux(self.exp[0], self.sig << 1, self.sig)),
        ]
        return m
