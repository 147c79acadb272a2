"""Exhaustive check of the exported Verilog against the golden model, by CRC.

    python -m sim.exhaustive --format fp32                          # all 2**32 inputs of rsqrt
    python -m sim.exhaustive --format fp32 --ranges 0:4            # ranges 0..3 (2**24 inputs each)
    python -m sim.exhaustive --format fp32 --function isrlu-grad --pairs 16777216
    python -m sim.exhaustive --format fp16 --function isru          # all 2**16 inputs, one range
    python -m sim.exhaustive --format fp32 --accuracy --json fp32.json

Every input of the unit's format (``x = 0 .. 2**W - 1``; the backward functions with a fixed
``grad_out``, ``--grad-bits``, default 1.0; ``--runtime-alpha`` with a fixed alpha,
``--alpha-bits``, default 1.0) goes through the Verilog written by :func:`hw.export.verilog_text`,
simulated by Verilator with a C++ harness (``sim/exhaustive_harness.cpp``) that generates the
stimulus itself: one input per lane and clock, ``in_valid`` and ``out_ready`` held high. The
harness folds the results, in input order, as little-endian 4-byte words into one zlib CRC-32 per
range of ``2**range_bits`` inputs (default ``2**24``: 256 ranges for FP32; the 16-bit formats are
one range); fixed point folds the flags, one byte per result, into a second CRC. The golden model
(:func:`golden.eval.evaluate`, vectorized NumPy on blocks of ``2**16``) computes the same CRCs in
``--jobs`` worker processes, concurrently with the simulation (``--sequential``: one after the
other, for clean timings). Any range whose CRCs differ is run again with the harness dumping its
results, and the first differing inputs are listed with the RTL and golden values.

The backward functions also run ``--pairs N`` random ``(x, grad)`` pairs (default ``2**24``): pair
``k`` is ``z = splitmix64(seed + (k + 1) * 0x9E3779B97F4A7C15)``, ``x`` its low ``W`` bits, ``grad``
bits ``32 .. 32 + W - 1`` (:func:`pair_operands`; the harness computes the same in C++).

``--accuracy`` adds the golden model's accuracy over every input against the exact value
(:func:`golden.accuracy.measure` with ``exhaustive=True``: about 15-20 minutes for FP32 on 2
cores). ``--json FILE`` writes the result (:func:`run`; ``-``: to stdout, the report then on
stderr). Exit status (:mod:`hw.spec.cli`): 0 when every range matched, 1 otherwise, 2 bad usage, 3
when Verilator is missing or the harness fails. Harness builds are cached in
``sim_build/exhaustive-<module>-<hash>`` (:func:`sim.runner.cache_root`; an installed package uses
``~/.cache/isrlu-ip/sim_build``). The harness source is package data of ``sim``.
"""
import argparse
import fcntl
import hashlib
import multiprocessing
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from golden.accuracy import parse_ranges
from golden.blocked import BLOCK
from golden.files import check_output, json_on_stdout, write_json
from hw.config import add_config_arguments, config_from_arguments
from hw.spec.cli import EXIT_EXTERNAL, EXIT_MISMATCH, command_line, fail
from .toolchain import SimulatorUnavailable

__all__ = ["Harness", "build_harness", "run_harness", "pair_operands", "sweep_operands",
           "golden_outputs", "golden_crc", "plan_ranges", "run", "detail", "main",
           "RANGE_BITS", "DEFAULT_PAIRS", "PAIR_SEED", "GOLDEN_GAMMA", "BLOCK", "DETAIL_LIMIT",
           "DETAIL_RANGES"]

HERE = Path(__file__).resolve().parent
HARNESS_SOURCE = HERE / "exhaustive_harness.cpp"
RANGE_BITS = 24                 # 2**24 inputs per CRC range: 256 ranges for FP32
DEFAULT_PAIRS = 1 << 24         # random (x, grad) pairs of the backward functions
PAIR_SEED = 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15
DETAIL_LIMIT = 20               # differing inputs listed per mismatching range
DETAIL_RANGES = 8               # mismatching ranges re-run in detail
# Verilator flags: those of sim.runner (warnings of generated code must not stop the build,
# register initial values as in the exported Verilog), plus optimisation. The C++ is compiled
# with CXX_OPT (-O1 builds about a third faster and simulates about 30 % slower).
VERILATOR_FLAGS = ("-O3", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--x-assign", "0",
                   "--x-initial", "0", "--prefix", "Vdut")
CXX_OPT = "-O2"
U64 = np.uint64


# ---------------------------------------------------------------------------------------------
# Operands (shared by the golden side and the detail report; the harness mirrors them in C++)

