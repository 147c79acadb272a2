"""cocotb testbench of the exported board top (runs inside the simulator; started by
:mod:`sim.board`).

The DUT has the ports ``clk``, ``rst``, ``uart_rx``, ``uart_tx``, ``led_busy``, ``led_pass``,
``led_fail``. :class:`UartLink` drives ``uart_rx`` and decodes ``uart_tx`` at the job's
``divisor`` cycles per bit; :class:`SimTransport` gives the host client (:mod:`fpga.client`)
that link as its serial port: the client runs in a :func:`cocotb.task.bridge` thread and every
``read``/``write`` resumes the simulation (:func:`cocotb.task.resume`), so simulated time
passes only while the client waits for the board, and its timeouts are simulated seconds at
``clk_hz``.

Each cocotb test is one scenario; it writes ``results.json`` into the job's ``out_dir``. The job
file (environment variable ``BOARD_SIM_JOB``) holds ``clk_hz``, ``divisor``, ``config_flags``,
``latency``, ``selftest_vectors`` and the scenario's inputs.
"""
import contextlib
import io
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

import cocotb
from cocotb.task import bridge, resume
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import Event, FallingEdge, First, Timer

from fpga.client import Board, DeviceError, main as client_main
from fpga.protocol import Command, encode_frame

JOB_ENV = "BOARD_SIM_JOB"
PERIOD_STEPS = 2                # clock period in simulator steps
LINK_TIMEOUT = 0.5              # the client's timeout, simulated seconds


def load_job():
    path = os.environ.get(JOB_ENV)
    if not path:
        raise RuntimeError(f"{JOB_ENV} is not set: run this testbench through sim.board")
    return json.loads(Path(path).read_text())


def save_results(job, results):
    (Path(job["out_dir"]) / "results.json").write_text(json.dumps(results, indent=1))


