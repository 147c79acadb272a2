"""cocotb testbench for the exported stream unit (runs inside the simulator; started by
:mod:`sim.runner`).

The DUT has the ports ``clk``, ``rst`` (synchronous, active high), ``in_valid``/``in_ready``, one
input port ``in_<name>`` per operand (the job's ``operands``), and ``out_valid``/``out_ready``/
``out_y`` (``lanes`` elements packed, lane ``i`` at ``[i*width +: width]``), plus ``out_flag``
(one bit a lane) for fixed-point units. The operand ports are all packed alike and transferred
together: ``in_x``, plus ``in_grad`` (backward activation functions) and ``in_alpha`` (runtime
alpha); or ``in_a``, ``in_b``, ``in_c`` (FMA).

Timing: the driver writes the inputs of a cycle at the falling clock edge, then samples the
handshake in the read-only phase that follows; what it samples there is exactly what the next
rising edge registers. Cycle numbers count rising edges, so an input transferred at cycle ``c``
whose result transfers at cycle ``c + L`` has latency ``L``.

Every parameter comes from a JSON job file named by the environment variable ``RSQRT_SIM_JOB``:

``operands``           input operands in port order (default ``["x"]``; ``in_<name>`` ports)
``<name>``, ``<name>2`` input npy file of each operand (raw element bit patterns; ``<name>2``:
                     the stream after reset), e.g. ``x``/``x2``, ``grad``/``grad2``, ``a``/``a2``
``n``, ``n2``          element counts
``lanes``, ``in_width``, ``out_width``, ``has_flag``
``in_gap``             probability that the source idles (``in_valid`` low) in a cycle
``out_stall``          probability that the sink stalls (``out_ready`` low) in a cycle
``seed``               RNG seed of the stall patterns
``out_dir``            where results (``y.npy``, ``flag.npy``, ``pre_*.npy``) and ``stats.json`` go
``expected_latency``   latency test: the unit's stated latency
``reset_after``, ``reset_cycles``  reset test: cycles streamed before reset, cycles rst is held
``watchdog``           cycles without progress before the run is declared hung

Checks made here (a failure fails the cocotb test): no result lost or duplicated (counts, and no
``out_valid`` in the drain cycles after the last expected result), ``out_valid``/``out_y``/
``out_flag`` held while stalled, ``out_valid`` low after reset, latency and throughput. Result
*values* are compared with the golden model by the caller.
"""
import json
import os
import random
import time
from pathlib import Path

import numpy as np

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly
from cocotb.types import Logic

JOB_ENV = "RSQRT_SIM_JOB"


def load_job():
    path = os.environ.get(JOB_ENV)
    if not path:
        raise RuntimeError(f"{JOB_ENV} is not set: run this testbench through sim.runner")
    return json.loads(Path(path).read_text())


def pack(x, lanes, width):
    """Elements -> list of payload ints (the last payload zero-padded)."""
    x = np.asarray(x, dtype=np.uint64).ravel() & np.uint64((1 << width) - 1)
    pad = (-len(x)) % lanes
    if pad:
        x = np.concatenate([x, np.zeros(pad, dtype=np.uint64)])
    if lanes == 1:
        return x.tolist()
    cols = x.reshape(-1, lanes)
    if lanes * width <= 64:
        word = np.zeros(len(cols), dtype=np.uint64)
        for i in range(lanes):
            word |= cols[:, i] << np.uint64(i * width)
        return word.tolist()
    words = [0] * len(cols)
    for i in range(lanes):
        shift = i * width
        words = [w | (v << shift) for w, v in zip(words, cols[:, i].tolist())]
    return words


def unpack(words, lanes, width, n):
    """Payload ints -> ``n`` elements (padding dropped), uint64."""
    if lanes == 1:
        return np.array(words, dtype=np.uint64)[:n]
    mask = (1 << width) - 1
    out = np.empty((len(words), lanes), dtype=np.uint64)
    for i in range(lanes):
        shift = i * width
        out[:, i] = [(w >> shift) & mask for w in words]
    return out.ravel()[:n]


