"""The exact reference (golden.reference) and the accuracy measurement (golden.accuracy)."""
import math

import numpy as np
import pytest

from golden import accuracy, reference
from hw.config import Config
from hw.formats import BF16, FP16, FP32, FloatFormat

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
