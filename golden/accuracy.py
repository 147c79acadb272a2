"""Accuracy of the golden model against the exact reference (:mod:`golden.reference`).

    python -m golden.accuracy --format fp32 --seed magic --magic 0x5f3759df --newton 1
    python -m golden.accuracy --format fp32 --exhaustive --json fp32.json

Errors are measured against the exact, unrounded ``1/sqrt(x)``:

* ulps: ``|y - v| / ulp(v)`` with ``ulp(v) = 2**(max(floor(log2 v), emin) - man_bits)`` for floats,
  the output LSB ``2**-frac_bits`` for fixed point. Special cases are compared bitwise with the
  correctly rounded reference (0 error when equal, infinite otherwise): for floats every input
  that is zero, infinite, NaN or negative and every reference result that is infinite, NaN or
  zero; for fixed point zero and negative inputs and results the reference saturates. The mean is
  over the other (numeric) inputs.
* relative error ``|y - v| / v`` over the numeric inputs whose result is finite and nonzero.
* not correctly rounded: inputs where the golden result (and, for fixed point, its flag) differs
  from :func:`~golden.reference.rsqrt_exact` / :func:`~golden.reference.rsqrt_exact_fixed`.

Formats up to 16 bits are swept exhaustively by default; wider ones are sampled (uniformly random
bit patterns plus every special class), or swept exhaustively with ``--exhaustive`` in chunks of
``2**24`` inputs on two worker processes. Lanes do not matter (the unit is elementwise).
"""
import argparse
import json
import multiprocessing
import sys
import time

import numpy as np

from hw.config import Config, add_config_arguments, config_from_arguments
from hw.formats import FloatFormat
from . import reference
from .rsqrt import rsqrt

__all__ = ["measure", "special_inputs", "table_configs", "format_table", "EXHAUSTIVE_MAX_WIDTH", "CHUNK", "DEFAULT_SAMPLES"]

EXHAUSTIVE_MAX_WIDTH = 16
CHUNK = 1 << 24
BLOCK = 1 << 16          # NumPy works through a chunk in cache-sized blocks (about 4x faster)
DEFAULT_SAMPLES = 1_000_000
WORKERS = 2

U = np.uint64


# ---------------------------------------------------------------------------------------------
# Inputs

def special_inputs(fmt):
    """Raw bit patterns of every special class of ``fmt`` (deduplicated, sorted)."""
    w = fmt.width
    values = set()
    if isinstance(fmt, FloatFormat):
        man, sign = fmt.man_bits, fmt.sign_bit
        positive = [0, 1, (1 << man) - 1, 1 << man, fmt.max_finite, fmt.inf,
                    fmt.quiet_nan, fmt.inf | 1, fmt.inf | ((1 << man) - 1)]     # qNaN, sNaN, all ones
        # Powers of two (so of four) across the whole range, subnormal ones included, and their
        # neighbouring bit patterns.
        for e in range(fmt.emin - man, fmt.emax + 1):
            if e >= fmt.emin:
                p = (e + fmt.bias) << man
            else:
                p = 1 << (e - fmt.emin + man)
            positive += [p, p - 1, p + 1]
        for p in positive:
            if 0 <= p <= fmt.inf | ((1 << man) - 1):
                values.update((p, p | sign))
    else:
        top = 1 << (w - 1)
        values.update((0, 1, top - 1, top, top + 1, (1 << w) - 1))
        for b in range(w - 1):
            p = 1 << b
            values.update((p, p - 1, p + 1, (-p) & ((1 << w) - 1)))
    return np.array(sorted(v & ((1 << w) - 1) for v in values), dtype=U)


def _sample_inputs(fmt, samples, rng_seed):
    specials = special_inputs(fmt)
    rng = np.random.default_rng(rng_seed)
    count = max(samples - len(specials), 0)
    randoms = rng.integers(0, 1 << fmt.width, size=count, dtype=np.uint64)
    return np.concatenate([specials, randoms])


# ---------------------------------------------------------------------------------------------
# Statistics of one block of inputs

