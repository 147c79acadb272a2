"""Drop-in export of a unit: clean Verilog-2005, a JSON descriptor and a FuseSoC core.

``python -m hw.export [config flags] --out DIR [--name NAME] [--no-init]`` writes, for one
configuration, ``NAME.v`` (one module ``NAME``, default the configuration's name, ports in the
order of :mod:`hw.interface`), ``NAME.json`` (:mod:`hw.descriptor`) and ``NAME.core`` (FuseSoC,
targets ``default`` and ``lint``). ``--no-init`` leaves the registers without initial values
(ASIC flows). ``python -m hw.export --standard --out export/`` writes every function in bf16,
fp16 and fp32 at its default settings. Output is deterministic: the same tools give the same
bytes.
"""
import argparse
import json
import re
import sys
from pathlib import Path

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .config import FUNCTIONS, Config, add_config_arguments, config_from_arguments
from .descriptor import describe, header_lines
from .export_accuracy import core_accuracy
from .fusesoc import core_text
from .interface import export_ports
from .netlist import flat_netlist
from .special_values import special_values
from .units.activation import ActivationUnit
from .units.fma import FmaUnit
from .units.rsqrt import RsqrtUnit
from .verilog_writer import KEYWORDS, VerilogPort, write_verilog

__all__ = ["ExportTop", "export_verilog", "export_core", "export_standard", "standard_configs",
           "verilog_text", "build_unit", "input_operands", "unit_latency", "STANDARD_FORMATS",
           "REGENERATE"]

STANDARD_FORMATS = ("bf16", "fp16", "fp32")
REGENERATE = "python -m hw.export --standard --out export/"   # the command that writes export/


def build_unit(config: Config):
    """The streaming unit that computes ``config.function``."""
    if config.function == "fma":
        return FmaUnit(config)
    return ActivationUnit(config) if config.is_activation else RsqrtUnit(config)


def input_operands(config: Config):
    """Names of the per-lane input operands, in port order: ``a, b, c`` (FMA) or ``x`` then
    ``grad`` (backward units) and ``alpha`` (runtime alpha)."""
    if config.function == "fma":
        return ("a", "b", "c")
    return ("x",) + (("grad",) if config.is_backward else ()) + (("alpha",) if config.runtime_alpha else ())


class ExportTop(wiring.Component):
    """Flat-port wrapper of a unit, for use outside Amaranth.

    Ports (in this order): ``clk``, ``rst`` (synchronous, active high), ``in_valid``, ``in_ready``,
    ``in_x`` (lane ``i`` at bits ``[i*W +: W]``), ``in_grad`` (backward units), ``in_alpha``
    (runtime alpha) or, for the FMA, ``in_a``, ``in_b``, ``in_c``; ``out_valid``, ``out_ready``,
    ``out_y`` (same packing), and for fixed point ``out_flag`` (one bit per lane). Same latency
    as the unit.
    """
    def __init__(self, config: Config):
        self.config = config
        self.unit = build_unit(config)
        self.operands = input_operands(config)
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


def _module_name(name):
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name in KEYWORDS:
        raise ValueError(f"name must be a Verilog identifier (letters, digits, '_', not starting "
                         f"with a digit, not a keyword), not {name!r}")
    return name


def _export(config, name, init, accuracy):
    """``(verilog text, descriptor)`` of ``config`` as module ``name``."""
    top = ExportTop(config)
    ports = export_ports(config, top.operands)
    accuracy = core_accuracy(config) if accuracy is None else accuracy
    info = describe(config, name, top.latency, ports, accuracy, special_values(config), init)
    module = flat_netlist(top, name, [port.name for port in ports])
    verilog_ports = [VerilogPort(p.name, "input" if p.direction == "in" else "output", p.width,
                                 p.meaning) for p in ports]
    return write_verilog(module, name, verilog_ports, header_lines(info), init=init), info


def verilog_text(config: Config, name=None, *, init=True, accuracy=None):
    """The Verilog of ``config`` as module ``name`` (default ``config.name``); ``accuracy``: a
    :func:`~hw.export_accuracy.core_accuracy` result to state instead of measuring it."""
    return _export(config, _module_name(name or config.name), init, accuracy)[0]


def export_verilog(config: Config, out_dir, name=None, *, init=True, accuracy=None):
    """Write ``NAME.v`` (default ``config.name``) into ``out_dir``; returns its path."""
    path = Path(out_dir) / f"{_module_name(name or config.name)}.v"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(verilog_text(config, name, init=init, accuracy=accuracy))
    return path


def export_core(config: Config, out_dir, name=None, *, init=True, accuracy=None):
    """Write ``NAME.v``, ``NAME.json`` and ``NAME.core`` into ``out_dir``; returns their paths
    (a dict: ``verilog``, ``descriptor``, ``fusesoc_core``)."""
    name = _module_name(name or config.name)
    verilog, info = _export(config, name, init, accuracy)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    texts = {"verilog": verilog, "descriptor": json.dumps(info, indent=2) + "\n",
             "fusesoc_core": core_text(info)}
    paths = {}
    for kind, text in texts.items():
        paths[kind] = out_dir / info["files"][kind]
        paths[kind].write_text(text)
    return paths


def standard_configs():
    """Every function in bf16, fp16 and fp32 at its default settings (the ``export/`` cores)."""
    return [Config(fmt, function=function) for function in FUNCTIONS for fmt in STANDARD_FORMATS]


def _generated_core_file(path):
    """Whether ``path`` is a file of a core this exporter wrote (by its header or generator)."""
    text = path.read_text(errors="replace")
    if path.suffix == ".json":
        try:
            return "isrlu_ip" in json.loads(text).get("generator", {})
        except (ValueError, AttributeError):
            return False
    return "generated by isrlu-ip" in text[:400].lower()


def export_standard(out_dir):
    """:func:`export_core` every :func:`standard_configs` into ``out_dir`` and delete the files
    of other cores this exporter wrote there before (configurations whose defaults changed);
    returns ``(written, removed)`` paths."""
    written = [path for config in standard_configs()
               for path in export_core(config, out_dir).values()]
    removed = [path for path in sorted(set(Path(out_dir).glob("*")) - set(written))
               if path.suffix in (".v", ".json", ".core") and _generated_core_file(path)]
    for path in removed:
        path.unlink()
    return written, removed


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m hw.export", description=__doc__.splitlines()[0])
    add_config_arguments(parser)
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--name", default=None, help="top module name (default: from the configuration)")
    parser.add_argument("--no-init", action="store_true",
                        help="no register initial values (no initial block), for ASIC flows")
    parser.add_argument("--standard", action="store_true",
                        help="export every function in bf16, fp16 and fp32 at default settings "
                             "(the cores kept under export/)")
    args = parser.parse_args(argv)
    if args.standard:
        defaults = parser.parse_args(["--out", args.out, "--standard"])
        changed = [key for key, value in vars(args).items() if getattr(defaults, key) != value]
        if changed:
            parser.error(f"--standard takes no other option (got --{changed[0].replace('_', '-')})")
        paths, removed = export_standard(args.out)
        for path in removed:
            print(f"removed {path}")
    else:
        config = config_from_arguments(args, parser)
        try:
            paths = list(export_core(config, args.out, args.name, init=not args.no_init).values())
        except ValueError as error:
            parser.error(str(error))
    for path in paths:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
