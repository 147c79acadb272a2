"""Configuration fuzzing (hypothesis): random valid configurations are built and simulated
bit-exact against the golden model; random invalid ones are rejected with a ValueError naming
the bad parameter.

* ``test_fuzzed_config_matches_golden``: draws a valid configuration (custom floats ``eXmY`` with
  small widths, fixed point ``qI.F`` with optional ``out_format``, every function including the
  FMA, seeds, table bits, magic constants, Newton stages, lanes 1..4, alpha over the whole
  positive double range or at run time, pipelining levels) and a few hundred vectors (random
  bit patterns plus the format's special values; FMA: plus cancelling triples), and streams them
  through the unit in Amaranth's simulator with random source gaps and sink stalls
  (:func:`sim.amaranth_stream.simulate`: bit-exact results and flags, order, stated latency,
  results held while stalled).
* ``test_invalid_config_is_rejected``: a valid configuration with one parameter made invalid.
* ``test_fuzzed_config_cosim``: the exported Verilog of fuzzed configurations through
  ``sim.runner`` (Verilator, or Icarus), streamed with random gaps and stalls and compared bit
  for bit with the golden model: two configurations by default (a Verilator build costs 15-60 s).

Examples are derandomized (the same every run). More: ``--fuzz-examples 200`` (or
``FUZZ_EXAMPLES=200``); exploration: ``--fuzz-seed N``; co-simulation of more: ``--fuzz-cosim 10
[--fuzz-simulator icarus]`` (or ``FUZZ_COSIM``/``FUZZ_SIMULATOR``); see ``tests/conftest.py``.
"""
import math
import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, note, seed as hypothesis_seed, settings
from hypothesis import strategies as st

from golden.eval import evaluate
from hw.spec.config import (FUNCTIONS, MAX_PWL_TABLE_BITS, MAX_QUAD_TABLE_BITS, MAX_TABLE_BITS, NEWTON_STAGES, SEEDS,
                       Config)
from hw.spec.functions import Family, functions, lookup
from hw.spec.magic import magic_range
from hw.spec.plan import optional_cuts
from sim.amaranth_stream import pad_to_lanes, simulate
from sim.checks import specials
from sim.options import option

# Defaults of the suite: keep this file well under 90 s on 2 shared cores.
DEFAULT_EXAMPLES = 25               # valid configurations simulated
DEFAULT_INVALID_EXAMPLES = 300      # invalid configurations (no simulation: fast)
RANDOM_VECTORS = 224                # per configuration, plus up to SPECIAL_VECTORS specials
SPECIAL_VECTORS = 64
MAX_SIM_TABLE_BITS = 12             # larger tables only slow the simulator down
MAX_LANES = 4
# alpha constant or at run time (the ISRU sigmoid: constant only, and at least 1 forward)
ACTIVATIONS = tuple(f for f in functions(Family.ACTIVATION) if not lookup(f).sigmoid_form)