def _block_stats(config, x):
    """Partial statistics of raw inputs ``x`` (uint64); combined by :func:`_combine`."""
    x = np.asarray(x, dtype=U).reshape(-1)
    stats = None
    for start in range(0, max(len(x), 1), BLOCK):
        stats = _combine(stats, _stats(config, x[start:start + BLOCK]))
    return stats


def _stats(config, x):
    fmt = config.format
    if config.is_float:
        golden = rsqrt(config, x)
        ref = reference.rsqrt_exact(fmt, x)
        v = reference.exact_value(fmt, x)
        y = reference.decode_float(fmt, golden)
        sign, zero, inf, nan = reference.float_classes(fmt, x)
        ref_mag = ref & U(fmt.sign_bit - 1)
        special = sign | zero | inf | nan | (ref_mag >= U(fmt.inf)) | (ref_mag == U(0))
        wrong = golden != ref
        safe_v = np.where(special, 1.0, v)
        _, e2 = np.frexp(safe_v)
        ulp = np.ldexp(1.0, (np.maximum(e2.astype(np.int64) - 1, fmt.emin) - fmt.man_bits).astype(np.int32))
        flag = None
    else:
        golden, flag = rsqrt(config, x)
        ref, ref_flag = reference.rsqrt_exact_fixed(config, x)
        v = reference.exact_value(config, x)
        out = config.out_format
        y = np.ldexp(golden.astype(np.float64), -out.frac_bits)
        bits = x & U((1 << fmt.width) - 1)
        special = (bits == U(0)) | ((bits >> U(fmt.width - 1)) == U(1)) | ref_flag
        wrong = (golden != ref) | (flag != ref_flag)
        safe_v = np.where(special, 1.0, v)
        ulp = np.ldexp(1.0, -out.frac_bits)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(y - safe_v)
        err = diff / ulp
        err = np.where(np.isnan(err), np.inf, err)
        rel = np.where(~special & np.isfinite(y) & (y != 0), diff / safe_v, 0.0)
    err = np.where(special, np.where(wrong, np.inf, 0.0), err)
    numeric = ~special
    i = int(np.argmax(err)) if len(err) else 0
    worst = None
    if len(err):
        worst = {"input": int(x[i]), "output": int(golden[i]), "reference": int(ref[i]),
                 "exact": float(v[i]), "ulp": float(err[i]),
                 "flag": None if flag is None else bool(flag[i])}
    return {"inputs": int(len(x)), "numeric": int(numeric.sum()),
            "sum_ulp": float(err[numeric].sum()), "max_ulp": float(err.max()) if len(err) else 0.0,
            "max_rel": float(rel.max()) if len(rel) else 0.0, "wrong": int(wrong.sum()),
            "worst": worst}


def _combine(total, part):
    if total is None:
        return part
    out = {key: total[key] + part[key] for key in ("inputs", "numeric", "sum_ulp", "wrong")}
    out["max_rel"] = max(total["max_rel"], part["max_rel"])
    candidates = [s for s in (total, part) if s["worst"] is not None]
    best = min(candidates, key=lambda s: (-s["worst"]["ulp"], s["worst"]["input"])) if candidates else total
    out["max_ulp"] = max(total["max_ulp"], part["max_ulp"])
    out["worst"] = best["worst"]
    return out


def _chunk_worker(args):
    config, start, size = args
    return _block_stats(config, np.arange(start, start + size, dtype=U))


# ---------------------------------------------------------------------------------------------
# Driver

