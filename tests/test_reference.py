"""The exact reference (golden.reference) and the accuracy measurement (golden.accuracy)."""
import math

import numpy as np
import pytest

from golden import accuracy, reference
from hw.config import Config
from hw.spec.formats import BF16, FP16, FP32, FloatFormat

E5M2 = FloatFormat(5, 2)
E4M3 = FloatFormat(4, 3)
E3M2 = FloatFormat(3, 2)
E3M23 = FloatFormat(3, 23)      # rsqrt of its subnormals overflows to infinity


def _all(fmt):
    return np.arange(1 << fmt.width, dtype=np.uint64)


@pytest.mark.parametrize("fmt", [BF16, FP16, E5M2, E4M3, E3M2], ids=lambda f: f.name)
def test_exhaustive_matches_mpfr(fmt):
    x = _all(fmt)
    np.testing.assert_array_equal(reference.rsqrt_exact(fmt, x), reference.rsqrt_mpfr(fmt, x))


@pytest.mark.parametrize("fmt", [FP32, E3M23, FloatFormat(6, 17)], ids=lambda f: f.name)
def test_random_matches_mpfr(fmt):
    rng = np.random.default_rng(1)
    x = np.concatenate([accuracy.special_inputs(fmt),
                        rng.integers(0, 1 << fmt.width, 20_000, dtype=np.uint64),
                        # subnormal inputs and the region just above them
                        rng.integers(0, 1 << (fmt.man_bits + 2), 5_000, dtype=np.uint64)])
    np.testing.assert_array_equal(reference.rsqrt_exact(fmt, x), reference.rsqrt_mpfr(fmt, x))


def test_overflow_to_infinity():
    fmt = E3M23
    smallest = np.array([1], dtype=np.uint64)          # 2**-25: rsqrt = 2**12.5 > max finite
    assert reference.rsqrt_exact(fmt, smallest)[0] == fmt.inf
    largest = np.array([fmt.max_finite], dtype=np.uint64)
    y = reference.rsqrt_exact(fmt, largest)[0]
    assert 0 < y < fmt.inf


@pytest.mark.parametrize("fmt", [FP32, FP16, BF16, E4M3, E5M2], ids=lambda f: f.name)
def test_special_values(fmt):
    man, sign = fmt.man_bits, fmt.sign_bit
    one = fmt.bias << man
    table = {
        0: fmt.inf,                                  # +0 -> +inf
        sign: fmt.inf | sign,                        # -0 -> -inf
        fmt.inf: 0,                                  # +inf -> +0
        fmt.inf | sign: fmt.quiet_nan,               # -inf -> NaN
        one | sign: fmt.quiet_nan,                   # -1 -> NaN
        1 | sign: fmt.quiet_nan,                     # -smallest subnormal -> NaN
        fmt.max_finite | sign: fmt.quiet_nan,
        fmt.quiet_nan: fmt.quiet_nan,
        fmt.inf | 1: fmt.quiet_nan,                  # signalling NaN -> canonical quiet NaN
        fmt.quiet_nan | sign: fmt.quiet_nan,
        fmt.inf | ((1 << man) - 1) | sign: fmt.quiet_nan,
        one: one,                                    # 1 -> 1
        (fmt.bias + 2) << man: (fmt.bias - 1) << man,  # 4 -> 0.5
    }
    x = np.array(list(table), dtype=np.uint64)
    expected = np.array(list(table.values()), dtype=np.uint64)
    np.testing.assert_array_equal(reference.rsqrt_exact(fmt, x), expected)
    np.testing.assert_array_equal(reference.rsqrt_mpfr(fmt, x), expected)
    v = reference.exact_value(fmt, x[:4])
    assert v[0] == math.inf and v[1] == -math.inf and v[2] == 0 and math.isnan(v[3])


