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

Activations (``--function isrlu|isru|isrlu-grad|isru-grad``, ``--alpha A`` or ``--runtime-alpha``)
are measured the same way against :func:`~golden.reference.activation_exact` and
:func:`~golden.reference.activation_compare`:

* the sweep is over ``x``; the backward functions take ``grad_out = 1.0`` (fixed point: the
  largest representable value up to 1), so they measure the derivative itself. ``--grad-samples N``
  sweeps ``N`` ``(x, grad)`` pairs instead: every special class of ``x`` with every special
  ``grad`` (:func:`grad_specials`), the rest random bit patterns for both.
* ``--runtime-alpha``: each ``x`` is paired with a random alpha, a positive normal number in
  ``[2**-4, 2**4)`` (:func:`alpha_samples`), and every special class of alpha (zero, negative,
  infinite, NaN, subnormal, ...) is paired with a few inputs.
* ulps are those of the exact value (subnormal results in the subnormal ulp), computed without
  rounding the exact value to float64. Bitwise comparison only (0 or infinite error) where the
  exact result is not a finite nonzero number, where it overflows (floats) or saturates (fixed
  point).

``--activation-table`` prints the table of bf16/fp16/fp32 x the four functions x alpha 1 and 3.
``--json FILE`` also writes the results (``-``: to stdout, the report then on stderr). Exit status
(:mod:`hw.spec.cli`): 0 measured, 2 bad usage.
"""
import argparse
import hashlib
import multiprocessing
import sys
import time

import numpy as np
from tqdm import tqdm

from hw.spec.cli import command_line
from hw.spec.config import Config
from hw.spec.flags import add_config_arguments, config_from_arguments
from hw.spec.formats import FloatFormat
from hw.spec.functions import Family, functions, lookup
from . import reference
from .blocked import BLOCK
from .files import check_output, json_on_stdout, write_json
from .eval import evaluate, reference_of
from .rsqrt import rsqrt

__all__ = ["measure", "errors", "chunk_ranges", "parse_ranges", "special_inputs", "table_configs",
           "format_table", "EXHAUSTIVE_MAX_WIDTH", "CHUNK", "DEFAULT_SAMPLES", "grad_one", "grad_specials",
           "fingerprint", "FINGERPRINT_INPUTS",
           "alpha_samples", "activation_table_entries",
           "measure_activation_table", "format_activation_table", "ALPHA_RANGE"]

EXHAUSTIVE_MAX_WIDTH = 16
CHUNK = 1 << 24
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


def grad_one(fmt):
    """Raw bits of ``grad_out = 1.0`` (fixed point: the largest representable value up to 1)."""
    if isinstance(fmt, FloatFormat):
        return fmt.bias << fmt.man_bits
    return min(1 << fmt.frac_bits, fmt.max_int)


FINGERPRINT_INPUTS = 1 << 16


def fingerprint(config: Config):
    """A 16-hex-digit digest of ``config``'s golden results on :data:`FINGERPRINT_INPUTS` random
    raw inputs (NumPy seed 0; backward units with grad 1.0, :func:`grad_one`): what ties a
    recorded sweep to the model it measured (:mod:`golden.exhaustive`)."""
    x = np.random.default_rng(0).integers(0, 1 << config.format.width, FINGERPRINT_INPUTS, dtype=U)
    operands = {"x": x}
    if config.is_backward:
        operands["grad"] = np.full(x.shape, U(grad_one(config.format)))
    y, _ = evaluate(config, **operands)
    return hashlib.sha256(np.asarray(y, dtype="<u8").tobytes()).hexdigest()[:16]


def grad_specials(fmt):
    """A short list of special ``grad`` bit patterns (both signs): zero, one, the smallest and
    largest subnormal, the smallest normal, the largest finite, infinity, quiet and signalling NaN;
    fixed point: zero, one LSB, one, the extremes."""
    w = fmt.width
    if isinstance(fmt, FloatFormat):
        man = fmt.man_bits
        positive = [0, grad_one(fmt), 1, (1 << man) - 1, 1 << man, fmt.max_finite, fmt.inf,
                    fmt.quiet_nan, fmt.inf | 1]
        values = {v for p in positive for v in (p, p | fmt.sign_bit)}
    else:
        one = grad_one(fmt)
        values = {0, 1, one, fmt.max_int, (-1) & ((1 << w) - 1), (-one) & ((1 << w) - 1),
                  1 << (w - 1)}
    return np.array(sorted(values), dtype=U)


ALPHA_RANGE = (-4, 4)          # random runtime alphas: 2**-4 <= alpha < 2**4


def alpha_samples(fmt, count, rng, low=ALPHA_RANGE[0], high=ALPHA_RANGE[1]):
    """``count`` random alphas as raw bits of ``fmt``: positive normal numbers in
    ``[2**low, 2**high)`` (exponent and fraction uniform), clamped to the format's normal range;
    fixed point: ``2**uniform(low, high)`` on the format's grid, clamped to ``[1 LSB, max]``."""
    if isinstance(fmt, FloatFormat):
        field = rng.integers(low, high, size=count) + fmt.bias
        field = np.clip(field, 1, fmt.exp_max_field - 1).astype(U)
        frac = rng.integers(0, 1 << fmt.man_bits, size=count, dtype=np.uint64)
        return (field << U(fmt.man_bits)) | frac
    value = np.exp2(rng.uniform(low, high, size=count))
    raw = np.round(np.ldexp(value, fmt.frac_bits))
    return np.clip(raw, 1, fmt.max_int).astype(U)


