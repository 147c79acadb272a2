"""The frame parser and sender of the board top in Amaranth's simulator: good frames of every
command, LOAD's record writes, every error code, the inter-byte timeout and recovery."""
import struct

import pytest
from amaranth.sim import Simulator

from fpga.parser import FrameParser
from fpga.protocol import SOF, Command, ErrorCode, crc16, decode_frame, encode_frame
from fpga.sender import FrameSender

TIMEOUT = 60
GAP = 3          # cycles between received bytes
DEPTH = 16


def parse(chunks, operands=2, width=12):
    """Feed ``chunks`` (bytes, then ``quiet`` cycles of silence) to a parser; returns the events:
    ``("cmd", cmd, start, count)`` / ``("err", code, cmd)``, and the record writes."""
    dut = FrameParser(operands=operands, width=width, depth=DEPTH, timeout=TIMEOUT)
    events, writes = [], []

    async def bench(ctx):
        async def cycle():
            await ctx.tick()
            if ctx.get(dut.wr_en):
                writes.append((ctx.get(dut.wr_addr), ctx.get(dut.wr_data)))
            if ctx.get(dut.cmd_valid):
                events.append(("cmd", ctx.get(dut.cmd), ctx.get(dut.start), ctx.get(dut.count)))
            elif ctx.get(dut.err_valid):
                events.append(("err", ErrorCode(ctx.get(dut.err_code)), ctx.get(dut.cmd)))
            else:
                return
            ctx.set(dut.done, 1)            # the reply is "sent" at once
            await ctx.tick()
            ctx.set(dut.done, 0)

        for data, quiet in chunks:
            for value in data:
                if value is None:           # a byte with a framing error
                    ctx.set(dut.rx_error, 1)
                else:
                    ctx.set(dut.rx_data, value)
                    ctx.set(dut.rx_valid, 1)
                await cycle()
                ctx.set(dut.rx_valid, 0)
                ctx.set(dut.rx_error, 0)
                for _ in range(GAP):
                    await cycle()
            for _ in range(quiet):
                await cycle()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return events, writes


def args(start, count):
    return struct.pack("<HH", start, count)


def test_good_frames_of_every_command():
    records = [(0x123, 0xABC), (0xFFF, 0x001), (0x800, 0x7FF)]
    payload = args(5, 3) + b"".join(struct.pack("<HH", a, b) for a, b in records)
    frames = [encode_frame(Command.INFO), encode_frame(Command.LOAD, payload),
              encode_frame(Command.RUN, args(5, 3)), encode_frame(Command.READ, args(0, 16)),
              encode_frame(Command.SELFTEST)]
    events, writes = parse([(b"\x00\x13" + frame, 10) for frame in frames])
    assert [event[:2] for event in events] == [("cmd", command) for command in Command]
    assert events[1:4] == [("cmd", Command.LOAD, 5, 3), ("cmd", Command.RUN, 5, 3),
                           ("cmd", Command.READ, 0, 16)]
    assert writes == [(5 + i, a | b << 12) for i, (a, b) in enumerate(records)]


def with_crc(body):
    return bytes([SOF]) + body + struct.pack("<H", crc16(body))


@pytest.mark.parametrize("frame, code", [
    (encode_frame(Command.INFO)[:-1] + b"\x00", ErrorCode.BAD_CRC),
    (with_crc(b"\x09\x00\x00"), ErrorCode.UNKNOWN_COMMAND),
    (with_crc(b"\x01\x01\x00\x00"), ErrorCode.BAD_LENGTH),                 # INFO with a payload
    (with_crc(b"\x03\x03\x00" + args(0, 1)[:3]), ErrorCode.BAD_LENGTH),    # RUN, 3 argument bytes
    (encode_frame(Command.LOAD, args(0, 2) + bytes(4)), ErrorCode.BAD_LENGTH),  # 1 record, count 2
    (encode_frame(Command.RUN, args(0, 0)), ErrorCode.BAD_RANGE),
    (encode_frame(Command.READ, args(10, DEPTH - 9)), ErrorCode.BAD_RANGE),
    (encode_frame(Command.LOAD, args(DEPTH - 1, 2) + bytes(8)), ErrorCode.BAD_RANGE),
], ids=["crc", "unknown", "info-length", "run-length", "load-length", "count-0", "read-range",
        "load-range"])
def test_bad_frames_get_one_error_then_recover(frame, code):
    """Each bad frame gives exactly one error (after the line is quiet), writes nothing, and the
    next good frame is parsed."""
    events, writes = parse([(frame, TIMEOUT + 10), (encode_frame(Command.RUN, args(1, 2)), 10)])
    assert events == [("err", code, frame[1]), ("cmd", Command.RUN, 1, 2)]
    assert writes == []


def test_timeout_mid_frame_and_framing_error():
    frame = encode_frame(Command.RUN, args(1, 2))
    events, _ = parse([(frame[:5], TIMEOUT + 10), (frame, 10),
                       (frame[:4], 0), ([None], TIMEOUT + 10),
                       (frame, 10)])
    assert events == [("err", ErrorCode.TIMEOUT, Command.RUN), ("cmd", Command.RUN, 1, 2),
                      ("err", ErrorCode.FRAMING, Command.RUN), ("cmd", Command.RUN, 1, 2)]


def test_error_waits_for_the_line_to_be_quiet():
    """After an error, bytes that keep coming (here a long LOAD with a bad length) delay the
    single error report; nothing in them is parsed as a frame."""
    bad = encode_frame(Command.LOAD, args(0, 1) + encode_frame(Command.RUN, args(1, 2)) * 3)
    events, writes = parse([(bad, TIMEOUT + 10)])
    assert events == [("err", ErrorCode.BAD_LENGTH, Command.LOAD)] and writes == []


@pytest.mark.parametrize("payload", [b"", bytes(range(7)), bytes(300)])
def test_sender_frames(payload):
    """Frames from the sender decode to the payload, through a stalling transmitter."""
    dut = FrameSender()
    sent = []

    async def bench(ctx):
        ctx.set(dut.type, 0x83)
        ctx.set(dut.length, len(payload))
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        index = cycle = 0
        while True:
            ctx.set(dut.tx_ready, cycle % 3 == 0)
            ctx.set(dut.pl_valid, index < len(payload) and cycle % 5 != 1)
            ctx.set(dut.pl_data, payload[index] if index < len(payload) else 0)
            if ctx.get(dut.pl_valid) and ctx.get(dut.pl_ready):
                index += 1
            if ctx.get(dut.tx_valid) and ctx.get(dut.tx_ready):
                sent.append(ctx.get(dut.tx_data))
            await ctx.tick()
            cycle += 1
            if ctx.get(dut.done):
                break
            assert cycle < 10 * len(payload) + 100

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert decode_frame(bytes(sent)) == (0x83, payload)
