"""The request frame parser of the board top."""
from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import crc, wiring
from amaranth.lib.wiring import In, Out

from .protocol import ARG_BYTES, SOF, Command, ErrorCode, word_bytes

__all__ = ["FRAME_CRC", "FrameParser"]

FRAME_CRC = crc.catalog.CRC16_CCITT_FALSE      # protocol.crc16: binascii.crc_hqx(data, 0xFFFF)

_FIXED_LENGTH = {Command.INFO: 0, Command.SELFTEST: 0, Command.RUN: ARG_BYTES,
                 Command.READ: ARG_BYTES}


class FrameParser(wiring.Component):
    """Parses request frames (:mod:`fpga.protocol`) from received bytes.

    Ports: ``rx_data``/``rx_valid``/``rx_error`` (in: the receiver's byte strobe and framing-error
    strobe); ``cmd`` (out, 8 bits), ``start``, ``count`` (out, 16 bits: the arguments of LOAD, RUN
    and READ) with ``cmd_valid`` (out), high from a good frame's last byte until ``done``;
    ``err_code`` (out, 8 bits, an :class:`~fpga.protocol.ErrorCode`) with ``err_valid`` (out), high
    from the error report until ``done``; ``done`` (in): the reply to the command or error has been
    sent, parse the next frame; ``busy`` (out): a frame is being parsed or awaits ``done``.

    LOAD records are written as they arrive (before the checksum is known): ``wr_en`` (out, one
    cycle per record), ``wr_addr``, ``wr_data`` (the record's ``operands`` fields of ``width``
    bits, operand ``k`` at bits ``[k*width +: width]``).

    Contract: bytes that arrive while a command or error awaits ``done`` are dropped. LEN, the
    arguments (``count >= 1``, ``start + count <= depth``) and LOAD's length are checked before
    anything is written; after any error the parser ignores bytes until the line has been quiet
    for ``timeout`` cycles, then reports the error (one error report per bad frame). A frame that
    stops for ``timeout`` cycles is reported as :attr:`~fpga.protocol.ErrorCode.TIMEOUT`.
    """
    def __init__(self, *, operands, width, depth, timeout):
        for name, value, low in (("operands", operands, 1), ("width", width, 1),
                                 ("depth", depth, 1), ("timeout", timeout, 1)):
            if not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, not {value!r}")
        self.operands, self.width, self.depth, self.timeout = operands, width, depth, timeout
        self.record_bytes = operands * word_bytes(width)
        self.max_length = ARG_BYTES + depth * self.record_bytes
        if self.max_length > 0xFFFF:
            raise ValueError(f"depth {depth} of {self.record_bytes}-byte records needs LOAD frames "
                             f"of {self.max_length} bytes, more than LEN's 65535: at most "
                             f"{(0xFFFF - ARG_BYTES) // self.record_bytes}")
        super().__init__({
            "rx_data": In(8), "rx_valid": In(1), "rx_error": In(1),
            "cmd": Out(8), "start": Out(16), "count": Out(16), "cmd_valid": Out(1),
            "err_code": Out(8), "err_valid": Out(1), "done": In(1), "busy": Out(1),
            "wr_en": Out(1), "wr_addr": Out(range(depth)), "wr_data": Out(operands * width),
        })

    def elaborate(self, platform):
        m = Module()
        byte, got = self.rx_data, self.rx_valid
        m.submodules.crc = crc16 = FRAME_CRC(8).create()
        m.d.comb += crc16.data.eq(byte)
        length = Signal(16)
        left = Signal(16)               # payload bytes still to come
        args = Signal(8 * ARG_BYTES)
        arg_index = Signal(range(ARG_BYTES))
        record = Signal(8 * self.record_bytes)
        record_index = Signal(range(self.record_bytes))
        crc_low_ok = Signal()
        crc_ok = Signal()
        # Decisions on registered flags only (the board top's clock is set by such control paths).
        bad_header, empty = Signal(), Signal()
        bad_range, bad_load_length = Signal(), Signal()
        quiet = Signal(range(self.timeout + 1))   # cycles since the last byte, saturating
        timed_out = Signal()                      # quiet == timeout, registered

        with m.If(got | self.rx_error):
            m.d.sync += [quiet.eq(0), timed_out.eq(0)]
        with m.Elif(~timed_out):
            m.d.sync += [quiet.eq(quiet + 1), timed_out.eq(quiet == self.timeout - 1)]

        def consume():
            m.d.comb += crc16.valid.eq(1)

        def fail(code, drain=True):
            m.d.sync += self.err_code.eq(code)
            m.next = "DRAIN" if drain else "ERROR"

        def abort_checks():
            """In the middle of a frame: a framing error or a pause of `timeout` cycles ends it."""
            with m.If(self.rx_error):
                fail(ErrorCode.FRAMING)
            with m.Elif(timed_out & ~got):
                fail(ErrorCode.TIMEOUT, drain=False)

        step = 8 * word_bytes(self.width)
        m.d.comb += self.wr_data.eq(Cat(*(record[k * step:k * step + self.width]
                                          for k in range(self.operands))))
        m.d.sync += self.wr_en.eq(0)
        with m.If(self.wr_en):
            m.d.sync += self.wr_addr.eq(self.wr_addr + 1)
        m.d.comb += [self.start.eq(args[:16]), self.count.eq(args[16:])]

        with m.FSM() as fsm:
            with m.State("HUNT"):
                with m.If(got & (byte == SOF)):
                    m.d.comb += crc16.start.eq(1)
                    m.d.sync += self.cmd.eq(0)
                    m.next = "TYPE"
            with m.State("TYPE"):
                with m.If(got):
                    consume()
                    m.d.sync += self.cmd.eq(byte)
                    m.next = "LEN0"
                abort_checks()
            with m.State("LEN0"):
                with m.If(got):
                    consume()
                    m.d.sync += length[:8].eq(byte)
                    m.next = "LEN1"
                abort_checks()
            with m.State("LEN1"):
                with m.If(got):
                    consume()
                    m.d.sync += length[8:].eq(byte)
                    m.next = "CHECK_HEADER"
                abort_checks()
            with m.State("CHECK_HEADER"):
                m.d.sync += [left.eq(length), arg_index.eq(0), empty.eq(length == 0),
                             bad_header.eq(1), self.err_code.eq(ErrorCode.UNKNOWN_COMMAND)]
                with m.Switch(self.cmd):
                    for command in Command:
                        with m.Case(command):
                            if command == Command.LOAD:
                                ok = ((length >= ARG_BYTES + self.record_bytes)
                                      & (length <= self.max_length))
                            else:
                                ok = length == _FIXED_LENGTH[command]
                            m.d.sync += [bad_header.eq(~ok), self.err_code.eq(ErrorCode.BAD_LENGTH)]
                m.next = "HEADER_VERDICT"
            with m.State("HEADER_VERDICT"):
                with m.If(bad_header):
                    m.next = "DRAIN"
                with m.Elif(empty):
                    m.next = "CRC0"
                with m.Else():
                    m.next = "ARGS"
            with m.State("ARGS"):
                with m.If(got):
                    consume()
                    m.d.sync += [args.eq(Cat(args[8:], byte)), arg_index.eq(arg_index + 1),
                                 left.eq(left - 1)]
                    with m.If(arg_index == ARG_BYTES - 1):
                        m.next = "CHECK_ARGS"
                abort_checks()
            with m.State("CHECK_ARGS"):
                end = self.start + self.count
                m.d.sync += [self.wr_addr.eq(self.start), record_index.eq(0), empty.eq(left == 0),
                             bad_range.eq((self.count == 0) | (end > self.depth)),
                             bad_load_length.eq((self.cmd == Command.LOAD)
                                                & (left != self.count * self.record_bytes))]
                m.next = "ARGS_VERDICT"
            with m.State("ARGS_VERDICT"):
                with m.If(bad_range):
                    fail(ErrorCode.BAD_RANGE)
                with m.Elif(bad_load_length):
                    fail(ErrorCode.BAD_LENGTH)
                with m.Elif(empty):
                    m.next = "CRC0"
                with m.Else():
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(got):
                    consume()
                    m.d.sync += [record.eq(Cat(record[8:], byte)), left.eq(left - 1),
                                 record_index.eq(record_index + 1)]
                    with m.If(record_index == self.record_bytes - 1):
                        m.d.sync += [record_index.eq(0), self.wr_en.eq(1)]
                    with m.If(left == 1):
                        m.next = "CRC0"
                abort_checks()
            with m.State("CRC0"):
                with m.If(got):
                    m.d.sync += crc_low_ok.eq(byte == crc16.crc[:8])
                    m.next = "CRC1"
                abort_checks()
            with m.State("CRC1"):
                with m.If(got):
                    m.d.sync += crc_ok.eq(crc_low_ok & (byte == crc16.crc[8:]))
                    m.next = "CHECK_CRC"
                abort_checks()
            with m.State("CHECK_CRC"):
                with m.If(crc_ok):
                    m.next = "EXECUTE"
                with m.Else():
                    fail(ErrorCode.BAD_CRC)
            with m.State("EXECUTE"):
                m.d.comb += self.cmd_valid.eq(1)
                with m.If(self.done):
                    m.next = "HUNT"
            with m.State("DRAIN"):
                with m.If(timed_out):
                    m.next = "ERROR"
            with m.State("ERROR"):
                m.d.comb += self.err_valid.eq(1)
                with m.If(self.done):
                    m.next = "HUNT"
        m.d.comb += self.busy.eq(~fsm.ongoing("HUNT"))
        return m
