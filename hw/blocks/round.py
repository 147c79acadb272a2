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
        kept = Signal(self.width)
        rest = Signal(self.width)
        half = Signal(self.width + 1)
        m.d.comb += [
            kept.eq(self.v >> self.d),
            rest.eq(self.v - (kept << self.d)),
            half.eq((Const(1, self.width + 2) << self.d)[1:]),
        ]
        up = (self.d != 0) & (self.d <= self.width) & ((rest > half) | ((rest == half) & kept[0]))
        m.d.comb += self.q.eq(kept + up)
        return m


class RoundPackFloat(wiring.Component):
    """Normalize ``R`` (value in ``[0.25, 2)``), round to ``man_bits + 1`` bits and pack.
    Combinational (latency 0).

    Ports: ``r`` (in, ``work_bits`` fraction bits), ``k`` (in, signed); ``bits`` (out, the float
    ``R * 2**-k`` with sign 0, rounded to nearest even; overflow gives +inf). Results of rsqrt are
    never subnormal for the supported formats (exponent bits >= 3), so none are produced here.
    """
    def __init__(self, fmt, dp):
        self.fmt, self.dp = fmt, dp
        super().__init__({"r": In(dp.work_bits + 1), "k": In(signed(dp.exp_width)),
                          "bits": Out(fmt.width)})

    def elaborate(self, platform):
        m = Module()
        fmt, w = self.fmt, self.dp.work_bits
        man = fmt.man_bits
        pad = max(0, man + 2 - w)
        sel = Signal(range(3))
        with m.If(self.r[w]):
            m.d.comb += sel.eq(0)
        with m.Elif(self.r[w - 1]):
            m.d.comb += sel.eq(1)
        with m.Else():
            m.d.comb += sel.eq(2)
        m.submodules.rnd = rnd = RoundShift(w + 1 + pad, w + pad - man)
        m.d.comb += [rnd.v.eq(self.r << pad), rnd.d.eq(w + pad - man - sel)]
        carry = rnd.q[man + 1]
        q = Mux(carry, rnd.q[1:man + 2], rnd.q[:man + 1])
        biased = Signal(signed(self.dp.exp_width + 2))
        m.d.comb += biased.eq(fmt.bias - sel - self.k + carry)
        with m.If(biased >= fmt.exp_max_field):
            m.d.comb += self.bits.eq(fmt.inf)
        with m.Else():
            m.d.comb += self.bits.eq((biased[:fmt.exp_bits] << man) | q[:man])
        return m


class RoundPackFixed(wiring.Component):
    """``R * 2**-k`` rounded to nearest even on the output grid, saturating. Combinational.

    Ports: ``r`` (in, ``work_bits`` fraction bits), ``k`` (in, signed, ``k_min..k_max``); ``y``
    (out, raw output word), ``sat`` (out, the result exceeded the output format and was clamped).
    """
    def __init__(self, out_fmt, dp, k_min, k_max):
        self.out_fmt, self.dp, self.k_min, self.k_max = out_fmt, dp, k_min, k_max
        super().__init__({"r": In(dp.work_bits + 1), "k": In(signed(dp.exp_width)),
                          "y": Out(out_fmt.width), "sat": Out(1)})

    def elaborate(self, platform):
        m = Module()
        w, frac = self.dp.work_bits, self.out_fmt.frac_bits
        pad = max(0, frac - w - self.k_min)
        width = w + 1 + pad
        m.submodules.rnd = rnd = RoundShift(width, w + self.k_max - frac + pad)
        m.d.comb += [rnd.v.eq(self.r << pad), rnd.d.eq(self.k + (w - frac + pad))]
        saturated = rnd.q > self.out_fmt.max_int
        m.d.comb += [self.sat.eq(saturated),
                     self.y.eq(Mux(saturated, self.out_fmt.max_int, rnd.q))]
        return m