@pytest.mark.parametrize("fmt", [FP32, FP16, BF16, E4M3, E3M2], ids=lambda f: f.name)
def test_powers_of_four_exact(fmt):
    exps = [e for e in range(fmt.emin - fmt.man_bits, fmt.emax + 1) if e % 2 == 0]
    x = reference.encode_float_value(fmt, np.ldexp(1.0, exps))
    expected_values = np.ldexp(1.0, [-e // 2 for e in exps])
    representable = expected_values <= reference.decode_float(fmt, np.uint64(fmt.max_finite))
    expected = np.where(representable, reference.encode_float_value(fmt, expected_values),
                        np.uint64(fmt.inf))
    np.testing.assert_array_equal(reference.rsqrt_exact(fmt, x), expected)


def test_subnormal_inputs_scale_exactly():
    # rsqrt(x * 4**-k) = rsqrt(x) * 2**k: subnormal inputs round like the normal ones they scale to.
    fmt = FP32
    rng = np.random.default_rng(2)
    frac = rng.integers(1, 1 << 23, 20_000, dtype=np.uint64)
    sub = frac                                               # frac * 2**-149
    scaled = reference.encode_float_value(fmt, reference.decode_float(fmt, sub) * 2.0 ** 100)
    y_sub = reference.decode_float(fmt, reference.rsqrt_exact(fmt, sub))
    y_scaled = reference.decode_float(fmt, reference.rsqrt_exact(fmt, scaled))
    np.testing.assert_array_equal(y_sub, y_scaled * 2.0 ** 50)


def test_codec_roundtrip():
    for fmt in (BF16, E4M3, E3M2):
        x = _all(fmt)
        values = reference.decode_float(fmt, x)
        back = reference.encode_float_value(fmt, values)
        nan = np.isnan(values)
        np.testing.assert_array_equal(back[~nan], x[~nan])


FIXED_CONFIGS = [
    dict(format="q4.12"), dict(format="q16.16"), dict(format="q20.12"), dict(format="q1.31", out_format="q17.15"),
    dict(format="q32.0", out_format="q2.30"), dict(format="q16.16", out_format="q8.0"),
    dict(format="q16.0", out_format="q1.31"), dict(format="q4.28", out_format="q1.31"),
    dict(format="q31.1", out_format="q2.2"), dict(format="q8.8", out_format="q3.5"),
]


@pytest.mark.parametrize("kw", FIXED_CONFIGS, ids=lambda kw: "_".join(kw.values()))
def test_fixed_matches_python_int(kw):
    config = Config(**kw)
    w = config.format.width
    rng = np.random.default_rng(3)
    x = np.concatenate([accuracy.special_inputs(config.format),
                        rng.integers(0, 1 << w, 5_000, dtype=np.uint64),
                        rng.integers(0, 1 << min(w - 1, 12), 1_000, dtype=np.uint64)])
    y, flag = reference.rsqrt_exact_fixed(config, x)
    y_int, flag_int = reference.rsqrt_fixed_int(config, x)
    np.testing.assert_array_equal(y, y_int)
    np.testing.assert_array_equal(flag, flag_int)


def test_fixed_semantics():
    config = Config(format="q4.12")               # out q8.12
    out = config.out_format
    one, four, quarter = 1 << 12, 4 << 12, 1 << 10
    x = np.array([0, 0xFFFF, 0x8000, one, four, quarter, 1], dtype=np.uint64)
    y, flag = reference.rsqrt_exact_fixed(config, x)
    assert y.tolist() == [out.max_int, 0, 0, 1 << 12, 1 << 11, 1 << 13, 1 << 18]
    assert flag.tolist() == [True, True, True, False, False, False, False]
    # Saturation: q16.16 -> q8.0 holds results below 127.5; 256/sqrt(5) = 114.49.
    config = Config(format="q16.16", out_format="q8.0")
    y, flag = reference.rsqrt_exact_fixed(config, np.array([1, 4, 5], dtype=np.uint64))
    assert y.tolist() == [127, 127, 114] and flag.tolist() == [True, True, False]
    # Powers of four are exact.
    config = Config(format="q16.16", out_format="q2.30")
    k = np.arange(0, 8)
    y, flag = reference.rsqrt_exact_fixed(config, (1 << (16 + 2 * k)).astype(np.uint64))
    assert y.tolist() == [1 << (30 - int(i)) for i in k] and not flag.any()


def test_measure_bf16_default_correctly_rounded():
    result = accuracy.measure(Config(format="bf16"), progress=False)
    assert result["exhaustive"] is True
    assert result["inputs"] == 1 << 16
    assert result["not_correctly_rounded"] == 0
    assert result["max_ulp"] <= 0.5
    for key in ("format", "function", "seed", "newton", "table_bits", "magic", "config", "inputs",
                "exhaustive", "max_ulp", "mean_ulp", "max_rel_error", "not_correctly_rounded",
                "not_correctly_rounded_share", "worst_input", "worst_output", "worst_exact",
                "seconds"):
        assert key in result


@pytest.mark.parametrize("newton, low, high", [(0, 3.3, 3.5), (1, 0.17, 0.18)])
def test_measure_fp32_magic(newton, low, high):
    config = Config(format="fp32", seed="magic", magic=0x5F3759DF, newton=newton)
    result = accuracy.measure(config, samples=100_000, progress=False)
    assert result["exhaustive"] is False
    assert low <= 100 * result["max_rel_error"] <= high
    assert result["not_correctly_rounded"] > 0


def test_measure_explicit_inputs_and_specials():
    config = Config(format="fp16")
    x = accuracy.special_inputs(config.format)
    result = accuracy.measure(config, inputs=x, progress=False)
    assert result["inputs"] == len(x) and result["not_correctly_rounded"] == 0
    assert result["max_ulp"] <= 0.5


# ---------------------------------------------------------------------------------------------
# Activations: ISRU, ISRLU and their backward units

ACTIVATIONS = ("isrlu", "isru", "isrlu-grad", "isru-grad")
BACKWARD = ("isrlu-grad", "isru-grad")


def _encode(fmt, values):
    return reference.encode_float_value(fmt, np.array(values, dtype=np.float64))


def _float_operands(fmt, rng, n):
    """Random raw x (and grad, alpha) with the hard regions over-represented: tiny and huge x,
    tiny grads (subnormal results), plus the special classes."""
    w = fmt.width
    specials = accuracy.special_inputs(fmt)
    x = np.concatenate([specials,
                        rng.integers(0, 1 << w, n, dtype=np.uint64),
                        rng.integers(0, 1 << (fmt.man_bits + 3), n // 4, dtype=np.uint64),
                        fmt.max_finite - rng.integers(0, 1 << (fmt.man_bits + 3), n // 4, dtype=np.uint64)])
    x |= np.where(rng.random(len(x)) < 0.5, np.uint64(fmt.sign_bit), np.uint64(0))
    grad = rng.integers(0, 1 << w, len(x), dtype=np.uint64)
    grad[::3] = rng.integers(0, 1 << (fmt.man_bits + 4), len(grad[::3]), dtype=np.uint64)
    return x, grad


def _check_against_mpfr(config, x, grad=None, alpha=None):
    got = reference.activation_exact(config, x, grad, alpha)
    want = reference.activation_mpfr(config, x, grad, alpha)
    if config.is_float:
        bad = np.flatnonzero(got != want)
        assert not len(bad), [(hex(x[i]), None if grad is None else hex(grad[i]),
                               None if alpha is None else hex(alpha[i]), hex(got[i]), hex(want[i]))
                              for i in bad[:5]]
    else:
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("fmt", [E4M3, E5M2], ids=lambda f: f.name)
@pytest.mark.parametrize("function", ACTIVATIONS)
@pytest.mark.parametrize("alpha", [1.0, 3.0, 0.1, 2.0 ** 40])
def test_activation_exhaustive_matches_mpfr(fmt, function, alpha):
    config = Config(fmt, function=function, alpha=alpha)
    x = _all(fmt)
    grad = None
    if config.is_backward:   # all x with 40 grads: the special classes and random ones
        rng = np.random.default_rng(4)
        grads = np.concatenate([accuracy.grad_specials(fmt),
                                rng.integers(0, 1 << fmt.width, 20, dtype=np.uint64)])
        x, grad = np.repeat(x, len(grads)), np.tile(grads, len(x))
    _check_against_mpfr(config, x, grad)


@pytest.mark.parametrize("fmt", [E4M3, E5M2], ids=lambda f: f.name)
@pytest.mark.parametrize("function", ACTIVATIONS)
def test_activation_exhaustive_runtime_alpha_matches_mpfr(fmt, function):
    config = Config(fmt, function=function, runtime_alpha=True)
    rng = np.random.default_rng(5)
    alphas = np.concatenate([accuracy.special_inputs(fmt)[::3],
                             accuracy.alpha_samples(fmt, 8, rng),
                             rng.integers(0, 1 << fmt.width, 4, dtype=np.uint64)])
    x, alpha = np.repeat(_all(fmt), len(alphas)), np.tile(alphas, 1 << fmt.width)
    grad = rng.integers(0, 1 << fmt.width, len(x), dtype=np.uint64) if config.is_backward else None
    _check_against_mpfr(config, x, grad, alpha)


@pytest.mark.parametrize("fmt", [BF16, FP16, FP32], ids=lambda f: f.name)
@pytest.mark.parametrize("function", ACTIVATIONS)
@pytest.mark.parametrize("alpha", [3.0, 1e-30, 2.0 ** 60, "runtime"])
def test_activation_random_matches_mpfr(fmt, function, alpha):
    runtime = alpha == "runtime"
    config = Config(fmt, function=function, alpha=None if runtime else alpha, runtime_alpha=runtime)
    rng = np.random.default_rng(6)
    x, grad = _float_operands(fmt, rng, 800)
    alphas = None
    if runtime:
        alphas = accuracy.alpha_samples(fmt, len(x), rng, -20, 20)
        alphas[::7] = rng.integers(0, 1 << fmt.width, len(alphas[::7]), dtype=np.uint64)
    _check_against_mpfr(config, x, grad if config.is_backward else None, alphas)


def test_activation_exact_resolution_agrees():
    """Forcing every element through the exact (rational) tie-break gives the same results."""
    rng = np.random.default_rng(7)
    cases = []
    for function in ACTIVATIONS:
        x, grad = _float_operands(FP32, rng, 300)
        cases.append((Config("fp32", function=function, alpha=0.7), x, grad))
        xf = rng.integers(0, 1 << 16, 600, dtype=np.uint64)
        gf = rng.integers(0, 1 << 16, 600, dtype=np.uint64)
        cases.append((Config("q8.8", function=function, alpha=0.3, out_format="q3.9"), xf, gf))
    expected = [reference.activation_exact(c, x, g if c.is_backward else None) for c, x, g in cases]
    saved = reference._REL_TOLERANCE
    reference._REL_TOLERANCE = 1.0                   # every estimate is "too close"
    try:
        got = [reference.activation_exact(c, x, g if c.is_backward else None) for c, x, g in cases]
    finally:
        reference._REL_TOLERANCE = saved
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(np.asarray(e), np.asarray(g))


def test_activation_exact_ties():
    # isru-grad, alpha 3, x = 1: f'(1) = 1/8 exactly; grad = k * 2**-149 gives (k/8) * 2**-149.
    config = Config("fp32", function="isru-grad", alpha=3.0)
    x = np.ones(6, dtype=np.uint64) * np.uint64(0x3F800000)
    grad = np.array([4, 12, 20, 28, 8, 12 | FP32.sign_bit], dtype=np.uint64)
    want = [0, 2, 2, 4, 1, 2 | FP32.sign_bit]         # 0.5, 1.5, 2.5, 3.5 (ties to even), 1, -1.5
    assert reference.activation_exact(config, x, grad).tolist() == want
    assert reference.activation_mpfr(config, x, grad).tolist() == want
    # isru, x = 2**-149 with alpha*x**2 = 3: the exact result 2**-150 is half the smallest
    # subnormal, and rounds to (signed) zero.
    config = Config("fp32", function="isru", alpha=3.0 * 2.0 ** 298)
    x = np.array([1, 1 | FP32.sign_bit], dtype=np.uint64)
    assert reference.activation_exact(config, x).tolist() == [0, FP32.sign_bit]
    assert reference.activation_mpfr(config, x).tolist() == [0, FP32.sign_bit]
    # Fixed point: ISRLU's identity half rounds x to the output grid, ties to even.
    config = Config("q8.8", function="isrlu", out_format="q4.4")
    x = np.array([8, 24, 40, 56], dtype=np.uint64)          # 1/32, 3/32, 5/32, 7/32: 0.5 .. 3.5 LSB
    y, flag = reference.activation_exact(config, x)
    assert y.tolist() == [0, 2, 2, 4] and not flag.any()
    # ... and so does the backward unit's (f' = 1 for x >= 0), with grad's sign.
    config = Config("q8.8", function="isrlu-grad", out_format="q4.4")
    grad = np.array([8, 24, (-24) & 0xFFFF, (-40) & 0xFFFF], dtype=np.uint64)
    y, flag = reference.activation_exact(config, np.full(4, 1 << 8, dtype=np.uint64), grad)
    assert y.tolist() == [0, 2, 0xFE, 0xFE] and not flag.any()


def _special_table(fmt, function):
    """(x, grad or None, alpha, expected) raw patterns of the special cases."""
    s, inf, qnan = fmt.sign_bit, fmt.inf, fmt.quiet_nan
    v = lambda value: int(_encode(fmt, [value])[0])
    one, two, half, eighth = v(1.0), v(2.0), v(0.5), v(0.125)
    snan = inf | 1
    rows = []
    if function in ("isru", "isrlu"):
        isrlu = function == "isrlu"
        rows += [(0, None, 4.0, 0), (s, None, 4.0, s),
                 (inf, None, 4.0, inf if isrlu else half), (inf | s, None, 4.0, half | s),
                 (qnan, None, 4.0, qnan), (snan, None, 4.0, qnan), (qnan | s, None, 4.0, qnan),
                 (one, None, 3.0, one if isrlu else half), (one | s, None, 3.0, half | s),
                 (1, None, 3.0, 1), (1 | s, None, 3.0, 1 | s),           # tiny x: f(x) = x
                 (fmt.max_finite, None, 4.0, fmt.max_finite if isrlu else half)]   # 0.5 - tiny
    else:
        isrlu = function == "isrlu-grad"
        five = v(5.0)
        rows += [(one, one, 3.0, one if isrlu else eighth), (one | s, one, 3.0, eighth),
                 (0, five, 3.0, five), (s, five | s, 3.0, five | s),         # f'(±0) = 1
                 (inf, two, 3.0, two if isrlu else 0), (inf | s, two | s, 3.0, s),
                 (inf, inf, 3.0, inf if isrlu else qnan), (inf | s, inf | s, 3.0, qnan),
                 (inf, 0, 3.0, 0), (inf, s, 3.0, s), (inf | s, s, 3.0, s),
                 (one | s, inf | s, 3.0, inf | s), (fmt.max_finite | s, inf, 3.0, inf),
                 (one | s, s, 3.0, s), (one | s, 0, 3.0, 0),
                 (qnan, 0, 3.0, qnan), (one, qnan, 3.0, qnan), (snan, one, 3.0, qnan),
                 (one | s, snan | s, 3.0, qnan)]
    return rows


@pytest.mark.parametrize("fmt", [FP32, BF16, FP16, E4M3, E5M2], ids=lambda f: f.name)
@pytest.mark.parametrize("function", ACTIVATIONS)
def test_activation_special_values(fmt, function):
    for x, grad, alpha, want in _special_table(fmt, function):
        config = Config(fmt, function=function, alpha=alpha)
        xs = np.array([x], dtype=np.uint64)
        gs = None if grad is None else np.array([grad], dtype=np.uint64)
        got = (int(reference.activation_exact(config, xs, gs)[0]),
               int(reference.activation_mpfr(config, xs, gs)[0]))
        assert got == (want, want), (hex(x), grad, alpha, [hex(g) for g in got], hex(want))


@pytest.mark.parametrize("fmt", [FP32, BF16, E4M3], ids=lambda f: f.name)
@pytest.mark.parametrize("function", ACTIVATIONS)
def test_activation_invalid_runtime_alpha(fmt, function):
    config = Config(fmt, function=function, runtime_alpha=True)
    v = lambda value: int(_encode(fmt, [value])[0])
    bad = [0, fmt.sign_bit, v(-1.0), fmt.inf, fmt.inf | fmt.sign_bit, fmt.quiet_nan, fmt.inf | 1,
           1 | fmt.sign_bit]
    xs = [0, fmt.sign_bit, v(1.0), v(-2.0), fmt.inf, fmt.quiet_nan]
    x = np.repeat(np.array(xs, dtype=np.uint64), len(bad))
    alpha = np.tile(np.array(bad, dtype=np.uint64), len(xs))
    grad = np.full(len(x), v(1.0), dtype=np.uint64) if config.is_backward else None
    assert (reference.activation_exact(config, x, grad, alpha) == fmt.quiet_nan).all()
    assert (reference.activation_mpfr(config, x, grad, alpha) == fmt.quiet_nan).all()
    # The smallest subnormal alpha is a valid (positive, finite) alpha: ISRU(1) ~= 1.
    one = np.array([v(1.0)], dtype=np.uint64)
    y = reference.activation_exact(config, one, one if config.is_backward else None,
                                   np.array([1], dtype=np.uint64))
    assert y[0] == v(1.0)


ACTIVATION_FIXED = [
    dict(format="q4.12"), dict(format="q8.8", out_format="q2.6"), dict(format="q8.8", out_format="q16.16"),
    dict(format="q16.16", out_format="q4.4"), dict(format="q1.15"), dict(format="q32.0", out_format="q2.30"),
    dict(format="q1.31", out_format="q32.0"), dict(format="q2.30"),
]


@pytest.mark.parametrize("kw", ACTIVATION_FIXED, ids=lambda kw: "_".join(kw.values()))
@pytest.mark.parametrize("function", ACTIVATIONS)
@pytest.mark.parametrize("alpha", [1.0, 0.1875, 1e-7, "runtime"])
def test_activation_fixed_matches_python_int(kw, function, alpha):
    runtime = alpha == "runtime"
    config = Config(**kw, function=function, alpha=None if runtime else alpha, runtime_alpha=runtime)
    fmt = config.format
    w = fmt.width
    rng = np.random.default_rng(8)
    x = np.concatenate([accuracy.special_inputs(fmt), rng.integers(0, 1 << w, 600, dtype=np.uint64)])
    x = np.concatenate([x, rng.integers(0, 1 << min(w - 1, 10), 100, dtype=np.uint64)])
    grad = rng.integers(0, 1 << w, len(x), dtype=np.uint64) if config.is_backward else None
    alphas = None
    if runtime:
        alphas = accuracy.alpha_samples(fmt, len(x), rng)
        alphas[::9] = rng.integers(0, 1 << w, len(alphas[::9]), dtype=np.uint64)
    y, flag = reference.activation_exact(config, x, grad, alphas)
    y_int, flag_int = reference.activation_fixed_int(config, x, grad, alphas)
    np.testing.assert_array_equal(y, y_int)
    np.testing.assert_array_equal(flag, flag_int)
    if not runtime and w <= 16:
        y_mpfr, flag_mpfr = reference.activation_mpfr(config, x, grad, alphas)
        np.testing.assert_array_equal(y, y_mpfr)
        np.testing.assert_array_equal(flag, flag_mpfr)


def test_activation_fixed_semantics():
    m16 = 0xFFFF
    config = Config("q4.12", function="isru", alpha=3.0)
    one = 1 << 12
    x = np.array([0, one, (-one) & m16], dtype=np.uint64)
    y, flag = reference.activation_exact(config, x)
    assert y.tolist() == [0, one // 2, (-one // 2) & m16] and not flag.any()
    # Saturation to [-(max+1), max]: q8.8 -> q2.6 holds [-2, 2 - 1/64].
    config = Config("q8.8", function="isru", alpha=0.1875, out_format="q2.6")
    x = np.array([(-4 << 8) & m16, 4 << 8, (-100 << 8) & m16], dtype=np.uint64)
    y, flag = reference.activation_exact(config, x)       # -2 exactly, 2 and -3.2 saturate
    assert y.tolist() == [0x80, 0x7F, 0x80] and flag.tolist() == [False, True, True]
    # Backward: grad 0 gives 0 (no flag); an invalid runtime alpha gives 0 with the flag.
    config = Config("q4.12", function="isru-grad", runtime_alpha=True)
    x = np.array([one, one, one, one], dtype=np.uint64)
    grad = np.array([0, one, one, 0], dtype=np.uint64)
    alpha = np.array([3 * one, 3 * one, (-one) & m16, 0], dtype=np.uint64)
    y, flag = reference.activation_exact(config, x, grad, alpha)
    assert y.tolist() == [0, one // 8, 0, 0] and flag.tolist() == [False, False, True, True]
    y2, flag2 = reference.activation_fixed_int(config, x, grad, alpha)
    assert y2.tolist() == y.tolist() and flag2.tolist() == flag.tolist()


def test_activation_value_matches_mpmath():
    import mpmath
    mpmath.mp.prec = 200
    rng = np.random.default_rng(9)
    for function in ACTIVATIONS:
        config = Config("fp32", function=function, alpha=0.37)
        x, grad = _float_operands(FP32, rng, 200)
        grad = grad if config.is_backward else None
        value = reference.activation_value(config, x, grad)
        xs = reference.decode_float(FP32, x)
        gs = None if grad is None else reference.decode_float(FP32, grad)
        for i in range(len(x)):
            xv = xs[i]
            if not math.isfinite(xv) or (gs is not None and not math.isfinite(gs[i])):
                continue
            u = 1 + mpmath.mpf(0.37) * mpmath.mpf(xv) ** 2
            unit = function.startswith("isrlu") and xv >= 0
            if config.is_backward:
                exact = mpmath.mpf(gs[i]) * (1 if unit or xv == 0 else u ** -1.5)
            else:
                exact = mpmath.mpf(xv) * (1 if unit else u ** -0.5)
            if exact == 0 or abs(exact) < mpmath.mpf(2) ** -1000:
                continue
            assert abs(value[i] - exact) <= abs(exact) * 2.0 ** -47, (function, xv, value[i], exact)


def test_activation_compare_ulps():
    # Subnormal results are measured in the subnormal ulp: isru-grad, alpha 3, x = 1, grad 12
    # (12 * 2**-149): exact 1.5 * 2**-149, correctly rounded 2 * 2**-149 (a tie).
    config = Config("fp32", function="isru-grad", alpha=3.0)
    x = np.full(4, 0x3F800000, dtype=np.uint64)
    grad = np.full(4, 12, dtype=np.uint64)
    d = reference.activation_compare(config, np.array([2, 1, 3, 0], dtype=np.uint64), x, grad)
    assert d["ulp"].tolist() == [0.5, 0.5, 1.5, 1.5]
    assert d["wrong"].tolist() == [False, True, True, True] and d["numeric"].all()
    assert d["value"][0] == 1.5 * 2.0 ** -149
    # Beyond float64's range: alpha 1e300, x = grad = max: exact ~ 1e-528, correctly rounded +0.
    config = Config("fp32", function="isru-grad", alpha=1e300)
    x = np.full(2, FP32.max_finite, dtype=np.uint64)
    d = reference.activation_compare(config, np.array([0, 1], dtype=np.uint64), x, x)
    assert d["reference"].tolist() == [0, 0] and d["numeric"].all()
    assert d["ulp"][0] < 1e-300 and abs(d["ulp"][1] - 1) < 1e-300
    # The reference has at most half an ulp of error; its neighbours more than half.
    rng = np.random.default_rng(10)
    for function in ACTIVATIONS:
        config = Config("fp32", function=function, alpha=3.0)
        x, grad = _float_operands(FP32, rng, 2000)
        grad = grad if config.is_backward else None
        ref = reference.activation_exact(config, x, grad)
        d = reference.activation_compare(config, ref, x, grad)
        assert not d["wrong"].any() and np.nanmax(d["ulp"]) <= 0.5
        finite = (ref & np.uint64(0x7FFFFFFF)) < np.uint64(0x7F7FFFFF)
        up = reference.activation_compare(config, ref + np.uint64(1), x, grad)
        keep = up["numeric"] & finite
        # (up to 2.5 where the exact value lies just below a power of two: its ulp is the smaller)
        assert (up["ulp"][keep] >= 0.5).all() and (up["ulp"][keep] <= 2.5).all()
    # Special classes are not numeric: the accuracy report compares them bitwise.
    config = Config("bf16", function="isru")
    d = reference.activation_compare(config, np.zeros(3, dtype=np.uint64),
                                     np.array([0, 0x7FC0, 0x7F80], dtype=np.uint64))
    assert d["numeric"].tolist() == [False, False, True]