def _sample_inputs(fmt, samples, rng_seed):
    specials = special_inputs(fmt)
    rng = np.random.default_rng(rng_seed)
    count = max(samples - len(specials), 0)
    randoms = rng.integers(0, 1 << fmt.width, size=count, dtype=np.uint64)
    return np.concatenate([specials, randoms])


# ---------------------------------------------------------------------------------------------
# Errors per input, and the statistics of one block of inputs

def errors(config, x, grad=None, alpha=None):
    """The error of the golden model on each raw input ``x`` against the exact reference: a dict
    of arrays, one entry per input.

    * ``input``, ``grad``, ``alpha``: the operands (raw bits; ``grad`` and ``alpha`` None where the
      function takes none). A backward unit takes ``grad`` (default ``grad_out = 1``,
      :func:`grad_one`: its result is then the derivative); ``runtime_alpha`` needs ``alpha``.
    * ``output``: the golden model's raw result; ``flag``: its flags (fixed point; None for floats).
    * ``reference``: the correctly rounded raw result; ``exact``: the exact value (float64).
    * ``ulp``: ``|y - v| / ulp(v)`` where ``numeric``; elsewhere (special results, compared
      bitwise) 0 when right and infinite when wrong.
    * ``rel``: the relative error ``|y - v| / |v|`` where it is measured, else 0.
    * ``numeric``: the error is measured (not a special result); ``wrong``: the result (or its
      flag) differs from the correctly rounded one.

    :func:`measure` reduces these to its statistics; :mod:`golden.plots` draws them.
    """
    x = np.asarray(x, dtype=U).reshape(-1)
    if config.is_backward and grad is None:
        grad = np.full(x.shape, grad_one(config.format), dtype=U)
    if config.is_activation and not config.entry.sigmoid_form:
        return _activation_errors(config, x, grad, alpha)
    if config.entry.family is Family.RSQRT:
        return _rsqrt_errors(config, x)
    return _reference_errors(config, x, grad)


def _reference_errors(config, x, grad):
    """:func:`errors` of a function whose exact reference (:func:`golden.eval.reference_of`)
    returns ``{"bits", "flag", "value"}``: the correctly rounded result, its flags and the exact
    value."""
    fmt = config.format
    operands = {"x": x}
    if config.is_backward:
        operands["grad"] = grad
    golden, flag = evaluate(config, **operands)
    ref = reference_of(config)(config, **operands)
    v = ref["value"]
    if config.is_float:
        y = reference.decode_float(fmt, golden)
        special = ~np.isfinite(v) | (v == 0)
        wrong = golden != ref["bits"]
        safe_v = np.where(special, 1.0, v)
        _, e2 = np.frexp(np.abs(safe_v))
        ulp = np.ldexp(1.0, (np.maximum(e2.astype(np.int64) - 1, fmt.emin) - fmt.man_bits).astype(np.int32))
    else:
        out = config.out_format
        signed = golden.astype(np.int64) - np.where(golden >> U(out.width - 1) == U(1), 1 << out.width, 0)
        y = np.ldexp(signed.astype(np.float64), -out.frac_bits)
        special = ref["flag"]
        wrong = (golden != ref["bits"]) | (flag != ref["flag"])
        safe_v = np.where(special, 1.0, v)
        ulp = np.ldexp(1.0, -out.frac_bits)
    normal = np.abs(safe_v) >= 2.0 ** fmt.emin if config.is_float else True
    return _value_errors(x, golden, ref["bits"], flag, v, y, safe_v, ulp, special, wrong, normal,
                         operands.get("grad"))


