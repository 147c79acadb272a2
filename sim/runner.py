"""Build exported Verilog with cocotb's runner (cached) and run the stream testbench on it.

Typical use::

    from sim.runner import prepare, run_stream
    design = prepare(Config("fp16"), "verilator")      # export + build (cached)
    result = run_stream(design, x)                     # x: raw input bit patterns
    result.y, result.flag, result.cycles, result.seconds

    design = prepare(Config("bf16", function="isru-grad", runtime_alpha=True), "verilator")
    result = run_stream(design, x, grad=g, alpha=a)    # every operand the unit takes

    result = run_stream(design, a=a, b=b, c=c)         # a unit of operands a, b, c (the FMA)

``design.operands`` names the unit's input operands (:attr:`hw.spec.config.Config.operands`:
``("x",)``, plus ``"grad"`` for the backward activation functions and ``"alpha"`` for a runtime
alpha; ``("a", "b", "c")`` for the FMA), each an ``in_<name>`` port.

Builds are cached in ``sim_build/<module>-<simulator>-<hash>`` (see :func:`cache_root`; an
installed package uses ``~/.cache/isrlu-ip/sim_build``), keyed by the Verilog text, the simulator
and its version, the cocotb version and the build flags, so an unchanged design is never rebuilt; a file lock makes concurrent builds of the same
design (pytest-xdist) wait for one another instead of clashing. Every simulation runs in its own fresh
directory, so runs on one build may proceed in parallel.

Parameters reach the testbench (:mod:`sim.stream_tb`) through a JSON job file named by the
``RSQRT_SIM_JOB`` environment variable; arrays travel as npy files.
"""
import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hw.spec.paths import cache_dir, source_root
from .toolchain import SIMULATORS, require, simulator_version, verilator_make_overrides

__all__ = ["SimulationError", "Design", "StreamResult", "REPO_ROOT", "cache_root", "build",
           "prepare", "export", "operands_of", "stated_latency", "run_stream", "run_latency",
           "run_reset", "TB_MODULE", "build_module"]

REPO_ROOT = Path(__file__).resolve().parent.parent
TB_MODULE = "sim.stream_tb"
JOB_ENV = "RSQRT_SIM_JOB"
BUILD_DIR_ENV = "RSQRT_SIM_BUILD_DIR"
KEEP_ENV = "RSQRT_SIM_KEEP"  # set to 1 to keep every run directory (logs, npy files)
# -Wno-fatal: lint warnings of generated code must not stop the build.
VERILATOR_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style", "--x-assign", "0", "--x-initial", "0")
# Netlists larger than this compile their model without optimization: g++ -Os takes 3-5 minutes
# on a 1 MB netlist (FP32 backward), -O0 under one, and the model then runs about half as fast.
LARGE_NETLIST_BYTES = 250_000
LARGE_NETLIST_ARGS = ("-CFLAGS", "-O0")
ICARUS_ARGS = ()
LOG_TAIL = 60


class SimulationError(RuntimeError):
    """A build or simulation failed; the message includes the end of the log."""


@dataclass(frozen=True)
class Design:
    """A built design ready to simulate."""
    simulator: str
    top: str
    verilog: Path
    build_dir: Path
    lanes: int
    in_width: int
    out_width: int
    has_flag: bool
    latency: object = None          # stated latency (cycles), if known
    build_seconds: float = 0.0      # 0.0 when the cached build was reused
    operands: tuple = ("x",)        # input operands, one in_<name> port each, in this order


@dataclass
class StreamResult:
    y: np.ndarray                   # uint64 raw results, one per input
    flag: object                    # uint8 array (fixed point) or None
    cycles: int                     # clock cycles of the run (from first input to last result)
    seconds: float                  # wall time of those cycles inside the simulator
    wall: float                     # wall time of the whole simulator process
    stats: dict = field(default_factory=dict)

    @property
    def cycles_per_second(self):
        return self.cycles / self.seconds if self.seconds else float("nan")


def cache_root():
    """``$RSQRT_SIM_BUILD_DIR``, else ``sim_build/`` in the source checkout (git-ignored), else
    (an installed package) ``sim_build/`` in the cache folder (:func:`hw.spec.paths.cache_dir`:
    ``$ISRLU_IP_CACHE``, else ``~/.cache/isrlu-ip``)."""
    root = os.environ.get(BUILD_DIR_ENV)
    if root:
        return Path(root).resolve()
    source = source_root()
    if source is not None and os.access(source, os.W_OK):
        return source / "sim_build"
    return cache_dir("sim_build")


