"""Fault behaviour: reset pulses in the middle of stalls, and X-propagation after reset.

* ``test_random_resets_during_stalls`` (Amaranth's simulator, several units and pipelining
  levels): random synchronous reset pulses (1-3 cycles), many of them while the sink stalls with
  a full pipeline, amid random source gaps and sink stalls. After each pulse no stale result
  appears (``o.valid`` stays low until a payload accepted after the reset has had the stated
  latency to traverse the pipeline), and every result after it is bit-exact with the golden model
  (:func:`sim.amaranth_stream.simulate` checks all of it cycle by cycle).
  ``test_reset_checker_catches_a_unit_that_ignores_reset`` is its negative control.
* ``test_no_x_after_reset`` (Icarus Verilog, four-state): the exported Verilog WITHOUT register
  initial values (``hw.export.verilog_text(..., init=False)``, the ``--no-init`` core), so every
  register starts at ``x``, driven by a plain-Verilog testbench that keeps every input ``x``
  before and during the reset pulses (and the data ``x`` whenever ``in_valid`` is low), then
  streams payloads with random gaps, stalls and more reset pulses in the middle of stalls. It
  checks that after the first reset ``out_valid`` and ``in_ready`` are never ``x``, ``out_y``
  (and ``out_flag``) never has an ``x`` bit while ``out_valid`` is 1, no result is offered before
  its input had the stated latency to get through (no stale result after a reset), results hold
  while stalled, and every result is bit-exact with the golden model.
  ``test_x_checker_sees_uninitialised_registers`` is its negative control (no reset: ``x`` must
  be seen).

Skipped only when Icarus Verilog (``iverilog``/``vvp``) is missing.
"""
import re
import shutil
import subprocess

import numpy as np
import pytest

from hw.config import Config
from hw.spec.plan import optional_cuts
from sim.amaranth_stream import Harness, golden_payloads, pad_to_lanes, simulate
from sim.checks import specials