def pair_operands(config, start, stop, seed=PAIR_SEED):
    """``(x, grad)`` raw bits of random pairs ``start .. stop - 1`` (counter-based splitmix64)."""
    mask = U64((1 << config.in_width) - 1)
    k = np.arange(start, stop, dtype=U64)
    z = U64(seed % (1 << 64)) + (k + U64(1)) * U64(GOLDEN_GAMMA)
    z = (z ^ (z >> U64(30))) * U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> U64(27))) * U64(0x94D049BB133111EB)
    z = z ^ (z >> U64(31))
    return z & mask, (z >> U64(32)) & mask


def sweep_operands(config, sweep, start, stop, grad_bits, alpha_bits, seed=PAIR_SEED):
    """Operands of inputs ``start .. stop - 1`` of a sweep (``"x"``: ``x = k`` with the fixed
    grad/alpha; ``"pairs"``: :func:`pair_operands`), as keywords of :func:`golden.eval.evaluate`."""
    size = stop - start
    if sweep == "pairs":
        x, grad = pair_operands(config, start, stop, seed)
    else:
        x = np.arange(start, stop, dtype=U64)
        grad = np.full(size, grad_bits, dtype=U64) if config.is_backward else None
    operands = {"x": x}
    if config.is_backward:
        operands["grad"] = grad
    if config.runtime_alpha:
        operands["alpha"] = np.full(size, alpha_bits, dtype=U64)
    return operands


def golden_outputs(config, sweep, start, stop, grad_bits, alpha_bits, seed=PAIR_SEED):
    """Golden ``(y, flag)`` (uint32, uint8 or None) of inputs ``start .. stop - 1``."""
    from golden.eval import evaluate
    ys, flags = [], []
    for s in range(start, stop, BLOCK):
        operands = sweep_operands(config, sweep, s, min(s + BLOCK, stop), grad_bits, alpha_bits, seed)
        y, flag = evaluate(config, **operands)
        ys.append(y.astype(np.uint32))
        if flag is not None:
            flags.append(flag.astype(np.uint8))
    return np.concatenate(ys), (np.concatenate(flags) if flags else None)


def golden_crc(config, sweep, start, stop, grad_bits, alpha_bits, seed=PAIR_SEED):
    """zlib CRC-32s ``(of y as little-endian uint32, of the flags as bytes)`` of the golden
    results of inputs ``start .. stop - 1`` (the flag CRC is that of no bytes, 0, for floats)."""
    from golden.eval import evaluate
    crc_y = crc_f = 0
    for s in range(start, stop, BLOCK):
        operands = sweep_operands(config, sweep, s, min(s + BLOCK, stop), grad_bits, alpha_bits, seed)
        y, flag = evaluate(config, **operands)
        crc_y = zlib.crc32(y.astype("<u4").tobytes(), crc_y)
        if flag is not None:
            crc_f = zlib.crc32(flag.astype(np.uint8).tobytes(), crc_f)
    return crc_y, crc_f


def _golden_task(task):
    config, sweep, index, start, stop, grad_bits, alpha_bits, seed = task
    t0 = time.perf_counter()
    crc = golden_crc(config, sweep, start, stop, grad_bits, alpha_bits, seed)
    return sweep, index, crc, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# The Verilator harness

@dataclass(frozen=True)
class Harness:
    """A built harness executable for one configuration."""
    config: object
    executable: Path
    latency: int                  # stated latency, hw.rtl.top.ExportTop(config).latency
    build_seconds: float          # 0.0 when the cached build was reused


def _file_lock(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "w")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def _tool_version(command):
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _defines(config):
    operands = config.operands
    return {"IN_W": config.in_width, "OUT_W": config.out_width, "LANES": config.lanes,
            "HAS_GRAD": int("grad" in operands), "HAS_ALPHA": int("alpha" in operands),
            "HAS_FLAG": int(not config.is_float)}


def _check_supported(config):
    if "x" not in config.entry.operands:
        raise ValueError(f"sim.exhaustive sweeps one-operand units (and the backward ones with a "
                         f"fixed or random grad); {config.function} (operands "
                         f"{', '.join(config.entry.operands)}) is not supported")
    if config.in_width > 32 or config.out_width > 32:
        raise ValueError("sim.exhaustive supports formats of up to 32 bits")


