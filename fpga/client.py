"""Host client of the board top over a serial port: info, run, selftest.

    python -m fpga.client --port /dev/ttyUSB1 [--baud 115200] info
    python -m fpga.client --port /dev/ttyUSB1 run --in X.npy [--grad G.npy] [--alpha-bits A.npy]
                                                  [--b B.npy --c C.npy] --out Y.npy [--check]
    python -m fpga.client --port /dev/ttyUSB1 [config flags] selftest

``run`` loads the operands (``--in`` is ``x``, or ``a`` for the FMA; 1-D ``.npy`` arrays of raw bit
patterns or of values of the format's own float dtype, :mod:`hw.spec.operands`, read in the
format of the configuration flags; values only if the board runs that configuration) in chunks of the board's buffer, runs them and saves the raw
results at exactly the ``--out`` path (fixed point: flags in ``Y.flag.npy``); the files and the
output folder are checked before the port is opened. ``--check`` compares the results with
:func:`golden.eval.evaluate` for the configuration of the flags. ``selftest`` runs the board's
exhaustive self-test and compares its CRC-32 with the golden model's for the configuration of the
flags. Exit status (:mod:`hw.spec.cli`): 0 success, 1 a mismatch (self-test or check), 2 bad usage
or input, 3 communication (port, timeout, corrupt reply, error reply, wrong configuration).

:class:`Board` speaks the protocol over any *transport* with ``read(n)`` (up to ``n`` bytes,
fewer or none on timeout), ``write(data)`` and a ``timeout`` attribute in seconds: a
``serial.Serial``, or a simulated link in the tests.
"""
import argparse
import struct
import sys
from dataclasses import dataclass

import numpy as np

from golden.files import check_output, save_npy
from hw.config import add_config_arguments, config_from_arguments
from hw.spec.cli import EXIT_EXTERNAL, EXIT_MISMATCH, EXIT_USAGE, command_line, fail
from hw.spec.operands import HELP as OPERANDS_HELP, OperandError, operand_bits, read_operand
from .protocol import (ERROR, REPLY, RUN_REPLY_BYTES, SOF, Command, ErrorCode,
                       FrameError, Info, SelfTestReply, config_hash, crc16, encode_frame,
                       pack_records, unpack_results, word_bytes)

__all__ = ["ClientError", "PortError", "ReplyTimeout", "CorruptReply", "DeviceError",
           "WrongConfiguration", "Board", "RunResult", "open_serial", "main", "DEFAULT_BAUD",
           "DEFAULT_TIMEOUT"]

DEFAULT_BAUD = 115200
DEFAULT_TIMEOUT = 2.0
OPERAND_FLAGS = {"x": "--in", "a": "--in", "grad": "--grad", "alpha": "--alpha-bits",
                 "b": "--b", "c": "--c"}


class ClientError(Exception):
    """Talking to the board failed; the message says what was expected."""


class PortError(ClientError):
    """The serial port cannot be opened."""


class ReplyTimeout(ClientError):
    """The board did not send the awaited bytes in time."""


class CorruptReply(ClientError):
    """A reply is malformed (checksum, start byte, type or length)."""


class WrongConfiguration(ClientError):
    """The board runs another configuration than the one given."""


class DeviceError(ClientError):
    """The board replied with an error frame; ``code`` is the :class:`ErrorCode` (or the raw
    byte if unknown), ``command`` the request type the board received (0: none)."""
    def __init__(self, code, command, request):
        self.code, self.command = code, command
        try:
            code_name = ErrorCode(code).name
        except ValueError:
            code_name = f"unknown error {code:#04x}"
        super().__init__(f"the board rejected the {request} request: {code_name} "
                         f"(command byte {command:#04x})")


@dataclass
class RunResult:
    """What :meth:`Board.compute` returns."""
    y: np.ndarray                   # raw results, uint64
    flag: object                    # bool array (fixed point) or None
    cycles: int                     # clock cycles of all RUN commands


def _name(command):
    try:
        return Command(command).name
    except ValueError:
        return f"{command:#04x}"


