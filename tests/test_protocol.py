"""The protocol shared by the board top and the host: frames, packing, the gateware CRC networks
against zlib/binascii, and the self-test's definition and golden CRC."""
import binascii
import zlib

import numpy as np
import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from fpga.crc import crc_next
from fpga.protocol import (CRC16_POLY, CRC32_POLY_REFLECTED, ERROR, INFO_BYTES, SOF, Command,
                           FrameError, Info, crc16, crc32_of_results, decode_frame, encode_frame,
                           operand_names, pack_records, pack_results, unpack_results)
from fpga.selftest import golden_selftest_crc, selftest_operands, selftest_vectors
from golden.eval import evaluate
from hw.config import Config
pass


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


def _comb(out, signals, rows):
    """Evaluate ``out`` with ``signals`` set to each row of ``rows``, in Amaranth's simulator."""
    m = Module()
    probe = Signal.like(out)
    m.d.comb += probe.eq(out)
    got = []

    async def bench(ctx):
        for row in rows:
            for signal, value in zip(signals, row):
                ctx.set(signal, value)
            got.append(ctx.get(probe))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    return got


@pytest.mark.parametrize("data_bits", [8, 16, 24])
def test_crc32_network_matches_zlib(data_bits):
    """Folding little-endian words into the reflected CRC-32 equals zlib.crc32 over their bytes."""
    rng = np.random.default_rng(data_bits)
    words = rng.integers(0, 1 << data_bits, 40).tolist()
    crc, data = Signal(32), Signal(data_bits)
    network = crc_next(crc, data, poly=CRC32_POLY_REFLECTED, reflected=True)
    state, expected, rows = 0xFFFFFFFF, [], []
    stream = b""
    for word in words:
        rows.append((state, word))
        stream += word.to_bytes(data_bits // 8, "little")
        state = zlib.crc32(stream) ^ 0xFFFFFFFF
        expected.append(state)
    assert _comb(network, (crc, data), rows) == expected


def test_crc16_network_matches_binascii():
    crc, data = Signal(16), Signal(8)
    network = crc_next(crc, data, poly=CRC16_POLY, reflected=False)
    rng = np.random.default_rng(16)
    cases = [(int(c), int(d)) for c, d in zip(rng.integers(0, 1 << 16, 200), rng.integers(0, 256, 200))]
    got = _comb(network, (crc, data), cases)
    assert got == [binascii.crc_hqx(bytes([d]), c) for c, d in cases]


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