def _rsqrt_errors(config, x):
    """:func:`errors` of the inverse square root."""
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
    return _value_errors(x, golden, ref, flag, v, y, safe_v, ulp, special, wrong)


def _value_errors(x, golden, ref, flag, v, y, safe_v, ulp, special, wrong, relative=True, grad=None):
    """:func:`errors` from results ``y`` (values) of raw ``golden`` against the exact values
    ``safe_v`` (1 where ``special``), in units of ``ulp``; ``special`` results count only as right
    or ``wrong`` (an infinite error); the relative error only where ``relative`` (not for
    subnormal results, whose precision is absolute)."""
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(y - safe_v)
        err = diff / ulp
        err = np.where(np.isnan(err), np.inf, err)
        rel = np.where(~special & np.isfinite(y) & (y != 0) & relative, diff / np.abs(safe_v), 0.0)
    err = np.where(special, np.where(wrong, np.inf, 0.0), err)
    return {"input": x, "grad": grad, "alpha": None, "output": golden, "reference": ref, "flag": flag,
            "exact": v, "ulp": err, "rel": rel, "numeric": ~special, "wrong": wrong}


def _activation_errors(config, x, grad, alpha):
    """:func:`errors` of an activation judged by :func:`golden.reference.activation_compare`."""
    golden, flag = evaluate(config, x, grad, alpha)
    golden = golden.astype(U)
    d = reference.activation_compare(config, golden, x, grad, alpha, flag=flag)
    numeric, wrong = d["numeric"], d["wrong"]
    return {"input": x, "grad": grad, "alpha": alpha, "output": golden, "reference": d["reference"],
            "flag": flag, "exact": d["value"],
            "ulp": np.where(numeric, d["ulp"], np.where(wrong, np.inf, 0.0)),
            "rel": np.where(np.isnan(d["rel"]), 0.0, d["rel"]), "numeric": numeric, "wrong": wrong}


def _summary(e):
    """The statistics of one block's :func:`errors`, combined by :func:`_combine`."""
    err, numeric, wrong, rel = e["ulp"], e["numeric"], e["wrong"], e["rel"]

    def example(i):
        pick = lambda key: None if e[key] is None else int(e[key][i])
        return {"input": int(e["input"][i]), "grad": pick("grad"), "alpha": pick("alpha"),
                "output": int(e["output"][i]), "reference": int(e["reference"][i]),
                "exact": float(e["exact"][i]), "ulp": float(err[i]),
                "flag": None if e["flag"] is None else bool(e["flag"][i])}

    return {"inputs": int(len(err)), "numeric": int(numeric.sum()),
            "sum_ulp": float(err[numeric].sum()), "max_ulp": float(err.max()) if len(err) else 0.0,
            "max_rel": float(rel.max()) if len(rel) else 0.0, "wrong": int(wrong.sum()),
            "worst": example(int(np.argmax(err))) if len(err) else None,
            # The not correctly rounded input with the largest error (the worst input may be right).
            "wrong_worst": example(int(np.argmax(np.where(wrong, err, -1.0)))) if wrong.any() else None}


def _block_stats(config, x, grad=None, alpha=None):
    """Partial statistics of raw inputs ``x`` (and ``grad``, ``alpha``: arrays of the same
    length, or None), in cache-sized blocks; combined by :func:`_combine`."""
    x = np.asarray(x, dtype=U).reshape(-1)
    stats = None
    for start in range(0, max(len(x), 1), BLOCK):
        part = slice(start, start + BLOCK)
        stats = _combine(stats, _summary(errors(config, x[part], None if grad is None else grad[part],
                                                None if alpha is None else alpha[part])))
    return stats


def _activation_block_stats(config, x, grad, alpha):
    """Partial statistics of an activation on operand arrays (grad, alpha may be None)."""
    return _block_stats(config, x, grad, alpha)


