"""The board-independent top: UART, framed protocol, operand and result buffers, self-test and the
unit of one configuration."""
import math

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hw.rtl.top import ExportTop
from .parser import FrameParser
from .protocol import (ERROR, INFO_BYTES, REPLY, RUN_REPLY_BYTES, SELFTEST_REPLY_BYTES, Command,
                       Info, config_hash, word_bytes)
from .selftest import (SelfTest, golden_selftest_crc, selftest_constants, selftest_shift,
                       selftest_vectors)
from .sender import FrameSender
from .uart import UARTRx, UARTTx, baud_divisor

__all__ = ["BoardTop", "DEPTHS", "DEFAULT_DEPTH", "DEFAULT_TIMEOUT", "TIMEOUT_MIN_BYTES"]

DEPTHS = range(16, 4097)
DEFAULT_DEPTH = 512
DEFAULT_TIMEOUT = 0.05          # seconds of silence that end a frame
TIMEOUT_MIN_BYTES = 3           # the timeout must be longer than this many byte times


class BoardTop(wiring.Component):
    """The protocol top of one unit (``config``, one lane) for any board: the UART, the frame
    parser and sender, ``depth`` operand sets and results in block RAM, the unit
    (:class:`hw.rtl.top.ExportTop`) and the exhaustive self-test, run once after reset when
    ``post`` is set and on every SELFTEST command.

    Ports (all in the ``sync`` domain, clocked at ``clk_freq`` Hz): ``uart_rx`` (in, idle high;
    synchronized inside), ``uart_tx`` (out, idle high), ``led_busy`` (out: the self-test runs),
    ``led_pass`` / ``led_fail`` (out: the last self-test's CRC-32 equals / differs from the golden
    model's, computed at elaboration).

    Contract: one request at a time; each gets exactly one reply (:mod:`fpga.protocol`). RUN feeds
    the unit one operand set per cycle with ``out_ready`` held high and replies with the cycles
    from its first read to the last result (``count + latency + 2``). A frame that stops for
    ``timeout`` seconds is dropped with a TIMEOUT error; after any error the parser waits for
    ``timeout`` seconds of silence before it replies.
    """
    def __init__(self, config, *, clk_freq, baud, depth=DEFAULT_DEPTH, timeout=DEFAULT_TIMEOUT,
                 post=True):
        if config.lanes != 1:
            raise ValueError(f"the board top takes one lane, not lanes={config.lanes}")
        if not isinstance(depth, int) or depth not in DEPTHS:
            raise ValueError(f"depth must be an integer in {DEPTHS.start}..{DEPTHS.stop - 1}, "
                             f"not {depth!r}")
        self.config, self.clk_freq, self.baud, self.depth, self.post = \
            config, clk_freq, baud, depth, post
        self.divisor = baud_divisor(clk_freq, baud)
        self.timeout_cycles = math.ceil(timeout * clk_freq)
        shortest = TIMEOUT_MIN_BYTES * 10 * self.divisor
        if self.timeout_cycles <= shortest:
            raise ValueError(f"timeout {timeout!r} s is {self.timeout_cycles} cycles; it must be "
                             f"longer than {TIMEOUT_MIN_BYTES} byte times ({shortest} cycles, "
                             f"{shortest / clk_freq:g} s at {baud} baud)")
        if self.timeout_cycles >= 1 << 32:
            raise ValueError(f"timeout {timeout!r} s is too long: at most {(1 << 32) - 1} cycles")
        self.unit = ExportTop(config)
        self.operands = self.unit.operands
        self.result_bits = config.out_width + (0 if config.is_float else 1)
        self.result_bytes = word_bytes(self.result_bits)
        self.expected_crc = golden_selftest_crc(config)
        self.info = Info(
            function=config.function, in_width=config.in_width, out_width=config.out_width,
            has_flag=not config.is_float, runtime_alpha=config.runtime_alpha,
            operands=len(self.operands), latency=self.unit.latency, depth=depth,
            config_hash=config_hash(config), clk_hz=round(clk_freq), baud=round(baud),
            timeout_cycles=self.timeout_cycles, selftest_vectors=selftest_vectors(config),
            selftest_crc=self.expected_crc)
        super().__init__({"uart_rx": In(1, init=1), "uart_tx": Out(1, init=1),
                          "led_busy": Out(1), "led_pass": Out(1), "led_fail": Out(1)})

    def elaborate(self, platform):
        m = Module()
        config, width = self.config, self.config.in_width
        m.submodules.rx = rx = UARTRx(self.divisor)
        m.submodules.tx = tx = UARTTx(self.divisor)
        m.submodules.parser = parser = FrameParser(operands=len(self.operands), width=width,
                                                   depth=self.depth, timeout=self.timeout_cycles)
        m.submodules.sender = sender = FrameSender()
        m.submodules.unit = unit = self.unit
        m.submodules.selftest = st = SelfTest(
            in_width=width, result_bits=self.result_bits, vectors=selftest_vectors(config),
            shift=selftest_shift(config), expected=self.expected_crc)
        m.submodules.inputs = inputs = Memory(shape=len(self.operands) * width, depth=self.depth,
                                              init=[])
        m.submodules.results = results = Memory(shape=self.result_bits, depth=self.depth, init=[])
        in_wr, in_rd = inputs.write_port(), inputs.read_port()
        res_wr, res_rd = results.write_port(), results.read_port()

        m.d.comb += [
            rx.rx.eq(self.uart_rx), self.uart_tx.eq(tx.tx),
            parser.rx_data.eq(rx.data), parser.rx_valid.eq(rx.valid),
            parser.rx_error.eq(rx.error),
            in_wr.en.eq(parser.wr_en), in_wr.addr.eq(parser.wr_addr),
            in_wr.data.eq(parser.wr_data),
            tx.data.eq(sender.tx_data), tx.valid.eq(sender.tx_valid),
            sender.tx_ready.eq(tx.ready),
            self.led_busy.eq(st.busy), self.led_pass.eq(st.passed), self.led_fail.eq(st.failed),
        ]

        # The unit: fed by RUN from the operand buffer or by the self-test; results always taken.
        result = Cat(unit.out_y, unit.out_flag) if not config.is_float else unit.out_y
        selftest_mode = Signal()
        feed_valid = Signal()
        feed_addr = Signal(range(self.depth + 1))
        feed_end = Signal(range(self.depth + 1))
        feed_advance = ~feed_valid | unit.in_ready
        m.d.comb += [unit.out_ready.eq(1), in_rd.addr.eq(feed_addr), in_rd.en.eq(feed_advance),
                     st.x_ready.eq(unit.in_ready), st.y.eq(result),
                     st.y_valid.eq(unit.out_valid & selftest_mode)]
        constants = selftest_constants(config)
        with m.If(selftest_mode):
            m.d.comb += unit.in_valid.eq(st.x_valid)
            for name in self.operands:
                value = st.x if constants[name] is None else Const(constants[name], width)
                m.d.comb += getattr(unit, f"in_{name}").eq(value)
        with m.Else():
            m.d.comb += unit.in_valid.eq(feed_valid)
            for k, name in enumerate(self.operands):
                m.d.comb += getattr(unit, f"in_{name}").eq(in_rd.data[k * width:(k + 1) * width])
        with m.If(feed_advance):
            m.d.sync += feed_valid.eq(feed_addr != feed_end)
            with m.If(feed_addr != feed_end):
                m.d.sync += feed_addr.eq(feed_addr + 1)

        # Reply payload source: a shift register of bytes, refilled word by word from the results
        # (READ) or the info block (INFO), one cycle after the read address is set.
        shift_bytes = max(self.result_bytes, SELFTEST_REPLY_BYTES, RUN_REPLY_BYTES, 2)
        src = Signal(8 * shift_bytes)
        src_left = Signal(range(shift_bytes + 1))       # bytes left in `src`
        words_left = Signal(range(max(self.depth, INFO_BYTES) + 1))
        src_addr = Signal(range(max(self.depth, INFO_BYTES)))
        from_info = Signal()
        fetching = Signal()
        info_byte = Signal(8)
        info = Const(int.from_bytes(self.info.to_bytes(), "little"), 8 * INFO_BYTES)
        m.d.sync += info_byte.eq(info.word_select(src_addr[:(INFO_BYTES - 1).bit_length()], 8))
        m.d.comb += [res_rd.addr.eq(src_addr), sender.pl_data.eq(src[:8]),
                     sender.pl_valid.eq(src_left != 0)]
        with m.If(sender.pl_valid & sender.pl_ready):
            m.d.sync += [src.eq(src[8:]), src_left.eq(src_left - 1)]
        with m.If(fetching):
            m.d.sync += [fetching.eq(0), src_addr.eq(src_addr + 1),
                         words_left.eq(words_left - 1)]
            with m.If(from_info):
                m.d.sync += [src.eq(info_byte), src_left.eq(1)]
            with m.Else():
                m.d.sync += [src.eq(res_rd.data), src_left.eq(self.result_bytes)]
        with m.Elif((src_left == 0) & (words_left != 0)):
            m.d.sync += fetching.eq(1)

        # Results of RUN go to the result buffer as they come.
        res_addr = Signal(range(self.depth))
        res_left = Signal(range(self.depth + 1))
        res_none = Signal(init=1)                       # res_left == 0, registered
        run_cycles = Signal(32)
        m.d.comb += [res_wr.addr.eq(res_addr), res_wr.data.eq(result),
                     res_wr.en.eq(unit.out_valid & ~selftest_mode & ~res_none)]
        with m.If(res_wr.en):
            m.d.sync += [res_addr.eq(res_addr + 1), res_left.eq(res_left - 1),
                         res_none.eq(res_left == 1)]

        def reply(type_, length):
            m.d.comb += [sender.start.eq(1), sender.type.eq(type_), sender.length.eq(length)]
            m.next = "REPLY"

        def reply_bytes(type_, *fields):
            value = Cat(*fields)
            m.d.sync += [src.eq(value), src_left.eq(len(value) // 8)]
            reply(type_, len(value) // 8)

        with m.FSM(init="POST" if self.post else "IDLE"):
            with m.State("POST"):
                m.d.comb += st.start.eq(1)
                m.d.sync += selftest_mode.eq(1)
                m.next = "POST_WAIT"
            with m.State("POST_WAIT"):
                with m.If(st.done):
                    m.d.sync += selftest_mode.eq(0)
                    m.next = "IDLE"
            with m.State("IDLE"):
                with m.If(parser.err_valid):
                    reply_bytes(ERROR, parser.err_code, parser.cmd)
                with m.Elif(parser.cmd_valid):
                    type_ = parser.cmd | REPLY
                    with m.Switch(parser.cmd):
                        with m.Case(Command.INFO):
                            m.d.sync += [from_info.eq(1), src_addr.eq(0),
                                         words_left.eq(INFO_BYTES)]
                            reply(type_, INFO_BYTES)
                        with m.Case(Command.LOAD):
                            reply(type_, 0)
                        with m.Case(Command.RUN):
                            m.d.sync += [feed_addr.eq(parser.start),
                                         feed_end.eq(parser.start + parser.count),
                                         res_addr.eq(parser.start), res_left.eq(parser.count),
                                         res_none.eq(0), run_cycles.eq(1)]
                            m.next = "RUN"
                        with m.Case(Command.READ):
                            m.d.sync += [from_info.eq(0), src_addr.eq(parser.start),
                                         words_left.eq(parser.count)]
                            reply(type_, parser.count * self.result_bytes)
                        with m.Case(Command.SELFTEST):
                            m.d.comb += st.start.eq(1)
                            m.d.sync += selftest_mode.eq(1)
                            m.next = "SELFTEST"
            with m.State("RUN"):
                m.d.sync += run_cycles.eq(run_cycles + 1)
                with m.If(res_none):
                    reply_bytes(Command.RUN | REPLY, run_cycles)
            with m.State("SELFTEST"):
                with m.If(st.done):
                    m.d.sync += selftest_mode.eq(0)
                    reply_bytes(Command.SELFTEST | REPLY, st.crc,
                                Const(selftest_vectors(config), 32), st.cycles,
                                Cat(st.passed, Const(0, 7)))
            with m.State("REPLY"):
                with m.If(sender.done):
                    m.d.comb += parser.done.eq(1)
                    m.next = "IDLE"
        return m