def _settings(request, examples):
    """Hypothesis settings: ``examples`` derandomized examples, or random ones with a seed.
    Failures are not shrunk (that can take minutes of simulations) unless ``FUZZ_SHRINK=1``: the
    failing configuration and vectors are reported as found."""
    phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
    if os.environ.get("FUZZ_SHRINK", "") not in ("", "0"):
        phases.append(Phase.shrink)
    common = dict(max_examples=examples, deadline=None, database=None, print_blob=True,
                  phases=phases,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    fuzz_seed = option(request.config, "--fuzz-seed", "FUZZ_SEED", None)
    if fuzz_seed is None:
        return settings(derandomize=True, **common), None
    return settings(derandomize=False, **common), fuzz_seed


def _run(request, test, examples):
    config_settings, fuzz_seed = _settings(request, examples)
    test = config_settings(test)
    if fuzz_seed is not None:
        test = hypothesis_seed(fuzz_seed)(test)
    test()


# ---------------------------------------------------------------------------------------------
# Valid configurations.

float_formats = st.builds(lambda e, m: f"e{e}m{m}", st.integers(3, 8),
                          st.one_of(st.integers(2, 6), st.integers(2, 10)))


@st.composite
def fixed_formats(draw, min_width=4, max_width=14):
    width = draw(st.integers(min_width, max_width))
    integer = draw(st.integers(1, width))
    return f"q{integer}.{width - integer}"


# ELU's alpha: a build-time constant below 65536.
EXP_ALPHAS = st.one_of(st.sampled_from([0.1, 0.5, 1.0, 3.0]), st.floats(min_value=2.0 ** -12, max_value=2.0 ** 12))
alphas = st.one_of(st.sampled_from([0.1, 0.5, 1.0, 2.0, 3.0, 10.0]),
                   st.floats(min_value=2.0 ** -12, max_value=2.0 ** 12),
                   st.floats(min_value=5e-324, max_value=1.7976931348623157e308))


def _default_out_format_invalid(kw):
    """rsqrt of ``qI.F`` with ``F < 2``: the default out_format ``q(F//2 + 2).F`` is narrower than
    4 bits, and Config rejects the valid input format (see
    test_fixed_rsqrt_default_out_format_of_few_fraction_bits); the fuzzer gives one."""
    return kw["function"] == "rsqrt" and int(kw["format"].split(".")[1]) < 2


def _max_table_bits(config, seed):
    """The largest table_bits a table seed accepts for ``config``."""
    if seed == "lut":
        return min(config.core_significand_bits, MAX_TABLE_BITS)
    return min(config.core_significand_bits - 1, MAX_PWL_TABLE_BITS if seed == "pwl" else MAX_QUAD_TABLE_BITS)


@st.composite
def valid_kwargs(draw):
    """Keyword arguments of a valid ``Config`` (every parameter drawn or left to its default)."""
    function = draw(st.sampled_from(FUNCTIONS))
    entry = lookup(function)
    kw = {"function": function, "lanes": draw(st.integers(1, MAX_LANES))}
    kw["format"] = draw(st.one_of(float_formats, fixed_formats()) if entry.takes_fixed else float_formats)
    if entry.has_alpha:
        runtime = ["runtime"] if function in ACTIVATIONS else []
        how = draw(st.sampled_from(["default", "constant"] + runtime))
        if how == "constant":
            kw["alpha"] = draw(alphas if runtime or entry.sigmoid_form else EXP_ALPHAS)
            if entry.sigmoid_form and not entry.backward:
                kw["alpha"] = max(kw["alpha"], 1.0)
        elif how == "runtime":
            kw["runtime_alpha"] = True
    if entry.has_seed:
        if kw["format"].startswith("q") and (draw(st.booleans()) or _default_out_format_invalid(kw)):
            kw["out_format"] = draw(fixed_formats(max_width=16))
        seed = draw(st.one_of(st.none(), st.sampled_from(SEEDS)))
        if seed is not None:
            kw["seed"] = seed
            trial = Config(**kw)
            if seed != "magic" and draw(st.booleans()):
                kw["table_bits"] = draw(st.integers(2, min(_max_table_bits(trial, seed), MAX_SIM_TABLE_BITS)))
            if seed == "magic" and draw(st.booleans()):
                kw["magic"] = draw(st.integers(*magic_range(trial.magic_bias, trial.fraction_bits)))
        if draw(st.booleans()):
            kw["newton"] = draw(st.sampled_from(NEWTON_STAGES))
    if draw(st.booleans()):
        kw["pipeline"] = draw(st.integers(0, optional_cuts(Config(**kw))))
    return kw


def _vectors(config, rng):
    """Operand arrays (name -> uint64 elements, a multiple of the lanes): specials and random
    bit patterns; FMA: also triples whose sum cancels the product exactly or nearly."""
    width = config.in_width
    mask = np.uint64((1 << width) - 1)
    names = config.operands
    special = specials(config)
    if len(special) > SPECIAL_VECTORS:
        special = rng.choice(special, SPECIAL_VECTORS, replace=False)
    count = len(special) + RANDOM_VECTORS
    ops = {}
    for name in names:
        values = rng.integers(0, 1 << width, count, dtype=np.uint64)
        if name in ("x", "a"):
            values[:len(special)] = special
        elif name in ("grad", "b", "c"):
            if rng.random() < 0.5:
                values[:len(special)] = rng.permutation(special)
        if name == "alpha":     # half positive (sign clear), half any pattern (NaN, negative, ...)
            half = count // 2
            values[:half] &= np.uint64((1 << (width - 1)) - 1)
        ops[name] = values & mask
    if config.function == "fma":
        k = count // 4
        sl = slice(count - k, count)
        product, _ = evaluate(config, a=ops["a"][sl], b=ops["b"][sl], c=np.zeros(k, dtype=np.uint64))
        sign = np.uint64(1 << (width - 1))
        ops["c"][sl] = (product.astype(np.uint64) ^ sign) + rng.integers(0, 2, k, dtype=np.uint64)
        ops["c"] &= mask
    return pad_to_lanes(ops, config.lanes)


def test_fuzzed_config_matches_golden(request):
    examples = option(request.config, "--fuzz-examples", "FUZZ_EXAMPLES", DEFAULT_EXAMPLES)
    seen = []

    @given(kw=valid_kwargs(), stalls=st.tuples(st.sampled_from([0.0, 0.25, 0.5]),
                                               st.sampled_from([0.0, 0.25, 0.5])),
           vector_seed=st.integers(0, 2 ** 32 - 1))
    def check(kw, stalls, vector_seed):
        config = Config(**kw)       # a valid combination must be accepted
        note(f"config: {config.name} from {kw}; in_gap, out_stall = {stalls}")
        rng = np.random.default_rng(vector_seed)
        ops = _vectors(config, rng)
        outcome = simulate(config, ops, in_gap=stalls[0], out_stall=stalls[1], seed=vector_seed)
        assert outcome.results == len(ops[config.operands[0]]) // config.lanes
        seen.append(config)

    _run(request, check, examples)
    # The derandomized set really spans the space (a guard against a degenerate strategy).
    if examples >= DEFAULT_EXAMPLES:
        functions = {c.function for c in seen}
        assert len(functions) >= 4, functions
        assert any(not c.is_float for c in seen) and any(c.is_float for c in seen)
        assert any(c.lanes > 1 for c in seen)


# ---------------------------------------------------------------------------------------------
# Invalid configurations: one bad parameter at a time.

bad_formats = st.one_of(
    st.builds(lambda e, m: f"e{e}m{m}", st.one_of(st.integers(0, 2), st.integers(9, 15)),
              st.integers(2, 23)),
    st.builds(lambda e, m: f"e{e}m{m}", st.integers(3, 8),
              st.one_of(st.integers(0, 1), st.integers(24, 40))),
    st.builds(lambda f: f"q0.{f}", st.integers(4, 20)),
    st.one_of(st.integers(1, 3), st.integers(33, 64)).flatmap(
        lambda width: st.integers(1, width).map(lambda i: f"q{i}.{width - i}")),
    st.sampled_from(["fp64", "fp8", "int8", "", "e5", "q4", "e5m2x", "q4.-2", "float", "e-1m3"]),
    st.sampled_from([None, 5, 3.5, b"bf16"]),
)
not_int = st.sampled_from([1.0, 2.0, 2.5, "2", True, False, [2], float("nan")])
# Unhashable pipeline values: see test_unhashable_pipeline_raises_value_error.
not_int_hashable = st.sampled_from([1.0, 2.0, 2.5, "2", True, False, (2,), float("nan")])


@st.composite
def invalid_kwargs(draw):
    """``(kwargs, parameter)``: a valid configuration with ``parameter`` made invalid."""
    kw = draw(valid_kwargs())
    config = Config(**kw)
    function = kw["function"]
    entry = lookup(function)
    fma = not entry.has_seed           # no seed, table or Newton stage (the FMA, ELU, ReLU)
    choices = ["format", "function", "seed", "newton", "lanes", "pipeline", "alpha",
               "runtime_alpha", "out_format", "magic", "table_bits"]
    parameter = draw(st.sampled_from(choices))
    kw = dict(kw)
    if parameter == "format":
        kw["format"] = draw(bad_formats)
    elif parameter == "function":
        kw["function"] = draw(st.sampled_from(["softplus", "softsign", "sqrt", "ISRLU", "rsqrt ",
                                               "isrlu_grad", "fma3", "", None, 3]))
    elif parameter == "seed":
        kw["seed"] = draw(st.sampled_from(SEEDS)) if fma else draw(
            st.sampled_from(["poly", "table", "LUT", "newton", "", 0, 1.5]))
    elif parameter == "newton":
        kw["newton"] = (draw(st.sampled_from(NEWTON_STAGES)) if fma else
                        draw(st.one_of(st.integers(-5, -1), st.integers(4, 9), not_int)))
    elif parameter == "lanes":
        kw["lanes"] = draw(st.one_of(st.integers(-3, 0), st.integers(17, 64), not_int, st.none()))
    elif parameter == "pipeline":
        kw["pipeline"] = draw(st.one_of(st.integers(-4, -1),
                                        st.integers(optional_cuts(config) + 1, optional_cuts(config) + 8),
                                        not_int_hashable))
    elif parameter == "alpha":
        if entry.has_alpha and not kw.get("runtime_alpha"):
            kw["alpha"] = draw(st.one_of(st.floats(max_value=0.0), st.sampled_from(
                [0, -1, math.inf, -math.inf, math.nan, "abc", True, False, [1.0], None]).filter(
                    lambda v: v is not None)))
        else:   # no alpha, or alpha given with runtime_alpha
            kw["alpha"] = draw(alphas)
    elif parameter == "runtime_alpha":
        kw["runtime_alpha"] = (draw(st.sampled_from(["yes", 1, 0, None, 1.0]))
                               if function in ACTIVATIONS else draw(st.sampled_from([True, "yes", 1])))
    elif parameter == "out_format":
        if config.is_float:     # float formats (and the FMA) take no out_format
            kw["out_format"] = draw(st.one_of(fixed_formats(), float_formats))
        else:                   # a float format where a fixed one is needed
            kw["out_format"] = draw(st.one_of(float_formats, st.sampled_from(["fp16", "bf16", "fp32"])))
        # Malformed qI.F out_formats: see test_malformed_out_format_names_out_format.
    elif parameter == "magic":
        if fma or config.seed != "magic":
            # Any constant where the seed is not 'magic' (non-integers: see
            # test_non_integer_magic_with_table_seed_names_magic).
            kw["magic"] = draw(st.integers(0, 2 ** 32))
        else:
            low, high = magic_range(config.magic_bias, config.fraction_bits)
            kw["seed"] = "magic"
            kw["magic"] = draw(st.one_of(st.integers(-2 ** 33, low - 1), st.integers(high + 1, 2 ** 33),
                                         not_int, st.just("0x5f37")))
    elif parameter == "table_bits":
        if fma or config.seed == "magic":
            kw["table_bits"] = draw(st.integers(2, 16))
            if not fma:
                kw["seed"] = "magic"
        elif "seed" in kw:      # explicit lut / pwl / quad: out of this configuration's range
            high = _max_table_bits(config, kw["seed"])
            kw["table_bits"] = draw(st.one_of(st.integers(-3, 1), st.integers(high + 1, high + 8),
                                              not_int))
        else:                   # default seed: invalid for lut, pwl and quad alike
            kw["table_bits"] = draw(st.one_of(st.integers(-3, 1), st.integers(17, 40), not_int))
    return kw, parameter


def _check_rejected(kw, parameter):
    with pytest.raises(ValueError) as error:
        Config(**kw)
    message = str(error.value)
    # The message names the parameter as a word ("function 'fma' takes a float format" names the
    # format; "runtime_alpha" does not name alpha, nor "out_format" the format).
    assert re.search(rf"(?<![\w-]){parameter}(?!\w)", message), \
        f"{kw}: the message {message!r} does not name {parameter!r}"


def test_invalid_config_is_rejected(request):
    examples = option(request.config, "--fuzz-examples", "FUZZ_EXAMPLES", None)
    examples = DEFAULT_INVALID_EXAMPLES if examples is None else 10 * examples
    parameters = set()

    @given(case=invalid_kwargs())
    def check(case):
        kw, parameter = case
        note(f"{parameter}: {kw}")
        _check_rejected(kw, parameter)
        parameters.add(parameter)

    _run(request, check, examples)
    assert len(parameters) >= 10, parameters


@pytest.mark.parametrize("kw, parameter", [
    (dict(format="fp16", function="fma"), None),
    (dict(format="q4.12", function="fma"), "format"),
    (dict(format="bf16", function="fma", lanes=0), "lanes"),
    (dict(format="q4.12", function="isru", runtime_alpha=True, alpha=2.0), "alpha"),
    (dict(format="bf16", seed="magic", magic=0x5f37, table_bits=4), "table_bits"),
], ids=lambda v: str(v))
def test_invalid_examples(kw, parameter):
    """A few hand-picked cases beside the fuzzer (the first is valid, as a control)."""
    if parameter is None:
        Config(**kw)
    else:
        _check_rejected(kw, parameter)


# Regression tests of bugs this fuzzer found (each was an xfail until fixed).
@pytest.mark.parametrize("kw", [dict(format="bf16", magic=1.5),
                                dict(format="fp16", seed="pwl", magic="0x59ba")], ids=["lut-float", "pwl-str"])
def test_non_integer_magic_with_table_seed_names_magic(kw):
    _check_rejected(kw, "magic")


@pytest.mark.parametrize("fmt", ["q3.1", "q4.0", "q4.1", "q16.0"])
def test_fixed_rsqrt_default_out_format_of_few_fraction_bits(fmt):
    """A valid input format gives a valid configuration with the default out_format (it was under
    4 bits wide for fewer than 2 fraction bits), and the unit matches its golden model."""
    config = Config(fmt)
    assert config.out_format.width >= 4
    simulate(config, _vectors(config, np.random.default_rng(2)))


@pytest.mark.parametrize("function", ["rsqrt", "isru"])
def test_unhashable_pipeline_raises_value_error(function):
    _check_rejected(dict(format="e5m3", function=function, pipeline=[2]), "pipeline")


@pytest.mark.parametrize("out_format", ["q0.3", "q30.10", "q1.2", "zz"])
def test_malformed_out_format_names_out_format(out_format):
    _check_rejected(dict(format="q4.12", out_format=out_format), "out_format")


# Found by this fuzzer (FUZZ_EXAMPLES=150): the backward units with a magic seed whose constant is
# far from the default disagreed with their golden model: r**2 and r**3 wrap in the RTL's w+1-bit
# registers (now in the golden model too), and r can fall below 1/2 after the Newton stages, so the
# result's leading one can sit below the packer's window (now the whole word with a magic seed).
@pytest.mark.parametrize("kw", [
    dict(format="e5m3", function="isrlu-grad", seed="magic", magic=0xb7, newton=0),
    dict(format="q4.4", function="isrlu-grad", seed="magic", magic=0x5f7f, newton=0),
    dict(format="e7m2", function="isrlu-grad", seed="magic", magic=0x17b, newton=1),
    dict(format="e5m3", function="isru-grad", seed="magic", magic=0xb7, newton=2),
], ids=lambda kw: Config(**kw).name)
def test_backward_magic_seed_far_from_default(kw):
    config = Config(**kw)
    ops = _vectors(config, np.random.default_rng(1))
    simulate(config, ops)


# ---------------------------------------------------------------------------------------------
# Co-simulation of fuzzed configurations' exported Verilog (two by default).

def test_fuzzed_config_cosim(request):
    count = option(request.config, "--fuzz-cosim", "FUZZ_COSIM", 2)
    simulator = option(request.config, "--fuzz-simulator", "FUZZ_SIMULATOR", "verilator", str)
    if count <= 0:
        pytest.skip("co-simulation of fuzzed configurations is off (--fuzz-cosim 0)")
    from sim.toolchain import simulator_status
    reason = simulator_status(simulator)
    if reason is not None:
        pytest.skip(f"{simulator} unavailable: {reason}")
    from sim.checks import assert_matches
    from sim.runner import prepare, run_stream

    @given(kw=valid_kwargs(), vector_seed=st.integers(0, 2 ** 32 - 1))
    def check(kw, vector_seed):
        config = Config(**kw)
        note(f"config: {config.name} from {kw}")
        ops = _vectors(config, np.random.default_rng(vector_seed))
        design = prepare(config, simulator)
        result = run_stream(design, in_gap=0.2, out_stall=0.2, seed=vector_seed % 1000, **ops)
        assert_matches(config, ops.get("x"), result.y, result.flag,
                       **{name: ops[name] for name in ops if name != "x"})

    _run(request, check, count)
