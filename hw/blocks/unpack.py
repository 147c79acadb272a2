"""Unpack and classify an operand into ``sign, cls, exp, sig`` (twins: golden.blocks.unpack_*)."""
from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..classes import Cls

__all__ = ["bit_length", "FloatUnpack", "FixedUnpack"]


def bit_length(m, value, result):
    """Drive ``result`` with the bit length of ``value`` (priority encoder; 0 for 0)."""
    m.d.comb += result.eq(0)
    for bit in range(len(value)):
        with m.If(value[bit]):
            m.d.comb += result.eq(bit + 1)


class FloatUnpack(wiring.Component):
    """Float fields, class and normalized significand. Combinational (latency 0).

    Ports: ``bits`` (in, format width); ``sign``; ``cls`` (:class:`~hw.classes.Cls`); ``exp``
    (signed ``exp_width``, unbiased, below ``emin`` for subnormals); ``sig`` (``man_bits + 1``
    bits, leading one at the top for every finite non-zero input).
    """
    def __init__(self, fmt, exp_width):
        self.fmt = fmt
        super().__init__({
            "bits": In(fmt.width), "sign": Out(1), "cls": Out(2),
            "exp": Out(signed(exp_width)), "sig": Out(fmt.man_bits + 1),
        })

    def elaborate(self, platform):
        m = Module()
        fmt, man = self.fmt, self.fmt.man_bits
        field = self.bits[man:man + fmt.exp_bits]
        frac = self.bits[:man]
        m.d.comb += self.sign.eq(self.bits[-1])
        with m.If(field == fmt.exp_max_field):
            m.d.comb += self.cls.eq(Mux(frac == 0, Cls.INF, Cls.NAN))
        with m.Elif((field == 0) & (frac == 0)):
            m.d.comb += self.cls.eq(Cls.ZERO)
        with m.Else():
            m.d.comb += self.cls.eq(Cls.FINITE)
        n = Signal(range(man + 1))
        bit_length(m, frac, n)
        shift = Signal(range(man + 2))
        m.d.comb += shift.eq(man + 1 - n)
        with m.If(field == 0):
            m.d.comb += [self.sig.eq(frac << shift), self.exp.eq(fmt.emin - shift)]
        with m.Else():
            m.d.comb += [self.sig.eq(frac | (1 << man)), self.exp.eq(field - fmt.bias)]
        return m


class FixedUnpack(wiring.Component):
    """Two's-complement fixed point, classified and normalized. Combinational (latency 0).

    Ports: ``bits`` (in, ``width``); ``sign``; ``cls`` (ZERO or FINITE); ``exp``; ``sig``. Without
    ``magnitude``: ``sig`` has ``width - 1`` bits (``width - 2`` fraction bits), the positive value
    normalized, 0 for negative inputs. With ``magnitude``: ``sig`` has ``width`` bits (``width - 1``
    fraction bits), ``|x|`` normalized. ``x = ±sig * 2**(exp - fraction bits)``.
    """
    def __init__(self, fmt, exp_width, magnitude=False):
        self.fmt, self.magnitude = fmt, magnitude
        super().__init__({
            "bits": In(fmt.width), "sign": Out(1), "cls": Out(2),
            "exp": Out(signed(exp_width)), "sig": Out(fmt.width if magnitude else fmt.width - 1),
        })

    def elaborate(self, platform):
        m = Module()
        fmt = self.fmt
        mag = Signal(fmt.width)
        if self.magnitude:
            m.d.comb += mag.eq(Mux(self.bits[-1], -self.bits, self.bits))
        else:
            m.d.comb += mag.eq(self.bits)
        n = Signal(range(fmt.width + 1))
        bit_length(m, mag, n)
        m.d.comb += [
            self.sign.eq(self.bits[-1]),
            self.cls.eq(Mux(self.bits == 0, Cls.ZERO, Cls.FINITE)),
            self.exp.eq(n - 1 - fmt.frac_bits),
        ]
        shift = Signal(range(fmt.width + 1))
        m.d.comb += shift.eq(len(self.sig) - n)
        if self.magnitude:
            m.d.comb += self.sig.eq(mag << shift)
        else:
            with m.If(~self.bits[-1]):
                m.d.comb += self.sig.eq(mag << shift)
        return m