def _ensure_importable():
    """The simulator's Python (cocotb) imports the testbench as ``sim.stream_tb``; cocotb's runner
    hands it our ``sys.path`` as PYTHONPATH, so the repository root must be on it."""
    root = str(REPO_ROOT)
    if root not in sys.path:
        sys.path.insert(0, root)


def _log_tail(path, lines=LOG_TAIL):
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


def _first_error(path):
    """``: <the first exception line of a cocotb log>``, or ``""``."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    match = re.search(r"^\s*(\w*(?:Error|Exception)\b:.*)$", text, re.MULTILINE)
    return f": {match.group(1).strip()}" if match else ""


def _get_runner(simulator, runtime_objects=()):
    from cocotb_tools.runner import get_runner
    require(simulator)
    if simulator == "verilator":
        return _verilator_runner(runtime_objects)
    return get_runner(simulator)


def _verilator_runner(runtime_objects=()):
    """cocotb's Verilator runner with the ``make`` overrides this Verilator needs (see
    :func:`sim.toolchain.verilator_make_overrides`), optionally seeding the build directory with
    prebuilt Verilator runtime objects (``verilated*.o``) between Verilation and ``make``."""
    from cocotb_tools.runner import Verilator

    class _Verilator(Verilator):
        def _build_command(self):
            cmds = []
            for cmd in super()._build_command():
                if cmd and Path(cmd[0]).name == "make":
                    if runtime_objects:
                        # Copied after Verilation, so newer than Vtop.mk they depend on.
                        cmds.append(["cp", "-f", *map(str, runtime_objects), str(self.build_dir)])
                    cmd = list(cmd) + list(verilator_make_overrides())
                cmds.append(cmd)
            return cmds

    return _Verilator()


def _build_key(simulator, verilog_text, top, args):
    import cocotb
    h = hashlib.sha256()
    if simulator == "verilator":
        args = tuple(args) + verilator_make_overrides()
    for part in (simulator, simulator_version(simulator), cocotb.__version__, top, repr(args),
                 verilog_text):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


@contextlib.contextmanager
def _locked(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


_RUNTIME_TOP = "rsqrt_sim_runtime"
_RUNTIME_SOURCE = f"module {_RUNTIME_TOP}(input clk, output q);\n  assign q = clk;\nendmodule\n"


def _verilator_runtime_objects():
    """Verilator's runtime objects (``verilated*.o``/``.d``: about 10 s of CPU per build, the same
    for every design), compiled once per Verilator/cocotb version. Returns their paths, or ``()``
    if they cannot be made (every build then compiles its own)."""
    try:
        build_dir, _ = _build_cached(_RUNTIME_SOURCE, _RUNTIME_TOP, "verilator", quiet=True)
    except SimulationError:
        return ()
    objects = sorted(build_dir.glob("verilated*.o"))
    return tuple(objects + [o.with_suffix(".d") for o in objects if o.with_suffix(".d").is_file()])


def _build_cached(text, top, simulator, quiet=True, runtime_objects=()):
    """Build ``text`` (top module ``top``) unless a complete build of it is cached.

    Returns ``(build_dir, seconds)``, ``seconds`` 0.0 if the cached build was reused."""
    args = VERILATOR_ARGS if simulator == "verilator" else ICARUS_ARGS
    if simulator == "verilator" and len(text) > LARGE_NETLIST_BYTES:
        args = args + LARGE_NETLIST_ARGS
    key = _build_key(simulator, text, top, args)
    build_dir = cache_root() / f"{top}-{simulator}-{key}"
    stamp = build_dir / ".complete"
    with _locked(cache_root() / f".{top}-{simulator}-{key}.lock"):
        if stamp.is_file():
            return build_dir, 0.0
        if build_dir.exists():
            shutil.rmtree(build_dir)
        build_dir.mkdir(parents=True)
        source = build_dir / f"{top}.v"
        source.write_text(text)
        log = build_dir / "build.log"
        t0 = time.perf_counter()
        try:
            runner = _get_runner(simulator, runtime_objects)
            with _quiet_runner_logging(quiet):
                runner.build(sources=[source], hdl_toplevel=top, build_dir=build_dir,
                             build_args=list(args), always=True, log_file=log,
                             timescale=("1ns", "1ps") if simulator == "icarus" else None)
        except (RuntimeError, SystemExit) as error:
            raise SimulationError(f"{simulator} build of {top} failed ({error}); "
                                  f"log {log}:\n{_log_tail(log)}") from None
        seconds = time.perf_counter() - t0
        for pch in build_dir.glob("*.gch"):  # Verilator's precompiled headers: ~70 MB each
            pch.unlink()
        (build_dir / "build_seconds").write_text(f"{seconds:.3f}\n")
        stamp.write_text(key + "\n")
    return build_dir, seconds


def build(verilog, top, simulator="verilator", *, lanes, in_width, out_width, has_flag,
          latency=None, operands=("x",), quiet=True):
    """Build ``verilog`` (top module ``top``) for ``simulator``, reusing a cached build.

    ``operands`` names the input operands (``in_<name>`` ports, ``lanes * in_width`` bits each);
    a port missing from the Verilog raises :class:`SimulationError`.

    Raises :class:`~sim.toolchain.SimulatorUnavailable` if the simulator cannot be used and
    :class:`SimulationError` (with the end of the build log) if the build fails.
    ``Design.build_seconds`` is 0.0 when a cached build was reused.
    """
    if simulator not in SIMULATORS:
        raise ValueError(f"simulator must be one of {', '.join(SIMULATORS)}, not {simulator!r}")
    require(simulator)
    text = Path(verilog).read_text()
    operands = tuple(operands)
    code = re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.DOTALL)    # port comments may say "input"
    module = re.search(rf"^\s*module\s+{re.escape(top)}\b.*?^\s*endmodule", code,
                       re.MULTILINE | re.DOTALL)
    ports = module.group(0) if module else code
    missing = [f"in_{name}" for name in operands
               if not re.search(rf"\binput\b[^;]*\bin_{name}\s*;", ports)]
    extra = sorted(set(re.findall(r"\binput\b[^;]*?\bin_(\w+)\s*;", ports))
                   - set(operands) - {"valid"})
    if missing or extra:
        raise SimulationError(f"{verilog}: module {top} "
                              + (f"has no input port {', '.join(missing)}" if missing else
                                 f"has unexpected input ports in_{', in_'.join(extra)}")
                              + f" (expected operand ports in_{', in_'.join(operands)})")
    runtime = _verilator_runtime_objects() if simulator == "verilator" else ()
    try:
        build_dir, seconds = _build_cached(text, top, simulator, quiet, runtime)
    except SimulationError:
        if not runtime:
            raise
        build_dir, seconds = _build_cached(text, top, simulator, quiet)  # compile the runtime too
    return Design(simulator=simulator, top=top, verilog=build_dir / f"{top}.v",
                  build_dir=build_dir, lanes=lanes, in_width=in_width, out_width=out_width,
                  has_flag=has_flag, latency=latency, build_seconds=seconds,
                  operands=operands)


@contextlib.contextmanager
def _quiet_runner_logging(quiet):
    import logging
    loggers = [logging.getLogger(name) for name in ("Verilator", "Icarus", "cocotb_tools")]
    if not quiet:
        yield
        return
    old = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, old):
            lg.setLevel(level)


# ---------------------------------------------------------------------------------------------
# Export (needs hw.export) and the config-level entry point.

@functools.lru_cache(maxsize=None)
def _exported_text(config):
    from hw.emit.core import export_verilog
    with tempfile.TemporaryDirectory(prefix="rsqrt-export-") as tmp:
        path = Path(export_verilog(config, tmp))
        return path.read_text()


def export(config, out_dir=None):
    """Export ``config`` to Verilog (memoised per process); return the file's path."""
    text = _exported_text(config)
    out_dir = Path(out_dir) if out_dir is not None else cache_root() / "exports"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{config.name}.v"
    if not path.is_file() or path.read_text() != text:
        tmp = path.with_suffix(f".v.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return path


@functools.lru_cache(maxsize=None)
def stated_latency(config):
    """``hw.rtl.top.ExportTop(config).latency``, or ``None`` if the unit does not state one."""
    from hw.rtl.top import ExportTop
    top = ExportTop(config)
    for elaboratable in (top, getattr(top, "unit", None)):
        if elaboratable is not None:  # built only to ask the latency, never elaborated
            elaboratable._MustUse__silence = True
    return getattr(top, "latency", None)


def operands_of(config):
    """Input operands of ``config``'s unit, in port order (:attr:`hw.spec.config.Config.operands`)."""
    return config.operands


def prepare(config, simulator="verilator", quiet=True):
    """Export ``config`` and build it for ``simulator`` (both cached); return the :class:`Design`."""
    require(simulator)
    path = export(config)
    return build(path, config.name, simulator, lanes=config.lanes, in_width=config.in_width,
                 out_width=config.out_width, has_flag=not config.is_float,
                 latency=stated_latency(config), operands=operands_of(config), quiet=quiet)


# ---------------------------------------------------------------------------------------------
# Running the testbench.

def _as_bits(x, width, name="inputs"):
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer bit patterns, not {x.dtype}")
    return (x.ravel().astype(np.int64).astype(np.uint64) & np.uint64((1 << width) - 1))


def _inputs(design, suffix="", **given):
    """The npy arrays of one stream: ``{name + suffix: bits}`` for every operand of ``design``
    (``design.operands``). Each operand the design takes is required, all with the shape of the
    first; others are rejected unless ``None``."""
    unknown = [name for name, value in given.items()
               if value is not None and name not in design.operands]
    if unknown:
        raise ValueError(f"{design.top} takes no operand {', '.join(map(repr, unknown))} "
                         f"(operands: {', '.join(design.operands)})")
    missing = [name for name in design.operands if given.get(name) is None]
    if missing:
        raise ValueError(f"{design.top} takes operand{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(map(repr, missing))}: pass "
                         f"{', '.join(name + '=' for name in missing)}")
    first = design.operands[0]
    shape = np.shape(given[first])
    arrays = {}
    for name in design.operands:
        value = given[name]
        if np.shape(value) != shape:
            raise ValueError(f"{name} has shape {np.shape(value)}, but {first} has shape {shape}")
        arrays[name + suffix] = _as_bits(value, design.in_width, name)
    return arrays


@contextlib.contextmanager
def _run_tb(design, testcase, job, arrays, seed=0):
    """Run one cocotb test of the testbench in a fresh directory; yield (stats, run_dir, wall).

    The directory is removed afterwards unless the run failed or ``RSQRT_SIM_KEEP=1``.
    """
    _ensure_importable()
    runner = _get_runner(design.simulator)
    keep = os.environ.get(KEEP_ENV, "") not in ("", "0")
    run_dir = Path(tempfile.mkdtemp(prefix=f"{design.top}-{design.simulator}-{testcase}-",
                                    dir=_runs_root()))
    for name, array in arrays.items():
        np.save(run_dir / f"{name}.npy", array)
        job[name] = str(run_dir / f"{name}.npy")
    job.update(lanes=design.lanes, in_width=design.in_width, out_width=design.out_width,
               has_flag=design.has_flag, out_dir=str(run_dir), seed=seed,
               operands=list(design.operands))
    job_file = run_dir / "job.json"
    job_file.write_text(json.dumps(job, indent=1))
    log = run_dir / "sim.log"
    results = run_dir / "results.xml"
    env = {JOB_ENV: str(job_file)}
    t0 = time.perf_counter()
    failure = None
    try:
        with _quiet_runner_logging(True):
            runner.test(test_module=TB_MODULE, hdl_toplevel=design.top, hdl_toplevel_lang="verilog",
                        build_dir=design.build_dir,
                        test_dir=run_dir, test_filter=rf"(^|\.){re.escape(testcase)}$", extra_env=env, seed=seed,
                        results_xml=str(results), log_file=log)
    except (RuntimeError, SystemExit) as error:
        failure = f"simulator exited with an error ({error})"
    wall = time.perf_counter() - t0
    if failure is None:
        from cocotb_tools.check_results import get_results
        try:
            tests, failed = get_results(results)
        except RuntimeError as error:
            tests, failed, failure = 0, 0, str(error)
        if failure is None and (tests == 0 or failed):
            failure = f"cocotb test {testcase} failed" if failed else "cocotb ran no test"
    if failure is not None:
        raise SimulationError(f"{design.simulator} run of {design.top}:{testcase}: {failure}"
                              f"{_first_error(log)}; run dir kept: {run_dir}; log tail:\n"
                              f"{_log_tail(log)}")
    stats = json.loads((run_dir / "stats.json").read_text())
    try:
        yield stats, run_dir, wall
    finally:
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)


