"""The accuracy figures an exported core states (in its JSON descriptor and Verilog header).

:func:`core_accuracy` measures the golden model, which is bit-exact with the RTL, against the
exact value:

* rsqrt and the activations: :func:`golden.accuracy.measure`, exhaustive for formats of up to 16
  bits, else ``SAMPLES`` random bit patterns (seed ``RNG_SEED``) plus every special class; where
  a sweep of every input has been recorded for the same golden model
  (:func:`golden.exhaustive.recorded`: FP32 defaults), its figures, with the sampled ones beside
  them under ``sampled``;
* the FMA: ``FMA_SAMPLES`` random operand triples (seed ``RNG_SEED``) plus every triple of special
  operands, each result compared with MPFR's correctly rounded ``fma`` and its error taken
  against the exact ``a*b + c``.

Errors are in ulps of the exact value for floats (subnormal ulp below the normal range), in
output LSBs for fixed point. Figures are rounded to 6 significant digits so that they do not
depend on the order of floating-point sums. A few tenths of a second per configuration.
"""
import gmpy2
import numpy as np

from hw.spec.functions import Family

__all__ = ["core_accuracy", "SAMPLES", "FMA_SAMPLES", "RNG_SEED"]

SAMPLES = 100_000
FMA_SAMPLES = 10_000     # each checked against MPFR one by one
RNG_SEED = 0
DIGITS = 6


def _round(value):
    return float(f"{value:.{DIGITS}g}")


def core_accuracy(config, samples=None, rng_seed=RNG_SEED):
    """A JSON-able summary of ``config``'s accuracy: ``max_ulp``, ``mean_ulp`` (in ``unit``; None
    where a recorded sweep derived its figures from a symmetry without a mean),
    ``inputs``, ``exhaustive``, ``sweep``, ``rng_seed``, ``not_correctly_rounded``, the worst
    case, ``method`` and a one-line ``summary``. ``samples``: random inputs of a sampled sweep
    (default ``SAMPLES``, FMA ``FMA_SAMPLES``)."""
    if config.entry.family is Family.FMA:
        result = _fma_accuracy(config, FMA_SAMPLES if samples is None else samples, rng_seed)
    else:
        from golden.accuracy import measure
        measured = measure(config, samples=SAMPLES if samples is None else samples,
                           rng_seed=rng_seed, progress=False)
        sweep = measured.get("sweep") or ("all inputs" if measured["exhaustive"]
                                          else f"{measured['inputs']:,} sampled inputs")
        result = {
            "method": "golden.accuracy.measure: the golden model (bit-exact with the RTL) "
                      "against the exact value (golden.reference)",
            "inputs": measured["inputs"], "exhaustive": measured["exhaustive"], "sweep": sweep,
            "rng_seed": measured["rng_seed"], "max_ulp": measured["max_ulp"],
            "mean_ulp": measured["mean_ulp"],
            "not_correctly_rounded": measured["not_correctly_rounded"],
            "worst_input": measured["worst_input"], "worst_output": measured["worst_output"],
        }
        if measured.get("worst_grad") is not None:
            result["worst_grad"] = measured["worst_grad"]
        if measured.get("worst_alpha") is not None:
            result["worst_alpha"] = measured["worst_alpha"]
        if not measured["exhaustive"]:
            result = _recorded(config, result)
    result["unit"] = "ulp" if config.is_float else "LSB"
    result["max_ulp"] = _round(result["max_ulp"])
    result["mean_ulp"] = None if result["mean_ulp"] is None else _round(result["mean_ulp"])
    wrong_share = result["not_correctly_rounded"] / result["inputs"]
    result["correctly_rounded_share"] = _round(1 - wrong_share)
    how = ("exhaustive" if result["exhaustive"] and "sampled" not in result else
           "a recorded sweep of this golden model" if result["exhaustive"] else
           f"sampled, rng seed {result['rng_seed']}")
    result["summary"] = (f"max {result['max_ulp']:.4g} {result['unit']} against the exact value, "
                         f"{result['inputs']:,} inputs ({result['sweep']}; {how}); "
                         f"{result['not_correctly_rounded']:,} not correctly rounded")
    return dict(sorted(result.items()))