def unpack_flags(words, lanes, n):
    out = np.zeros((len(words), lanes), dtype=np.uint8)
    for i in range(lanes):
        out[:, i] = [(w >> i) & 1 for w in words]
    return out.ravel()[:n]


def int_reader(handle):
    """A function reading ``handle`` as an unsigned int (X/Z raise). One-bit ports may appear as
    scalars (:class:`~cocotb.handle.LogicObject`, whose value is a ``Logic``)."""
    if isinstance(handle.value, Logic):
        return lambda: int(handle.value)
    return lambda: handle.value.to_unsigned()


class StreamDriver:
    """Drives the input stream and sinks the output stream of the DUT, one loop turn a cycle."""

    def __init__(self, dut, job):
        self.dut = dut
        self.job = job
        self.lanes = job["lanes"]
        self.has_flag = bool(job["has_flag"])
        self.watchdog = int(job.get("watchdog", 10_000))
        self.rng = random.Random(job.get("seed", 0))
        self.cycle = 0
        self.in_valid = 0
        self.out_ready = 0
        self.rst = 0
        self.offering = False
        self.held = None  # (y, flag) of an output seen while the sink stalled
        self.in_cycles = []
        self.out_cycles = []
        self.in_ready_low = 0  # cycles the source offered but the DUT was not ready
        self.operands = list(job.get("operands", ["x"]))
        self.ports = [getattr(dut, f"in_{name}") for name in self.operands]
        self._read_y = int_reader(dut.out_y)
        self._read_flag = int_reader(dut.out_flag) if self.has_flag else (lambda: 0)
        dut.in_valid.value = 0
        dut.out_ready.value = 0
        for port in self.ports:
            port.value = 0
        dut.rst.value = 0

    # Small helpers that write only on change: every write costs a GPI call.
    def set_in_valid(self, value):
        if value != self.in_valid:
            self.dut.in_valid.value = value
            self.in_valid = value

    def set_out_ready(self, value):
        if value != self.out_ready:
            self.dut.out_ready.value = value
            self.out_ready = value

    def set_rst(self, value):
        if value != self.rst:
            self.dut.rst.value = value
            self.rst = value

    def read_out(self):
        return self._read_y(), self._read_flag()

    async def run(self, payloads, in_gap=0.0, out_stall=0.0, max_cycles=None, record=False,
                  stop_on_full=False):
        """Stream ``payloads``; return the output payloads received, as (ys, flags) lists.

        ``payloads`` (from :func:`load_payloads`) holds ints for a single operand, else tuples
        with one int per operand (in ``self.operands`` order).

        Stops when every payload's result arrived, or after ``max_cycles`` cycles (results still
        in flight are then left in the DUT). ``record`` keeps the cycle of every transfer.
        """
        dut = self.dut
        clk_fall = dut.clk.falling_edge
        read_only = ReadOnly()
        in_ready = dut.in_ready
        out_valid = dut.out_valid
        rnd = self.rng.random
        n = len(payloads)
        ports = self.ports
        single = len(ports) == 1
        first_port = ports[0]
        sent = received = 0
        ys, flags = [], []
        self.offering = False
        self.held = None
        last_progress = self.cycle
        start = self.cycle
        while received < n:
            if max_cycles is not None and self.cycle - start >= max_cycles:
                break
            await clk_fall
            # Source: a payload offered stays offered (valid high, data stable) until accepted.
            if not self.offering:
                if sent < n and (in_gap <= 0.0 or rnd() >= in_gap):
                    if single:
                        first_port.value = payloads[sent]
                    else:
                        for port, value in zip(ports, payloads[sent]):
                            port.value = value
                    self.set_in_valid(1)
                    self.offering = True
                else:
                    self.set_in_valid(0)
            ready = 1 if out_stall <= 0.0 or rnd() >= out_stall else 0
            if ready != self.out_ready:
                dut.out_ready.value = ready
                self.out_ready = ready
            await read_only
            self.cycle += 1
            if self.offering:
                if in_ready.value:
                    sent += 1
                    self.offering = False
                    last_progress = self.cycle
                    if record:
                        self.in_cycles.append(self.cycle)
                else:
                    self.in_ready_low += 1
            if out_valid.value:
                if ready:
                    out = self.read_out()
                    if self.held is not None and out != self.held:
                        raise AssertionError(self._held_message(out))
                    self.held = None
                    ys.append(out[0])
                    flags.append(out[1])
                    received += 1
                    last_progress = self.cycle
                    if record:
                        self.out_cycles.append(self.cycle)
                    if received > sent:
                        raise AssertionError(f"cycle {self.cycle}: result #{received} transferred "
                                             f"but only {sent} inputs were accepted")
                else:
                    out = self.read_out()
                    if self.held is None:
                        self.held = out
                    elif out != self.held:
                        raise AssertionError(self._held_message(out))
            elif self.held is not None:
                raise AssertionError(f"cycle {self.cycle}: out_valid dropped before its result "
                                     f"(y={self.held[0]:#x}) was accepted")
            if self.cycle - last_progress > self.watchdog:
                raise AssertionError(f"cycle {self.cycle}: no transfer for {self.watchdog} cycles "
                                     f"({sent}/{n} inputs accepted, {received} results received)")
        return ys, flags

    def _held_message(self, out):
        return (f"cycle {self.cycle}: output changed while stalled (out_valid high, out_ready "
                f"low): y {self.held[0]:#x} -> {out[0]:#x}, flag {self.held[1]:#x} -> {out[1]:#x}")

    async def idle(self, cycles, out_ready=1, expect_no_output=True, what="drain"):
        """Run ``cycles`` cycles with no input; fail if a result appears (it would be extra)."""
        clk_fall = self.dut.clk.falling_edge
        read_only = ReadOnly()
        for _ in range(cycles):
            await clk_fall
            self.set_in_valid(0)
            self.offering = False
            self.set_out_ready(out_ready)
            await read_only
            self.cycle += 1
            if expect_no_output and self.dut.out_valid.value:
                y = self.dut.out_y.value
                raise AssertionError(f"cycle {self.cycle}: unexpected result during {what}: "
                                     f"out_valid high, out_y={y}")

    async def reset(self, cycles=2):
        """Hold rst for ``cycles`` rising edges (inputs idle), then release it."""
        clk_fall = self.dut.clk.falling_edge
        read_only = ReadOnly()
        await clk_fall
        self.set_rst(1)
        self.set_in_valid(0)
        self.offering = False
        self.held = None
        await read_only
        self.cycle += 1
        for _ in range(cycles - 1):
            await clk_fall
            await read_only
            self.cycle += 1
        await clk_fall
        self.set_rst(0)


