"""Pipeline helpers shared by every unit.

All units use one flow-control rule (the one-stage pipeline of ``amaranth.lib.stream``, applied to
the whole pipeline): every register advances when ``en = ~o.valid | o.ready``; ``i.ready = en``.
Only the valid bits are reset; datapath registers are reset-less.
"""
from amaranth.hdl import Signal

__all__ = ["delay", "register"]


def register(m, en, value, name):
    """One reset-less register of ``value`` that loads when ``en`` is high."""
    reg = Signal.like(value, name=name, reset_less=True)
    with m.If(en):
        m.d.sync += reg.eq(value)
    return reg


def delay(m, en, value, cycles, name):
    """``value`` delayed by ``cycles`` enabled registers (``value`` itself for 0 cycles)."""
    for stage in range(cycles):
        value = register(m, en, value, f"{name}_d{stage + 1}")
    return value
