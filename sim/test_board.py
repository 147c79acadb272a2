"""Co-simulation of the whole board top (UART included) with Verilator, driven by the real host
client (:mod:`fpga.client`, its Python API and its command line) through a simulated serial
port (:mod:`sim.board_tb`): INFO, load/run/read bit-exact against the golden model, the
exhaustive self-test's CRC against the golden CRC, and every kind of bad frame.

The default configuration (BF16 rsqrt) runs every scenario; the BF16 FMA (three operands, a
16-bit self-test of ``x*x - 1``) runs the round trip and the self-test. One build per
configuration (cached in ``sim_build/``).
"""
import numpy as np
import pytest

from fpga.protocol import Command, ErrorCode, config_hash
from fpga.selftest import golden_selftest_crc
from golden.eval import evaluate
from hw.config import Config
from sim.checks import float_specials
from sim.toolchain import simulator_status

BF16 = Config("bf16")
FMA = Config("bf16", function="fma")
DEPTH = 256
VECTORS = 300                   # more than the buffer: two LOAD/RUN/READ chunks


@pytest.fixture(scope="module")
def board():
    reason = simulator_status("verilator")
    if reason is not None:
        pytest.skip(f"verilator unavailable: {reason}")
    from sim.board import prepare_board
    cache = {}

    def get(config):
        if config not in cache:
            cache[config] = prepare_board(config, "verilator", depth=DEPTH)
        return cache[config]

    return get


def run(design, scenario, **job):
    from sim.board import run_board
    return run_board(design, scenario, **job)


def vectors(config):
    """Specials first, then random bit patterns (FMA: random triples plus the specials as a)."""
    rng = np.random.default_rng(7)
    specials = float_specials(config.format)[:VECTORS // 2]
    names = ("a", "b", "c") if config.function == "fma" else ("x",)
    operands = {name: rng.integers(0, 1 << 16, VECTORS, dtype=np.uint64) for name in names}
    operands[names[0]][:specials.size] = specials
    return operands


def test_info(board):
    design = board(BF16)
    results = run(design, "info")
    info = results["info"]
    assert info["function"] == "rsqrt" and info["operands"] == 1
    assert (info["in_width"], info["out_width"], info["has_flag"]) == (16, 16, False)
    assert info["latency"] == design.info.latency       # the unit's, from ExportTop
    assert info["depth"] == DEPTH
    assert info["config_hash"] == config_hash(BF16)
    assert info["selftest_vectors"] == 65536
    assert info["selftest_crc"] == golden_selftest_crc(BF16)
    assert results["cli_status"] == 0
    assert f"= {BF16.name} (the flags)" in results["cli_output"]


@pytest.mark.parametrize("config", [BF16, FMA], ids=lambda c: c.name)
def test_roundtrip_bit_exact(board, config):
    """``python -m fpga.client run --check``: the board's results equal the golden model's."""
    operands = vectors(config)
    results = run(board(config), "roundtrip",
                  operands={name: values.tolist() for name, values in operands.items()})
    assert results["cli_status"] == 0, results["cli_output"]
    assert "equal the golden model" in results["cli_output"]
    y, _ = evaluate(config, **operands)
    assert results["y"] == y.tolist()


@pytest.mark.parametrize("config, other", [(BF16, Config("bf16", seed="magic")),
                                           (FMA, Config("fp16", function="fma"))],
                         ids=lambda c: c.name)
def test_selftest_crc(board, config, other):
    """The power-on self-test lights the pass LED; the exhaustive self-test's CRC equals the
    golden model's, at one vector per cycle; a different configuration's flags are refused."""
    design = board(config)
    results = run(design, "selftest", other_config_flags=_flags(other))
    assert results["busy_after_reset"] == 1
    assert results["leds_after_post"] == {"busy": 0, "pass": 1, "fail": 0}
    assert results["cli_status"] == 0, results["cli_output"]
    assert "self-test PASS" in results["cli_output"]
    reply = results["reply"]
    assert reply["crc"] == golden_selftest_crc(config) and reply["passed"]
    assert reply["vectors"] == 65536
    assert reply["cycles"] == 65536 + design.info.latency + 2
    assert results["wrong_status"] == 3
    assert other.name in results["wrong_output"]
    assert "another configuration" in results["wrong_output"]


def _flags(config):
    from sim.board import config_flags
    return config_flags(config)


@pytest.mark.parametrize("config", [BF16, FMA, Config("q4.12", function="isru-grad", alpha=3.0),
                                    Config("fp16", seed="magic", pipeline=2),
                                    Config("bf16", function="isrlu", runtime_alpha=True)],
                         ids=lambda c: c.name)
def test_config_flags_round_trip(config):
    import argparse
    from hw.config import add_config_arguments, config_from_arguments
    parser = add_config_arguments(argparse.ArgumentParser())
    assert config_from_arguments(parser.parse_args(_flags(config))) == config


def test_bad_frames(board):
    """Corrupt checksum, truncated frame (inter-byte timeout), unknown command, bad length, bad
    range and a UART framing error each get exactly one error reply; INFO works after each, and
    so does a load/run/read at the end."""
    results = run(board(BF16), "bad_frames")
    errors = results["errors"]
    assert errors["bad_crc"] == [ErrorCode.BAD_CRC, Command.INFO]
    assert errors["truncated"] == [ErrorCode.TIMEOUT, Command.RUN]
    assert errors["unknown"] == [ErrorCode.UNKNOWN_COMMAND, 0x42]
    assert errors["bad_length"] == [ErrorCode.BAD_LENGTH, Command.RUN]
    assert errors["bad_range"] == [ErrorCode.BAD_RANGE, Command.READ]
    assert errors["framing"] == [ErrorCode.FRAMING, Command.RUN]
    assert all(value for key, value in errors.items() if key.endswith("_then_info"))
    assert results["garbage_then_info"]
    assert results["y"] == [0x3F80, 0x3F00]             # rsqrt(1) = 1, rsqrt(4) = 0.5
    assert results["leftover"] == 0 and results["framing_errors_seen"] == 0
