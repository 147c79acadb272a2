"""The pipeline search of the report: for a configuration and a clock target, the fewest optional
pipeline registers that meet it on the iCE40UP5K, each build cached under ``build/report``."""
import hashlib
import json
from pathlib import Path

from hw.spec.paths import source_digest
from hw.spec.plan import latency, optional_cuts
from . import ice40
from .timing import DSP_INTERNAL

__all__ = ["build_row", "meets", "CACHE"]

CACHE = Path("build") / "report"


def _build(config, clock_mhz, seed, placements=1, source=None):
    """One cached build of ``config`` (with its pipeline level) at ``clock_mhz``, placed and
    routed with the seeds ``seed .. seed + placements - 1``. ``source``: None synthesizes the
    Amaranth design, else ``(name, make)`` the design ``make(config)`` (e.g. the exported core,
    :class:`~hw.emit.instance.ExportedCore`), cached under ``name``."""
    key = [config.to_dict(), clock_mhz, seed, _source_hash()] + ([placements] if placements > 1 else [])
    key += [source[0]] if source else []
    work = CACHE / f"{config.name}-{hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]}"
    summary = work / "summary.json"
    if summary.exists():
        return json.loads(summary.read_text())
    work.mkdir(parents=True, exist_ok=True)
    design = source[1](config) if source else config
    result = ice40.synthesize_and_place(design, work, clock_mhz=clock_mhz, seed=seed,
                                        extra_seeds=range(seed + 1, seed + placements))
    keep = {k: result.get(k) for k in ("fits", "fmax", "fmax_nextpnr", "lut4", "lc", "ff", "sb_mac16",
                                       "dsp", "bram", "spram", "build_time", "driver_conflicts",
                                       "timing_met", "error", "needs", "latency", "fmax_seeds",
                                       "timing_caveats")}
    summary.write_text(json.dumps(keep, indent=1, default=str))
    return keep


def meets(result, clock_mhz):
    """Whether a build meets ``clock_mhz``: it fits and most of its placements reach it (all of
    them when there is one or two)."""
    if not result["fits"]:
        return False
    fmax = result.get("fmax_seeds") or [result.get("fmax")]
    reached = sum(1 for f in fmax if f and f >= clock_mhz)
    return reached * 2 > len(fmax) if len(fmax) > 2 else reached == len(fmax)


def _median(values):
    values = sorted(v for v in values if v)
    return values[len(values) // 2] if values else None


# What a build's result depends on: the design and its export, the flow and the re-timing (not
# the command-line modules, the tables or the plots, whose edits keep the cache).
_BUILD_SOURCES = ("spec", "rtl", "emit", "synth/ice40.py", "synth/timing.py", "synth/tools.py")


def _source_hash():
    return source_digest(Path(__file__).resolve().parents[1], _BUILD_SOURCES)[:12]


def build_row(config, default, clock_mhz, seed=1, max_ulp=None, placements=1, source=None):
    """Search the fewest optional pipeline registers that meet ``clock_mhz`` (builds are monotone
    enough for a bisection; with ``placements`` seeds a build meets it when most of them do, see
    :func:`meets`); returns the report row of the chosen build, stating ``max_ulp`` (the
    configuration's measured accuracy) beside it. ``fmax_mhz`` is the median of the placements,
    ``fmax_seeds_mhz`` all of them; ``source`` as :func:`_build`'s. ``timing_caveats`` lists the
    SB_MAC16 arcs the re-timing had to estimate (:mod:`hw.synth.timing`); where a path runs between
    a DSP's own registers, which no public figure times, ``dsp_internal_untimed`` is set and
    ``fmax_signed_off_mhz`` is None: ``fmax_mhz`` then holds for every other path only."""
    low, high = 0, optional_cuts(config)
    best = None
    tried = {}
    while low <= high:
        level = (low + high) // 2
        tried[level] = result = _build(config.with_(pipeline=level), clock_mhz, seed, placements, source)
        if meets(result, clock_mhz):
            best, high = level, level - 1
        else:
            low = level + 1
    level = best if best is not None else optional_cuts(config)
    result = tried.get(level) or _build(config.with_(pipeline=level), clock_mhz, seed, placements, source)
    fmax = _median(result.get("fmax_seeds") or [result.get("fmax")]) if result.get("fits") else None
    chosen = config.with_(pipeline=level)
    cycles = latency(chosen)
    unit = config.function
    row = {
        "unit": unit, "format": config.format.name,
        "seed": config.seed if config.entry.has_seed else None,
        "newton": config.newton if config.entry.has_seed else None,
        "default": default, "clock_target_mhz": clock_mhz, "pipeline": level,
        "latency_cycles": cycles,
        "fmax_mhz": fmax, "fmax_nextpnr_mhz": result.get("fmax_nextpnr"),
        "fmax_seeds_mhz": result.get("fmax_seeds") or [result.get("fmax")],
        "meets_target": best is not None,
        "latency_ns": round(cycles * 1000.0 / min(clock_mhz, fmax or clock_mhz), 1),
        "lut4": result.get("lut4"), "ff": result.get("ff"), "dsp": result.get("sb_mac16"),
        "bram": result.get("bram"), "max_ulp": max_ulp, "fits": bool(result.get("fits")),
        "needs": None if result.get("fits") else result.get("needs"),
        "driver_conflicts": result.get("driver_conflicts"), "netlist_ok": not result.get("driver_conflicts"),
        "name": chosen.name,
        "builds": len(tried), "source": source[0] if source else "amaranth",
    }
    caveats = result.get("timing_caveats") or []
    row["timing_caveats"] = caveats
    row["dsp_internal_untimed"] = any(DSP_INTERNAL in caveat for caveat in caveats)
    row["fmax_signed_off_mhz"] = None if row["dsp_internal_untimed"] else fmax
    return row
