"""The protocol shared by the board top and the host: frames, packing, the gateware CRCs
(``amaranth.lib.crc``) against zlib/binascii, and the self-test's definition and golden CRC."""
import binascii
import zlib

import numpy as np
import pytest
from amaranth.sim import Simulator

from fpga.parser import FRAME_CRC
from fpga.protocol import (CRC16_INIT, CRC16_POLY, CRC32_POLY_REFLECTED, ERROR, INFO_BYTES, SOF, Command,
                           FrameError, Info, crc16, crc32_of_results, decode_frame, encode_frame,
                           operand_names, pack_records, pack_results, unpack_results)
from fpga.selftest import SELFTEST_CRC, golden_selftest_crc, selftest_operands, selftest_vectors
from golden.eval import evaluate
from hw.config import Config


def test_frame_round_trip_and_checksum():
    frame = encode_frame(Command.LOAD, bytes(range(10)))
    assert frame[0] == SOF and frame[1] == Command.LOAD and frame[2:4] == b"\x0a\x00"
    assert int.from_bytes(frame[-2:], "little") == binascii.crc_hqx(frame[1:-2], 0xFFFF)
    assert crc16(b"123456789") == 0x29B1          # CRC-16/CCITT-FALSE check value
    assert decode_frame(frame) == (Command.LOAD, bytes(range(10)))
    corrupt = bytearray(frame)
    corrupt[5] ^= 1
    with pytest.raises(FrameError, match="bad checksum"):
        decode_frame(corrupt)
    with pytest.raises(FrameError, match="LEN 10 needs a frame of 16 bytes, got 15"):
        decode_frame(frame[:-1])
    with pytest.raises(ValueError, match="frame type must be a byte"):
        encode_frame(ERROR + 0x200)


def test_info_round_trip():
    info = Info(function="isru-grad", in_width=16, out_width=16, has_flag=False,
                runtime_alpha=True, operands=3, latency=12, depth=512, config_hash=0xDEADBEEF,
                clk_hz=24_000_000, baud=115200, timeout_cycles=1_200_000,
                selftest_vectors=65536, selftest_crc=0x12345678)
    data = info.to_bytes()
    assert len(data) == INFO_BYTES
    assert Info.from_bytes(data) == info
    assert info.operand_names == ("x", "grad", "alpha") == operand_names("isru-grad", True)
    with pytest.raises(FrameError, match="INFO magic"):
        Info.from_bytes(b"XXXX" + data[4:])


@pytest.mark.parametrize("width, out_width, has_flag", [(8, 8, False), (16, 20, True),
                                                        (32, 32, False), (12, 15, True)])