def _combine(total, part):
    if total is None:
        return part
    out = {key: total[key] + part[key] for key in ("inputs", "numeric", "sum_ulp", "wrong")}
    out["max_rel"] = max(total["max_rel"], part["max_rel"])
    candidates = [s for s in (total, part) if s["worst"] is not None]
    best = min(candidates, key=lambda s: (-s["worst"]["ulp"], s["worst"]["input"])) if candidates else total
    out["max_ulp"] = max(total["max_ulp"], part["max_ulp"])
    out["worst"] = best["worst"]
    if "wrong_worst" in total or "wrong_worst" in part:
        wrongs = [s["wrong_worst"] for s in (total, part) if s.get("wrong_worst") is not None]
        out["wrong_worst"] = (min(wrongs, key=lambda w: (-w["ulp"], w["input"])) if wrongs
                              else None)
    return out


def _activation_chunk(config, start, size, rng_seed):
    """Operands of one chunk of an exhaustive activation sweep: ``x`` from ``start``, grad 1.0,
    random alphas seeded by ``(rng_seed, start)``."""
    x = np.arange(start, start + size, dtype=U)
    grad = np.full(size, grad_one(config.format), dtype=U) if config.is_backward else None
    alpha = None
    if config.runtime_alpha:
        alpha = alpha_samples(config.format, size, np.random.default_rng((rng_seed, start)))
    return x, grad, alpha


def _chunk_worker(args):
    config, start, size = args[:3]
    if config.is_activation:
        return _activation_block_stats(config, *_activation_chunk(config, start, size, args[3]))
    return _block_stats(config, np.arange(start, start + size, dtype=U))


# ---------------------------------------------------------------------------------------------
# Driver