def _runs_root():
    root = cache_root() / "runs"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _load(run_dir, prefix, has_flag):
    y = np.load(run_dir / f"{prefix}y.npy")
    flag = np.load(run_dir / f"{prefix}flag.npy").astype(bool) if has_flag else None
    return y, flag


def run_stream(design, x=None, *, in_gap=0.0, out_stall=0.0, seed=0, watchdog=10_000,
               **operands):
    """Stream raw inputs through ``design``; return a :class:`StreamResult`.

    The operands are raw bit patterns, all of one shape, one keyword each for every name in
    ``design.operands``: ``x`` (positional or keyword) and, if the design takes them, ``grad=``
    and ``alpha=``; or ``a=``, ``b=``, ``c=`` (FMA). ``None`` counts as not given.

    ``in_gap``/``out_stall``: per-cycle probabilities of an idle source / a stalling sink.
    Lost, duplicated or unstable results fail the run (:class:`SimulationError`).
    """
    arrays = _inputs(design, x=x, **operands)
    job = dict(in_gap=float(in_gap), out_stall=float(out_stall), watchdog=int(watchdog))
    with _run_tb(design, "stream", job, arrays, seed=seed) as (stats, run_dir, wall):
        y, flag = _load(run_dir, "", design.has_flag)
    return StreamResult(y=y, flag=flag, cycles=stats["cycles"], seconds=stats["seconds"],
                        wall=wall, stats=stats)


