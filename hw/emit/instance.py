"""The exported Verilog core (:mod:`hw.emit.core`) as an Amaranth design, so that a synthesis flow
measures what users synthesize: :class:`ExportedCore` has :class:`~hw.rtl.top.ExportTop`'s ports
and instantiates the exported module; its ``verilog`` attribute carries the module's text, which
:func:`hw.synth.ice40.synthesize_and_place` reads beside the harness."""
from amaranth.hdl import ClockSignal, Instance, Module, ResetSignal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .core import verilog_text
from .interface import export_ports
from hw.spec.config import Config
from hw.spec.plan import latency

__all__ = ["ExportedCore"]


class ExportedCore(wiring.Component):
    """A black-box instance of ``config``'s exported Verilog module (named ``config.name``).

    Ports: those of :class:`~hw.rtl.top.ExportTop` (``in_valid``, ``in_ready``, ``in_<operand>``,
    ``out_valid``, ``out_ready``, ``out_y`` [, ``out_flag``]); clock and reset are the ``sync``
    domain's. Latency: the configuration's. ``name``: the module's; ``verilog``: its text
    (``hw.export``'s output, initial values included).
    """
    def __init__(self, config: Config):
        self.config, self.name = config, config.name
        self.verilog = verilog_text(config)
        self.operands = config.operands
        self.ports = export_ports(config, self.operands)
        members = {p.name: (In if p.direction == "in" else Out)(p.width)
                   for p in self.ports if p.name not in ("clk", "rst")}
        super().__init__(members)

    @property
    def latency(self):
        return latency(self.config)

    def elaborate(self, platform):
        m = Module()
        connections = {"i_clk": ClockSignal("sync"), "i_rst": ResetSignal("sync")}
        for port in self.ports:
            if port.name not in ("clk", "rst"):
                connections[f"{'i' if port.direction == 'in' else 'o'}_{port.name}"] = getattr(self, port.name)
        m.submodules.core = Instance(self.name, **connections)
        return m
