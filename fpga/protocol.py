"""The serial protocol between the host and the board top, shared by the gateware
(:mod:`fpga.top`), the host client (:mod:`fpga.client`) and the tests: constants, checksums,
frames, the info block and the packing of operand records and results.

Frame, both directions::

    SOF (0xA5) | TYPE (1) | LEN (2, LE) | PAYLOAD (LEN bytes) | CRC (2, LE)

``CRC`` is CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF, MSB first, no final XOR)
over ``TYPE``, ``LEN`` and ``PAYLOAD``. A request's ``TYPE`` is a :class:`Command`; its reply has
type ``command | REPLY``, or :data:`ERROR` with the payload ``(ErrorCode, command)``. Multi-byte
numbers are little-endian throughout. See ``docs/board.md``.
"""
import binascii
import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

__all__ = ["SOF", "REPLY", "ERROR", "Command", "ErrorCode", "CRC16_POLY", "CRC16_INIT",
           "CRC32_POLY_REFLECTED", "ARG_BYTES", "SELFTEST_REPLY_BYTES", "RUN_REPLY_BYTES",
           "FUNCTION_CODES", "crc16", "encode_frame", "decode_frame", "FrameError", "Info",
           "INFO_MAGIC", "INFO_VERSION", "INFO_BYTES", "SelfTestReply", "word_bytes",
           "config_hash", "operand_names", "pack_records", "result_words", "pack_results",
           "unpack_results", "crc32_of_results"]

from hw.spec.functions import REGISTRY, by_wire_code, lookup

SOF = 0xA5
REPLY = 0x80
ERROR = 0x7F
CRC16_POLY = 0x1021
CRC16_INIT = 0xFFFF
CRC32_POLY_REFLECTED = 0xEDB88320      # zlib.crc32: IEEE 802.3, reflected, init and xorout ~0
ARG_BYTES = 4                           # start (u16), count (u16) of LOAD, RUN and READ
RUN_REPLY_BYTES = 4                     # cycles (u32)
SELFTEST_REPLY_BYTES = 13               # crc (u32), vectors (u32), cycles (u32), passed (u8)
FRAME_OVERHEAD = 6                      # SOF, TYPE, LEN, CRC
# The function numbers of the INFO reply: the registry's wire codes (hw.spec.functions).
FUNCTION_CODES = {entry.name: entry.wire_code for entry in REGISTRY.values()}


class Command(IntEnum):
    """Request types. Payloads: INFO, SELFTEST none; LOAD ``start, count`` then ``count`` operand
    records; RUN and READ ``start, count``."""
    INFO = 0x01
    LOAD = 0x02
    RUN = 0x03
    READ = 0x04
    SELFTEST = 0x05


class ErrorCode(IntEnum):
    """The first payload byte of an :data:`ERROR` reply."""
    BAD_CRC = 0x01           # the frame's checksum does not match
    UNKNOWN_COMMAND = 0x02   # TYPE is not a Command
    BAD_LENGTH = 0x03        # LEN is wrong for the command (or for LOAD's count)
    BAD_RANGE = 0x04         # count is 0 or start + count exceeds the buffer
    TIMEOUT = 0x05           # the line went quiet in the middle of a frame
    FRAMING = 0x06           # a byte's stop bit was low in the middle of a frame


class FrameError(ValueError):
    """A byte string is not one well-formed frame; the message says what is wrong."""


def crc16(data, crc=CRC16_INIT):
    """CRC-16/CCITT-FALSE of ``data`` (continuing from ``crc``)."""
    return binascii.crc_hqx(bytes(data), crc)


def encode_frame(type_, payload=b""):
    """The frame of one request or reply."""
    payload = bytes(payload)
    if not 0 <= type_ <= 0xFF:
        raise ValueError(f"frame type must be a byte 0..255, not {type_!r}")
    if len(payload) > 0xFFFF:
        raise ValueError(f"payload length must be at most 65535 bytes, not {len(payload)}")
    body = bytes([type_]) + struct.pack("<H", len(payload)) + payload
    return bytes([SOF]) + body + struct.pack("<H", crc16(body))


def decode_frame(frame):
    """``(type, payload)`` of one complete frame; raises :class:`FrameError` if it is not one."""
    frame = bytes(frame)
    if len(frame) < FRAME_OVERHEAD:
        raise FrameError(f"a frame has at least {FRAME_OVERHEAD} bytes, got {len(frame)}")
    if frame[0] != SOF:
        raise FrameError(f"a frame starts with SOF {SOF:#04x}, not {frame[0]:#04x}")
    length = struct.unpack_from("<H", frame, 2)[0]
    if len(frame) != length + FRAME_OVERHEAD:
        raise FrameError(f"LEN {length} needs a frame of {length + FRAME_OVERHEAD} bytes, "
                         f"got {len(frame)}")
    got = struct.unpack_from("<H", frame, len(frame) - 2)[0]
    want = crc16(frame[1:-2])
    if got != want:
        raise FrameError(f"bad checksum: frame says {got:#06x}, computed {want:#06x}")
    return frame[1], frame[4:-2]


def word_bytes(bits):
    """Bytes of one little-endian word of ``bits`` bits."""
    return (bits + 7) // 8


def config_hash(config):
    """CRC-32 of the configuration's name (which encodes every parameter)."""
    return zlib.crc32(config.name.encode())


def operand_names(function, runtime_alpha):
    """Operand names in port order (:attr:`hw.spec.config.Config.operands`) from what INFO
    reports."""
    return lookup(function).operands + (("alpha",) if runtime_alpha else ())


INFO_MAGIC = b"ISRQ"
INFO_VERSION = 1
_INFO = struct.Struct("<4sBBBBBBBHHIIIIII")
INFO_BYTES = _INFO.size


