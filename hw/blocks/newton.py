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

        def step(index, name, value):
            return register(m, en, value, name) if self.cuts[index] else value

        shift = 2 * rb - w
        square = self.r * self.r
        sq = step(0, "sq", (square >> shift if shift >= 0 else square << -shift)[:w + 2])
        r1, mr1 = step(0, "r1", self.r), step(0, "mr1", self.mr)
        t = (mr1 * sq) >> dp.frac_bits
        three = (3 << w) + (dp.newton_bias if self.last else 0)
        h = step(1, "h", (three - t)[:w + 2])
        r2, mr2 = step(1, "r2", r1), step(1, "mr2", mr1)
        r_next = step(2, "r3", ((r2 * h) >> (rb + 1))[:w + 1])
        m.d.comb += [self.r_next.eq(r_next), self.mr_next.eq(step(2, "mr3", mr2))]
        return m