def _recorded(config, sampled):
    """The figures of a recorded sweep of every input of ``config``'s golden model, the sampled
    ones (``sampled``) beside them; ``sampled`` itself without a valid record."""
    from golden.exhaustive import recorded
    record = recorded(config)
    if record is None:
        return sampled
    sampled = {**sampled, "max_ulp": _round(sampled["max_ulp"]), "mean_ulp": _round(sampled["mean_ulp"])}
    return {
        "method": f"{record['command']} (golden.accuracy against the exact value), recorded in "
                  f"golden/data/exhaustive_records.json for this golden model (fingerprint "
                  f"{record['fingerprint']}); measured: {record['measured']}",
        "inputs": record["inputs"], "exhaustive": True, "rng_seed": None,
        "sweep": "all x, grad 1" if config.is_backward else "all inputs",
        "max_ulp": record["max_ulp"],
        "mean_ulp": record["mean_ulp"],
        "not_correctly_rounded": record["not_correctly_rounded"],
        "worst_input": record["worst_input"], "worst_output": record["worst_output"],
        "sampled": {key: sampled[key] for key in ("inputs", "sweep", "rng_seed", "max_ulp", "mean_ulp",
                                                  "not_correctly_rounded")},
    }


def _fma_operands(fmt, samples, rng_seed):
    from golden.accuracy import grad_specials
    specials = grad_specials(fmt)
    a, b, c = (g.ravel() for g in np.meshgrid(specials, specials, specials, indexing="ij"))
    rng = np.random.default_rng(rng_seed)
    randoms = [rng.integers(0, 1 << fmt.width, size=samples, dtype=np.uint64) for _ in range(3)]
    return tuple(np.concatenate([s, r]) for s, r in zip((a, b, c), randoms))


def _fma_accuracy(config, samples, rng_seed):
    from golden.fma import decode, fma
    from golden.reference import encode_float_value
    fmt = config.format
    a, b, c = _fma_operands(fmt, samples, rng_seed)
    y = fma(config, a, b, c)
    values = [decode(fmt, v) for v in (a, b, c, y)]
    exact_context = gmpy2.context(precision=3 * (fmt.emax - fmt.emin + 2 * fmt.precision) + 64)
    rounded_context = gmpy2.context(precision=fmt.precision, emin=fmt.emin - fmt.man_bits + 1,
                                    emax=fmt.emax + 1, subnormalize=True,
                                    round=gmpy2.RoundToNearest)
    max_ulp, total, numeric, wrong, worst = 0.0, 0.0, 0, 0, 0
    for i, (va, vb, vc, vy) in enumerate(zip(*values)):
        with gmpy2.context(rounded_context):
            reference = float(gmpy2.fma(gmpy2.mpfr(float(va)), gmpy2.mpfr(float(vb)),
                                        gmpy2.mpfr(float(vc))))
        reference_bits = int(encode_float_value(fmt, reference))
        error = 0.0 if reference_bits == int(y[i]) else float("inf")
        if all(np.isfinite(v) for v in (va, vb, vc)) and np.isfinite(reference) and reference != 0:
            with gmpy2.context(exact_context):
                exact = gmpy2.mpfr(float(va)) * gmpy2.mpfr(float(vb)) + gmpy2.mpfr(float(vc))
                if exact != 0:
                    exponent = max(gmpy2.get_exp(exact) - 1, fmt.emin)
                    error = float(abs(gmpy2.mpfr(float(vy)) - exact)
                                  * gmpy2.exp2(fmt.man_bits - exponent))
                    numeric += 1
                    total += error
        wrong += reference_bits != int(y[i])
        if error > max_ulp:
            max_ulp, worst = error, i
    digits = (fmt.width + 3) // 4
    operands = {"a": a[worst], "b": b[worst], "c": c[worst]}
    return {
        "method": "the golden model (bit-exact with the RTL) against MPFR's correctly rounded "
                  "fma and the exact a*b + c",
        "inputs": len(y), "exhaustive": False,
        "sweep": f"{len(y) - samples:,} triples of special operands and {samples:,} random triples",
        "rng_seed": rng_seed, "max_ulp": max_ulp, "mean_ulp": total / numeric if numeric else 0.0,
        "not_correctly_rounded": int(wrong),
        "worst_input": ", ".join(f"{k} {int(v):#0{digits + 2}x}" for k, v in operands.items()),
        "worst_output": f"{int(y[worst]):#0{digits + 2}x}",
    }