class Board:
    """The protocol over ``transport`` (see the module docstring). Every request raises
    :class:`ReplyTimeout`, :class:`CorruptReply` or :class:`DeviceError` when it fails."""

    def __init__(self, transport, name="the board"):
        self.transport, self.name = transport, name
        self._info = None

    # Frames
    def send(self, data):
        """Write raw bytes (a frame, or anything: the tests send broken ones)."""
        self.transport.write(bytes(data))

    def _read(self, count, awaiting):
        data = b""
        while len(data) < count:
            chunk = self.transport.read(count - len(data))
            if not chunk:
                raise ReplyTimeout(f"no reply from {self.name} within "
                                   f"{self.transport.timeout:g} s: awaited {awaiting} "
                                   f"({len(data)} of {count} bytes received)")
            data += chunk
        return data

    def _frame(self, what):
        """Read one frame: ``(type, payload)``."""
        first = self._read(1, f"the start of {what}")
        if first[0] != SOF:
            raise CorruptReply(f"{what} starts with {first[0]:#04x}, not SOF {SOF:#04x}")
        header = self._read(3, f"the header of {what}")
        length = struct.unpack_from("<H", header, 1)[0]
        payload = self._read(length, f"the {length}-byte payload of {what}")
        got = struct.unpack("<H", self._read(2, f"the checksum of {what}"))[0]
        want = crc16(header + payload)
        if got != want:
            raise CorruptReply(f"{what} has a bad checksum: {got:#06x}, computed {want:#06x}")
        return header[0], payload

    def reply(self, command, reply_length=None):
        """Read the reply to ``command`` and return its payload (checked against
        ``reply_length``); an error reply raises :class:`DeviceError`."""
        name = _name(command)
        type_, payload = self._frame(f"the reply to {name}")
        if type_ == ERROR and len(payload) == 2:
            raise DeviceError(payload[0], payload[1], name)
        if type_ != command | REPLY:
            raise CorruptReply(f"the reply to {name} has type {type_:#04x}, expected "
                               f"{command | REPLY:#04x}")
        if reply_length is not None and len(payload) != reply_length:
            raise CorruptReply(f"the reply to {name} has {len(payload)} payload bytes, expected "
                               f"{reply_length}")
        return payload

    def request(self, command, payload=b"", reply_length=None):
        """Send one request and return its reply's payload (see :meth:`reply`)."""
        self.send(encode_frame(command, payload))
        return self.reply(command, reply_length)

    # Commands
    def info(self):
        """The board's :class:`~fpga.protocol.Info` (cached)."""
        if self._info is None:
            try:
                self._info = Info.from_bytes(self.request(Command.INFO))
            except FrameError as error:
                raise CorruptReply(f"the reply to INFO: {error}") from None
        return self._info

    def load(self, start, operands):
        """Store the operand sets (arrays in port order, equal lengths) at ``start``."""
        info = self.info()
        count = len(operands[0])
        payload = struct.pack("<HH", start, count) + pack_records(operands, info.in_width)
        self.request(Command.LOAD, payload, reply_length=0)

    def run(self, start, count):
        """Compute the buffer's entries ``start .. start+count-1``; returns the clock cycles."""
        reply = self.request(Command.RUN, struct.pack("<HH", start, count), RUN_REPLY_BYTES)
        return struct.unpack("<I", reply)[0]

    def read(self, start, count):
        """``(y, flag)`` of the results ``start .. start+count-1``."""
        info = self.info()
        nbytes = count * word_bytes(info.result_bits)
        reply = self.request(Command.READ, struct.pack("<HH", start, count), nbytes)
        return unpack_results(reply, info.out_width, info.has_flag)

    def selftest(self):
        """Run the exhaustive self-test: a :class:`~fpga.protocol.SelfTestReply`."""
        return SelfTestReply.from_bytes(self.request(Command.SELFTEST))

    def compute(self, operands):
        """Every element of ``operands`` (name -> raw-bit array, the board's operand names, equal
        shapes) through the board, in chunks of its buffer: a :class:`RunResult` shaped like
        them."""
        info = self.info()
        names = info.operand_names
        if sorted(operands) != sorted(names):
            raise ValueError(f"the board's unit takes operands {', '.join(names)}, "
                             f"not {', '.join(operands)}")
        arrays = [np.asarray(operands[name]) for name in names]
        shape = arrays[0].shape
        for name, array in zip(names, arrays):
            if array.shape != shape:
                raise ValueError(f"operand {name} has shape {array.shape}, {names[0]} has {shape}")
            if array.dtype.kind not in "iu":
                raise ValueError(f"operand {name} must be integer bit patterns, not {array.dtype}")
        flat = [array.ravel() for array in arrays]
        ys, flags, cycles = [], [], 0
        for start in range(0, flat[0].size, info.depth):
            chunk = [array[start:start + info.depth] for array in flat]
            self.load(0, chunk)
            cycles += self.run(0, len(chunk[0]))
            y, flag = self.read(0, len(chunk[0]))
            ys.append(y)
            flags.append(flag)
        y = np.concatenate(ys) if ys else np.zeros(0, dtype=np.uint64)
        flag = (np.concatenate(flags) if ys else np.zeros(0, dtype=bool)) if info.has_flag else None
        return RunResult(y=y.reshape(shape), flag=None if flag is None else flag.reshape(shape),
                         cycles=cycles)

    def check_configuration(self, config):
        """Raise :class:`WrongConfiguration` unless the board runs ``config``."""
        info = self.info()
        if info.config_hash != config_hash(config):
            raise WrongConfiguration(
                f"{self.name} runs another configuration (hash {info.config_hash:#010x}: "
                f"{info.function}, {info.in_width}-bit inputs) than the flags' {config.name} "
                f"(hash {config_hash(config):#010x}); pass that configuration's flags")