def chunk_ranges(config, ranges=None):
    """The chunks (of :data:`CHUNK` inputs, or all of a narrower format's) of an exhaustive sweep:
    ``range(A, B)`` of chunk indices, all of them by default; ``ranges`` ``(A, B)`` or a range."""
    count = max((1 << config.format.width) // CHUNK, 1)
    if ranges is None:
        return range(count)
    ranges = range(*ranges) if isinstance(ranges, tuple) else ranges
    if ranges.step != 1 or not 0 <= ranges.start < ranges.stop <= count:
        raise ValueError(f"ranges must be A:B with 0 <= A < B <= {count} (chunks of "
                         f"{min(CHUNK, 1 << config.format.width):,} inputs), not "
                         f"{ranges.start}:{ranges.stop}")
    return ranges


def _exhaustive(config, progress, rng_seed=0, ranges=None):
    chunk = min(CHUNK, 1 << config.format.width)
    jobs = [(config, index * chunk, chunk, rng_seed) for index in chunk_ranges(config, ranges)]
    if len(jobs) == 1:
        return _chunk_worker(jobs[0])
    stats = None
    # A progress bar on stderr only if it is a terminal (disable=None) and ``progress``.
    with (multiprocessing.get_context("fork").Pool(WORKERS) as pool,
          tqdm(total=len(jobs), desc=config.name, unit="chunk", file=sys.stderr,
               disable=None if progress else True, dynamic_ncols=True) as bar):
        for part in pool.imap_unordered(_chunk_worker, jobs):
            stats = _combine(stats, part)
            bar.update()
    return stats


def _alpha_specials_block(config, rng):
    """Runtime alpha: every special class of alpha paired with each of a few inputs."""
    fmt = config.format
    alphas = special_inputs(fmt)
    xs = grad_specials(fmt)
    x = np.repeat(xs, len(alphas))
    alpha = np.tile(alphas, len(xs))
    grad = None
    if config.is_backward:
        grad = rng.integers(0, 1 << fmt.width, size=len(x), dtype=np.uint64)
    return x, grad, alpha


def _measure_activation(config, inputs, grad, alpha, exhaustive, samples, rng_seed, grad_samples,
                        progress, ranges=None):
    """Statistics of an activation sweep and its description: ``(stats, exhaustive, sweep)``."""
    fmt = config.format
    w = fmt.width
    rng = np.random.default_rng(rng_seed)
    mask = U((1 << w) - 1)
    as_bits = lambda v, n: np.broadcast_to(np.asarray(v).astype(np.int64).astype(U) & mask, (n,))
    if grad is not None and not config.is_backward:
        raise ValueError(f"grad is not used by function {config.function!r}")
    if alpha is not None and not config.runtime_alpha:
        raise ValueError("alpha bits are only used with runtime_alpha")
    if grad_samples is not None and not config.is_backward:
        raise ValueError("grad samples are only used by the backward functions")
    if inputs is not None:
        x = np.asarray(inputs).astype(np.int64).astype(U).reshape(-1) & mask
        if config.is_backward:
            grad = as_bits(grad_one(fmt) if grad is None else grad, len(x))
        if config.runtime_alpha:
            alpha = as_bits(alpha_samples(fmt, len(x), rng) if alpha is None else alpha, len(x))
        stats = _activation_block_stats(config, x, grad, alpha)
        return stats, False, f"{len(x):,} given inputs"
    if grad_samples is not None:
        exhaustive = False
        xs, gs = special_inputs(fmt), grad_specials(fmt)
        x_cross, g_cross = np.repeat(xs, len(gs)), np.tile(gs, len(xs))
        count = max(grad_samples - len(x_cross), 0)
        x = np.concatenate([x_cross, rng.integers(0, 1 << w, size=count, dtype=np.uint64)])
        grad = np.concatenate([g_cross, rng.integers(0, 1 << w, size=count, dtype=np.uint64)])
        sweep = f"{len(x):,} random (x, grad) pairs"
        stats = None
    else:
        if exhaustive is None:
            exhaustive = w <= EXHAUSTIVE_MAX_WIDTH
        if exhaustive:
            stats = _exhaustive(config, progress, rng_seed, ranges)
            x = grad = None
            sweep = "all x" if ranges is None else _ranges_text(config, ranges)
        else:
            x = _sample_inputs(fmt, samples, rng_seed)
            grad = np.full(len(x), grad_one(fmt), dtype=U) if config.is_backward else None
            stats = None
            sweep = f"{len(x):,} sampled x"
        if config.is_backward:
            sweep += ", grad 1"
    if x is not None:
        alpha = alpha_samples(fmt, len(x), rng) if config.runtime_alpha else None
        for start in range(0, len(x), CHUNK):
            part = slice(start, start + CHUNK)
            stats = _combine(stats, _activation_block_stats(
                config, x[part], None if grad is None else grad[part],
                None if alpha is None else alpha[part]))
    if config.runtime_alpha:
        stats = _combine(stats, _activation_block_stats(config, *_alpha_specials_block(config, rng)))
        low, high = ALPHA_RANGE
        sweep += f", random alpha in [2^{low}, 2^{high}) plus special alphas"
    return stats, exhaustive, sweep


def _ranges_text(config, ranges):
    return f"x chunks {ranges.start}..{ranges.stop - 1} of {len(chunk_ranges(config))}"


def measure(config: Config, inputs=None, exhaustive=None, samples=DEFAULT_SAMPLES, rng_seed=0,
            progress=True, grad=None, alpha=None, grad_samples=None, ranges=None):
    """Accuracy of the golden model for ``config`` against the exact reference.

    ``inputs`` (raw bit patterns) overrides the sweep. Otherwise ``exhaustive=None`` sweeps every
    input of formats up to 16 bits and samples ``samples`` inputs (random bit patterns from
    ``rng_seed`` plus :func:`special_inputs`) of wider ones. Returns a JSON-able dict.

    Activations: the backward functions take ``grad`` (raw bits, broadcast with ``inputs``;
    default 1.0, see :func:`grad_one`), or ``grad_samples`` random ``(x, grad)`` pairs instead of
    the ``x`` sweep. ``runtime_alpha`` configurations take ``alpha`` (raw bits, with ``inputs``;
    default random, see :func:`alpha_samples`).

    ``ranges`` ``(A, B)``, only with ``exhaustive=True``: sweep the chunks ``A..B-1`` of
    :func:`chunk_ranges` (2**24 inputs each) instead of every input.
    """
    begin = time.time()
    fmt = config.format
    sweep = None
    if ranges is not None:
        if exhaustive is not True or inputs is not None or grad_samples is not None:
            raise ValueError("ranges: only with exhaustive=True (and no inputs or grad_samples)")
        ranges = chunk_ranges(config, ranges)
    if config.is_activation:
        stats, exhaustive, sweep = _measure_activation(config, inputs, grad, alpha, exhaustive,
                                                       samples, rng_seed, grad_samples, progress,
                                                       ranges)
    elif grad is not None or alpha is not None or grad_samples is not None:
        raise ValueError("grad, alpha and grad_samples are only used by the activation functions")
    elif inputs is not None:
        exhaustive = False
        x = np.asarray(inputs).astype(np.int64).astype(U) & U((1 << fmt.width) - 1)
        stats = _block_stats(config, x)
    else:
        if exhaustive is None:
            exhaustive = fmt.width <= EXHAUSTIVE_MAX_WIDTH
        if exhaustive:
            stats = _exhaustive(config, progress, ranges=ranges)
        else:
            x = _sample_inputs(fmt, samples, rng_seed)
            stats = None
            for start in range(0, len(x), CHUNK):
                stats = _combine(stats, _block_stats(config, x[start:start + CHUNK]))
    worst = stats["worst"]
    in_hex = (fmt.width + 3) // 4
    out_hex = (config.out_width + 3) // 4
    signed = lambda b, w: b - (1 << w) if b >> (w - 1) else b
    if config.is_float:
        decode = lambda b: float(reference.decode_float(fmt, b))
        out_value = decode(worst["output"]) if worst else None
        in_value = decode(worst["input"]) if worst else None
    else:
        out_fmt = config.out_format
        decode = lambda b: signed(b, fmt.width) / 2 ** fmt.frac_bits
        in_value = decode(worst["input"]) if worst else None
        out_width = out_fmt.width
        out_raw = worst["output"] if worst else 0
        if config.entry.family is not Family.RSQRT:
            out_raw = signed(out_raw, out_width)
        out_value = out_raw / 2 ** out_fmt.frac_bits if worst else None
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
        "ranges": None if ranges is None else [ranges.start, ranges.stop],
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
        "fingerprint": (fingerprint(config) if exhaustive and fmt.width > EXHAUSTIVE_MAX_WIDTH
                        else None),
        "seconds": None,
    }
    if config.is_activation:
        hex_in = lambda b: None if b is None else f"{b:#0{in_hex + 2}x}"
        result.update({
            "alpha": config.alpha,
            "runtime_alpha": config.runtime_alpha,
            "grad": ("random" if grad_samples is not None else
                     "1.0" if config.is_backward and grad is None else
                     "given" if config.is_backward else None),
            "grad_samples": grad_samples,
            "sweep": sweep,
            "worst_grad": hex_in(worst["grad"]) if worst else None,
            "worst_grad_value": decode(worst["grad"]) if worst and worst["grad"] is not None else None,
            "worst_alpha": hex_in(worst["alpha"]) if worst else None,
            "worst_alpha_value": (decode(worst["alpha"]) if worst and worst["alpha"] is not None
                                  else None),
        })
        # The not correctly rounded input with the largest error (None when all are right).
        wrong = stats.get("wrong_worst")
        result["worst_wrong"] = None if wrong is None else {
            "input": hex_in(wrong["input"]), "grad": hex_in(wrong["grad"]),
            "alpha": hex_in(wrong["alpha"]),
            "output": f"{wrong['output']:#0{out_hex + 2}x}",
            "reference": f"{wrong['reference']:#0{out_hex + 2}x}",
            "exact": wrong["exact"], "ulp": wrong["ulp"], "flag": wrong["flag"]}
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
    activation = "sweep" in result
    if not activation and cfg.get("alpha") is not None:
        out += f", alpha {cfg['alpha']!r}"
    if activation:
        alpha = "runtime alpha" if result["runtime_alpha"] else f"alpha {result['alpha']!r}"
        out += f", {alpha}"
    sweep = ("exhaustive" if result["exhaustive"] else
             "sampled" + (f", rng seed {result['rng_seed']}" if result["rng_seed"] is not None else ""))
    if result.get("ranges"):
        sweep += f", chunks {result['ranges'][0]}..{result['ranges'][1] - 1} only"
    if activation:
        sweep = result["sweep"] + ("" if result["rng_seed"] is None else f", rng seed {result['rng_seed']}")
    core = "" if result["seed"] is None else (
        f", {seed}, {result['newton']} Newton stage{'s' if result['newton'] != 1 else ''}")
    lines = [
        f"{result['name']}: {result['function']} {result['format']}{out}{core}",
        f"  inputs                 {result['inputs']:,} ({sweep})",
        f"  max error              {result['max_ulp']:.4f} {unit}",
        f"  mean error             {result['mean_ulp']:.4f} {unit}",
        f"  max relative error     {result['max_rel_error_percent']:.6f} %",
        f"  not correctly rounded  {result['not_correctly_rounded']:,} "
        f"({100 * result['not_correctly_rounded_share']:.4f} %)",
    ]
    if result["worst_input"] is not None:
        flag = "" if result["worst_flag"] is None else f", flag {int(result['worst_flag'])}"
        operands = f"{result['worst_input']} ({result['worst_input_value']!r})"
        if activation and result["worst_grad"] is not None:
            operands = f"x {operands}, grad {result['worst_grad']} ({result['worst_grad_value']!r})"
        if activation and result["worst_alpha"] is not None:
            operands += f", alpha {result['worst_alpha']} ({result['worst_alpha_value']!r})"
        lines.append(f"  worst input            {operands}"
                     f" -> {result['worst_output']} ({result['worst_output_value']!r}{flag}); "
                     f"exact {result['worst_exact']!r}, correctly rounded {result['worst_reference']}")
    wrong = result.get("worst_wrong")
    if wrong is not None:
        operands = f"x {wrong['input']}"
        operands += f", grad {wrong['grad']}" if wrong["grad"] is not None else ""
        operands += f", alpha {wrong['alpha']}" if wrong["alpha"] is not None else ""
        lines.append(f"  worst not correctly rounded  {operands} -> {wrong['output']}, correctly "
                     f"rounded {wrong['reference']} (error {wrong['ulp']:.6g} {unit}, exact "
                     f"{wrong['exact']!r})")
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


