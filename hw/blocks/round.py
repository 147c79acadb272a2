"""Rounding and packing of the core's result (twins: golden.intmath.round_shift,
golden.blocks.round_pack_float, golden.blocks.round_pack_fixed)."""
from amaranth.hdl import Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["RoundShift", "RoundPackFloat", "RoundPackFixed"]


class RoundShift(wiring.Component):
    """``q = round(v / 2**d)``, round to nearest, ties to even. Combinational (latency 0).

    Ports: ``v`` (in, ``width`` bits), ``d`` (in, ``0..max_shift``); ``q`` (out, ``width + 1`` bits).
    """
    def __init__(self, width, max_shift):
        self.width = width
        super().__init__({"v": In(width), "d": In(range(max_shift + 1)), "q": Out(width + 1)})

    def elaborate(self, platform):
        m = Module()
        width = self.width
        kept = Signal(width)
        guard = Signal()
        sticky = Signal()
        # Guard bit and sticky OR without carry chains: select bit d-1, and OR the bits below it
        # through a mask of ones made by a shifter.
        m.d.comb += [
            kept.eq(self.v >> self.d),
            guard.eq(Mux(self.d == 0, 0, (self.v << 1).bit_select(self.d, 1))),
        ]
        mask = Signal(width + 1)
        m.d.comb += mask.eq(Mux(self.d < 2, 0, ~(Const(-1, width + 1) << (self.d - 1).as_unsigned()[:len(self.d)])))
        m.d.comb += sticky.eq((self.v & mask[:width]).any())
        up = guard & (sticky | kept[0])
        m.d.comb += self.q.eq(kept + up)
        return m


class RoundPackFloat(wiring.Component):
    """Round ``v / 2**frac * 2**exp`` to the float format and pack it (sign 0). Combinational.

    Ports: ``v`` (in, ``width`` bits, non-zero, leading one at a bit in ``lead_min..lead_max``),
    ``exp`` (in, signed ``exp_width``); ``bits`` (out). Round to nearest even once, at the
    subnormal position when the result is below ``emin`` and ``subnormals`` (else such results must
    not occur); overflow gives +inf. The word is ``((b - 1) << man_bits) + q`` for the rounded
    significand ``q`` and biased exponent ``b >= 1``, so carries need no special case.
    """
    def __init__(self, fmt, width, frac, lead_min, lead_max, exp_width, subnormals):
        self.fmt, self.frac, self.subnormals = fmt, frac, subnormals
        self.lead_min, self.lead_max = lead_min, lead_max
        self.exp_width = exp_width
        super().__init__({"v": In(width), "exp": In(signed(exp_width)), "bits": Out(fmt.width)})

    def elaborate(self, platform):
        m = Module()
        fmt, man = self.fmt, self.fmt.man_bits
        lead_min, lead_max = self.lead_min, self.lead_max
        pad = max(0, man - lead_min)
        width = lead_max + 1 + pad
        lead = Signal(range(lead_max + 1))
        m.d.comb += lead.eq(lead_min)
        for bit in range(lead_min + 1, lead_max + 1):
            with m.If(self.v[bit]):
                m.d.comb += lead.eq(bit)
        ew = self.exp_width + 2
        biased = Signal(signed(ew))
        m.d.comb += biased.eq(self.exp + lead + (fmt.bias - self.frac))
        max_shift = lead_max + pad - man
        shift = Signal(signed(ew))
        m.d.comb += shift.eq(lead + pad - man)
        field = Signal(signed(ew))
        m.d.comb += field.eq(biased)
        if self.subnormals:
            with m.If(biased < 1):
                m.d.comb += [shift.eq(lead + pad - man + 1 - biased), field.eq(1)]
            max_shift = width + 1
        m.submodules.rnd = rnd = RoundShift(width, max_shift)
        m.d.comb += [rnd.v.eq(self.v << pad),
                     rnd.d.eq(Mux(shift > max_shift, max_shift, shift))]
        word = Signal(signed(ew + man + 1))
        m.d.comb += word.eq(((field - 1) << man) + rnd.q)
        with m.If((biased >= fmt.exp_max_field) | (word >= fmt.inf)):
            m.d.comb += self.bits.eq(fmt.inf)
        with m.Else():
            m.d.comb += self.bits.eq(word)
        return m


class RoundPackFixed(wiring.Component):
    """Magnitude ``v / 2**frac * 2**exp`` rounded (nearest even) to the output grid, saturating at
    ``max_int`` (``max_int + 1`` when ``negative``). Combinational.

    Ports: ``v`` (in, ``width`` bits), ``exp`` (in, signed, at most ``exp_max``; below ``exp_min``
    the shifter saturates, which only matters where the result rounds to 0 anyway), ``negative``
    (in); ``y`` (out, magnitude, ``out_fmt.width`` bits), ``sat`` (out, clamped).
    """
    def __init__(self, out_fmt, width, frac, exp_min, exp_max, exp_width):
        self.out_fmt, self.frac, self.exp_min, self.exp_max = out_fmt, frac, exp_min, exp_max
        self.width = width
        super().__init__({"v": In(width), "exp": In(signed(exp_width)), "negative": In(1),
                          "y": Out(out_fmt.width), "sat": Out(1)})

    def elaborate(self, platform):
        m = Module()
        out = self.out_fmt
        base = self.frac - out.frac_bits           # shift = base - exp
        pad = max(0, self.exp_max - base)
        width = self.width + pad
        # Shifts beyond width + 1 all give 0, so exponents below exp_min are handled too.
        max_shift = max(base - self.exp_min + pad, width + 1)
        m.submodules.rnd = rnd = RoundShift(width, max_shift)
        shift = Signal(signed(len(self.exp) + 2))
        m.d.comb += [shift.eq(base + pad - self.exp), rnd.v.eq(self.v << pad),
                     rnd.d.eq(Mux(shift < 0, 0, Mux(shift > max_shift, max_shift, shift)))]
        limit = Signal(out.width)
        m.d.comb += limit.eq(out.max_int + self.negative)
        saturated = rnd.q > limit
        m.d.comb += [self.sat.eq(saturated), self.y.eq(Mux(saturated, limit, rnd.q))]
        return m
