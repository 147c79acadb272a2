"""One pipelined Newton-Raphson step for ``m**-0.5`` (twin: golden.blocks.newton_stage)."""
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..pipeline import register

__all__ = ["NewtonStage"]


class NewtonStage(wiring.Component):
    """``r' = r * (3 + bias - MR * r**2) / 2`` in fixed point, one product per step.

    Ports: ``r`` (in, ``r_bits`` fraction bits, value < 2), ``mr`` (in, ``P`` fraction bits), ``en``
    (in, pipeline advance); ``r_next`` (out, ``work_bits`` fraction bits), ``mr_next`` (out, ``mr``
    delayed with the stage). Each product is truncated to ``work_bits`` fraction bits:
    ``sq = r*r``, ``t = MR*sq``, ``h = 3 + bias - t``, ``r' = r*h/2``. ``bias`` is
    ``dp.newton_bias`` in the last stage, else 0. ``cuts`` says which of the three steps end in a
    register; the latency is their number (3 when all are registered).
    """
    def __init__(self, dp, r_bits, last, cuts=(True, True, True)):
        self.dp, self.r_bits, self.last, self.cuts = dp, r_bits, last, tuple(cuts)
        w = dp.work_bits
        super().__init__({
            "r": In(r_bits + 1), "mr": In(dp.frac_bits + 2), "en": In(1),
            "r_next": Out(w + 1), "mr_next": Out(dp.frac_bits + 2),
        })

    @property
    def latency(self):
        return sum(self.cuts)

    def elaborate(self, platform):
        m = Module()
        dp, rb, w, en = self.dp, self.r_bits, self.dp.work_bits, self.en
        first, second, third = self.cuts
        shift = 2 * rb - w
        square = self.r * self.r
        sq = register(m, en, (square >> shift if shift >= 0 else square << -shift)[:w + 2], "sq", first)
        r1, mr1 = register(m, en, self.r, "r1", first), register(m, en, self.mr, "mr1", first)
        t = (mr1 * sq) >> dp.frac_bits
        three = (3 << w) + (dp.newton_bias if self.last else 0)
        h = register(m, en, (three - t)[:w + 2], "h", second)
        r2, mr2 = register(m, en, r1, "r2", second), register(m, en, mr1, "mr2", second)
        r_next = register(m, en, ((r2 * h) >> (rb + 1))[:w + 1], "r3", third)
        m.d.comb += [self.r_next.eq(r_next), self.mr_next.eq(register(m, en, mr2, "mr3", third))]
        return m