def _format_seconds(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _exhaustive(config, progress):
    total_inputs = 1 << config.format.width
    chunk = min(CHUNK, total_inputs)
    jobs = [(config, start, chunk) for start in range(0, total_inputs, chunk)]
    if len(jobs) == 1:
        return _chunk_worker(jobs[0])
    stats = None
    begin = time.time()
    with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
        for done, part in enumerate(pool.imap_unordered(_chunk_worker, jobs), 1):
            stats = _combine(stats, part)
            if progress:
                elapsed = time.time() - begin
                eta = elapsed / done * (len(jobs) - done)
                print(f"\r{config.name}: chunk {done}/{len(jobs)}, elapsed {_format_seconds(elapsed)}, "
                      f"ETA {_format_seconds(eta)}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return stats


def measure(config: Config, inputs=None, exhaustive=None, samples=DEFAULT_SAMPLES, rng_seed=0,
            progress=True):
    """Accuracy of the golden model for ``config`` against the exact reference.

    ``inputs`` (raw bit patterns) overrides the sweep. Otherwise ``exhaustive=None`` sweeps every
    input of formats up to 16 bits and samples ``samples`` inputs (random bit patterns from
    ``rng_seed`` plus :func:`special_inputs`) of wider ones. Returns a JSON-able dict.
    """
    begin = time.time()
    fmt = config.format
    if inputs is not None:
        exhaustive = False
        x = np.asarray(inputs).astype(np.int64).astype(U) & U((1 << fmt.width) - 1)
        stats = _block_stats(config, x)
    else:
        if exhaustive is None:
            exhaustive = fmt.width <= EXHAUSTIVE_MAX_WIDTH
        if exhaustive:
            stats = _exhaustive(config, progress)
        else:
            x = _sample_inputs(fmt, samples, rng_seed)
            stats = None
            for start in range(0, len(x), CHUNK):
                stats = _combine(stats, _block_stats(config, x[start:start + CHUNK]))
    worst = stats["worst"]
    in_hex = (fmt.width + 3) // 4
    out_hex = (config.out_width + 3) // 4
    if config.is_float:
        decode = lambda b: float(reference.decode_float(fmt, b))
        out_value = decode(worst["output"]) if worst else None
        in_value = decode(worst["input"]) if worst else None
    else:
        out_fmt = config.out_format
        signed = lambda b, w: b - (1 << w) if b >> (w - 1) else b
        in_value = signed(worst["input"], fmt.width) / 2 ** fmt.frac_bits if worst else None
        out_value = worst["output"] / 2 ** out_fmt.frac_bits if worst else None
    inputs_count = stats["inputs"]
    result = {
        "format": fmt.name,
        "function": config.function,
        "seed": config.seed,
        "newton": config.newton,
        "table_bits": config.table_bits,
        "magic": None if config.magic is None else f"{config.magic:#x}",
        "config": config.to_dict(),
        "name": config.name,
        "inputs": inputs_count,
        "exhaustive": bool(exhaustive),
        "rng_seed": None if exhaustive or inputs is not None else rng_seed,
        "max_ulp": stats["max_ulp"],
        "mean_ulp": stats["sum_ulp"] / stats["numeric"] if stats["numeric"] else 0.0,
        "max_rel_error": stats["max_rel"],
        "max_rel_error_percent": 100.0 * stats["max_rel"],
        "not_correctly_rounded": stats["wrong"],
        "not_correctly_rounded_share": stats["wrong"] / inputs_count if inputs_count else 0.0,
        "worst_input": f"{worst['input']:#0{in_hex + 2}x}" if worst else None,
        "worst_input_value": in_value,
        "worst_output": f"{worst['output']:#0{out_hex + 2}x}" if worst else None,
        "worst_output_value": out_value,
        "worst_reference": f"{worst['reference']:#0{out_hex + 2}x}" if worst else None,
        "worst_exact": worst["exact"] if worst else None,
        "worst_flag": worst["flag"] if worst else None,
        "seconds": None,
    }
    result["seconds"] = round(time.time() - begin, 3)
    return result


def format_report(result):
    """A short human-readable report of a :func:`measure` result."""
    cfg = result["config"]
    if result["seed"] == "magic":
        seed = f"magic seed {result['magic']}"
    else:
        seed = f"{result['table_bits']}-bit table seed"
    unit = "ulp" if cfg.get("out_format") is None else "LSB"
    out = f" -> {cfg['out_format']}" if cfg.get("out_format") else ""
    sweep = ("exhaustive" if result["exhaustive"] else
             "sampled" + (f", rng seed {result['rng_seed']}" if result["rng_seed"] is not None else ""))
    lines = [
        f"{result['name']}: {result['function']} {result['format']}{out}, {seed}, "
        f"{result['newton']} Newton stage{'s' if result['newton'] != 1 else ''}",
        f"  inputs                 {result['inputs']:,} ({sweep})",
        f"  max error              {result['max_ulp']:.4f} {unit}",
        f"  mean error             {result['mean_ulp']:.4f} {unit}",
        f"  max relative error     {result['max_rel_error_percent']:.6f} %",
        f"  not correctly rounded  {result['not_correctly_rounded']:,} "
        f"({100 * result['not_correctly_rounded_share']:.4f} %)",
    ]
    if result["worst_input"] is not None:
        flag = "" if result["worst_flag"] is None else f", flag {int(result['worst_flag'])}"
        lines.append(f"  worst input            {result['worst_input']} ({result['worst_input_value']!r})"
                     f" -> {result['worst_output']} ({result['worst_output_value']!r}{flag}); "
                     f"exact {result['worst_exact']!r}, correctly rounded {result['worst_reference']}")
    lines.append(f"  time                   {result['seconds']:.1f} s")
    return "\n".join(lines)


def table_configs():
    """The configurations of the accuracy table: per standard format the default, then both seeds
    with 0 to 2 Newton stages, and the classic FP32 constant 0x5f3759df with 0 and 1 stages."""
    configs = []
    for fmt in ("bf16", "fp16", "fp32"):
        configs.append(Config(fmt))
        configs += [Config(fmt, seed=seed, newton=n) for seed in ("lut", "magic") for n in range(3)]
    configs += [Config("fp32", seed="magic", magic=0x5F3759DF, newton=n) for n in range(2)]
    return list(dict.fromkeys(configs))


def format_table(results):
    """One markdown table row per :func:`measure` result."""
    lines = ["| configuration | inputs | max ulp | mean ulp | max rel. error | not correctly rounded |",
             "|---|---|---|---|---|---|"]
    for r in results:
        sweep = "all" if r["exhaustive"] else f"{r['inputs']:,} sampled"
        lines.append(f"| {r['name']} | {sweep} | {r['max_ulp']:.4g} | {r['mean_ulp']:.4g} | "
                     f"{r['max_rel_error_percent']:.4g} % | {100 * r['not_correctly_rounded_share']:.4g} % |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m golden.accuracy",
                                     description="Accuracy of the golden rsqrt model against the "
                                                 "exact, correctly rounded reference.")
    add_config_arguments(parser)
    sweep = parser.add_mutually_exclusive_group()
    sweep.add_argument("--exhaustive", action="store_true",
                       help="every input (default for formats up to 16 bits)")
    sweep.add_argument("--samples", type=int, default=None,
                       help=f"random inputs plus special values (default for wider formats: "
                            f"{DEFAULT_SAMPLES})")
    parser.add_argument("--seed-rng", type=int, default=0, help="random seed for sampling (default 0)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.add_argument("--table", action="store_true",
                        help="instead of one configuration, the table of bf16/fp16/fp32 defaults and "
                             "both seeds with 0..2 Newton stages (--json writes a list)")
    args = parser.parse_args(argv)
    if args.table:
        results = []
        for config in table_configs():
            results.append(measure(config, samples=args.samples or DEFAULT_SAMPLES,
                                   rng_seed=args.seed_rng, progress=False))
            if not args.quiet:
                print(f"{config.name}: max {results[-1]['max_ulp']:.4g} ulp", file=sys.stderr)
        print(format_table(results))
        if args.json:
            with open(args.json, "w") as file:
                json.dump(results, file, indent=2)
                file.write("\n")
        return 0
    config = config_from_arguments(args, parser)
    if args.samples is not None and args.samples < 1:
        parser.error("--samples must be positive")
    exhaustive = True if args.exhaustive else (False if args.samples is not None else None)
    result = measure(config, exhaustive=exhaustive,
                     samples=args.samples if args.samples is not None else DEFAULT_SAMPLES,
                     rng_seed=args.seed_rng, progress=not args.quiet)
    print(format_report(result))
    if args.json:
        with open(args.json, "w") as file:
            json.dump(result, file, indent=2)
            file.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
