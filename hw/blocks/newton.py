"""One pipelined Newton-Raphson step for ``m**-0.5`` (twin: golden.blocks.newton_stage)."""
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..pipeline import register

__all__ = ["NewtonStage"]


class NewtonStage(wiring.Component):
    """``r' = r * (3 + bias - MR * r**2) / 2`` in fixed point, one product per cycle.

    Ports: ``r`` (in, ``r_bits`` fraction bits, value < 2), ``mr`` (in, ``P`` fraction bits), ``en``
    (in, pipeline advance); ``r_next`` (out, ``work_bits`` fraction bits), ``mr_next`` (out, ``mr``
    delayed with the stage). Latency 3. Each product is truncated to ``work_bits`` fraction bits:
    ``sq = r*r``, ``t = MR*sq``, ``h = 3 + bias - t``, ``r' = r*h/2``. ``bias`` is
    ``dp.newton_bias`` in the last stage, else 0.
    """
    latency = 3

    def __init__(self, dp, r_bits, last):
        self.dp, self.r_bits, self.last = dp, r_bits, last
        w = dp.work_bits
        super().__init__({
            "r": In(r_bits + 1), "mr": In(dp.frac_bits + 2), "en": In(1),
            "r_next": Out(w + 1), "mr_next": Out(dp.frac_bits + 2),
        })

    def elaborate(self, platform):
        m = Module()
        dp, rb, w, en = self.dp, self.r_bits, self.dp.work_bits, self.en
        shift = 2 * rb - w
        square = self.r * self.r
        sq = register(m, en, (square >> shift if shift >= 0 else square << -shift)[:w + 2], "sq")
        r1 = register(m, en, self.r, "r1")
        mr1 = register(m, en, self.mr, "mr1")
        t = (mr1 * sq) >> dp.frac_bits
        three = (3 << w) + (dp.newton_bias if self.last else 0)
        h = register(m, en, (three - t)[:w + 2], "h")
        r2 = register(m, en, r1, "r2")
        mr2 = register(m, en, mr1, "mr2")
        r_next = register(m, en, ((r2 * h) >> (rb + 1))[:w + 1], "r3")
        mr3 = register(m, en, mr2, "mr3")
        m.d.comb += [self.r_next.eq(r_next), self.mr_next.eq(mr3)]
        return m
