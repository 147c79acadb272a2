"""fpga.clock_search: hw.build's search for the highest clock the board top meets, with a stand-in
for the board build (each real build takes a minute; the README's build command runs the real one)."""
import json

import pytest

from fpga.clock_search import CACHE_NAME, clock_at_most, search_clock
from fpga.flow import BOARDS
from hw import build as build_cli
from hw.config import Config

BOARD = BOARDS["icebreaker"]
CONFIG = Config(format="bf16", function="rsqrt")


class FakeBuild:
    """A board build whose corrected Fmax at each PLL clock is given; records the clocks built."""
    def __init__(self, out_dir, fmax):
        self.out_dir, self.fmax, self.clocks = out_dir, fmax, []

    def __call__(self, clock_mhz):
        clock = 25.125 if clock_mhz == 25 else clock_mhz       # the PLL's closest to the floor
        self.clocks.append(clock)
        fmax = self.fmax(clock)
        return {"clock_mhz": clock, "fmax_mhz": fmax, "ok": fmax >= clock, "out_dir": str(self.out_dir)}


def test_clock_at_most_is_the_highest_achievable_clock_not_above():
    assert clock_at_most(BOARD, 35.59) == 35.25
    assert clock_at_most(BOARD, 35.25) == 35.25
    assert clock_at_most(BOARD, 14.0) == 12.0           # the oscillator, without the PLL
    assert clock_at_most(BOARD, 5.0) is None
    assert all(a < b for a, b in zip(BOARD.clocks(), BOARD.clocks()[1:]))


def test_search_climbs_backs_off_and_caches(tmp_path):
    """The measured shape of a BF16 rsqrt board top: 35.59 MHz placed for 25 MHz, 34.69 placed for
    35.25, 33.61 for 34.5, 36.15 for 33."""
    measured = {25.125: 35.59, 35.25: 34.69, 34.5: 33.61, 33.0: 36.15}
    fake = FakeBuild(tmp_path, lambda clock: measured.get(clock, 30.0))
    summary = search_clock(CONFIG, BOARD, fake, tmp_path, floor_mhz=25, seed=1, baud=115200,
                           max_builds=4)
    assert fake.clocks == [25.125, 35.25, 34.5, 33.0]
    assert summary["ok"] and summary["clock_mhz"] == 33.0
    search = summary["clock_search"]
    assert not search["cached"] and [a["ok"] for a in search["attempts"]] == [True, False, False, True]
    assert json.loads((tmp_path / "summary.json").read_text())["clock_search"] == search
    cache = json.loads((tmp_path / CACHE_NAME).read_text())
    assert [entry["clock_mhz"] for entry in cache.values()] == [33.0]

    again = FakeBuild(tmp_path, lambda clock: measured.get(clock, 30.0))
    summary = search_clock(CONFIG, BOARD, again, tmp_path, floor_mhz=25, seed=1, baud=115200)
    assert again.clocks == [33.0] and summary["clock_search"]["cached"]
    assert summary["clock_search"]["attempts"] == search["attempts"]

    other_seed = FakeBuild(tmp_path, lambda clock: measured.get(clock, 30.0))
    search_clock(CONFIG, BOARD, other_seed, tmp_path, floor_mhz=25, seed=2, baud=115200, max_builds=4)
    assert len(other_seed.clocks) == 4                   # another placement seed: searched again


def test_search_rebuilds_the_best_clock_when_the_last_attempt_failed(tmp_path):
    fake = FakeBuild(tmp_path, lambda clock: 40.0 if clock < 30 else 29.0)
    summary = search_clock(CONFIG, BOARD, fake, tmp_path, floor_mhz=25, seed=1, baud=115200,
                           max_builds=2)
    assert fake.clocks == [25.125, 39.75, 25.125]
    assert summary["ok"] and summary["clock_mhz"] == 25.125


def test_search_keeps_the_last_build_when_it_is_the_best(tmp_path):
    """The default three builds on the measured BF16 ISRLU board top: 25.125 MHz (Fmax 35.37),
    35.25 (34.17, not met), 33.75 (36.59, met): no rebuild."""
    measured = {25.125: 35.37, 35.25: 34.17, 33.75: 36.59}
    fake = FakeBuild(tmp_path, lambda clock: measured.get(clock, 30.0))
    summary = search_clock(CONFIG, BOARD, fake, tmp_path, floor_mhz=25, seed=1, baud=115200)
    assert fake.clocks == [25.125, 35.25, 33.75] and summary["clock_mhz"] == 33.75


def test_search_stops_when_no_higher_clock_is_left(tmp_path):
    fake = FakeBuild(tmp_path, lambda clock: 25.2)
    summary = search_clock(CONFIG, BOARD, fake, tmp_path, floor_mhz=25, seed=1, baud=115200)
    assert fake.clocks == [25.125] and summary["clock_mhz"] == 25.125


def test_a_cached_clock_that_fails_is_searched_again(tmp_path):
    search_clock(CONFIG, BOARD, FakeBuild(tmp_path, lambda clock: 36.0), tmp_path, floor_mhz=25,
                 seed=1, baud=115200)
    slower = FakeBuild(tmp_path, lambda clock: 31.0)
    summary = search_clock(CONFIG, BOARD, slower, tmp_path, floor_mhz=25, seed=1, baud=115200)
    assert slower.clocks[0] == 36.0 and summary["clock_mhz"] == 30.75
    assert not summary["clock_search"]["cached"]


def test_a_floor_that_fails_is_reported_and_not_cached(tmp_path):
    fake = FakeBuild(tmp_path, lambda clock: 20.0)
    summary = search_clock(CONFIG, BOARD, fake, tmp_path, floor_mhz=25, seed=1, baud=115200)
    assert fake.clocks == [25.125] and not summary["ok"]
    assert not (tmp_path / CACHE_NAME).exists()


@pytest.mark.parametrize("clock", [None, "30"])
def test_hw_build_searches_only_without_clock(monkeypatch, tmp_path, capsys, clock):
    built = []

    def fake_build_board(config, board, clock_mhz, seed, out, baud):
        built.append(clock_mhz)
        out.mkdir(parents=True, exist_ok=True)
        return {"clock_mhz": clock_mhz if clock_mhz != 25 else 25.125, "fmax_mhz": 26.0,
                "ok": True, "out_dir": str(out)}
    monkeypatch.setattr(build_cli, "build_board", fake_build_board)
    monkeypatch.setattr(build_cli, "format_summary", lambda summary: f"clock_search={summary.get('clock_search') is not None}")
    argv = ["--board", "icebreaker", "--format", "bf16", "--function", "rsqrt", "--out", str(tmp_path / "b")]
    assert build_cli.main(argv + (["--clock", clock] if clock else [])) == 0
    out = capsys.readouterr().out
    if clock:
        assert built == [30.0] and "clock_search=False" in out
    else:
        assert built[0] == 25.0 and "clock_search=True" in out