def open_serial(port, baud=DEFAULT_BAUD, timeout=DEFAULT_TIMEOUT):
    """The ``serial.Serial`` of ``port``, input flushed; :class:`PortError` names the port."""
    import serial
    try:
        link = serial.Serial(port, baud, timeout=timeout)
    except (serial.SerialException, OSError, ValueError) as error:
        raise PortError(f"cannot open serial port {port!r} at {baud} baud: {error}") from None
    link.reset_input_buffer()
    return link


def _format_info(info, config):
    same = info.config_hash == config_hash(config)
    lines = [
        f"function        {info.function}{' (runtime alpha)' if info.runtime_alpha else ''}",
        f"configuration   hash {info.config_hash:#010x}"
        + (f" = {config.name} (the flags)" if same else f" (not the flags' {config.name})"),
        f"operands        {', '.join(info.operand_names)}: {info.in_width} bits each",
        f"results         {info.out_width} bits" + (" + flag" if info.has_flag else ""),
        f"latency         {info.latency} cycles",
        f"buffer          {info.depth} operand sets",
        f"clock           {info.clk_hz / 1e6:g} MHz, {info.baud} baud, frame timeout "
        f"{info.timeout_cycles} cycles",
        f"self-test       {info.selftest_vectors} vectors, expected CRC-32 "
        f"{info.selftest_crc:#010x}",
    ]
    return "\n".join(lines)


def _read_operands(args, config, parser):
    """The given operand files as raw bits of the flags' format (operand flag -> (path, bits,
    whether the file held float values)), read and checked before the board is asked anything."""
    given = {"--in": args.input, "--grad": args.grad, "--alpha-bits": args.alpha_bits,
             "--b": args.b, "--c": args.c}
    operands = {}
    for flag, path in given.items():
        if path:
            try:
                array = read_operand(path)
                operands[flag] = (path, operand_bits(array, config.format, path),
                                  array.dtype.kind in "fV")
            except OperandError as error:
                parser.error(f"{flag} {error}")
    first_path, first, _ = operands["--in"]
    for flag, (path, bits, _) in operands.items():
        if bits.size != first.size:
            parser.error(f"{flag} {path}: {bits.size} elements, but --in {first_path} has "
                         f"{first.size}")
    return operands


def _board_operands(operands, info, config, parser):
    """The read operands by the board's operand names; a usage error if the board takes other
    operands, words of another width, or runs another configuration than the one whose format
    read float values."""
    names = info.operand_names
    wanted = [OPERAND_FLAGS[name] for name in names]
    missing = [flag for flag in wanted if flag not in operands]
    extra = sorted(set(operands) - set(wanted))
    if extra or missing:
        parser.error(f"the board's unit takes {', '.join(wanted)}"
                     + (f" (missing: {', '.join(missing)})" if missing else "")
                     + (f" (not used: {', '.join(extra)})" if extra else ""))
    if info.in_width != config.in_width:
        parser.error(f"the board takes {info.in_width}-bit operands, the flags' configuration "
                     f"{config.name} {config.in_width}-bit ones: pass the board's configuration "
                     f"flags")
    if info.config_hash != config_hash(config) and any(values for _, _, values in operands.values()):
        parser.error(f"float values are read in the format of the flags' configuration "
                     f"{config.name}, but the board runs another one: pass its configuration flags")
    return {name: operands[flag][1] for name, flag in zip(names, wanted)}


