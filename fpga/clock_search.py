"""The board build's clock search: the highest clock of the board's PLL at which the whole board
top (the unit, the UART protocol and the self-test) meets timing, found in a few builds and cached.

The first build runs at the board's floor clock (the iCEBreaker's 25 MHz). Each build's corrected
Fmax names the next candidate: the highest clock of the PLL at or below it (nextpnr places for the
clock it is given, so a faster constraint can end at a different Fmax). A candidate that fails is
followed by the highest clock below both it and its Fmax. The search stops when no untried clock
above the best one met is left, or after ``max_builds`` builds; the build directory then holds the
bitstream of the highest clock met (rebuilt when the last attempt failed). The result is cached in
the build directory (:data:`CACHE_NAME`), keyed by the configuration, the board, the placement
seed, the baud rate and a digest of the sources, so the next build goes straight to that clock.
"""
import hashlib
import json
import sys
from pathlib import Path

from golden.files import write_json
from hw.spec.paths import source_digest

__all__ = ["search_clock", "clock_at_most", "CACHE_NAME", "MAX_BUILDS"]

CACHE_NAME = "clock_search.json"
MAX_BUILDS = 3
_PACKAGES = ("hw", "fpga")


def clock_at_most(board, mhz):
    """The highest clock of ``board`` (:meth:`~fpga.flow.Board.clocks`) at or below ``mhz``, or
    None."""
    below = [clock for clock in board.clocks() if clock <= mhz + 1e-9]
    return below[-1] if below else None


def _cache_key(config, board, seed, baud):
    key = [config.to_dict(), board.name, seed, baud,
           source_digest(Path(__file__).resolve().parents[1], _PACKAGES)[:16]]
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def _read_cache(path):
    try:
        cache = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def _attempt(summary):
    return {"clock_mhz": summary["clock_mhz"], "fmax_mhz": summary["fmax_mhz"], "ok": summary["ok"]}


def _say(text):
    print(f"clock search: {text}", file=sys.stderr, flush=True)


def search_clock(config, board, build, out_dir, *, floor_mhz, seed, baud, max_builds=MAX_BUILDS):
    """Build ``config`` on ``board`` at the highest clock the board top meets; ``build(clock_mhz)``
    builds at a clock and returns :func:`~fpga.flow.build_board`'s summary, ``out_dir`` is the build
    directory (where the cache lives). Returns the summary of the build left in ``out_dir``, with
    ``clock_search``: ``{"attempts": [{"clock_mhz", "fmax_mhz", "ok"}, ...], "cached": bool,
    "floor_mhz", "max_builds"}``. When the floor clock itself fails, its summary is returned
    (``ok`` False) and nothing is cached."""
    cache_path = Path(out_dir) / CACHE_NAME
    key = _cache_key(config, board, seed, baud)
    cache = _read_cache(cache_path)
    search = {"floor_mhz": floor_mhz, "max_builds": max_builds, "cached": False, "attempts": []}
    entry = cache.get(key)
    if isinstance(entry, dict) and isinstance(entry.get("clock_mhz"), (int, float)):
        _say(f"{entry['clock_mhz']:.3f} MHz from the cache ({cache_path})")
        summary = build(entry["clock_mhz"])
        if summary["ok"]:
            search.update(cached=True, attempts=entry.get("attempts", []))
            return _finish(summary, search)
        _say(f"the cached clock failed ({summary['fmax_mhz'] or 0:.2f} MHz): searching again")
    attempts, best, last = search["attempts"], None, None
    clock = floor_mhz
    for _ in range(max_builds):
        last = build(clock)
        attempts.append(_attempt(last))
        fmax = last["fmax_mhz"] or 0.0
        _say(f"{last['clock_mhz']:.3f} MHz: Fmax {fmax:.2f} MHz, " + ("met" if last["ok"] else "not met"))
        if last["ok"]:
            best = last
            limit = fmax
        elif best is None:
            return _finish(last, search)
        else:
            limit = min(fmax, last["clock_mhz"] - 1e-6)
        candidate = clock_at_most(board, limit)
        if (candidate is None or candidate <= best["clock_mhz"]
                or any(abs(a["clock_mhz"] - candidate) < 1e-9 for a in attempts)):
            break
        clock = candidate
    if last is not best:
        _say(f"rebuilding at {best['clock_mhz']:.3f} MHz, the highest clock met")
        best = build(best["clock_mhz"])
    if best["ok"]:
        cache[key] = {"name": config.name, "board": board.name, "clock_mhz": best["clock_mhz"],
                      "attempts": attempts}
        write_json(cache_path, cache)
    return _finish(best, search)


def _finish(summary, search):
    summary = {**summary, "clock_search": search}
    write_json(Path(summary["out_dir"]) / "summary.json", summary)
    return summary
