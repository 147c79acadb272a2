"""A cycle down-counter with a registered zero flag, for the board top's control paths."""
from amaranth.hdl import Signal

__all__ = ["CycleTimer"]


class CycleTimer:
    """Counts clock cycles down to zero in the ``sync`` domain of ``m`` and stops there; ``zero``
    (a flip-flop, high from reset) says it has. State machines test that one flip-flop instead of
    comparing the count, which keeps the board top's control paths short (they, not the unit,
    limit its clock). ``load(cycles)`` (0 <= ``cycles`` <= ``longest``), in a statement context
    of ``m``, makes ``zero`` rise ``cycles`` cycles after the load takes effect (at once for 0).
    """
    def __init__(self, m, longest):
        self.m = m
        self.count = Signal(range(longest + 1))
        self.zero = Signal(init=1)
        with m.If(~self.zero):
            m.d.sync += [self.count.eq(self.count - 1), self.zero.eq(self.count == 1)]

    def load(self, cycles):
        self.m.d.sync += [self.count.eq(cycles), self.zero.eq(cycles == 0)]