def _check(config, operands, result):
    from golden.eval import evaluate
    y, flag = evaluate(config, **operands)
    bad = np.flatnonzero((np.asarray(y).ravel() != result.y.ravel())
                         | ((np.asarray(flag).ravel() != result.flag.ravel())
                            if flag is not None else False))
    if bad.size == 0:
        print(f"check: all {result.y.size} results equal the golden model of {config.name}")
        return True
    got, want = result.y.ravel(), np.asarray(y).ravel()
    first = ", ".join(f"#{i}: {int(got[i]):#x} (golden {int(want[i]):#x})" for i in bad[:5])
    print(f"check FAILED: {bad.size} of {result.y.size} results differ from the golden model of "
          f"{config.name}; first {first}")
    return False


def _selftest(board, config):
    from .selftest import golden_selftest_crc
    board.check_configuration(config)
    golden = golden_selftest_crc(config)
    reply = board.selftest()
    verdict = reply.crc == golden
    print(f"self-test {'PASS' if verdict else 'FAIL'}: CRC-32 {reply.crc:#010x}, golden model "
          f"{golden:#010x} ({config.name}, {reply.vectors} vectors in {reply.cycles} cycles; "
          f"board's own verdict: {'pass' if reply.passed else 'fail'})")
    return verdict


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {text}")
        return value
    return parse


def build_parser():
    parser = command_line("fpga.client", __doc__.splitlines()[0])
    parser.add_argument("--port", help="serial port, e.g. /dev/ttyUSB1 (required)")
    parser.add_argument("--baud", type=_positive(int), default=DEFAULT_BAUD,
                        help=f"baud rate (default {DEFAULT_BAUD})")
    parser.add_argument("--timeout", type=_positive(float), default=DEFAULT_TIMEOUT,
                        help=f"seconds to wait for each reply byte (default {DEFAULT_TIMEOUT:g})")
    add_config_arguments(parser)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="print what the board computes")
    run = commands.add_parser("run", help="compute raw inputs on the board",
                              description=f"Operand files: {OPERANDS_HELP}; read in the format of "
                                          f"the configuration flags.")
    run.add_argument("--in", dest="input", required=True,
                     help="first operand: x, or a for the FMA (.npy)")
    run.add_argument("--grad", help="backward functions: grad_out (.npy)")
    run.add_argument("--alpha-bits", help="runtime alpha: alpha per element (.npy)")
    run.add_argument("--b", help="FMA: operand b (.npy)")
    run.add_argument("--c", help="FMA: operand c (.npy)")
    run.add_argument("--out", required=True,
                     help="output .npy of raw result bits, written at exactly this path")
    run.add_argument("--check", action="store_true",
                     help="compare with the golden model of the configuration flags")
    commands.add_parser("selftest",
                        help="run the exhaustive self-test, compare with the golden CRC")
    return parser


def main(argv=None, transport=None):
    """The command line; ``transport`` replaces the serial port (``--port`` is then ignored)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    config = config_from_arguments(args, parser)
    if transport is None and not args.port:
        parser.error("--port is required (the board's serial port, e.g. /dev/ttyUSB1)")
    if args.command == "run":
        files = _read_operands(args, config, parser)
        out = check_output(parser, "--out", args.out)
    try:
        if transport is None:
            transport = open_serial(args.port, args.baud, args.timeout)
        board = Board(transport, name=f"the board on {args.port}" if args.port else "the board")
        if args.command == "info":
            print(_format_info(board.info(), config))
            return 0
        if args.command == "selftest":
            return 0 if _selftest(board, config) else EXIT_MISMATCH
        operands = _board_operands(files, board.info(), config, parser)
        if args.check:
            board.check_configuration(config)
        result = board.compute(operands)
        outputs = {out: result.y}
        message = f"{result.y.size} results -> {out} ({result.cycles} cycles on the board)"
        if result.flag is not None:
            from golden.eval import flag_path
            outputs[flag_path(out)] = result.flag.astype(np.uint8)
            message += f", flags -> {flag_path(out)}"
        save_npy(outputs)
        print(message)
        if args.check and not _check(config, operands, result):
            return EXIT_MISMATCH
        return 0
    except ClientError as error:
        return fail(parser, error, EXIT_EXTERNAL)
    except ValueError as error:
        return fail(parser, error, EXIT_USAGE)


if __name__ == "__main__":
    sys.exit(main())
