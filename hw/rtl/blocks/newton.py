"""One pipelined Newton-Raphson step for ``m**-0.5`` (twin: golden.blocks.newton_stage)."""
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.rtl.pipeline import register
from hw.spec.tiles import inner_cuts
from .multiply import multiply

__all__ = ["NewtonStage", "NEWTON_CUTS", "NEWTON_STEPS", "NEWTON_PRODUCTS"]

# The stage's steps in order, those that are products, and its registers in order: each product's
# optional tile and split registers, then the step's own.
NEWTON_STEPS = ("square", "t", "h", "r")
NEWTON_PRODUCTS = ("square", "t", "r")
NEWTON_CUTS = ("square_tiles", "square_split", "square", "t_tiles", "t_split", "t", "h", "r_tiles",
               "r_split", "r")


class NewtonStage(wiring.Component):
    """``r' = r * (3 + bias - MR * r**2) / 2`` in fixed point, one product per step.

    Ports: ``r`` (in, ``r_bits`` fraction bits, value < 2), ``mr`` (in, ``P`` fraction bits), ``en``
    (in, pipeline advance); ``r_next`` (out, ``work_bits`` fraction bits), ``mr_next`` (out, ``mr``
    delayed with the stage). Each product is truncated to ``work_bits`` fraction bits:
    ``sq = r*r``, ``t = MR*sq``, ``h = 3 + bias - t``, ``r' = r*h/2``. ``bias`` is
    ``dp.newton_bias`` in the last stage, else 0. ``cuts`` maps each of :data:`NEWTON_CUTS` to
    whether it holds a register (a missing name holds none); the latency is their number (up to
    4, or 10 with the wide products' tile and split registers, :class:`~hw.rtl.blocks.multiply.Product`).
    """
    def __init__(self, dp, r_bits, last, cuts):
        unknown = set(cuts) - set(NEWTON_CUTS)
        if unknown:
            raise ValueError(f"cuts must be among {NEWTON_CUTS}, not {sorted(unknown)}")
        self.dp, self.r_bits, self.last = dp, r_bits, last
        self.cuts = {name: bool(cuts.get(name, False)) for name in NEWTON_CUTS}
        w = dp.work_bits
        super().__init__({
            "r": In(r_bits + 1), "mr": In(dp.frac_bits + 2), "en": In(1),
            "r_next": Out(w + 1), "mr_next": Out(dp.frac_bits + 2),
        })

    @property
    def latency(self):
        return sum(self.cuts.values())

    def _product(self, m, step, a, b, side):
        """``a * b`` (``a`` squared when ``b`` is ``a``) with the step's tile and split registers;
        ``side`` values delayed beside them."""
        inner = inner_cuts(step)
        cut, split = (self.cuts[name] for name in inner)
        product = multiply(m, step, a, b, self.en, cut, self.dp.row_bits, split, self.dp.device)
        for name, enabled in zip(inner, (cut, split)):
            side = [register(m, self.en, v, f"{name}_{i}", enabled) for i, v in enumerate(side)]
        return product, side

    def _step(self, m, step, value, side):
        """The step's own register after ``value``, with the ``side`` values beside it."""
        cut = self.cuts[step]
        return (register(m, self.en, value, step, cut),
                [register(m, self.en, v, f"{step}_{i}", cut) for i, v in enumerate(side)])

    def elaborate(self, platform):
        m = Module()
        dp, rb, w = self.dp, self.r_bits, self.dp.work_bits
        shift = 2 * rb - w
        square, side = self._product(m, "square", self.r, self.r, [self.r, self.mr])
        sq, (r, mr) = self._step(m, "square", (square >> shift if shift >= 0 else square << -shift)[:w + 2], side)
        product, (r, mr) = self._product(m, "t", mr, sq, [r, mr])
        t, (r, mr) = self._step(m, "t", (product >> dp.frac_bits)[:w + 2], [r, mr])
        three = (3 << w) + (dp.newton_bias if self.last else 0)
        h, (r, mr) = self._step(m, "h", (three - t)[:w + 2], [r, mr])
        rh, (mr,) = self._product(m, "r", r, h, [mr])
        r_next, (mr,) = self._step(m, "r", (rh >> (rb + 1))[:w + 1], [mr])
        m.d.comb += [self.r_next.eq(r_next), self.mr_next.eq(mr)]
        return m
