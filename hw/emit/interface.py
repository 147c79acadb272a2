"""The interface of an exported core: its ports in their documented order, with roles and fields.

Order: ``clk``, ``rst``, ``in_valid``, ``in_ready``, one ``in_<operand>`` per input operand (``x``,
then ``grad`` for the backward functions and ``alpha`` for a runtime alpha; ``a, b, c`` for the
FMA), ``out_valid``, ``out_ready``, ``out_y`` and, for fixed point, ``out_flag``. A data port
packs one field per lane, lane ``l`` of a ``W``-bit operand at bits ``[l*W +: W]``.
"""
from dataclasses import dataclass

__all__ = ["Field", "Port", "ROLES", "export_ports"]

ROLES = ("clock", "reset", "in_valid", "in_ready", "in_data", "out_valid", "out_ready",
         "out_data", "other")

OPERAND_MEANING = {
    "x": "operand x",
    "grad": "operand grad (the gradient grad_out flowing back)",
    "alpha": "operand alpha (runtime alpha, per lane)",
    "a": "operand a of a*b + c",
    "b": "operand b of a*b + c",
    "c": "operand c of a*b + c",
}


@dataclass(frozen=True)
class Field:
    """Operand ``name`` of lane ``lane`` at bits ``[offset +: width]`` of its port."""
    name: str
    lane: int
    offset: int
    width: int


@dataclass(frozen=True)
class Port:
    name: str
    direction: str          # "in" or "out"
    width: int
    role: str               # one of ROLES
    meaning: str
    fields: tuple = ()

    def to_dict(self):
        out = {"name": self.name, "direction": self.direction, "width": self.width,
               "role": self.role, "meaning": self.meaning}
        if self.fields:
            out["fields"] = [vars(f) for f in self.fields]
        return out


def _lanes(name, lanes, width):
    return tuple(Field(name, lane, lane * width, width) for lane in range(lanes))


def _format(config, fmt):
    return f"raw {fmt.name} bits" if config.is_float else f"{fmt.name} two's complement"


def export_ports(config, operands):
    """The ports of ``config``'s exported core, in order; ``operands``: its input operands
    (:attr:`hw.spec.config.Config.operands`)."""
    lanes = config.lanes
    packing = "" if lanes == 1 else f", {lanes} lanes, lane l at [l*W +: W]"
    ports = [
        Port("clk", "in", 1, "clock", "clock; everything happens on its rising edge"),
        Port("rst", "in", 1, "reset",
             "synchronous reset, active high: empties the pipeline (valid bits only)"),
        Port("in_valid", "in", 1, "in_valid", "an input payload is offered"),
        Port("in_ready", "out", 1, "in_ready",
             "the core takes the payload this cycle (~out_valid | out_ready)"),
    ]
    in_format = _format(config, config.format)
    for operand in operands:
        width = config.in_width
        ports.append(Port(f"in_{operand}", "in", lanes * width, "in_data",
                          f"{OPERAND_MEANING[operand]}: {in_format}, W={width}{packing}",
                          _lanes(operand, lanes, width)))
    out_format = _format(config, config.format if config.is_float else config.out_format)
    ports += [
        Port("out_valid", "out", 1, "out_valid", "a result payload is offered"),
        Port("out_ready", "in", 1, "out_ready", "the consumer takes the result this cycle"),
        Port("out_y", "out", lanes * config.out_width, "out_data",
             f"result y: {out_format}, W={config.out_width}{packing}",
             _lanes("y", lanes, config.out_width)),
    ]
    if not config.is_float:
        ports.append(Port("out_flag", "out", lanes, "out_data",
                          "flag per lane (bit l): saturated, or an input outside the domain",
                          _lanes("flag", lanes, 1)))
    return tuple(ports)
