"""The whole board top in Amaranth's simulator, driven by the real host client
(:class:`fpga.client.Board`) through a simulated serial link, on 8-bit formats (256 self-test
vectors) for every kind of operand set: rsqrt, fixed point with flags, a backward activation
with runtime alpha (three operands) and the FMA. The cocotb co-simulation of the exported
Verilog (``sim/test_board.py``) covers the 16-bit default with the UART errors."""
import gc
import queue
import threading
from collections import deque

import numpy as np
import pytest
from amaranth.sim import Simulator

from fpga.client import Board, DeviceError
from fpga.protocol import Command, ErrorCode, config_hash, encode_frame
from fpga.selftest import golden_selftest_crc
from fpga.top import BoardTop
from golden.eval import evaluate
from hw.config import Config
pass

CLK_HZ = 1e6
BAUD = 250_000          # 4 cycles per bit
TIMEOUT_S = 2e-4        # 200 cycles: the parser's inter-byte timeout
LINK_TIMEOUT_S = 0.02   # the client's timeout, in simulated seconds
DEPTH = 64              # buffer: several LOAD/RUN/READ chunks


class TxDecoder:
    """Decodes the board's ``uart_tx`` line, one sample per cycle, sampling mid-bit."""
    def __init__(self, divisor):
        self.divisor, self.count, self.byte = divisor, None, 0

    def sample(self, level):
        if self.count is None:
            if not level:
                self.count, self.byte = 0, 0
            return None
        self.count += 1
        offset = self.count - self.divisor // 2
        if offset % self.divisor:
            return None
        bit = offset // self.divisor
        if bit == 0:
            assert not level, "start bit not low in its middle"
        elif bit <= 8:
            self.byte |= level << (bit - 1)
        else:
            assert level, "stop bit not high"
            self.count = None
            return self.byte
        return None


class SimLink:
    """A transport (``read``/``write``/``timeout``) to ``top`` running in Amaranth's simulator
    in another thread, in lockstep: simulated time advances only inside ``read``/``write``, and
    ``read`` times out after ``timeout`` simulated seconds."""
    def __init__(self, top, timeout=LINK_TIMEOUT_S):
        self.top, self.timeout = top, timeout
        self._requests, self._replies = queue.Queue(), queue.Queue()
        self._thread = threading.Thread(target=self._simulate, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._requests.put(None)
        self._thread.join(timeout=60)

    def write(self, data):
        return self._call("write", bytes(data))

    def read(self, count):
        return self._call("read", count)

    def leds(self):
        return self._call("leds", None)

    def _call(self, kind, argument):
        self._requests.put((kind, argument))
        reply = self._replies.get(timeout=600)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def _simulate(self):
        sim = Simulator(self.top)
        sim.add_clock(1 / self.top.clk_freq)
        sim.add_testbench(self._bench)
        try:
            sim.run()
        except BaseException as error:          # hand it to the waiting caller
            self._replies.put(error)

    async def _bench(self, ctx):
        top, divisor = self.top, self.top.divisor
        line, received = deque(), bytearray()
        decoder = TxDecoder(divisor)

        async def step():
            ctx.set(top.uart_rx, line.popleft() if line else 1)
            await ctx.tick()
            byte = decoder.sample(ctx.get(top.uart_tx))
            if byte is not None:
                received.append(byte)

        while (request := self._requests.get()) is not None:
            kind, argument = request
            if kind == "write":
                for byte in argument:
                    for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
                        line.extend([bit] * divisor)
                while line:
                    await step()
                reply = None
            elif kind == "read":
                for _ in range(round(self.timeout * top.clk_freq)):
                    if len(received) >= argument:
                        break
                    await step()
                reply = bytes(received[:argument])
                del received[:argument]
            else:
                reply = {name: ctx.get(getattr(top, f"led_{name}"))
                         for name in ("busy", "pass", "fail")}
            self._replies.put(reply)


def random_operands(config, rng):
    """One operand: every x of the 8-bit format. More (slower to send): every third x, the other
    operands random (alpha: positive normal floats)."""
    width = config.in_width
    names = config.operands
    x = np.arange(0, 1 << width, 1 if len(names) == 1 else 3, dtype=np.uint64)
    operands = {}
    for name in names:
        if name in ("x", "a"):
            operands[name] = x
        elif name == "alpha":
            operands[name] = rng.integers(0x08, 0x70, x.size, dtype=np.uint64)
        else:
            operands[name] = rng.integers(0, 1 << width, x.size, dtype=np.uint64)
    return operands


CONFIGS = [Config("e4m3"), Config("q3.5", newton=1),
           Config("e4m3", function="isru-grad", runtime_alpha=True, newton=0),
           Config("e5m2", function="fma")]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.name)
