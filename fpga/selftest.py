"""The exhaustive self-test: its vectors, its expected CRC from the golden model, and the gateware.

Vectors: ``x_i = i << s`` for ``i`` in ``0 .. N-1``, ``N = 2**min(width, 16)``,
``s = max(width - 16, 0)``: every input of a format up to 16 bits wide (the top 16 bits of a
wider one). The other operands are constants: ``grad = 1.0`` and a runtime ``alpha = 1.0`` (raw
bits in the unit's format; a fixed-point format without 1.0 takes its largest value, as
``golden.accuracy.grad_one``); the FMA computes ``x*x - 1`` (``a = b = x``, ``c = -1.0``).
The CRC is CRC-32 (``zlib.crc32``) over the results in input order, each result word
``y | flag << out_width`` as ``ceil((out_width + flag) / 8)`` little-endian bytes (the READ
format, :func:`fpga.protocol.pack_results`).
"""
import numpy as np
from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import crc, wiring
from amaranth.lib.wiring import In, Out

from .protocol import crc32_of_results, word_bytes

__all__ = ["SELFTEST_CRC", "SWEEP_BITS", "selftest_vectors", "selftest_shift", "selftest_constants",
           "selftest_operands", "golden_selftest_crc", "SelfTest"]

SWEEP_BITS = 16
SELFTEST_CRC = crc.catalog.CRC32_ISO_HDLC      # zlib.crc32 (IEEE 802.3, reflected, init/xorout ~0)
FMA_ADDEND = -1.0


def selftest_vectors(config):
    """Number of self-test vectors ``N``."""
    return 1 << min(config.in_width, SWEEP_BITS)


def selftest_shift(config):
    """Left shift ``s`` of the counter that makes ``x``."""
    return max(config.in_width - SWEEP_BITS, 0)


def _one(fmt):
    from golden.accuracy import grad_one
    return int(grad_one(fmt))


def selftest_constants(config):
    """Raw bits of each operand: an int for a constant operand, ``None`` for the swept ``x``."""
    fmt = config.format
    constants = {}
    for name in config.operands:
        if name in ("x", "a", "b"):
            constants[name] = None
        elif name == "c":
            constants[name] = fmt.sign_bit | (fmt.bias << fmt.man_bits)    # -1.0
        else:                                                              # grad, alpha
            constants[name] = _one(fmt)
    return constants


def selftest_operands(config):
    """The self-test's operands as raw-bit arrays, one per operand name."""
    x = np.arange(selftest_vectors(config), dtype=np.uint64) << np.uint64(selftest_shift(config))
    return {name: x if value is None else np.full(x.shape, value, dtype=np.uint64)
            for name, value in selftest_constants(config).items()}


def golden_selftest_crc(config):
    """The CRC-32 the self-test of ``config`` must produce, from :func:`golden.eval.evaluate`."""
    from golden.eval import evaluate
    y, flag = evaluate(config, **selftest_operands(config))
    return crc32_of_results(y, flag, config.out_width)


class SelfTest(wiring.Component):
    """Sweeps the self-test vectors through the unit at one per cycle and folds the results into
    a CRC-32 (:data:`SELFTEST_CRC`, an :class:`amaranth.lib.crc.Processor` taking one result word
    of ``8 * word_bytes(result_bits)`` bits per cycle: reflected input, so the same as
    ``zlib.crc32`` over the word's little-endian bytes).

    Ports: ``start`` (in, one cycle; ignored while busy); ``busy`` (out); ``done`` (out, one cycle
    after the last result); ``crc`` (out, 32 bits: the final CRC-32 of the last run), ``cycles``
    (out, 32 bits: cycles from ``start`` to ``done``); ``passed``/``failed`` (out: the last run's
    CRC equals / differs from ``expected``; both low before the first run and while busy).

    Unit side: ``x`` (out, ``in_width`` bits) with ``x_valid`` (out) and ``x_ready`` (in), the
    input handshake; ``y`` (in, ``result_bits``) with ``y_valid`` (in): the results, which must
    come in order, one per ``y_valid`` cycle (the top holds the unit's ``out_ready`` high).
    """
    def __init__(self, *, in_width, result_bits, vectors, shift, expected):
        if vectors < 1 or vectors > 1 << SWEEP_BITS:
            raise ValueError(f"vectors must be in 1..{1 << SWEEP_BITS}, not {vectors!r}")
        self.in_width, self.result_bits = in_width, result_bits
        self.vectors, self.shift, self.expected = vectors, shift, expected
        super().__init__({
            "start": In(1), "busy": Out(1), "done": Out(1), "crc": Out(32), "cycles": Out(32),
            "passed": Out(1), "failed": Out(1),
            "x": Out(in_width), "x_valid": Out(1), "x_ready": In(1),
            "y": In(result_bits), "y_valid": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        issued = Signal(range(self.vectors + 1))
        received = Signal(range(self.vectors + 1))
        ran = Signal()
        data_width = 8 * word_bytes(self.result_bits)
        m.submodules.crc = crc32 = SELFTEST_CRC(data_width).create()
        m.d.comb += [crc32.data.eq(Cat(self.y, Const(0, data_width - self.result_bits))),
                     crc32.valid.eq(self.busy & self.y_valid),
                     crc32.start.eq(~self.busy & self.start),
                     self.crc.eq(crc32.crc),
                     self.passed.eq(ran & ~self.busy & (self.crc == self.expected)),
                     self.failed.eq(ran & ~self.busy & (self.crc != self.expected))]
        m.d.sync += self.done.eq(0)
        with m.If(self.busy):
            m.d.sync += self.cycles.eq(self.cycles + 1)
            with m.If(~self.x_valid | self.x_ready):
                m.d.sync += self.x_valid.eq(issued != self.vectors)
                with m.If(issued != self.vectors):
                    m.d.sync += [self.x.eq(issued << self.shift), issued.eq(issued + 1)]
            with m.If(self.y_valid):
                m.d.sync += received.eq(received + 1)
                with m.If(received == self.vectors - 1):
                    m.d.sync += [self.busy.eq(0), self.done.eq(1)]
        with m.Elif(self.start):
            m.d.sync += [self.busy.eq(1), ran.eq(1), issued.eq(0), received.eq(0),
                         self.cycles.eq(1)]
        return m
