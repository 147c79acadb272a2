"""Pipeline helpers shared by every unit.

All units use one flow-control rule (the one-stage pipeline of ``amaranth.lib.stream``, applied to
the whole pipeline): every register advances when ``en = ~o.valid | o.ready``; ``i.ready = en``.
Only the valid bits are reset; datapath registers are reset-less. Where the registers go is the
configuration's choice (:mod:`hw.plan`); :class:`Stages` applies it.
"""
from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["register", "Stages", "valid_pipeline", "StreamUnit"]


def register(m, en, value, name, enabled=True):
    """One reset-less register of ``value`` that loads when ``en`` is high; ``value`` itself when
    not ``enabled`` (an optional pipeline register that the configuration leaves out)."""
    if not enabled:
        return value
    reg = Signal.like(value, name=name, reset_less=True)
    with m.If(en):
        m.d.sync += reg.eq(value)
    return reg


class Stages:
    """The cuts of one lane's datapath: ``cut(name, values)`` registers every live value when the
    cut ``name`` is enabled and passes them through otherwise."""
    def __init__(self, m, en, enabled, prefix):
        self.m, self.en, self.enabled, self.prefix = m, en, enabled, prefix

    def on(self, name):
        return name in self.enabled

    def on_each(self, names):
        return tuple(self.on(name) for name in names)

    def cut(self, name, values):
        if not self.on(name):
            return dict(values)
        return {key: register(self.m, self.en, value, f"{self.prefix}_{name}_{key}")
                for key, value in values.items()}

    def cut_each(self, names, values):
        """The cuts ``names`` one after the other (side values beside a block with those cuts)."""
        for name in names:
            values = self.cut(name, values)
        return values


def valid_pipeline(m, en, valid, latency):
    """The valid bit through ``latency`` reset registers that advance with ``en``."""
    for stage in range(latency):
        reg = Signal(name=f"valid_{stage + 1}")
        with m.If(en):
            m.d.sync += reg.eq(valid)
        valid = reg
    return valid


class StreamUnit(wiring.Component):
    """Base of every unit: stream ports ``i``/``o`` with the given payload layouts, the shared flow
    control, a valid pipeline as long as the configuration's enabled cuts, and one datapath per
    lane built by the subclass's ``_lane(m, en, lane)``."""
    def __init__(self, config, in_layout, out_layout):
        if config.function not in self.functions:
            raise ValueError(f"{type(self).__name__} computes {', '.join(self.functions)}, "
                             f"not {config.function!r}")
        self.config = config
        super().__init__({"i": In(stream.Signature(in_layout)), "o": Out(stream.Signature(out_layout))})

    @property
    def latency(self):
        from .plan import enabled_cuts
        return len(enabled_cuts(self.config))

    def elaborate(self, platform):
        m = Module()
        en = Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready), self.i.ready.eq(en)]
        m.d.comb += self.o.valid.eq(valid_pipeline(m, en, self.i.valid, self.latency))
        for lane in range(self.config.lanes):
            self._lane(m, en, lane)
        return m
