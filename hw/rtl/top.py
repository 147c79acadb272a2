"""The flat-port wrapper every flow exports, synthesizes and simulates (Verilog writer, iCE40
builds, co-simulation), and the unit a configuration names."""
from importlib import import_module

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.spec.config import Config

__all__ = ["ExportTop", "build_unit", "unit_latency"]


def build_unit(config: Config):
    """The streaming unit that computes ``config.function``: the class its registry entry names
    (:attr:`hw.spec.functions.Function.unit`, ``module:Class`` in :mod:`hw.rtl.units`)."""
    module, name = config.entry.unit.split(":")
    return getattr(import_module(f"hw.rtl.units.{module}"), name)(config)


class ExportTop(wiring.Component):
    """Flat-port wrapper of a unit, for use outside Amaranth.

    Ports (in this order): ``clk``, ``rst`` (synchronous, active high), ``in_valid``, ``in_ready``,
    ``in_x`` (lane ``i`` at bits ``[i*W +: W]``), ``in_grad`` (backward units), ``in_alpha``
    (runtime alpha) or, for the FMA, ``in_a``, ``in_b``, ``in_c`` (the operands of
    :attr:`hw.spec.config.Config.operands`); ``out_valid``, ``out_ready``,
    ``out_y`` (same packing), and for fixed point ``out_flag`` (one bit per lane). Same latency
    as the unit.
    """
    def __init__(self, config: Config):
        self.config = config
        self.unit = build_unit(config)
        self.operands = config.operands
        members = {"in_valid": In(1), "in_ready": Out(1)}
        for operand in self.operands:
            members[f"in_{operand}"] = In(config.lanes * config.in_width)
        members.update({"out_valid": Out(1), "out_ready": In(1),
                        "out_y": Out(config.lanes * config.out_width)})
        if not config.is_float:
            members["out_flag"] = Out(config.lanes)
        super().__init__(members)

    @property
    def latency(self):
        return self.unit.latency

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = unit = self.unit
        m.d.comb += [
            unit.i.valid.eq(self.in_valid), self.in_ready.eq(unit.i.ready),
            self.out_valid.eq(unit.o.valid), unit.o.ready.eq(self.out_ready),
            self.out_y.eq(unit.o.payload.y.as_value()),
        ]
        for operand in self.operands:
            m.d.comb += getattr(unit.i.payload, operand).as_value().eq(getattr(self, f"in_{operand}"))
        if not self.config.is_float:
            m.d.comb += self.out_flag.eq(unit.o.payload.flag.as_value())
        return m


def unit_latency(config: Config):
    """``ExportTop(config).latency``, without building anything (the wrapper is never
    elaborated)."""
    top = ExportTop(config)
    for elaboratable in (top, top.unit):
        elaboratable._MustUse__silence = True   # constructed only to ask its latency
    return top.latency