def build_harness(config, quiet=True):
    """Export ``config`` and build its harness (cached in ``sim_build/exhaustive-<name>-<hash>``,
    locked against concurrent builds); returns a :class:`Harness`."""
    from hw.rtl.top import ExportTop
    from hw.emit.core import verilog_text
    from .runner import SimulationError, cache_root
    from .toolchain import require, simulator_version, verilator_make_overrides
    _check_supported(config)
    require("verilator")
    top = ExportTop(config)
    for elaboratable in (top, top.unit):       # constructed only to ask the latency
        elaboratable._MustUse__silence = True
    latency = top.latency
    text = verilog_text(config)
    name = config.name
    defines = _defines(config)
    cflags = [f"-D{k}={v}" for k, v in sorted(defines.items())]
    # One translation unit (VM_PARALLEL_BUILDS=0): no precompiled headers to build, and the
    # model's functions inline into one another (about 25 % faster than separate files).
    make_flags = [f"OPT_FAST={CXX_OPT}", f"OPT_GLOBAL={CXX_OPT}", f"OPT_SLOW={CXX_OPT}",
                  "VM_PARALLEL_BUILDS=0", *verilator_make_overrides()]
    cxx = os.environ.get("CXX", "g++")
    h = hashlib.sha256()
    for part in (text, HARNESS_SOURCE.read_text(), repr(VERILATOR_FLAGS), repr(cflags),
                 repr(make_flags), simulator_version("verilator"), _tool_version([cxx, "--version"])):
        h.update(part.encode())
        h.update(b"\0")
    key = h.hexdigest()[:16]
    root = cache_root()
    build_dir = root / f"exhaustive-{name}-{key}"
    executable = build_dir / "harness"
    stamp = build_dir / ".complete"
    runtime_key = hashlib.sha256(repr((VERILATOR_FLAGS, CXX_OPT, make_flags,
                                       simulator_version("verilator"),
                                       _tool_version([cxx, "--version"]))).encode()).hexdigest()[:16]
    runtime_dir = root / f"exhaustive-runtime-{runtime_key}"
    lock = _file_lock(root / f".exhaustive-{name}-{key}.lock")
    try:
        if stamp.is_file() and executable.is_file():
            return Harness(config, executable, latency, 0.0)
        if build_dir.exists():
            shutil.rmtree(build_dir)
        obj = build_dir / "obj"
        obj.mkdir(parents=True)
        source = build_dir / f"{name}.v"
        source.write_text(text)
        shutil.copy(HARNESS_SOURCE, build_dir / HARNESS_SOURCE.name)
        log = build_dir / "build.log"
        t0 = time.perf_counter()
        verilate = ["verilator", "--cc", "--exe", *VERILATOR_FLAGS, "--top-module", name,
                    "-CFLAGS", " ".join(cflags), "-Mdir", str(obj), "-o", str(executable),
                    str(source), str(build_dir / HARNESS_SOURCE.name)]
        make = ["make", "-C", str(obj), "-f", "Vdut.mk", "-j", "2", *make_flags]
        with open(log, "w") as out:
            for step, command in enumerate((verilate, make)):
                if step == 1 and runtime_dir.is_dir():
                    # The Verilator runtime (the same for every design): compiled once.
                    for path in runtime_dir.glob("verilated*"):
                        shutil.copy(path, obj / path.name)
                out.write("$ " + " ".join(command) + "\n")
                out.flush()
                done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT)
                if done.returncode != 0:
                    tail = "\n".join(log.read_text().splitlines()[-40:])
                    raise SimulationError(f"exhaustive harness build of {name} failed (exit "
                                          f"{done.returncode}); log {log}:\n{tail}")
        seconds = time.perf_counter() - t0
        if not runtime_dir.is_dir():
            tmp = Path(tempfile.mkdtemp(prefix=".exhaustive-runtime-", dir=root))
            for path in list(obj.glob("verilated*.o")) + list(obj.glob("verilated*.d")):
                shutil.copy(path, tmp / path.name)
            try:
                os.rename(tmp, runtime_dir)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
        for path in obj.glob("*.gch"):
            path.unlink()
        stamp.write_text(key + "\n")
        if not quiet:
            print(f"built {executable} in {seconds:.1f} s", file=sys.stderr)
        return Harness(config, executable, latency, seconds)
    finally:
        lock.close()


def _harness_command(harness, sweep, start, stop, range_bits, grad_bits, alpha_bits, seed, dump=None):
    command = [str(harness.executable), "--sweep", sweep, "--start", str(start), "--end", str(stop),
               "--range-bits", str(range_bits), "--grad", str(grad_bits), "--alpha", str(alpha_bits),
               "--seed", str(seed), "--latency", str(harness.latency)]
    if dump is not None:
        command += ["--dump", str(dump)]
    return command


