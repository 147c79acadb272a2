"""A checking stream driver for whole units in Amaranth's own simulator (no Verilog export).

Used by the configuration fuzzer (``tests/test_fuzz_configs.py``) and the fault tests
(``sim/test_faults.py``): the fast path, a fraction of a second per configuration where a
Verilator build costs 15-60 s.

:func:`simulate` streams the operands of one configuration through its unit, ``config.lanes``
elements per payload, with random source gaps (``in_gap``), sink stalls (``out_stall``) and,
optionally, random synchronous reset pulses (``reset_rate``), and checks every cycle:

* every result equals the golden model (:func:`golden.eval.evaluate`) of the payload it belongs
  to, bit for bit (and the fixed-point flags);
* results leave in input order, none is duplicated, and a reset drops exactly the payloads in
  flight: after a reset ``o.valid`` stays low until a payload accepted after it has had the
  unit's stated latency (``unit.latency``) to traverse the pipeline (no stale result ever);
* with the sink always ready, every result arrives exactly ``unit.latency`` cycles after its
  input; a result offered while the sink stalls stays offered, unchanged, until taken;
* after the last result the unit stays silent for a while (nothing extra comes out).

The unit is wrapped in a harness that owns the ``sync`` domain, so that the testbench can drive
its reset; only the valid bits are reset (the datapath registers are reset-less), exactly as in
the exported Verilog.
"""
import random
from dataclasses import dataclass, field

import numpy as np
from amaranth.hdl import ClockDomain, Elaboratable, Module, Signal
from amaranth.sim import Simulator

from golden.eval import evaluate
from hw.rtl.top import build_unit

__all__ = ["Harness", "StreamOutcome", "pad_to_lanes", "golden_payloads", "simulate"]


class Harness(Elaboratable):
    """``unit`` in a module that defines the ``sync`` domain, its reset driven by ``rst``."""
    def __init__(self, unit):
        self.unit = unit
        self.rst = Signal()

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = cd = ClockDomain("sync")
        m.d.comb += cd.rst.eq(self.rst)
        m.submodules.unit = self.unit
        return m


@dataclass
class StreamOutcome:
    """What :func:`simulate` saw (every check has already passed when it returns)."""
    latency: int
    cycles: int = 0
    results: int = 0              # payloads whose result was received
    accepted: int = 0             # payloads the unit accepted (including ones a reset dropped)
    resets: int = 0               # reset pulses applied
    dropped: int = 0              # accepted payloads a reset discarded
    stalled_offers: int = 0       # cycles a result was offered while the sink stalled
    back_pressure: int = 0        # cycles a payload was offered while i.ready was low
    checked_payloads: list = field(default_factory=list)  # payload index of every result, in order


def pad_to_lanes(operands, lanes):
    """Operands (name -> 1-D array) padded with zeros to a multiple of ``lanes`` elements."""
    out = {}
    for name, values in operands.items():
        values = np.asarray(values, dtype=np.uint64).ravel()
        pad = (-len(values)) % lanes
        out[name] = np.concatenate([values, np.zeros(pad, dtype=np.uint64)]) if pad else values
    return out


def golden_payloads(config, operands):
    """Golden results of ``operands`` (a multiple of ``lanes`` elements each) as arrays of shape
    ``(payloads, lanes)``: ``(y, flag)``, ``flag`` None for float formats."""
    y, flag = evaluate(config, **operands)
    lanes = config.lanes
    y = np.asarray(y, dtype=np.uint64).reshape(-1, lanes)
    if flag is not None:
        flag = np.asarray(flag, dtype=bool).reshape(-1, lanes)
    return y, flag


def _describe(config, operands, payload):
    lanes = config.lanes
    parts = []
    for name, values in operands.items():
        vals = values[payload * lanes:(payload + 1) * lanes]
        parts.append(f"{name}=[{', '.join(f'{int(v):#x}' for v in vals)}]")
    return " ".join(parts)