ACTIVATION_TABLE_FORMATS = ("bf16", "fp16", "fp32")
ACTIVATION_TABLE_FUNCTIONS = functions(Family.ACTIVATION)
ACTIVATION_TABLE_ALPHAS = (1.0, 3.0)


def activation_table_entries():
    """``(config, random_grad)`` rows of the activation table: every format x function x alpha at
    the default configuration (backward with grad 1), then the backward ones with random grads."""
    rows = [(Config(fmt, function=f, alpha=a), False) for fmt in ACTIVATION_TABLE_FORMATS
            for f in ACTIVATION_TABLE_FUNCTIONS for a in ACTIVATION_TABLE_ALPHAS]
    rows += [(Config(fmt, function=f, alpha=a), True) for fmt in ACTIVATION_TABLE_FORMATS
             for f in ACTIVATION_TABLE_FUNCTIONS if lookup(f).backward for a in ACTIVATION_TABLE_ALPHAS]
    return rows


def measure_activation_table(samples=DEFAULT_SAMPLES, grad_samples=DEFAULT_SAMPLES, rng_seed=0,
                             progress=False):
    """:func:`measure` every row of :func:`activation_table_entries` (``samples``: the sampled
    formats' x count; ``grad_samples``: the random (x, grad) pairs of the random-grad rows)."""
    results = []
    for config, random_grad in activation_table_entries():
        results.append(measure(config, samples=samples, rng_seed=rng_seed, progress=False,
                               grad_samples=grad_samples if random_grad else None))
        if progress:
            r = results[-1]
            print(f"{config.name} ({r['sweep']}): max {r['max_ulp']:.4g} ulp, "
                  f"{r['not_correctly_rounded']} not correctly rounded, {r['seconds']:.1f} s",
                  file=sys.stderr)
    return results