def run_harness(harness, sweep, start, stop, range_bits, grad_bits=0, alpha_bits=0,
                seed=PAIR_SEED, dump=None, on_range=None, processes=None):
    """Run inputs ``start .. stop - 1`` of ``sweep`` through the harness. ``on_range(record)`` is
    called as each range completes with ``{"index", "crc", "inputs", "cycles", "seconds",
    "cpu_seconds"}`` (``crc``: ``(crc of y, crc of flags)``, the counters since the start of the
    run). Returns ``{"ranges": [...records], "inputs", "cycles", "seconds", "cpu_seconds",
    "latency", "fast_eval"}`` (``latency``: measured, from the first input to its result).
    ``processes``: a list the harness process is appended to (so that a caller can kill it)."""
    from .runner import SimulationError
    command = _harness_command(harness, sweep, start, stop, range_bits, grad_bits, alpha_bits,
                               seed, dump)
    records, done = [], None
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        if processes is not None:
            processes.append(process)
        for line in process.stdout:
            fields = line.split()
            if fields and fields[0] == "range":
                record = {"index": int(fields[1]), "crc": (int(fields[2], 16), int(fields[3], 16)),
                          "inputs": int(fields[4]), "cycles": int(fields[5]),
                          "seconds": float(fields[6]), "cpu_seconds": float(fields[7])}
                records.append(record)
                if on_range is not None:
                    on_range(record)
            elif fields and fields[0] == "done":
                done = {"inputs": int(fields[1]), "cycles": int(fields[2]),
                        "seconds": float(fields[3]), "cpu_seconds": float(fields[4]),
                        "latency": int(fields[5]), "fast_eval": fields[6:7] == ["1"]}
        status = process.wait()
        errors.seek(0)
        message = errors.read().decode(errors="replace").strip()
    if status != 0 or done is None:
        raise SimulationError(f"exhaustive harness {' '.join(command)} failed (exit {status}): "
                              f"{message or 'no output'}")
    done["ranges"] = records
    return done


# ---------------------------------------------------------------------------------------------
# Planning, comparison, details

def plan_ranges(config, ranges=None, range_bits=None, pairs=None):
    """``(range_bits, x_ranges, pair_count)``: the x-sweep ranges (``range(A, B)``) and how many
    random pairs (backward functions only)."""
    width = config.in_width
    range_bits = min(RANGE_BITS, width) if range_bits is None else range_bits
    if not 1 <= range_bits <= width:
        raise ValueError(f"range_bits must be in 1..{width}, not {range_bits}")
    count = 1 << (width - range_bits)
    if ranges is None:
        ranges = range(0, count)
    elif isinstance(ranges, tuple):
        ranges = range(*ranges)
    if ranges.step != 1 or not 0 <= ranges.start <= ranges.stop <= count:
        raise ValueError(f"ranges must be A:B with 0 <= A <= B <= {count} "
                         f"(2**{width - range_bits} ranges of 2**{range_bits} inputs)")
    if pairs is None:
        pairs = DEFAULT_PAIRS if config.is_backward else 0
    if pairs and not config.is_backward:
        raise ValueError(f"random (x, grad) pairs are only for the backward functions, not "
                         f"{config.function!r}")
    if pairs < 0:
        raise ValueError("pairs must be >= 0")
    return range_bits, ranges, pairs


def _range_bounds(index, range_bits, total):
    start = index << range_bits
    return start, min(start + (1 << range_bits), total)


def _hex(value, width):
    return f"{int(value):#0{(width + 3) // 4 + 2}x}"


def detail(harness, config, sweep, index, range_bits, total, grad_bits, alpha_bits,
           seed=PAIR_SEED, limit=DETAIL_LIMIT, golden_config=None):
    """Re-run range ``index`` of ``sweep`` with the harness dumping its results and compare them
    with the golden model (of ``golden_config``, default ``config``) input by input. Returns
    ``{"differing", "first": [{"index", "x", ["grad", "alpha",] "rtl", "golden"[, "rtl_flag",
    "golden_flag"]}...]}``, at most ``limit`` entries, all values as hex strings."""
    golden_config = config if golden_config is None else golden_config
    start, stop = _range_bounds(index, range_bits, total)
    with tempfile.TemporaryDirectory(prefix="exhaustive-detail-") as tmp:
        dump = Path(tmp) / "y.bin"
        run_harness(harness, sweep, start, stop, range_bits, grad_bits, alpha_bits, seed, dump=dump)
        rtl_y = np.fromfile(dump, dtype="<u4")
        flag_path = Path(str(dump) + ".flag")
        rtl_f = np.fromfile(flag_path, dtype=np.uint8) if flag_path.is_file() else None
    gold_y, gold_f = golden_outputs(golden_config, sweep, start, stop, grad_bits, alpha_bits, seed)
    if len(rtl_y) != stop - start:
        raise RuntimeError(f"harness dumped {len(rtl_y)} results, expected {stop - start}")
    differs = rtl_y != gold_y
    if rtl_f is not None and gold_f is not None:
        differs |= rtl_f != gold_f
    where = np.flatnonzero(differs)
    first = []
    for i in where[:limit]:
        operands = sweep_operands(config, sweep, start + int(i), start + int(i) + 1, grad_bits,
                                  alpha_bits, seed)
        entry = {"index": int(start + i)}
        for name, value in operands.items():
            entry[name] = _hex(value[0], config.in_width)
        entry["rtl"] = _hex(rtl_y[i], config.out_width)
        entry["golden"] = _hex(gold_y[i], config.out_width)
        if rtl_f is not None and gold_f is not None:
            entry["rtl_flag"], entry["golden_flag"] = int(rtl_f[i]), int(gold_f[i])
        first.append(entry)
    return {"differing": int(len(where)), "first": first}