def run_latency(design, x=None, expected=None, **operands):
    """Measure latency without stalls (a lone input, then the operands back to back); the run
    fails unless every result takes ``expected`` cycles (default: the design's stated latency)
    and one payload is accepted every cycle. Operands as for :func:`run_stream`. Returns
    ``(stats, result)``, ``result`` the stream's :class:`StreamResult`;
    ``stats["lone_latency"]`` is the measured latency."""
    arrays = _inputs(design, x=x, **operands)
    expected = design.latency if expected is None else expected
    job = dict(expected_latency=None if expected is None else int(expected))
    with _run_tb(design, "latency", job, arrays) as (stats, run_dir, wall):
        y, flag = _load(run_dir, "", design.has_flag)
    return stats, StreamResult(y=y, flag=flag, cycles=stats["cycles"], seconds=0.0, wall=wall,
                               stats=stats)


def run_reset(design, x_before=None, x_after=None, *, reset_after=200, reset_cycles=2,
              in_gap=0.3, out_stall=0.3, seed=0, **operands):
    """Stream the ``before`` operands with stalls, hold ``rst`` for ``reset_cycles`` cycles after
    ``reset_after`` cycles (mid-stream), then stream the ``after`` operands. Returns
    ``(pre, post, stats)``: ``pre = (y, flag)`` the results that came out before the reset (they
    must be a prefix of the results for the first stream), ``post = (y, flag)`` the results of
    the second stream.

    The operands of the two streams are keywords ``<name>_before`` and ``<name>_after`` for every
    name in ``design.operands`` (``x_before``/``x_after`` may be positional): e.g.
    ``grad_before=``, ``alpha_after=``, or ``a_before=``, ..., ``c_after=`` (FMA)."""
    streams = {"before": {"x": x_before}, "after": {"x": x_after}}
    for key, value in operands.items():
        name, sep, which = key.rpartition("_")
        if not sep or which not in streams:
            raise TypeError(f"run_reset() got an unexpected keyword argument {key!r} (operands "
                            f"are <name>_before / <name>_after)")
        streams[which][name] = value
    arrays = _inputs(design, **streams["before"])
    arrays.update(_inputs(design, "2", **streams["after"]))
    job = dict(in_gap=float(in_gap), out_stall=float(out_stall), reset_after=int(reset_after),
               reset_cycles=int(reset_cycles))
    with _run_tb(design, "reset_midstream", job, arrays, seed=seed) as (stats, run_dir, _):
        pre = _load(run_dir, "pre_", design.has_flag)
        post = _load(run_dir, "", design.has_flag)
    return pre, post, stats


def build_module(text, top, simulator="verilator", quiet=True):
    """Build any Verilog source ``text`` (top module ``top``) for ``simulator``, cached and locked
    like :func:`build` (no port checks); returns ``(build_dir, seconds)``, ``seconds`` 0.0 when
    the cached build was reused. Used for designs other than a unit, e.g. the board top."""
    if simulator not in SIMULATORS:
        raise ValueError(f"simulator must be one of {', '.join(SIMULATORS)}, not {simulator!r}")
    require(simulator)
    runtime = _verilator_runtime_objects() if simulator == "verilator" else ()
    try:
        return _build_cached(text, top, simulator, quiet, runtime)
    except SimulationError:
        if not runtime:
            raise
        return _build_cached(text, top, simulator, quiet)