class UartLink:
    """The host's side of the board's UART pins: ``send`` drives ``uart_rx``; ``monitor`` (a
    background task) decodes ``uart_tx`` mid-bit into ``received``."""
    def __init__(self, dut, divisor, clk_hz):
        self.dut, self.clk_hz = dut, clk_hz
        self.bit = divisor * PERIOD_STEPS
        self.received = bytearray()
        self.framing_errors = 0
        self.event = Event()

    async def send(self, data, stop_bit=1):
        for byte in data:
            for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [stop_bit]:
                self.dut.uart_rx.value = bit
                await Timer(self.bit, "step")
        self.dut.uart_rx.value = 1

    async def receive(self, count, timeout):
        """Up to ``count`` bytes, waiting at most ``timeout`` simulated seconds."""
        end = get_sim_time("step") + round(timeout * self.clk_hz) * PERIOD_STEPS
        while len(self.received) < count:
            remaining = end - get_sim_time("step")
            if remaining <= 0:
                break
            self.event.clear()
            await First(self.event.wait(), Timer(remaining, "step"))
        data = bytes(self.received[:count])
        del self.received[:count]
        return data

    async def monitor(self):
        tx = self.dut.uart_tx
        while True:
            await FallingEdge(tx)
            await Timer(self.bit // 2 + 1, "step")       # mid start bit, between clock edges
            if int(tx.value):
                continue
            byte = 0
            for i in range(8):
                await Timer(self.bit, "step")
                byte |= int(tx.value) << i
            await Timer(self.bit, "step")
            if not int(tx.value):
                self.framing_errors += 1
                continue
            self.received.append(byte)
            self.event.set()


class SimTransport:
    """``read``/``write``/``timeout`` for :class:`fpga.client.Board`, from a bridge thread."""
    def __init__(self, link, timeout=LINK_TIMEOUT):
        self.timeout = timeout
        self._send = resume(link.send)
        self._receive = resume(link.receive)

    def write(self, data):
        self._send(bytes(data))

    def read(self, count):
        return self._receive(count, self.timeout)


async def start(dut):
    """Clock, reset, the UART monitor; returns ``(job, link)``."""
    job = load_job()
    Clock(dut.clk, PERIOD_STEPS, unit="step").start(start_high=False)
    dut.uart_rx.value = 1
    dut.rst.value = 1
    await Timer(4 * PERIOD_STEPS, "step")
    dut.rst.value = 0
    link = UartLink(dut, job["divisor"], job["clk_hz"])
    cocotb.start_soon(link.monitor())
    return job, link


def run_cli(arguments, transport):
    """``python -m fpga.client ARGUMENTS`` on ``transport``: ``(exit status, output)``."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        status = client_main(arguments, transport=transport)
    return status, out.getvalue()


@cocotb.test()
async def info(dut):
    """INFO through the client API and through the command line."""
    job, link = await start(dut)

    def scenario():
        transport = SimTransport(link)
        status, text = run_cli(job["config_flags"] + ["info"], transport)
        return {"info": asdict(Board(transport).info()), "cli_status": status, "cli_output": text}

    results = await bridge(scenario)()
    save_results(job, results)


@cocotb.test()
async def roundtrip(dut):
    """``run --in ... --out ... --check`` on the job's operands (more than the buffer holds)."""
    job, link = await start(dut)
    out_dir = Path(job["out_dir"])
    flags = {"x": "--in", "a": "--in", "grad": "--grad", "alpha": "--alpha-bits", "b": "--b",
             "c": "--c"}
    arguments = job["config_flags"] + ["run", "--out", str(out_dir / "y.npy"), "--check"]
    for name, values in job["operands"].items():
        np.save(out_dir / f"{name}.npy", np.array(values, dtype=np.uint64))
        arguments += [flags[name], str(out_dir / f"{name}.npy")]

    def scenario():
        return run_cli(arguments, SimTransport(link))

    status, text = await bridge(scenario)()
    results = {"cli_status": status, "cli_output": text}
    if status in (0, 1):
        results["y"] = np.load(out_dir / "y.npy").tolist()
        if (out_dir / "y.flag.npy").is_file():
            results["flag"] = np.load(out_dir / "y.flag.npy").tolist()
    save_results(job, results)


@cocotb.test()
async def selftest(dut):
    """The power-on self-test's LEDs, then ``selftest`` on the command line (the job's flags,
    then a different configuration's), then the raw SELFTEST reply."""
    job, link = await start(dut)
    await Timer(10 * PERIOD_STEPS, "step")
    busy_after_reset = int(dut.led_busy.value)
    while int(dut.led_busy.value):
        await Timer(1000 * PERIOD_STEPS, "step")
    leds = {name: int(getattr(dut, f"led_{name}").value) for name in ("busy", "pass", "fail")}

    def scenario():
        transport = SimTransport(link)
        status, text = run_cli(job["config_flags"] + ["selftest"], transport)
        wrong_status, wrong_text = run_cli(job["other_config_flags"] + ["selftest"], transport)
        reply = Board(transport).selftest()
        return {"cli_status": status, "cli_output": text, "wrong_status": wrong_status,
                "wrong_output": wrong_text, "reply": asdict(reply)}

    results = await bridge(scenario)()
    results.update(busy_after_reset=busy_after_reset, leds_after_post=leds)
    save_results(job, results)


@cocotb.test()
async def bad_frames(dut):
    """Every kind of bad frame gets one error reply, and a good frame works after each."""
    job, link = await start(dut)
    send_bad_stop = resume(link.send)

    def scenario():
        board = Board(SimTransport(link))
        errors = {}

        def expect_error(name, command, data=None, after=None):
            if data is not None:
                board.send(data)
            if after is not None:
                after()
            try:
                board.reply(command)
            except DeviceError as error:
                errors[name] = [int(error.code), int(error.command)]
            else:
                errors[name] = None
            errors[name + "_then_info"] = board.request(Command.INFO) is not None

        info = encode_frame(Command.INFO)
        expect_error("bad_crc", Command.INFO, info[:-2] + bytes([info[-2] ^ 1, info[-1]]))
        expect_error("truncated", Command.RUN, encode_frame(Command.RUN, b"\x00\x00\x01\x00")[:5])
        expect_error("unknown", 0x42, encode_frame(0x42))
        expect_error("bad_length", Command.RUN, encode_frame(Command.RUN, b"\x00\x00\x01"))
        expect_error("bad_range", Command.READ, encode_frame(Command.READ, b"\xfa\x00\x10\x00"))
        expect_error("framing", Command.RUN, encode_frame(Command.RUN, b"\x00\x00\x01\x00")[:3],
                     after=lambda: send_bad_stop(b"\x55", 0))
        board.send(b"\x00\xff\x13")                      # noise before a frame is skipped
        garbage_then_info = board.request(Command.INFO) is not None
        board.load(0, [np.array([0x3F80, 0x4080], dtype=np.uint64)])
        board.run(0, 2)
        y, _ = board.read(0, 2)
        return {"errors": errors, "garbage_then_info": garbage_then_info, "y": y.tolist(),
                "leftover": len(link.received), "framing_errors_seen": link.framing_errors}

    results = await bridge(scenario)()
    save_results(job, results)