def _format_seconds(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


class _Progress:
    """A progress bar on ``stream`` (tqdm; only if ``enabled`` and ``stream`` is a terminal): the
    inputs compared (done on both sides), with the ranges done per side and the RTL's rate."""

    def __init__(self, name, total_ranges, total_inputs, enabled, stream=sys.stderr):
        self.total = total_ranges
        self.bar = tqdm(total=total_inputs, desc=name, unit="input", unit_scale=True, file=stream,
                        disable=None if enabled else True, dynamic_ncols=True, mininterval=1.0)
        self.rtl = self.golden = 0
        self.rtl_inputs = self.golden_inputs = 0
        self.rtl_cycles, self.rtl_seconds = 0, 0.0

    def update(self, force=False):
        if self.bar.disable:
            return
        rate = (f"{self.rtl_cycles / self.rtl_seconds / 1e6:.1f} Mcycles/s"
                if self.rtl_seconds else "- Mcycles/s")
        self.bar.set_postfix_str(f"rtl {self.rtl}/{self.total} ranges ({rate}), golden "
                                 f"{self.golden}/{self.total}", refresh=False)
        self.bar.update(min(self.rtl_inputs, self.golden_inputs) - self.bar.n)
        if force:
            self.bar.refresh()

    def close(self):
        self.update(force=True)
        self.bar.close()


def _split(items, parts):
    """``items`` cut into at most ``parts`` contiguous runs of similar size."""
    items = list(items)
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    out, at = [], 0
    for p in range(parts):
        n = size + (p < extra)
        out.append(items[at:at + n])
        at += n
    return [o for o in out if o]


def run(config, ranges=None, range_bits=None, grad_bits=None, alpha_bits=None, pairs=None,
        seed=PAIR_SEED, jobs=None, rtl_jobs=1, accuracy=False, progress=True, sequential=False,
        golden_config=None, detail_limit=DETAIL_LIMIT, stream=sys.stderr):
    """Run the exhaustive comparison; returns the JSON-able result dict.

    ``ranges``: ``range(A, B)`` or ``(A, B)`` of x-sweep ranges (default all);
    ``range_bits``: inputs per range ``2**range_bits`` (default ``min(24, width)``);
    ``grad_bits``/``alpha_bits``: the fixed grad (backward) and alpha (runtime alpha) of the x
    sweep (default 1.0, :func:`golden.accuracy.grad_one`); ``pairs``: random (x, grad) pairs
    (backward; default ``DEFAULT_PAIRS``); ``jobs``: golden worker processes (default the CPU
    count); ``rtl_jobs``: harness processes; ``golden_config``: compare with the golden model of
    another configuration (the same format and operands; a test of the mismatch report).
    """
    from golden.accuracy import grad_one
    _check_supported(config)
    golden_config = config if golden_config is None else golden_config
    range_bits, x_ranges, pair_count = plan_ranges(config, ranges, range_bits, pairs)
    fmt = config.format
    grad_bits = (grad_one(fmt) if grad_bits is None else grad_bits) & ((1 << config.in_width) - 1)
    alpha_bits = (grad_one(fmt) if alpha_bits is None else alpha_bits) & ((1 << config.in_width) - 1)
    jobs = jobs or os.cpu_count() or 1
    total_x = 1 << config.in_width
    pair_ranges = range(0, -(-pair_count // (1 << range_bits)))
    result = {
        "config": config.to_dict(), "name": config.name,
        "golden_config": None if golden_config is config else golden_config.name,
        "range_bits": range_bits, "ranges": [x_ranges.start, x_ranges.stop],
        "range_count": 1 << (config.in_width - range_bits),
        "inputs": len(x_ranges) << range_bits if x_ranges else 0,
        "grad_bits": _hex(grad_bits, config.in_width) if config.is_backward else None,
        "alpha_bits": _hex(alpha_bits, config.in_width) if config.runtime_alpha else None,
        "pairs": pair_count, "pair_seed": seed if pair_count else None,
    }
    t_begin = time.perf_counter()
    harness = build_harness(config, quiet=not progress)
    result["build_seconds"] = round(harness.build_seconds, 3)
    result["latency"] = harness.latency

    # Work: (sweep, range index, start, stop) for both sides.
    work = [("x", i, *_range_bounds(i, range_bits, total_x)) for i in x_ranges]
    work += [("pairs", i, *_range_bounds(i, range_bits, pair_count)) for i in pair_ranges]
    inputs_total = sum(stop - start for _, _, start, stop in work)
    meter = _Progress(config.name, len(work), inputs_total, progress, stream)
    events = queue.Queue()
    rtl_crc, golden_crc_, rtl_runs = {}, {}, []
    rtl_errors, processes = [], []

    def rtl_worker(chunks):
        try:
            for sweep, first, last in chunks:
                start = _range_bounds(first, range_bits, total_x if sweep == "x" else pair_count)[0]
                stop = _range_bounds(last, range_bits, total_x if sweep == "x" else pair_count)[1]
                done = run_harness(harness, sweep, start, stop, range_bits, grad_bits, alpha_bits,
                                   seed, on_range=lambda r, s=sweep: events.put(("rtl", s, r)),
                                   processes=processes)
                events.put(("rtl-done", sweep, done))
        except Exception as error:  # noqa: BLE001 - reported in the main thread
            rtl_errors.append(error)
        finally:
            events.put(("rtl-exit", None, None))

    # RTL: contiguous blocks of ranges per harness process, the pair sweep as its own run.
    rtl_plans = [[] for _ in range(max(1, rtl_jobs))]
    for n, part in enumerate(_split(list(x_ranges), max(1, rtl_jobs))):
        rtl_plans[n].append(("x", part[0], part[-1]))
    if pair_count:
        min(rtl_plans, key=len).append(("pairs", 0, pair_ranges.stop - 1))
    rtl_plans = [p for p in rtl_plans if p]

    def start_rtl():
        threads = [threading.Thread(target=rtl_worker, args=(plan,), daemon=True) for plan in rtl_plans]
        for t in threads:
            t.start()
        return threads

    def start_golden():
        pool = multiprocessing.get_context("fork").Pool(min(jobs, max(1, len(work))))
        tasks = [(golden_config, sweep, i, start, stop, grad_bits, alpha_bits, seed)
                 for sweep, i, start, stop in work]
        for task in tasks:
            pool.apply_async(_golden_task, (task,), callback=lambda r: events.put(("golden", None, r)),
                             error_callback=lambda e: events.put(("golden-error", None, e)))
        pool.close()
        return pool

    sizes = {(s, i): stop - start for s, i, start, stop in work}
    rtl_alive = len(rtl_plans)
    golden_left = len(work)
    timing = {"rtl_begin": None, "rtl_end": None, "golden_begin": None, "golden_end": None}
    pool = None
    phases = ["rtl", "golden"] if sequential else ["both"]
    try:
        for phase in phases:
            if phase in ("rtl", "both") and rtl_plans:
                timing["rtl_begin"] = time.perf_counter()
                start_rtl()
            if phase in ("golden", "both") and work:
                timing["golden_begin"] = time.perf_counter()
                pool = start_golden()
            while (phase in ("rtl", "both") and rtl_alive) or (phase in ("golden", "both") and golden_left):
                try:
                    kind, sweep, payload = events.get(timeout=1.0)
                except queue.Empty:
                    meter.update()
                    continue
                if kind == "rtl":
                    rtl_crc[(sweep, payload["index"])] = payload["crc"]
                    meter.rtl += 1
                    meter.rtl_inputs += payload["inputs"]
                elif kind == "rtl-done":
                    rtl_runs.append(payload)
                    meter.rtl_cycles += payload["cycles"]
                    meter.rtl_seconds += payload["seconds"]
                elif kind == "rtl-exit":
                    rtl_alive -= 1
                    if not rtl_alive:
                        timing["rtl_end"] = time.perf_counter()
                    if rtl_errors:
                        raise rtl_errors[0]
                elif kind == "golden":
                    g_sweep, index, crc, _seconds = payload
                    golden_crc_[(g_sweep, index)] = crc
                    meter.golden += 1
                    meter.golden_inputs += sizes[(g_sweep, index)]
                    golden_left -= 1
                    if not golden_left:
                        timing["golden_end"] = time.perf_counter()
                elif kind == "golden-error":
                    raise payload
                meter.update()
        meter.close()
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        for process in processes:          # only still running after an error or interrupt
            if process.poll() is None:
                process.kill()
                process.wait()

    rtl_seconds = (timing["rtl_end"] - timing["rtl_begin"]) if timing["rtl_begin"] else 0.0
    golden_seconds = (timing["golden_end"] - timing["golden_begin"]) if timing["golden_begin"] else 0.0
    cycles = sum(r["cycles"] for r in rtl_runs)
    sim_seconds = sum(r["seconds"] for r in rtl_runs)
    sim_cpu = sum(r["cpu_seconds"] for r in rtl_runs)
    latencies = sorted({r["latency"] for r in rtl_runs})
    result["rtl_fast_eval"] = all(r["fast_eval"] for r in rtl_runs)
    result.update({
        "rtl_seconds": round(rtl_seconds, 3), "rtl_cycles": cycles,
        "rtl_sim_seconds": round(sim_seconds, 3), "rtl_cpu_seconds": round(sim_cpu, 3),
        "mcycles_per_s": round(cycles / sim_seconds / 1e6, 3) if sim_seconds else None,
        "mcycles_per_cpu_s": round(cycles / sim_cpu / 1e6, 3) if sim_cpu else None,
        "measured_latency": latencies[0] if len(latencies) == 1 else latencies,
        "golden_seconds": round(golden_seconds, 3), "golden_jobs": jobs,
        "sequential": bool(sequential),
    })
    if latencies and latencies != [harness.latency]:
        result["latency_mismatch"] = True

    mismatches = []
    for sweep, index, _start, _stop in work:
        rtl, gold = rtl_crc.get((sweep, index)), golden_crc_.get((sweep, index))
        if rtl != gold:
            entry = {"sweep": sweep, "range": index,
                     "rtl_crc": None if rtl is None else f"{rtl[0]:08x}",
                     "golden_crc": None if gold is None else f"{gold[0]:08x}"}
            if not config.is_float:
                entry["rtl_flag_crc"] = None if rtl is None else f"{rtl[1]:08x}"
                entry["golden_flag_crc"] = None if gold is None else f"{gold[1]:08x}"
            mismatches.append(entry)
    for entry in mismatches[:DETAIL_RANGES]:
        total = total_x if entry["sweep"] == "x" else pair_count
        entry.update(detail(harness, config, entry["sweep"], entry["range"], range_bits, total,
                            grad_bits, alpha_bits, seed, detail_limit, golden_config))
    result["ranges_compared"] = len(work)
    result["mismatches"] = mismatches
    result["match"] = not mismatches and not result.get("latency_mismatch", False)
    if accuracy:
        from golden.accuracy import measure
        t0 = time.perf_counter()
        result["accuracy"] = measure(golden_config, exhaustive=True, progress=progress)
        result["accuracy_seconds"] = round(time.perf_counter() - t0, 3)
    result["total_seconds"] = round(time.perf_counter() - t_begin, 3)
    return result


# ---------------------------------------------------------------------------------------------
# Command line

def format_report(result):
    """A short human-readable report of a :func:`run` result."""
    lines = []
    sweep = (f"x ranges {result['ranges'][0]}..{result['ranges'][1] - 1} of "
             f"{result['range_count']} (2**{result['range_bits']} inputs each, "
             f"{result['inputs']:,} inputs)" if result["inputs"] else "no x ranges")
    if result["grad_bits"]:
        sweep += f", grad {result['grad_bits']}"
    if result["alpha_bits"]:
        sweep += f", alpha {result['alpha_bits']}"
    if result["pairs"]:
        sweep += f"; {result['pairs']:,} random (x, grad) pairs (seed {result['pair_seed']})"
    lines.append(f"{result['name']}: {sweep}")
    lines.append(f"latency: stated {result['latency']}, measured {result['measured_latency']}"
                 + ("  MISMATCH" if result.get("latency_mismatch") else ""))
    rate = lambda v: "-" if v is None else f"{v:.1f}"
    lines.append(f"RTL (Verilator, {result['rtl_cycles']:,} cycles): {result['rtl_seconds']:.1f} s "
                 f"wall, {rate(result['mcycles_per_s'])} Mcycles/s per simulation process "
                 f"({rate(result['mcycles_per_cpu_s'])} per CPU second); build "
                 f"{result['build_seconds']:.1f} s")
    lines.append(f"golden (NumPy, {result['golden_jobs']} processes): {result['golden_seconds']:.1f} s"
                 + ("" if result["sequential"] else " (concurrently with the RTL)"))
    if result["mismatches"]:
        lines.append(f"MISMATCH in {len(result['mismatches'])} of {result['ranges_compared']} ranges:")
        for m in result["mismatches"]:
            lines.append(f"  {m['sweep']} range {m['range']}: RTL CRC {m['rtl_crc']}, golden CRC "
                         f"{m['golden_crc']}" + (f", {m['differing']:,} inputs differ" if "differing" in m else ""))
            for d in m.get("first", []):
                ops = " ".join(f"{k} {d[k]}" for k in ("x", "grad", "alpha") if k in d)
                flags = (f" (flag RTL {d['rtl_flag']}, golden {d['golden_flag']})"
                         if "rtl_flag" in d else "")
                lines.append(f"    {ops}: RTL {d['rtl']}, golden {d['golden']}{flags}")
    else:
        lines.append(f"all {result['ranges_compared']} ranges match")
    acc = result.get("accuracy")
    if acc:
        lines.append(f"golden accuracy over all {acc['inputs']:,} inputs: max {acc['max_ulp']:.4g} "
                     f"{'LSB' if acc['format'].startswith('q') else 'ulp'}, "
                     f"mean {acc['mean_ulp']:.4g}, {acc['not_correctly_rounded']:,} not correctly "
                     f"rounded, worst input {acc['worst_input']} ({result['accuracy_seconds']:.0f} s)")
    lines.append(f"total {_format_seconds(result['total_seconds'])} ({result['total_seconds']:.1f} s)")
    return "\n".join(lines)


def _int_auto(text):
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _hex_bits(text):
    try:
        return int(text, 16)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a hexadecimal bit pattern: {text!r}") from None


def main(argv=None):
    parser = command_line("sim.exhaustive", __doc__.splitlines()[0])
    add_config_arguments(parser)
    parser.add_argument("--ranges", type=parse_ranges, default=None,
                        help="x ranges A:B (A..B-1) or one range N (default: all)")
    parser.add_argument("--range-bits", type=int, default=None,
                        help=f"inputs per CRC range, 2**N (default {RANGE_BITS}, at most the width)")
    parser.add_argument("--grad-bits", type=_hex_bits, default=None,
                        help="backward functions: grad_out of the x sweep, hex bits (default 1.0)")
    parser.add_argument("--alpha-bits", type=_hex_bits, default=None,
                        help="runtime alpha: alpha of every input, hex bits (default 1.0)")
    parser.add_argument("--pairs", type=_int_auto, default=None,
                        help=f"backward functions: random (x, grad) pairs (default {DEFAULT_PAIRS})")
    parser.add_argument("--pair-seed", type=_int_auto, default=PAIR_SEED, help="seed of the pairs")
    parser.add_argument("--jobs", type=int, default=None,
                        help="golden-model worker processes (default: CPU count)")
    parser.add_argument("--rtl-jobs", type=int, default=1, help="simulation processes (default 1)")
    parser.add_argument("--sequential", action="store_true",
                        help="run the simulation, then the golden model (default: concurrently)")
    parser.add_argument("--accuracy", action="store_true",
                        help="also measure the golden model's accuracy over every input "
                             "(golden.accuracy, exhaustive)")
    parser.add_argument("--json", default=None,
                        help="write the result to this file (- for stdout, the report on stderr)")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    args = parser.parse_args(argv)
    config = config_from_arguments(args, parser)
    try:
        _check_supported(config)
        plan_ranges(config, args.ranges, args.range_bits, args.pairs)
    except ValueError as error:
        parser.error(str(error))
    if args.jobs is not None and args.jobs < 1 or args.rtl_jobs < 1:
        parser.error("--jobs and --rtl-jobs must be at least 1")
    json_path = check_output(parser, "--json", args.json, stdout=True)
    from .runner import SimulationError
    with json_on_stdout(json_path):
        try:
            result = run(config, ranges=args.ranges, range_bits=args.range_bits,
                         grad_bits=args.grad_bits, alpha_bits=args.alpha_bits, pairs=args.pairs,
                         seed=args.pair_seed, jobs=args.jobs, rtl_jobs=args.rtl_jobs,
                         accuracy=args.accuracy, progress=not args.quiet,
                         sequential=args.sequential)
        except (SimulatorUnavailable, SimulationError) as error:
            return fail(parser, error, EXIT_EXTERNAL)
        print(format_report(result))
    if json_path:
        write_json(json_path, result, indent=2)
        if json_path != "-":
            print(f"wrote {json_path}")
    return 0 if result["match"] else EXIT_MISMATCH


if __name__ == "__main__":
    sys.exit(main())
