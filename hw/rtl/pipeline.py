"""Pipeline helpers shared by every unit.

All units use one flow-control rule (the one-stage pipeline of ``amaranth.lib.stream``, applied to
the whole pipeline): every register advances when ``en = ~o.valid | o.ready``; ``i.ready = en``.
Only the valid bits are reset; datapath registers are reset-less. Where the registers go is the
configuration's choice (:mod:`hw.spec.plan`); :class:`Stages` applies it and checks, when a lane is
finished, that the RTL placed every planned cut once, in the planned order, and no other.
"""
from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.spec.plan import enabled_cuts, latency, unit_cuts
from hw.spec.tiles import inner_cuts

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


class PlanMismatch(ValueError):
    """The RTL's cuts differ from the configuration's plan (:func:`hw.spec.plan.unit_cuts`)."""


class Stages:
    """The cuts of one lane's datapath, as :func:`hw.spec.plan.unit_cuts` plans them for
    ``config``: ``cut(name, values)`` registers every live value when the cut ``name`` is enabled
    and passes them through otherwise; ``on(name)`` tells a block whether its inner cut holds a
    register. Every name must be a planned cut (else :class:`PlanMismatch` at once); ``cut`` must
    meet the cuts in the planned order, each at most once; :meth:`finish` checks that every planned
    cut was used, by ``cut`` or by a block through ``on``."""
    def __init__(self, m, en, config, prefix):
        self.m, self.en, self.prefix = m, en, prefix
        self.enabled = enabled_cuts(config)
        self.planned = tuple(cut.name for cut in unit_cuts(config))
        self.used = set()
        self.last = -1              # plan position of the last cut placed by ``cut``
        self.what = f"{config.name} {prefix}"

    def _use(self, name):
        if name not in self.planned:
            raise PlanMismatch(f"{self.what}: cut {name!r} is not in the plan ({', '.join(self.planned)})")
        self.used.add(name)

    def on(self, name):
        self._use(name)
        return name in self.enabled

    def on_each(self, names):
        return tuple(self.on(name) for name in names)

    def inner(self, step):
        """The planned registers inside the product of ``step``
        (:func:`~hw.spec.tiles.inner_cuts`): its tile register, and its split register where the
        plan gives the product one."""
        tiles, split = inner_cuts(step)
        self._use(tiles)
        return (tiles, split) if split in self.planned else (tiles,)

    def inner_on(self, step):
        """``(cut, split)``: whether the product of ``step`` holds its tile and split registers."""
        flags = self.on_each(self.inner(step))
        return flags + (False,) * (2 - len(flags))

    def cut(self, name, values):
        self._use(name)
        position = self.planned.index(name)
        if position <= self.last:
            raise PlanMismatch(f"{self.what}: cut {name!r} placed after {self.planned[self.last]!r}, "
                               f"but the plan has it {'at the same place' if position == self.last else 'before'}")
        self.last = position
        if name not in self.enabled:
            return dict(values)
        return {key: register(self.m, self.en, value, f"{self.prefix}_{name}_{key}")
                for key, value in values.items()}

    def cut_each(self, names, values):
        """The cuts ``names`` one after the other (side values beside a block with those cuts)."""
        for name in names:
            values = self.cut(name, values)
        return values

    def finish(self):
        """Raise :class:`PlanMismatch` unless every planned cut was used."""
        missing = [name for name in self.planned if name not in self.used]
        if missing:
            raise PlanMismatch(f"{self.what}: planned cuts never used: {', '.join(missing)}")


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
    lane built by the subclass's ``_lane(m, en, lane, st)`` through the lane's :class:`Stages`
    (checked against the plan when the lane is done). A unit computes the functions whose
    registry entry names its class (:attr:`hw.spec.functions.Function.unit`)."""
    def __init__(self, config, in_layout, out_layout):
        if not self.accepts(config):
            raise ValueError(f"{type(self).__name__} does not compute {config.function!r} "
                             f"(its unit is {config.entry.unit.split(':')[1]})")
        self.config = config
        super().__init__({"i": In(stream.Signature(in_layout)), "o": Out(stream.Signature(out_layout))})

    @classmethod
    def accepts(cls, config):
        """Whether the registry names this class (or a base of it) as ``config``'s unit."""
        return config.entry.unit.split(":")[1] in {base.__name__ for base in cls.__mro__}

    @property
    def latency(self):
        return latency(self.config)

    def elaborate(self, platform):
        m = Module()
        en = Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready), self.i.ready.eq(en)]
        m.d.comb += self.o.valid.eq(valid_pipeline(m, en, self.i.valid, self.latency))
        for lane in range(self.config.lanes):
            st = Stages(m, en, self.config, f"lane{lane}")
            self._lane(m, en, lane, st)
            st.finish()
        return m
