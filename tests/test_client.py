"""The host client's error handling, with scripted transports: timeouts, corrupt replies, error
replies, a missing serial port and the command line's exit statuses."""
import struct

import numpy as np
import pytest

from fpga.client import (Board, CorruptReply, DeviceError, PortError, ReplyTimeout, main,
                         open_serial)
from fpga.protocol import ERROR, REPLY, Command, ErrorCode, Info, encode_frame


class Scripted:
    """A transport whose reads return the bytes of ``replies`` (fewer bytes at the end: a
    timeout); writes are recorded."""
    def __init__(self, *replies, timeout=0.5):
        self.data, self.written, self.timeout = b"".join(replies), b"", timeout

    def write(self, data):
        self.written += data

    def read(self, count):
        chunk, self.data = self.data[:count], self.data[count:]
        return chunk


INFO = Info(function="rsqrt", in_width=16, out_width=16, has_flag=False, runtime_alpha=False,
            operands=1, latency=4, depth=256, config_hash=1, clk_hz=12_000_000, baud=115200,
            timeout_cycles=600_000, selftest_vectors=65536, selftest_crc=2)


def test_request_bytes_and_reply():
    transport = Scripted(encode_frame(Command.RUN | REPLY, struct.pack("<I", 300)))
    assert Board(transport).run(5, 7) == 300
    assert transport.written == encode_frame(Command.RUN, struct.pack("<HH", 5, 7))


def test_timeout_says_what_was_awaited():
    with pytest.raises(ReplyTimeout, match=r"no reply from the board within 0.5 s: awaited the "
                                           r"start of the reply to INFO \(0 of 1 bytes"):
        Board(Scripted()).info()
    frame = encode_frame(Command.INFO | REPLY, INFO.to_bytes())
    with pytest.raises(ReplyTimeout, match=r"awaited the 39-byte payload of the reply to INFO "
                                           r"\(10 of 39 bytes received\)"):
        Board(Scripted(frame[:14])).info()


def test_corrupt_replies():
    frame = bytearray(encode_frame(Command.INFO | REPLY, INFO.to_bytes()))
    frame[6] ^= 0x40
    with pytest.raises(CorruptReply, match="the reply to INFO has a bad checksum"):
        Board(Scripted(bytes(frame))).info()
    with pytest.raises(CorruptReply, match="starts with 0x00, not SOF 0xa5"):
        Board(Scripted(b"\x00" + bytes(frame))).info()
    with pytest.raises(CorruptReply, match="the reply to RUN has type 0x84, expected 0x83"):
        Board(Scripted(encode_frame(Command.READ | REPLY, bytes(4)))).run(0, 1)
    with pytest.raises(CorruptReply, match="the reply to RUN has 2 payload bytes, expected 4"):
        Board(Scripted(encode_frame(Command.RUN | REPLY, bytes(2)))).run(0, 1)


def test_error_reply_names_the_code():
    reply = encode_frame(ERROR, bytes([ErrorCode.BAD_RANGE, Command.READ]))
    with pytest.raises(DeviceError, match="rejected the READ request: BAD_RANGE") as error:
        Board(Scripted(encode_frame(Command.INFO | REPLY, INFO.to_bytes()), reply)).read(250, 10)
    assert error.value.code == ErrorCode.BAD_RANGE and error.value.command == Command.READ


def test_missing_port_is_named(capsys):
    with pytest.raises(PortError, match="cannot open serial port '/dev/no-such-tty' at 9600 baud"):
        open_serial("/dev/no-such-tty", 9600)
    assert main(["--port", "/dev/no-such-tty", "info"]) == 3
    assert "cannot open serial port '/dev/no-such-tty'" in capsys.readouterr().err


def test_command_line_statuses(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("x.npy", np.zeros(3, dtype=np.uint16))
    np.save("g.npy", np.zeros(3, dtype=np.uint16))
    with pytest.raises(SystemExit) as exit_:
        main(["info"])
    assert exit_.value.code == 2 and "--port is required" in capsys.readouterr().err
    assert main(["info"], transport=Scripted()) == 3
    assert "awaited the start of the reply to INFO" in capsys.readouterr().err
    info = encode_frame(Command.INFO | REPLY, INFO.to_bytes())
    assert main(["selftest"], transport=Scripted(info)) == 3      # hash 1 is not bf16 rsqrt
    assert "runs another configuration" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--in", "x.npy", "--grad", "g.npy", "--out", "y.npy"], transport=Scripted(info))
    assert exit_.value.code == 2 and "not used: --grad" in capsys.readouterr().err


def test_operand_files_are_checked_before_the_board(capsys, tmp_path, monkeypatch):
    """A bad operand file or output folder is a one-line usage error before any byte is sent."""
    monkeypatch.chdir(tmp_path)
    np.save("x.npy", np.zeros(3, dtype=np.uint16))
    np.save("wide.npy", np.zeros((2, 2), dtype=np.uint16))
    out = ["--out", "y.npy"]
    for argv, message in ((["--in", "missing.npy", *out], "--in missing.npy: no such file"),
                          (["--in", "wide.npy", *out], "--in wide.npy: shape (2, 2): operands must be 1-D"),
                          (["--in", "x.npy", "--grad", "missing.npy", *out], "--grad missing.npy: no such"),
                          (["--in", "x.npy", "--out", "no/y.npy"], "folder no does not exist")):
        transport = Scripted()
        with pytest.raises(SystemExit) as exit_:
            main(["run", *argv], transport=transport)
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and message in err and err.count("\n") == 1, err
        assert transport.written == b""


def test_values_of_the_format_and_range(capsys, tmp_path, monkeypatch):
    """The board's format reads float16 arrays as values; patterns wider than it are refused."""
    monkeypatch.chdir(tmp_path)
    info = encode_frame(Command.INFO | REPLY, INFO.to_bytes())
    np.save("wide.npy", np.array([0x10000], dtype=np.uint32))
    with pytest.raises(SystemExit) as exit_:
        main(["--format", "fp16", "run", "--in", "wide.npy", "--out", "y.npy"],
             transport=Scripted(info))
    assert exit_.value.code == 2 and "does not fit 16-bit fp16" in capsys.readouterr().err


@pytest.mark.parametrize("flag, value", [("--baud", "0"), ("--baud", "-9600"), ("--timeout", "0")])
def test_baud_and_timeout_must_be_positive(capsys, flag, value):
    with pytest.raises(SystemExit) as exit_:
        main(["--port", "/dev/null", flag, value, "info"])
    assert exit_.value.code == 2 and f"argument {flag}: must be positive" in capsys.readouterr().err