def start_clock(dut):
    clock = Clock(dut.clk, 2, unit="step")
    clock.start(start_high=False)
    return clock


def save_outputs(job, prefix, ys, flags, n):
    out_dir = Path(job["out_dir"])
    np.save(out_dir / f"{prefix}y.npy", unpack(ys, job["lanes"], job["out_width"], n))
    if job["has_flag"]:
        np.save(out_dir / f"{prefix}flag.npy", unpack_flags(flags, job["lanes"], n))


def save_stats(job, **stats):
    (Path(job["out_dir"]) / "stats.json").write_text(json.dumps(stats, indent=1))


def load_payloads(job, suffix=""):
    """The job's input stream (``suffix`` "2": the one after reset): ``(elements, payloads)``,
    payloads as ints (one operand) or tuples of ints (one per operand, ``job["operands"]`` order)."""
    columns = []
    n = None
    names = job.get("operands", ["x"])
    for name in names:
        values = np.load(job[name + suffix])
        if n is None:
            n = len(values)
        elif len(values) != n:
            raise ValueError(f"operand {name}{suffix}: {len(values)} elements, "
                             f"{names[0]}{suffix} has {n}")
        columns.append(pack(values, job["lanes"], job["in_width"]))
    if len(columns) == 1:
        return n, columns[0]
    return n, list(zip(*columns))


def drain_cycles(job):
    return int(job.get("drain", 64))