@dataclass(frozen=True)
class Info:
    """The INFO reply: what the board computes and how to talk to it.

    ``timeout_cycles`` is the inter-byte timeout of the frame parser, ``selftest_crc`` the CRC-32
    of the self-test expected by the golden model at build time."""
    function: str
    in_width: int
    out_width: int
    has_flag: bool
    runtime_alpha: bool
    operands: int
    latency: int
    depth: int
    config_hash: int
    clk_hz: int
    baud: int
    timeout_cycles: int
    selftest_vectors: int
    selftest_crc: int
    version: int = INFO_VERSION

    @property
    def operand_names(self):
        return operand_names(self.function, self.runtime_alpha)

    @property
    def record_bytes(self):
        return self.operands * word_bytes(self.in_width)

    @property
    def result_bits(self):
        return self.out_width + int(self.has_flag)

    def to_bytes(self):
        flags = int(self.has_flag) | int(self.runtime_alpha) << 1
        return _INFO.pack(INFO_MAGIC, self.version, FUNCTION_CODES[self.function], 1,
                          self.operands, self.in_width, self.out_width, flags, self.latency,
                          self.depth, self.config_hash, self.clk_hz, self.baud,
                          self.timeout_cycles, self.selftest_vectors, self.selftest_crc)

    @classmethod
    def from_bytes(cls, data):
        data = bytes(data)
        if len(data) != INFO_BYTES:
            raise FrameError(f"an INFO payload has {INFO_BYTES} bytes, got {len(data)}")
        (magic, version, function, lanes, operands, in_width, out_width, flags, latency, depth,
         chash, clk_hz, baud, timeout, vectors, crc) = _INFO.unpack(data)
        if magic != INFO_MAGIC:
            raise FrameError(f"INFO magic is {magic!r}, expected {INFO_MAGIC!r}")
        if version != INFO_VERSION:
            raise FrameError(f"INFO version {version} is not the supported {INFO_VERSION}")
        entry = by_wire_code(function)
        if entry is None or lanes != 1:
            raise FrameError(f"INFO has function code {function} (0..{max(FUNCTION_CODES.values())}) "
                             f"and {lanes} lanes (expected 1)")
        return cls(function=entry.name, in_width=in_width, out_width=out_width,
                   has_flag=bool(flags & 1), runtime_alpha=bool(flags & 2), operands=operands,
                   latency=latency, depth=depth, config_hash=chash, clk_hz=clk_hz, baud=baud,
                   timeout_cycles=timeout, selftest_vectors=vectors, selftest_crc=crc,
                   version=version)


@dataclass(frozen=True)
class SelfTestReply:
    """The SELFTEST reply: the CRC-32 of the results, how many, the cycles from start to the last
    result, and whether the CRC equals the one baked in at build time."""
    crc: int
    vectors: int
    cycles: int
    passed: bool

    @classmethod
    def from_bytes(cls, data):
        if len(data) != SELFTEST_REPLY_BYTES:
            raise FrameError(f"a SELFTEST payload has {SELFTEST_REPLY_BYTES} bytes, "
                             f"got {len(data)}")
        crc, vectors, cycles, passed = struct.unpack("<IIIB", bytes(data))
        return cls(crc=crc, vectors=vectors, cycles=cycles, passed=bool(passed))


def _little_endian_bytes(words, nbytes):
    """``(n, nbytes)`` uint8 array: each uint64 word's low ``nbytes`` bytes, little-endian."""
    words = np.ascontiguousarray(np.asarray(words, dtype=np.uint64).ravel(), dtype="<u8")
    return words.view(np.uint8).reshape(-1, 8)[:, :nbytes]


def pack_records(operands, width):
    """LOAD payload data: one record per element, the operands (sequence of raw-bit arrays, in
    port order) each ``word_bytes(width)`` bytes little-endian."""
    columns = [_little_endian_bytes(np.asarray(op).astype(np.int64).astype(np.uint64)
                                    & np.uint64((1 << width) - 1), word_bytes(width))
               for op in operands]
    return np.hstack(columns).tobytes()


def result_words(y, flag, out_width):
    """The stored result word of each element: ``y | flag << out_width`` (``flag`` may be None)."""
    words = np.asarray(y).astype(np.uint64).ravel()
    if flag is not None:
        words = words | (np.asarray(flag).astype(np.uint64).ravel() << np.uint64(out_width))
    return words


def pack_results(y, flag, out_width):
    """READ payload bytes (and the bytes the self-test CRC folds) of the results ``y``/``flag``."""
    nbytes = word_bytes(out_width + (flag is not None))
    return _little_endian_bytes(result_words(y, flag, out_width), nbytes).tobytes()


def unpack_results(data, out_width, has_flag):
    """``(y, flag)`` from READ payload bytes; ``flag`` (bool) is None without ``has_flag``."""
    nbytes = word_bytes(out_width + int(has_flag))
    raw = np.frombuffer(bytes(data), dtype=np.uint8)
    if raw.size % nbytes:
        raise FrameError(f"{raw.size} result bytes are not a whole number of {nbytes}-byte words")
    padded = np.zeros((raw.size // nbytes, 8), dtype=np.uint8)
    padded[:, :nbytes] = raw.reshape(-1, nbytes)
    words = padded.view("<u8").ravel().astype(np.uint64)
    y = words & np.uint64((1 << out_width) - 1)
    flag = ((words >> np.uint64(out_width)) & np.uint64(1)).astype(bool) if has_flag else None
    return y, flag


def crc32_of_results(y, flag, out_width):
    """CRC-32 (``zlib.crc32``) over the result words, each ``word_bytes(out_width + flag)``
    bytes little-endian, in order: what the self-test computes in hardware."""
    return zlib.crc32(pack_results(y, flag, out_width))