def simulate(config, operands, *, in_gap=0.0, out_stall=0.0, reset_rate=0.0, max_resets=None,
             reset_cycles=(1, 3), reset_during_stall=False, seed=0, idle_data="random", drain=None,
             max_cycles=None, harness=Harness):
    """Stream ``operands`` (operand name -> 1-D array of raw elements, every operand of the
    unit, all of one length, a multiple of ``config.lanes``) through ``config``'s unit in
    Amaranth's simulator and check it as described in the module docstring.

    ``in_gap``/``out_stall``: per-cycle probabilities that the source idles / the sink stalls.
    ``reset_rate``: per-cycle probability of a reset pulse (of ``reset_cycles`` cycles, a
    random length in that inclusive range; at most ``max_resets`` of them) while payloads remain
    to be sent; the source offers garbage with ``i.valid`` low or high during a pulse, the
    sink is randomly ready. ``reset_during_stall``: start pulses only while a result is held
    by a stalling sink (the pipeline then holds payloads). ``idle_data``: what the payload
    holds while ``i.valid`` is low ("random" or "zero"). ``harness``: the wrapper class (a test
    may pass a faulty one to check that the checks catch it). Returns a
    :class:`StreamOutcome`; raises ``AssertionError`` naming the cycle, the payload and its
    operands on the first violation.
    """
    names = tuple(config.operands)
    if set(operands) != set(names):
        raise ValueError(f"{config.name} takes operands {names}, got {tuple(operands)}")
    operands = {name: np.asarray(operands[name], dtype=np.uint64).ravel() for name in names}
    lanes = config.lanes
    n_elements = len(operands[names[0]])
    if n_elements % lanes or any(len(v) != n_elements for v in operands.values()):
        raise ValueError("operands must have one length, a multiple of the lanes (see pad_to_lanes)")
    n = n_elements // lanes
    want_y, want_flag = golden_payloads(config, operands)
    payload_values = {name: values.reshape(-1, lanes).tolist()
                      for name, values in operands.items()}

    unit = build_unit(config)
    latency = unit.latency
    harness = harness(unit)
    rng = random.Random(seed)
    in_mask = (1 << config.in_width) - 1
    outcome = StreamOutcome(latency=latency)
    drain = latency + 8 if drain is None else drain
    if max_cycles is None:
        slow = 1.0 / max(1e-3, (1 - in_gap) * (1 - out_stall))
        max_cycles = int(200 + 4 * (n + latency) * slow + 200 * (max_resets or 0))

    in_ports = [[getattr(unit.i.payload, name)[lane] for lane in range(lanes)] for name in names]
    out_y = [unit.o.payload.y[lane] for lane in range(lanes)]
    out_flag = ([unit.o.payload.flag[lane] for lane in range(lanes)]
                if not config.is_float else None)

    def fail(cycle, message, payload=None):
        where = f"{config.name}, cycle {cycle}"
        if payload is not None:
            where += f", payload #{payload} ({_describe(config, operands, payload)})"
        raise AssertionError(f"{where}: {message}")

    async def bench(ctx):
        sent = 0                 # next payload to offer
        offering = False
        fifo = []                # (payload index, accept cycle) of payloads in flight, oldest first
        held = None              # (y, flag) offered while the sink stalled
        reset_left = 0
        idle_since = None        # cycle the last result left once everything was sent
        cycle = 0
        while True:
            # Reset pulses: only while payloads remain to be sent, so the run ends with results.
            if reset_left == 0 and reset_rate > 0 and sent < n and rng.random() < reset_rate \
                    and (max_resets is None or outcome.resets < max_resets) \
                    and (held is not None or not reset_during_stall):
                reset_left = rng.randint(*reset_cycles)
                outcome.resets += 1
            in_reset = reset_left > 0
            ctx.set(harness.rst, int(in_reset))
            # Source: an offered payload stays offered (valid, data stable) until accepted.
            if in_reset:
                valid = rng.random() < 0.5      # garbage: a reset drops whatever is offered
                offering = False
            else:
                if not offering and sent < n and (in_gap <= 0 or rng.random() >= in_gap):
                    offering = True
                valid = offering
            if offering:
                for ports, name in zip(in_ports, names):
                    for port, value in zip(ports, payload_values[name][sent]):
                        ctx.set(port, value)
            elif idle_data == "random" or in_reset:
                for ports in in_ports:
                    for port in ports:
                        ctx.set(port, rng.getrandbits(config.in_width) & in_mask)
            ctx.set(unit.i.valid, int(valid))
            ready = 1 if (out_stall <= 0 or rng.random() >= out_stall) else 0
            ctx.set(unit.o.ready, ready)

            # Observe the settled outputs (they are what the coming clock edge samples).
            o_valid = ctx.get(unit.o.valid)
            i_ready = ctx.get(unit.i.ready)
            if not in_reset:
                if o_valid:
                    y = tuple(ctx.get(p) for p in out_y)
                    flag = tuple(ctx.get(p) for p in out_flag) if out_flag else None
                    if not fifo:
                        fail(cycle, f"o.valid high with no payload in flight (stale or extra result "
                                    f"y={[hex(v) for v in y]}; {outcome.resets} resets so far)")
                    index, accepted_at = fifo[0]
                    age = cycle - accepted_at
                    if age < latency:
                        fail(cycle, f"result offered {age} cycles after its input, before the "
                                    f"stated latency {latency} (stale data after a reset?)", index)
                    if held is not None and (y, flag) != held:
                        fail(cycle, f"result changed while stalled: {held} -> {(y, flag)}", index)
                    if ready:
                        if out_stall <= 0 and age != latency:
                            fail(cycle, f"latency {age} with the sink always ready, stated "
                                        f"{latency}", index)
                        exp_y = want_y[index]
                        if list(y) != exp_y.tolist():
                            fail(cycle, "result differs from the golden model: got "
                                        f"[{', '.join(hex(v) for v in y)}], expected "
                                        f"[{', '.join(hex(int(v)) for v in exp_y)}]", index)
                        if want_flag is not None and list(flag) != [int(f) for f in want_flag[index]]:
                            fail(cycle, f"flag {list(flag)} differs from the golden model "
                                        f"{want_flag[index].astype(int).tolist()}", index)
                        fifo.pop(0)
                        outcome.results += 1
                        outcome.checked_payloads.append(index)
                        held = None
                    else:
                        held = (y, flag)
                        outcome.stalled_offers += 1
                elif held is not None:
                    fail(cycle, f"o.valid dropped before the stalled result {held} was taken",
                         fifo[0][0] if fifo else None)
                if offering:
                    if i_ready:
                        fifo.append((sent, cycle))
                        outcome.accepted += 1
                        sent += 1
                        offering = False
                    else:
                        outcome.back_pressure += 1
            await ctx.tick()
            cycle += 1
            if in_reset:
                reset_left -= 1
                outcome.dropped += len(fifo)
                fifo.clear()
                held = None
                if reset_left == 0:
                    # First cycle after the pulse, before any input: nothing may be offered.
                    ctx.set(harness.rst, 0)
                    ctx.set(unit.i.valid, 0)
                    if ctx.get(unit.o.valid):
                        fail(cycle, "o.valid high right after a reset")
            if sent == n and not fifo and not offering:
                idle_since = cycle if idle_since is None else idle_since
                if cycle - idle_since >= drain:
                    break
            if cycle > max_cycles:
                fail(cycle, f"no completion after {max_cycles} cycles ({sent}/{n} payloads sent, "
                            f"{len(fifo)} in flight, {outcome.results} results)")
        outcome.cycles = cycle

    sim = Simulator(harness)
    sim.add_clock(1e-6, domain="sync")
    sim.add_testbench(bench)
    sim.run()
    return outcome