def _mid(config):
    """The configuration with half of its optional pipeline registers."""
    return config.with_(pipeline=optional_cuts(config) // 2)


def _operands(config, count, seed):
    rng = np.random.default_rng(seed)
    width = config.in_width
    ops = {}
    special = specials(config)
    for name in config.operands:
        values = rng.integers(0, 1 << width, count, dtype=np.uint64)
        if name in ("x", "a"):
            k = min(len(special), count // 4)
            values[:k] = rng.choice(special, k, replace=False)
        if name == "alpha":
            values[: count // 2] &= np.uint64((1 << (width - 1)) - 1)
        ops[name] = values
    return pad_to_lanes(ops, config.lanes)


# ---------------------------------------------------------------------------------------------
# (a) Reset pulses in the middle of random stalls, in Amaranth's simulator.

_RSQRT = Config("bf16", lanes=2)
_ISRLU = Config("fp16", function="isrlu")
_ISRU_GRAD = Config("bf16", function="isru-grad", runtime_alpha=True)
_FMA = Config("e5m4", function="fma", lanes=3)
_FIXED = Config("q4.8", function="isru", alpha=3.0)
_MAGIC = Config("e5m6", seed="magic", newton=2)

RESET_CONFIGS = [
    _RSQRT, _RSQRT.with_(pipeline=0), _mid(_RSQRT),
    _ISRLU, _ISRLU.with_(pipeline=0), _mid(_ISRLU),
    _ISRU_GRAD, _ISRU_GRAD.with_(pipeline=0), _mid(_ISRU_GRAD),
    _FMA, _FMA.with_(pipeline=0), _mid(_FMA),
    _FIXED, _MAGIC.with_(pipeline=1),
]


@pytest.mark.parametrize("config", RESET_CONFIGS, ids=lambda c: c.name)
def test_random_resets_during_stalls(config):
    seed = sum(map(ord, config.name))
    ops = _operands(config, 120 * config.lanes, seed)
    # Pulses while a result is held by a stalling sink (the pipeline is then full)...
    stalled = simulate(config, ops, in_gap=0.2, out_stall=0.5, reset_rate=0.15, max_resets=6,
                       reset_during_stall=True, seed=seed)
    assert stalled.resets >= 3 and stalled.dropped > 0, stalled
    assert stalled.results > 0 and stalled.stalled_offers > 0
    # ...and anywhere, amid gaps and stalls, including pulses of a single cycle.
    anywhere = simulate(config, ops, in_gap=0.3, out_stall=0.3, reset_rate=0.03, max_resets=6,
                        reset_cycles=(1, 2), seed=seed + 1)
    assert anywhere.resets >= 2, anywhere
    assert anywhere.results > 0


class _IgnoresReset(Harness):
    """A faulty unit: the reset never reaches it, so a pulse does not empty the pipeline."""
    def elaborate(self, platform):
        from amaranth.hdl import ClockDomain, Module
        m = Module()
        m.domains.sync = ClockDomain("sync")    # its rst left undriven
        m.submodules.unit = self.unit
        return m


def test_reset_checker_catches_a_unit_that_ignores_reset():
    """Negative control: a unit whose pipeline a reset does not empty fails the checks."""
    config = _RSQRT.with_(lanes=1)
    ops = _operands(config, 200, 3)
    with pytest.raises(AssertionError, match="right after a reset|no payload in flight|stale|differs"):
        simulate(config, ops, in_gap=0.0, out_stall=0.5, reset_rate=0.2, max_resets=4,
                 reset_during_stall=True, seed=3, harness=_IgnoresReset)


# ---------------------------------------------------------------------------------------------
# (b) X-propagation after reset, four-state, in Icarus Verilog.

X_CONFIGS = [
    Config("bf16"),                                          # table seed (ROM read register)
    Config("e5m6", seed="magic", newton=2, pipeline=0),
    _mid(Config("fp16", function="isrlu")),
    Config("bf16", function="isru-grad", runtime_alpha=True, lanes=2),
    Config("bf16", function="fma", lanes=2), Config("bf16", function="fma", pipeline=0),
    Config("q4.12", function="isru"), Config("q4.12"),       # fixed point: out_flag too
]

# Control word of one testbench cycle (ctrl.hex): bit 0 rst, bit 1 source idle, bit 2 sink
# ready, bit 3 drive in_valid, out_ready and the operands x.
RST, IDLE, READY, XMODE = 1, 2, 4, 8


def _icarus():
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        pytest.skip("Icarus Verilog (iverilog, vvp) is not installed")


def _strip_initial(text):
    """Register initial values removed from Verilog text: ``initial begin ... end`` blocks and
    ``reg ... = value;`` initialisers (fallback for an export without ``init=False``)."""
    text = re.sub(r"^\s*initial\s+begin\b.*?^\s*end\b[^\n]*\n", "", text,
                  flags=re.MULTILINE | re.DOTALL)
    text = re.sub(r"^(\s*reg\b[^;=]*?)\s*=\s*[^;]+;", r"\1;", text, flags=re.MULTILINE)
    return text


def no_init_verilog(config):
    """The exported Verilog of ``config`` without register initial values."""
    from hw.emit.core import verilog_text
    from hw.emit.accuracy import core_accuracy
    accuracy = core_accuracy(config, samples=256)       # stated in the header only
    try:
        text = verilog_text(config, init=False, accuracy=accuracy)
    except TypeError:       # an export without the option: strip the initial values ourselves
        text = _strip_initial(verilog_text(config, accuracy=accuracy))
    code = re.sub(r"//[^\n]*", "", text)
    assert not re.search(r"\binitial\b", code), "register initial values left in the Verilog"
    assert not re.search(r"^\s*reg\b[^;]*=", code, re.MULTILINE), "reg initialiser left"
    return text


def _schedule(rng, cycles, resets, initial_reset=True, last_pulse=None):
    """Per-cycle control words: 3 cycles of x, a 1-2 cycle reset (inputs x), then random gaps
    and stalls, with ``resets`` further pulses, each in the middle of a sink stall, starting
    between cycle 30 and ``last_pulse`` (while payloads are still streaming)."""
    words = [XMODE] * 3 + ([XMODE | RST] * int(rng.integers(1, 3)) if initial_reset else [])
    last_pulse = cycles - 30 if last_pulse is None else last_pulse
    pulses = sorted(rng.choice(np.arange(30, last_pulse), resets, replace=False).tolist()) \
        if resets else []
    while len(words) < cycles:
        if pulses and len(words) >= pulses[0]:
            pulses.pop(0)
            words += [IDLE if rng.random() < 0.3 else 0 for _ in range(int(rng.integers(1, 8)))]
            words += [XMODE | RST] * int(rng.integers(1, 4))            # reset mid-stall
            words += [IDLE if rng.random() < 0.3 else 0 for _ in range(int(rng.integers(0, 4)))]
            continue
        word = 0
        if rng.random() < 0.3:
            word |= IDLE
        if rng.random() >= 0.35:
            word |= READY
        words.append(word)
    return words


def _hex(values, width):
    digits = max(1, (width + 3) // 4)
    return "\n".join(f"{int(v):0{digits}x}" for v in values) + "\n"


def _pack(columns, width):
    """(payloads, lanes) array -> list of packed payload ints (lane i at bits [i*W +: W])."""
    return [sum(int(v) << (i * width) for i, v in enumerate(row)) for row in columns]


def _testbench(config, top, operands, payloads, cycles, latency, initial_reset=True):
    lanes, w_in, w_out = config.lanes, config.in_width, config.out_width
    xw, yw = lanes * w_in, lanes * w_out
    flag = not config.is_float
    decl = "\n".join(f"  reg [{xw - 1}:0] in_{n};\n  reg [{xw - 1}:0] mem_{n} [0:{payloads - 1}];"
                     for n in operands)
    load = "\n".join(f'    $readmemh("{n}.hex", mem_{n});' for n in operands)
    drive_x = "\n".join(f"        in_{n} = {{{xw}{{1'bx}}}};" for n in operands)
    drive = "\n".join(f"        in_{n} = offering ? mem_{n}[sent] : {{{xw}{{1'bx}}}};" for n in operands)
    ports = ", ".join([".clk(clk)", ".rst(rst)", ".in_valid(in_valid)", ".in_ready(in_ready)"]
                      + [f".in_{n}(in_{n})" for n in operands]
                      + [".out_valid(out_valid)", ".out_ready(out_ready)", ".out_y(out_y)"]
                      + ([".out_flag(out_flag)"] if flag else []))
    flag_decl = f"  wire [{lanes - 1}:0] out_flag;" if flag else f"  wire [{lanes - 1}:0] out_flag = {lanes}'b0;"
    flag_x = "(^out_flag === 1'bx)" if flag else "1'b0"
    return f"""`timescale 1ns/1ps
module tb;
  localparam NP = {payloads}, NC = {cycles}, LAT = {latency}, DRAIN = {latency + 8};
  localparam TAIL = {4 * (payloads + latency) + 100};
  reg clk = 1'b0;
  always #5 clk = ~clk;
  reg rst = 1'b0;
  reg in_valid = 1'bx;
  reg out_ready = 1'bx;
{decl}
  wire in_ready, out_valid;
  wire [{yw - 1}:0] out_y;
{flag_decl}
  {top} dut({ports});
  reg [3:0] ctrl [0:NC-1];
  integer acc [0:NP-1];
  integer cycle, sent, pending, errors, f, idle_cycles, resets, dropped, xdata;
  reg offering, held, started;
  reg [{yw - 1}:0] held_y;
  reg [3:0] k;
  task error(input [8*96-1:0] what);
    begin
      errors = errors + 1;
      if (errors <= 20)
        $display("ERROR cycle %0d: %0s (out_valid=%b in_ready=%b out_y=%h out_flag=%b)",
                 cycle, what, out_valid, in_ready, out_y, out_flag);
    end
  endtask
  initial begin
    $readmemh("ctrl.hex", ctrl);
{load}
    f = $fopen("events.txt", "w");
    sent = 0; pending = 0; errors = 0; offering = 0; held = 0; idle_cycles = 0; resets = 0;
    dropped = 0; xdata = 0;
    started = {0 if initial_reset else 1};
    for (cycle = 0; cycle < NC + TAIL && idle_cycles < DRAIN; cycle = cycle + 1) begin
      @(negedge clk);
      k = cycle < NC ? ctrl[cycle] : 4'd{READY};
      rst = k[0];
      if (k[3]) begin
        in_valid = 1'bx;
        out_ready = 1'bx;
{drive_x}
      end else begin
        if (!offering && sent < NP && !k[1]) offering = 1;
        in_valid = offering;
        out_ready = k[2];
{drive}
      end
      #1;
      if (k[0]) begin
        // A reset pulse: whatever is in flight or offered is dropped (re-offered after it).
        dropped = dropped + pending;
        offering = 0; pending = 0; held = 0; started = 1;
        if (cycle == 0 || ctrl[cycle - 1][0] == 1'b0) begin
          resets = resets + 1;
          $fdisplay(f, "R %0d", cycle);
        end
      end else if (started && !k[3]) begin
        if (^in_ready === 1'bx) error("in_ready is x after reset");
        if (^out_valid === 1'bx) error("out_valid is x after reset");
        else if (!out_valid && ^out_y === 1'bx) xdata = xdata + 1;   // x where allowed
        else if (out_valid) begin
          if (^out_y === 1'bx) error("out_y has x bits while out_valid is 1");
          if ({flag_x}) error("out_flag has x bits while out_valid is 1");
          if (pending == 0) error("out_valid with no payload in flight (stale result)");
          else if (cycle - acc[sent - pending] < LAT) error("result before the stated latency (stale)");
          if (held && out_y !== held_y) error("out_y changed while stalled");
          if (out_ready === 1'b1) begin
            $fdisplay(f, "O %h %b", out_y, out_flag);
            pending = pending - 1;
            held = 0;
          end else begin
            held = 1;
            held_y = out_y;
          end
        end else if (held) error("out_valid dropped before a stalled result was taken");
        if (offering && in_ready === 1'b1) begin
          acc[sent] = cycle;
          $fdisplay(f, "I %0d", sent);
          sent = sent + 1;
          pending = pending + 1;
          offering = 0;
        end
      end
      if (cycle >= NC && sent == NP && pending == 0 && !offering) idle_cycles = idle_cycles + 1;
      @(posedge clk);
    end
    $fclose(f);
    $display("DONE errors=%0d sent=%0d pending=%0d resets=%0d cycles=%0d dropped=%0d xdata=%0d",
             errors, sent, pending, resets, cycle, dropped, xdata);
    $finish;
  end
endmodule
"""


def run_xprop(config, tmp_path, *, payloads=150, cycles=None, resets=5, seed=1, initial_reset=True):
    """Simulate ``config``'s --no-init Verilog in Icarus under the testbench above. Returns
    ``(summary, errors, results)``: the DONE line's numbers, the testbench's ERROR lines, and
    per result ``(payload index, y, flags)`` after checking each against the golden model."""
    from hw.rtl.top import unit_latency
    top = config.name
    latency = unit_latency(config)
    rng = np.random.default_rng(seed)
    operands = list(config.operands)
    ops = _operands(config, payloads * config.lanes, seed)
    want_y, want_flag = golden_payloads(config, ops)
    (tmp_path / f"{top}.v").write_text(no_init_verilog(config))
    for name in operands:
        packed = _pack(ops[name].reshape(-1, config.lanes), config.in_width)
        (tmp_path / f"{name}.hex").write_text(_hex(packed, config.lanes * config.in_width))
    # About 0.45 payloads a cycle get through the random gaps and stalls: the pulses fall in the
    # first half of the stream, and the schedule ends after it (the tail drains the rest).
    cycles = 2 * payloads if cycles is None else cycles
    words = _schedule(rng, cycles, resets, initial_reset, last_pulse=max(31, payloads))
    (tmp_path / "ctrl.hex").write_text(_hex(words, 4))
    (tmp_path / "tb.v").write_text(_testbench(config, top, operands, payloads, len(words), latency,
                                              initial_reset))
    compiled = subprocess.run(["iverilog", "-g2005", "-o", "tb.vvp", "-s", "tb", "tb.v", f"{top}.v"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    ran = subprocess.run(["vvp", "-n", "tb.vvp"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    done = re.search(r"DONE errors=(\d+) sent=(\d+) pending=(\d+) resets=(\d+) cycles=(\d+) "
                     r"dropped=(\d+) xdata=(\d+)", ran.stdout)
    assert done, ran.stdout + ran.stderr
    summary = dict(zip(("errors", "sent", "pending", "resets", "cycles", "dropped", "xdata"),
                       map(int, done.groups())))
    errors = [line for line in ran.stdout.splitlines() if line.startswith("ERROR")]
    # Replay the events: a reset drops the payloads in flight; results leave in order.
    results, fifo = [], []
    for line in (tmp_path / "events.txt").read_text().splitlines():
        kind, *rest = line.split()
        if kind == "I":
            fifo.append(int(rest[0]))
        elif kind == "R":
            fifo.clear()
        elif kind == "O" and not errors:
            assert fifo, f"{top}: result {line!r} with no payload in flight"
            index = fifo.pop(0)
            y = int(rest[0], 16)
            lanes_y = [(y >> (i * config.out_width)) & ((1 << config.out_width) - 1)
                       for i in range(config.lanes)]
            flags = [int(b) for b in reversed(rest[1])][:config.lanes]
            assert lanes_y == want_y[index].tolist(), (
                f"{top}: payload #{index} " + " ".join(
                    f"{n}={[hex(int(v)) for v in ops[n].reshape(-1, config.lanes)[index]]}"
                    for n in operands)
                + f": got {[hex(v) for v in lanes_y]}, golden {[hex(int(v)) for v in want_y[index]]}")
            if want_flag is not None:
                assert flags == want_flag[index].astype(int).tolist(), (top, index, flags)
            results.append((index, lanes_y, flags))
    return summary, errors, results


@pytest.mark.parametrize("config", X_CONFIGS, ids=lambda c: c.name)
def test_no_x_after_reset(config, tmp_path):
    _icarus()
    summary, errors, results = run_xprop(config, tmp_path, seed=sum(map(ord, config.name)))
    assert not errors, f"{config.name}: {summary['errors']} X/protocol errors:\n" + "\n".join(errors)
    assert summary["sent"] == 150 and summary["pending"] == 0, summary
    assert summary["resets"] >= 5, summary          # the initial pulse and the mid-stream ones
    assert summary["dropped"] > 0, summary          # some pulses hit payloads in flight
    # The datapath really holds x (no initial values, reset-less registers, x data while idle):
    # out_y shows x bits while out_valid is low, and never while it is high.
    assert summary["xdata"] > 0, summary
    # Results after the last reset are complete: every payload from there on came out.
    assert results and results[-1][0] == 149
    # A pulse drops at most what the pipeline holds (latency + 1 payloads); everything else is out.
    from hw.rtl.top import unit_latency
    assert len(results) >= 150 - summary["resets"] * (unit_latency(config) + 1), (len(results), summary)


def test_x_checker_sees_uninitialised_registers(tmp_path):
    """Negative control: without the initial reset the --no-init registers are x, and the
    testbench must report it (else it could not see x at all)."""
    _icarus()
    summary, errors, _ = run_xprop(Config("bf16"), tmp_path, payloads=20, cycles=120, resets=0,
                                   initial_reset=False)
    assert any("out_valid is x" in line for line in errors), errors or summary
