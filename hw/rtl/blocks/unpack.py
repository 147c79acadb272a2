"""Unpack and classify an operand into ``sign, cls, exp, sig`` (twins: golden.blocks.unpack_*)."""
from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.spec.classes import Cls
from hw.rtl.pipeline import register
from .leading import bit_length, leading_zeros

__all__ = ["FloatFields", "FloatUnpack", "FixedUnpack"]


def _classify(m, fmt, bits, cls):
    field, frac = bits[fmt.man_bits:fmt.man_bits + fmt.exp_bits], bits[:fmt.man_bits]
    with m.If(field == fmt.exp_max_field):
        m.d.comb += cls.eq(Mux(frac == 0, Cls.INF, Cls.NAN))
    with m.Elif((field == 0) & (frac == 0)):
        m.d.comb += cls.eq(Cls.ZERO)
    with m.Else():
        m.d.comb += cls.eq(Cls.FINITE)


class FloatFields(wiring.Component):
    """Float fields and class without normalization. Combinational (latency 0).

    Ports: ``bits`` (in, format width); ``sign``; ``cls`` (:class:`~hw.spec.classes.Cls`); ``exp``
    (signed ``exp_width``, unbiased, ``emin`` for subnormals); ``sig`` (``man_bits + 1`` bits, the
    fraction with the hidden bit, which is 0 for subnormals): a finite input is
    ``sig * 2**(exp - man_bits)``. For units whose later normalization covers the leading zeros
    of a subnormal (the FMA), this saves the leading-one count and shift of :class:`FloatUnpack`.
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
        normal = field != 0
        m.d.comb += [self.sign.eq(self.bits[-1]),
                     self.sig.eq(Cat(self.bits[:man], normal)),
                     self.exp.eq(Mux(normal, field - fmt.bias, fmt.emin))]
        _classify(m, fmt, self.bits, self.cls)
        return m


class FloatUnpack(wiring.Component):
    """Float fields, class and normalized significand (:class:`FloatFields`, then a subnormal's
    leading one shifted to the top). Latency 0, or 1 with ``cut`` (a register after the fields
    and the leading-zero count of the fraction, before a subnormal's shift).

    Ports: ``bits`` (in, format width); ``en`` (in, pipeline advance); ``sign``; ``cls``
    (:class:`~hw.spec.classes.Cls`); ``exp`` (signed ``exp_width``, unbiased, below ``emin`` for
    subnormals); ``sig`` (``man_bits + 1`` bits, leading one at the top for every finite non-zero
    input).
    """
    def __init__(self, fmt, exp_width, cut=False):
        self.fmt, self.cut = fmt, cut
        super().__init__({
            "bits": In(fmt.width), "en": In(1), "sign": Out(1), "cls": Out(2),
            "exp": Out(signed(exp_width)), "sig": Out(fmt.man_bits + 1),
        })

    @property
    def latency(self):
        return int(self.cut)

    def elaborate(self, platform):
        m = Module()
        fmt, man = self.fmt, self.fmt.man_bits
        # Before the cut: the fields and the leading zeros of the fraction (man for a zero one:
        # a one below it); after it, a subnormal's fraction shifted by one more than them.
        m.submodules.fields = fields = FloatFields(fmt, len(self.exp))
        m.d.comb += fields.bits.eq(self.bits)
        width = 1 << man.bit_length()
        word = Cat(Const(1 << (width - man - 1), width - man), self.bits[:man])
        lz, sig, exp = (register(m, self.en, value, name, self.cut) for value, name in
                        ((leading_zeros(m, word, "frac_lz"), "lz"), (fields.sig, "sig"), (fields.exp, "exp")))
        m.d.comb += [self.sign.eq(register(m, self.en, fields.sign, "sign", self.cut)),
                     self.cls.eq(register(m, self.en, fields.cls, "cls", self.cut))]
        with m.If(sig[man]):                    # normal (or infinity/NaN): the fields as they are
            m.d.comb += [self.sig.eq(sig), self.exp.eq(exp)]
        with m.Else():                          # subnormal or zero: the leading one to the top
            m.d.comb += [self.sig.eq((sig << 1) << lz), self.exp.eq(fmt.emin - 1 - lz)]
        return m


class FixedUnpack(wiring.Component):
    """Two's-complement fixed point, classified and normalized. Latency 0, or 1 with ``cut`` (a
    register after the magnitude's leading-one count, before the normalizing shift).

    Ports: ``bits`` (in, ``width``); ``sign``; ``cls`` (ZERO or FINITE); ``exp``; ``sig``. Without
    ``magnitude``: ``sig`` has ``width - 1`` bits (``width - 2`` fraction bits), the positive value
    normalized, 0 for negative inputs. With ``magnitude``: ``sig`` has ``width`` bits (``width - 1``
    fraction bits), ``|x|`` normalized. ``x = ±sig * 2**(exp - fraction bits)``. ``en`` (in):
    pipeline advance.
    """
    def __init__(self, fmt, exp_width, magnitude=False, cut=False):
        self.fmt, self.magnitude, self.cut = fmt, magnitude, cut
        super().__init__({
            "bits": In(fmt.width), "en": In(1), "sign": Out(1), "cls": Out(2),
            "exp": Out(signed(exp_width)), "sig": Out(fmt.width if magnitude else fmt.width - 1),
        })

    @property
    def latency(self):
        return int(self.cut)

    def elaborate(self, platform):
        m = Module()
        fmt = self.fmt
        magnitude = Signal(fmt.width)
        if self.magnitude:
            m.d.comb += magnitude.eq(Mux(self.bits[-1], -self.bits, self.bits))
        else:
            m.d.comb += magnitude.eq(self.bits)
        count = Signal(range(fmt.width + 1))
        bit_length(m, magnitude, count, "mag_lead")
        negative = register(m, self.en, self.bits[-1], "negative", self.cut)
        zero = register(m, self.en, self.bits == 0, "zero", self.cut)
        mag = register(m, self.en, magnitude, "mag", self.cut)
        n = register(m, self.en, count, "n", self.cut)
        m.d.comb += [
            self.sign.eq(negative),
            self.cls.eq(Mux(zero, Cls.ZERO, Cls.FINITE)),
            self.exp.eq(n - 1 - fmt.frac_bits),
        ]
        shift = Signal(range(fmt.width + 1))
        m.d.comb += shift.eq(len(self.sig) - n)
        if self.magnitude:
            m.d.comb += self.sig.eq(mag << shift)
        else:
            with m.If(~negative):
                m.d.comb += self.sig.eq(mag << shift)
        return m