def test_board_top_with_client(config):
    """Power-on self-test lights the pass LED; INFO describes the unit; SELFTEST gives the
    golden CRC at one vector per cycle; the inputs (more than the buffer: several chunks)
    compute bit-exactly at one per cycle; the latency is the unit's."""
    top = BoardTop(config, clk_freq=CLK_HZ, baud=BAUD, depth=DEPTH, timeout=TIMEOUT_S)
    golden_crc = golden_selftest_crc(config)
    with SimLink(top) as link:
        board = Board(link)
        info = board.info()
        assert link.leds() == {"busy": 0, "pass": 1, "fail": 0}
        assert (info.function, info.in_width, info.out_width, info.has_flag, info.depth) == \
            (config.function, config.in_width, config.out_width, not config.is_float, DEPTH)
        assert info.latency == top.unit.latency
        assert info.config_hash == config_hash(config)
        assert info.selftest_crc == golden_crc and info.selftest_vectors == 256
        board.check_configuration(config)
        reply = board.selftest()
        assert reply.crc == golden_crc and reply.passed and reply.vectors == 256
        assert reply.cycles == 256 + info.latency + 2, "the self-test is not one vector a cycle"
        operands = random_operands(config, np.random.default_rng(5))
        result = board.compute(operands)
        y, flag = evaluate(config, **operands)
        assert np.array_equal(result.y, y)
        if flag is not None:
            assert np.array_equal(result.flag, flag)
        runs = -(-y.size // DEPTH)
        assert result.cycles == y.size + runs * (info.latency + 2)    # one operand set a cycle


def test_board_top_errors_and_recovery():
    """Bad frames get one error reply each, and the top keeps working."""
    config = Config("e4m3")
    top = BoardTop(config, clk_freq=CLK_HZ, baud=BAUD, depth=16, timeout=TIMEOUT_S, post=False)
    with SimLink(top) as link:
        board = Board(link)
        assert link.leds() == {"busy": 0, "pass": 0, "fail": 0}      # no power-on self-test
        with pytest.raises(DeviceError, match="BAD_RANGE") as error:
            board.run(10, 7)
        assert error.value.code == ErrorCode.BAD_RANGE and error.value.command == Command.RUN
        frame = encode_frame(Command.READ, b"\x00\x00\x01\x00")
        board.send(frame[:-1] + bytes([frame[-1] ^ 0xFF]))
        with pytest.raises(DeviceError, match="BAD_CRC"):
            board.reply(Command.READ)
        board.send(encode_frame(Command.INFO)[:3])
        with pytest.raises(DeviceError, match="TIMEOUT"):
            board.reply(Command.INFO)
        assert board.info().depth == 16


def test_selftest_mismatch_lights_fail():
    """A top whose baked-in CRC is wrong shows the fail LED and reports ``passed = 0``."""
    config = Config("e4m3")
    top = BoardTop(config, clk_freq=CLK_HZ, baud=BAUD, depth=16, timeout=TIMEOUT_S)
    top.expected_crc ^= 1
    with SimLink(top) as link:
        reply = Board(link).selftest()
        assert reply.crc == golden_selftest_crc(config) and not reply.passed
        assert link.leds() == {"busy": 0, "pass": 0, "fail": 1}

@pytest.mark.filterwarnings("ignore:.*created but never used")
def test_board_top_parameter_errors():
    good = dict(clk_freq=CLK_HZ, baud=BAUD, timeout=TIMEOUT_S)
    with pytest.raises(ValueError, match="the board top takes one lane, not lanes=2"):
        BoardTop(Config("bf16", lanes=2), **good)
    with pytest.raises(ValueError, match="depth must be an integer in 16..4096, not 8"):
        BoardTop(Config("bf16"), depth=8, **good)
    with pytest.raises(ValueError, match=r"timeout 5e-05 s is 50 cycles; it must be longer than 3 "
                                         r"byte times \(120 cycles"):
        BoardTop(Config("bf16"), clk_freq=CLK_HZ, baud=BAUD, timeout=5e-5)
    with pytest.raises(ValueError, match="baud 400000 is too fast for clk_freq 1e\\+06 Hz"):
        BoardTop(Config("bf16"), clk_freq=CLK_HZ, baud=400_000, timeout=TIMEOUT_S)
    gc.collect()                    # the half-built tops warn here, not in another test