def format_activation_table(results):
    """Markdown table of activation results: format x function x alpha."""
    lines = ["| format | function | alpha | sweep | max ulp | mean ulp | not correctly rounded | "
             "worst not correctly rounded |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        alpha = "runtime" if r["runtime_alpha"] else f"{r['alpha']:g}"
        wrong = r.get("worst_wrong")
        worst = "" if wrong is None else (
            f"x {wrong['input']}" + (f" grad {wrong['grad']}" if wrong["grad"] else "")
            + (f" alpha {wrong['alpha']}" if wrong["alpha"] else "")
            + f" -> {wrong['output']} (not {wrong['reference']}, {wrong['ulp']:.6g} ulp)")
        lines.append(f"| {r['format']} | {r['function']} | {alpha} | {r['sweep']} | "
                     f"{r['max_ulp']:.4g} | {r['mean_ulp']:.4g} | "
                     f"{r['not_correctly_rounded']:,} ({100 * r['not_correctly_rounded_share']:.4g} %) | "
                     f"{worst} |")
    return "\n".join(lines)


def parse_ranges(text):
    """``A:B`` (ranges ``A..B-1``) or ``N`` (range ``N`` alone) as a ``range``, for ``--ranges``
    here and in :mod:`sim.exhaustive`."""
    start, sep, stop = text.partition(":")
    try:
        return range(int(start, 0), int(stop, 0)) if sep else range(int(text, 0), int(text, 0) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected A:B (ranges A..B-1), not {text!r}") from None


def main(argv=None):
    parser = command_line("golden.accuracy",
                          "Accuracy of the golden model (rsqrt, ISRLU, ISRU and their backward "
                          "units) against the exact, correctly rounded reference.")
    add_config_arguments(parser)
    sweep = parser.add_mutually_exclusive_group()
    sweep.add_argument("--exhaustive", action="store_true",
                       help="every input (default for formats up to 16 bits)")
    sweep.add_argument("--samples", type=int, default=None,
                       help=f"random inputs plus special values (default for wider formats: "
                            f"{DEFAULT_SAMPLES}; with --table/--activation-table: the FP32 sample "
                            f"count)")
    parser.add_argument("--grad-samples", type=int, default=None, metavar="N",
                        help="backward functions: N (x, grad) pairs instead of all x with grad 1: "
                             "every special class of x with every special grad, the rest random "
                             "bit patterns (with "
                             f"--activation-table: the random-grad rows' pairs, default "
                             f"{DEFAULT_SAMPLES})")
    parser.add_argument("--ranges", type=parse_ranges, default=None, metavar="A:B",
                        help="with --exhaustive: only the chunks A..B-1 of 2**24 inputs (FP32: 0:256 "
                             "is every input, 128:256 the negative ones)")
    parser.add_argument("--seed-rng", type=int, default=0, help="random seed for sampling (default 0)")
    parser.add_argument("--json", metavar="FILE",
                        help="also write the results as JSON (- for stdout, the report on stderr)")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.add_argument("--table", action="store_true",
                        help="instead of one configuration, the table of bf16/fp16/fp32 defaults and "
                             "both seeds with 0..2 Newton stages (--json writes a list)")
    parser.add_argument("--activation-table", action="store_true",
                        help=f"instead of one configuration, the table of bf16/fp16/fp32 x "
                             f"{', '.join(ACTIVATION_TABLE_FUNCTIONS)} x alpha 1 and 3 (grad 1), "
                             f"plus the backward ones with random grads (--json writes a list)")
    args = parser.parse_args(argv)
    for name in ("samples", "grad_samples"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    json_path = check_output(parser, "--json", args.json, stdout=True)
    with json_on_stdout(json_path):
        results = _run(args, parser)
    if json_path:
        write_json(json_path, results, indent=2)
    return 0


def _run(args, parser):
    """What :func:`main` measures and prints: the results for ``--json``."""
    if args.table or args.activation_table:
        results = []
        if args.table:
            rsqrt_results = []
            for config in table_configs():
                rsqrt_results.append(measure(config, samples=args.samples or DEFAULT_SAMPLES,
                                             rng_seed=args.seed_rng, progress=False))
                if not args.quiet:
                    print(f"{config.name}: max {rsqrt_results[-1]['max_ulp']:.4g} ulp", file=sys.stderr)
            print(format_table(rsqrt_results))
            results += rsqrt_results
        if args.activation_table:
            activation_results = measure_activation_table(
                samples=args.samples or DEFAULT_SAMPLES,
                grad_samples=args.grad_samples or DEFAULT_SAMPLES, rng_seed=args.seed_rng,
                progress=not args.quiet)
            if args.table:
                print()
            print(format_activation_table(activation_results))
            results += activation_results
        return results
    config = config_from_arguments(args, parser)
    if args.grad_samples is not None and not config.is_backward:
        parser.error(f"--grad-samples is only used by the backward functions "
                     f"({', '.join(functions(backward=True))})")
    if args.grad_samples is not None and args.exhaustive:
        parser.error("--grad-samples and --exhaustive exclude each other")
    if args.ranges is not None and not args.exhaustive:
        parser.error("--ranges is only used with --exhaustive")
    exhaustive = True if args.exhaustive else (False if args.samples is not None else None)
    try:
        result = measure(config, exhaustive=exhaustive,
                         samples=args.samples if args.samples is not None else DEFAULT_SAMPLES,
                         rng_seed=args.seed_rng, progress=not args.quiet,
                         grad_samples=args.grad_samples, ranges=args.ranges)
    except ValueError as error:
        parser.error(str(error))
    print(format_report(result))
    return result


if __name__ == "__main__":
    sys.exit(main())