def test_record_and_result_packing(width, out_width, has_flag):
    rng = np.random.default_rng(width)
    a, b = (rng.integers(0, 1 << width, 50, dtype=np.uint64) for _ in range(2))
    nbytes = (width + 7) // 8
    records = np.frombuffer(pack_records([a, b], width), dtype=np.uint8).reshape(50, 2 * nbytes)
    assert [int.from_bytes(records[i, :nbytes].tobytes(), "little") for i in range(50)] == a.tolist()
    assert [int.from_bytes(records[i, nbytes:].tobytes(), "little") for i in range(50)] == b.tolist()
    y = rng.integers(0, 1 << out_width, 50, dtype=np.uint64)
    flag = rng.integers(0, 2, 50).astype(bool) if has_flag else None
    data = pack_results(y, flag, out_width)
    assert len(data) == 50 * ((out_width + has_flag + 7) // 8)
    y2, flag2 = unpack_results(data, out_width, has_flag)
    assert y2.tolist() == y.tolist()
    assert (flag2 is None) if not has_flag else flag2.tolist() == flag.tolist()
    assert crc32_of_results(y, flag, out_width) == zlib.crc32(data)


def _processor_crcs(algorithm, data_width, words, restart_at=()):
    """Feed ``words`` to an :class:`amaranth.lib.crc.Processor` of ``algorithm`` at ``data_width``
    bits a word, one word per cycle (with ``start``, a fresh CRC, before the words at the indices
    ``restart_at`` and the first), in Amaranth's simulator; the ``crc`` output after each word."""
    dut = algorithm(data_width).create()
    got = []

    async def bench(ctx):
        for index, word in enumerate(words):
            if index == 0 or index in restart_at:
                ctx.set(dut.start, 1)
                await ctx.tick()
                ctx.set(dut.start, 0)
            ctx.set(dut.data, word)
            ctx.set(dut.valid, 1)
            await ctx.tick()
            ctx.set(dut.valid, 0)
            got.append(ctx.get(dut.crc))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return got


@pytest.mark.parametrize("data_bits", [8, 16, 24, 32])
def test_selftest_crc_matches_zlib(data_bits):
    """The self-test's CRC-32, fed little-endian words of ``data_bits`` bits (the width the
    self-test uses for its result words), equals zlib.crc32 over their bytes after every word."""
    assert int(f"{SELFTEST_CRC.polynomial:032b}"[::-1], 2) == CRC32_POLY_REFLECTED
    rng = np.random.default_rng(data_bits)
    words = rng.integers(0, 1 << data_bits, 40, dtype=np.uint64).tolist()
    expected, stream = [], b""
    for word in words:
        stream += word.to_bytes(data_bits // 8, "little")
        expected.append(zlib.crc32(stream))
    assert _processor_crcs(SELFTEST_CRC, data_bits, words) == expected
    assert SELFTEST_CRC(data_bits).compute(words) == zlib.crc32(stream)


def test_frame_crc_matches_binascii():
    """The frames' CRC-16 in the parser and sender equals the host's (binascii.crc_hqx from
    0xFFFF, CRC-16/CCITT-FALSE) on random byte strings, restarted as at each frame's SOF."""
    assert (FRAME_CRC.crc_width, FRAME_CRC.polynomial, FRAME_CRC.initial_crc) == (16, CRC16_POLY,
                                                                                  CRC16_INIT)
    assert not FRAME_CRC.reflect_input and FRAME_CRC.xor_output == 0
    rng = np.random.default_rng(16)
    data = rng.integers(0, 256, 300).tolist()
    restarts = (0, 1, 37, 38, 150)              # empty-payload-like and long frames
    expected, frame = [], b""
    for index, byte in enumerate(data):
        frame = bytes([byte]) if index in restarts else frame + bytes([byte])
        expected.append(binascii.crc_hqx(frame, CRC16_INIT))
    assert _processor_crcs(FRAME_CRC, 8, data, restart_at=restarts) == expected
    assert crc16(bytes(data)) == FRAME_CRC(8).compute(data)


def test_crc16_xmodem_matches_binascii():
    """The same polynomial from 0 (CRC-16/XMODEM) is binascii.crc_hqx from 0."""
    from amaranth.lib.crc import catalog
    data = np.random.default_rng(17).integers(0, 256, 64).tolist()
    expected = [binascii.crc_hqx(bytes(data[:i + 1]), 0) for i in range(len(data))]
    assert _processor_crcs(catalog.CRC16_XMODEM, 8, data) == expected


@pytest.mark.parametrize("config", [Config("bf16"), Config("e4m3", function="fma"),
                                    Config("e5m2", function="isru-grad", runtime_alpha=True),
                                    Config("q2.6"), Config("fp32")], ids=lambda c: c.name)
def test_selftest_definition(config):
    operands = selftest_operands(config)
    assert tuple(operands) == config.operands
    assert operand_names(config.function, config.runtime_alpha) == config.operands
    n = selftest_vectors(config)
    assert n == 1 << min(config.in_width, 16)
    x = operands[config.operands[0]]
    assert x.size == n and np.unique(x).size == n
    if config.function == "fma":
        assert np.array_equal(operands["a"], operands["b"])
        assert set(operands["c"].tolist()) == {0xB8}                  # -1.0 in e4m3
    y, flag = evaluate(config, **operands)
    assert golden_selftest_crc(config) == zlib.crc32(pack_results(y, flag, config.out_width))