@cocotb.test()
async def stream(dut):
    """Stream every input through with the job's stall probabilities; save the results."""
    job = load_job()
    n, payloads = load_payloads(job)
    start_clock(dut)
    drv = StreamDriver(dut, job)
    await drv.reset(2)
    t0 = time.perf_counter()
    c0 = drv.cycle
    ys, flags = await drv.run(payloads, job.get("in_gap", 0.0), job.get("out_stall", 0.0))
    seconds = time.perf_counter() - t0
    cycles = drv.cycle - c0
    assert len(ys) == len(payloads), f"{len(ys)} results for {len(payloads)} payloads"
    await drv.idle(drain_cycles(job))
    save_outputs(job, "", ys, flags, n)
    save_stats(job, cycles=cycles, seconds=seconds, payloads=len(payloads), elements=n,
               in_ready_low=drv.in_ready_low)


@cocotb.test()
async def latency(dut):
    """Without stalls, every result transfers exactly ``expected_latency`` cycles after its input,
    and the unit accepts one payload a cycle."""
    job = load_job()
    n, payloads = load_payloads(job)
    expected = job.get("expected_latency")
    start_clock(dut)
    drv = StreamDriver(dut, job)
    await drv.reset(2)
    # A lone input through an empty pipeline.
    ys_lone, flags_lone = await drv.run(payloads[:1], record=True)
    lone = drv.out_cycles[0] - drv.in_cycles[0]
    await drv.idle(drain_cycles(job))
    # A back-to-back stream.
    drv.in_cycles.clear()
    drv.out_cycles.clear()
    drv.in_ready_low = 0
    c0 = drv.cycle
    ys, flags = await drv.run(payloads, record=True)
    cycles = drv.cycle - c0
    await drv.idle(drain_cycles(job))
    diffs = [o - i for i, o in zip(drv.in_cycles, drv.out_cycles)]
    save_outputs(job, "", ys, flags, n)
    save_stats(job, lone_latency=lone, latencies=sorted(set(diffs)), cycles=cycles,
               payloads=len(payloads), in_ready_low=drv.in_ready_low, expected=expected)
    assert len(ys) == len(payloads), f"{len(ys)} results for {len(payloads)} payloads"
    assert ys_lone[0] == ys[0], "the lone input and the same input in a stream gave different results"
    if expected is not None:
        assert lone == expected, f"latency of a lone input is {lone} cycles, stated {expected}"
        bad = [(k, d) for k, d in enumerate(diffs) if d != expected]
        assert not bad, f"stream latencies differ from the stated {expected}: first (index, latency) {bad[:5]}"
    assert drv.in_ready_low == 0, (f"in_ready was low in {drv.in_ready_low} cycles of a stall-free "
                                   f"stream: the unit does not take one payload a cycle")
    assert cycles == len(payloads) + lone, (f"{len(payloads)} payloads took {cycles} cycles, "
                                            f"expected {len(payloads) + lone}")


@cocotb.test()
async def reset_midstream(dut):
    """Reset while a stalled stream is in flight: ``out_valid`` is low right after, nothing stale
    comes out, and a fresh stream afterwards is complete (values checked by the caller)."""
    job = load_job()
    n1, payloads1 = load_payloads(job)
    n2, payloads2 = load_payloads(job, "2")
    gap, stall = job.get("in_gap", 0.3), job.get("out_stall", 0.3)
    start_clock(dut)
    drv = StreamDriver(dut, job)
    await drv.reset(2)
    ys1, flags1 = await drv.run(payloads1, gap, stall, max_cycles=int(job["reset_after"]))
    assert len(ys1) < len(payloads1), "the first stream finished before the reset: nothing in flight"
    in_flight_offer = drv.offering
    await drv.reset(int(job.get("reset_cycles", 2)))
    # First cycle after reset (rst released at this falling edge): no result may be pending.
    await ReadOnly()
    assert not dut.out_valid.value, "out_valid high in the first cycle after reset"
    drv.cycle += 1
    ys2, flags2 = await drv.run(payloads2, gap, stall)
    assert len(ys2) == len(payloads2), f"{len(ys2)} results for {len(payloads2)} payloads after reset"
    await drv.idle(drain_cycles(job))
    save_outputs(job, "pre_", ys1, flags1, min(n1, len(ys1) * job["lanes"]))
    save_outputs(job, "", ys2, flags2, n2)
    save_stats(job, pre_results=len(ys1), cycles=drv.cycle, offering_at_reset=in_flight_offer)
