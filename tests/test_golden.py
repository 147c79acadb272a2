"""Golden model: special values, exactness where the result is exact, helpers, magic constants."""
import numpy as np
import pytest

from golden.eval import evaluate
from hw.spec.intmath import bit_length, mul_shr, round_shift
from golden.reference import rsqrt_exact
from golden.rsqrt import rsqrt
from hw.config import Config
from hw.spec.formats import BF16, FP16, FP32, FloatFormat
from hw.spec.magic import PUBLISHED_FP32, derive_magic, magic_seed_error

FLOAT_CONFIGS = [Config(f, seed=s) for f in ("fp32", "fp16", "bf16", "e5m2", "e4m3", "e8m10")
                 for s in ("lut", "magic")]


def bits(fmt, sign, field, frac):
    return (sign << (fmt.width - 1)) | (field << fmt.man_bits) | frac


@pytest.mark.parametrize("config", FLOAT_CONFIGS, ids=lambda c: c.name)
def test_float_special_values(config):
    fmt = config.format
    top = fmt.exp_max_field
    cases = {
        bits(fmt, 0, 0, 0): fmt.inf,                       # +0 -> +inf
        bits(fmt, 1, 0, 0): fmt.inf | fmt.sign_bit,        # -0 -> -inf
        bits(fmt, 0, top, 0): 0,                           # +inf -> +0
        bits(fmt, 1, top, 0): fmt.quiet_nan,               # -inf -> qNaN
        bits(fmt, 0, top, 1): fmt.quiet_nan,               # signalling NaN -> qNaN
        bits(fmt, 1, top, 1 << (fmt.man_bits - 1)): fmt.quiet_nan,
        bits(fmt, 1, fmt.bias, 0): fmt.quiet_nan,          # -1 -> qNaN
        bits(fmt, 1, 0, 1): fmt.quiet_nan,                 # negative subnormal -> qNaN
    }
    x = np.array(list(cases), dtype=np.uint64)
    assert [hex(v) for v in rsqrt(config, x)] == [hex(v) for v in cases.values()]


@pytest.mark.parametrize("config", [c for c in FLOAT_CONFIGS if c.seed == "lut" or c.newton > 0],
                         ids=lambda c: c.name)
def test_powers_of_four_are_exact(config):
    """rsqrt(4**j) = 2**-j exactly: every seed and stage count gets these right after rounding
    except the bare magic seed, whose error is a few percent."""
    fmt = config.format
    js = [j for j in range(-(fmt.bias // 2) + 1, fmt.bias // 2) if fmt.emin <= 2 * j <= fmt.emax]
    x = np.array([bits(fmt, 0, 2 * j + fmt.bias, 0) for j in js], dtype=np.uint64)
    expected = np.array([bits(fmt, 0, -j + fmt.bias, 0) for j in js], dtype=np.uint64)
    assert np.array_equal(rsqrt(config, x), expected)


@pytest.mark.parametrize("fmt", [FP32, FP16, BF16, FloatFormat(4, 3)], ids=str)
def test_subnormals_are_computed_not_flushed(fmt):
    config = Config(fmt)
    x = np.arange(1, 1 << fmt.man_bits, dtype=np.uint64)          # every subnormal (or a prefix)
    x = x[:4096]
    y = rsqrt(config, x)
    value = x.astype(np.float64) * 2.0 ** (fmt.emin - fmt.man_bits)
    field = (y >> np.uint64(fmt.man_bits)).astype(np.int64)
    frac = (y & np.uint64((1 << fmt.man_bits) - 1)).astype(np.float64)
    got = (1 + frac / 2 ** fmt.man_bits) * 2.0 ** (field - fmt.bias)
    assert np.all(field < fmt.exp_max_field)
    assert np.max(np.abs(got * np.sqrt(value) - 1)) < 2.0 ** -fmt.man_bits


def test_overflow_to_infinity_in_narrow_formats():
    """e3m8: rsqrt of the smallest subnormal (2**-10) is 32, above the largest finite value 15.97."""
    config = Config("e3m8")
    assert rsqrt(config, np.array([1], dtype=np.uint64))[0] == config.format.inf


def test_fixed_point_zero_negative_and_saturation():
    config = Config("q4.12")
    out = config.out_format
    raw = np.array([0, 0x8000, 0xFFFF, 1, 0x1000, 0x4000, 0x7FFF], dtype=np.uint64)
    y, flag = rsqrt(config, raw)
    assert y[0] == out.max_int and flag[0]                 # zero: saturate to the maximum, flag
    assert y[1] == 0 and y[2] == 0 and flag[1] and flag[2]   # negative: 0, flag
    assert y[3] == 64 << out.frac_bits and not flag[3]     # rsqrt(2**-12) = 64
    assert y[4] == 1 << out.frac_bits and not flag[4]      # rsqrt(1) = 1
    assert y[5] == 1 << (out.frac_bits - 1) and not flag[5]  # rsqrt(4) = 0.5
    narrow = Config("q4.12", out_format="q4.12")            # 64 does not fit in q4.12: saturate
    y, flag = rsqrt(narrow, np.array([1, 0x1000], dtype=np.uint64))
    assert y[0] == narrow.out_format.max_int and flag[0] and not flag[1]


def test_fixed_point_accepts_signed_patterns():
    config = Config("q4.12")
    y_signed, _ = evaluate(config, np.array([-1, 0x1000], dtype=np.int64))
    y_raw, _ = evaluate(config, np.array([0xFFFF, 0x1000], dtype=np.uint64))
    assert np.array_equal(y_signed, y_raw)


def test_magic_seed_reproduces_the_bit_trick():
    """Bare magic seed on normal FP32 inputs equals ``K - (x >> 1)`` on the raw bits."""
    config = Config("fp32", seed="magic", magic=0x5F3759DF, newton=0)
    rng = np.random.default_rng(1)
    x = rng.integers(0x00800000, 0x7F800000, 100_000, dtype=np.uint64)
    assert np.array_equal(rsqrt(config, x), np.uint64(0x5F3759DF) - (x >> np.uint64(1)))


def test_magic_constant_derivation_matches_published_fp32():
    for newton, published in PUBLISHED_FP32.items():
        derived = derive_magic(127, 23, newton)
        assert abs(derived - published) < 0x40
    assert magic_seed_error(0x5F3759DF, 23) == pytest.approx(0.0344, abs=0.0002)


def test_mul_shr_is_exact():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 2 ** 63, 2000, dtype=np.uint64)
    b = rng.integers(0, 2 ** 63, 2000, dtype=np.uint64)
    got = mul_shr(a, b, 64)
    assert all(int(g) == (int(x) * int(y)) >> 64 for g, x, y in zip(got, a, b))
    with pytest.raises(OverflowError):
        mul_shr(np.array([2 ** 40], dtype=np.uint64), np.array([2 ** 40], dtype=np.uint64), 10)
    for width_a, width_b, shift in ((30, 34, 0), (20, 20, 7), (33, 31, 40), (12, 40, 64)):   # products below 2**64
        a = rng.integers(0, 2 ** width_a, 2000, dtype=np.uint64)
        b = rng.integers(0, 2 ** width_b, 2000, dtype=np.uint64)
        got = mul_shr(a, b, shift)
        assert all(int(g) == (int(x) * int(y)) >> shift for g, x, y in zip(got, a, b))
    for width_a, width_b, shift in ((24, 51, 27), (33, 34, 32), (33, 33, 28), (31, 50, 17), (40, 40, 40)):
        # products beyond 2**64 where the narrower operand leaves room (two products), scalar too
        a = np.append(rng.integers(0, 2 ** width_a, 2000, dtype=np.uint64), np.uint64(2 ** width_a - 1))
        b = np.append(rng.integers(0, 2 ** width_b, 2000, dtype=np.uint64), np.uint64(2 ** width_b - 1))
        assert mul_shr(a, b, shift).tolist() == [(int(x) * int(y)) >> shift for x, y in zip(a, b)]
        assert mul_shr(a, b[-1], shift).tolist() == [(int(x) * int(b[-1])) >> shift for x in a]
    with pytest.raises(OverflowError):
        mul_shr(np.array([2 ** 24 - 1], dtype=np.uint64), np.array([2 ** 51 - 1], dtype=np.uint64), 10)
    b = rng.integers(0, 2 ** 40, 2000, dtype=np.uint64)
    for k, shift in ((0, 0), (5, 30), (20, 5), (24, 64), (10, 80)):        # by a power of two: a shift
        for got in (mul_shr(np.uint64(1 << k), b, shift), mul_shr(b, np.uint64(1 << k), shift)):
            assert got.tolist() == [(int(y) << k) >> shift for y in b]
    with pytest.raises(OverflowError):
        mul_shr(np.uint64(1 << 30), np.array([2 ** 40], dtype=np.uint64), 5)


def test_round_shift_ties_to_even():
    v = np.array([5, 6, 7, 13, 12, 3, 1 << 40], dtype=np.uint64)
    d = np.array([1, 2, 1, 1, 3, 0, 70])
    assert round_shift(v, d).tolist() == [2, 2, 4, 6, 2, 3, 0]
    assert bit_length(np.array([0, 1, 255, 256], dtype=np.uint64)).tolist() == [0, 1, 8, 9]


@pytest.mark.parametrize("top", [12, 40, 63, 64], ids=lambda t: f"below_2^{t}")
def test_round_shift_matches_exact_rounding(top):
    """Random values and exact ties, shifts 1..63 (the no-carry fast path below ``2**63``) and 0..63
    (the general path): nearest, ties to even, as Python's integers give it."""
    rng = np.random.default_rng(top)
    for shifts in ((1, 64), (0, 64)):
        d = rng.integers(*shifts, 3000)
        v = rng.integers(0, 2 ** top - 1, 3000, dtype=np.uint64, endpoint=True)
        tie = (v >> np.minimum(d, 63).astype(np.uint64) << np.minimum(d, 63).astype(np.uint64)) | \
            np.where((d >= 1) & (d < 64), np.uint64(1) << np.maximum(d - 1, 0).astype(np.uint64), np.uint64(0))
        for values in (v, np.where(np.arange(3000) % 2 == 0, tie, v)):
            exact = [(int(x) + (1 << (int(s) - 1)) - 1 + ((int(x) >> int(s)) & 1)) >> int(s) if s else int(x)
                     for x, s in zip(values, d)]
            assert round_shift(values, d).tolist() == exact


def test_bit_length_at_every_power_of_two():
    """Around every power of two up to 2**64, where a float64 conversion rounds up; and below
    2**53 alone, where the conversion is exact and the correction is skipped."""
    values = [0] + [(1 << k) + d for k in range(1, 65) for d in (-2, -1, 0, 1) if 0 <= (1 << k) + d < 1 << 64]
    assert bit_length(np.array(values, dtype=np.uint64)).tolist() == [v.bit_length() for v in values]
    exact = [v for v in values if v < 1 << 53]
    assert bit_length(np.array(exact, dtype=np.uint64)).tolist() == [v.bit_length() for v in exact]


@pytest.mark.parametrize("config", [Config("fp32"), Config("fp16", rounding="residual")], ids=lambda c: c.name)
def test_residual_sign_survives_the_dropped_carries(config):
    """The hardware sums the decision's two carry-save rows from bit ``sign_from`` only, which
    lowers ``S`` by less than ``2**(sign_from + 1)``: over every significand of both parities, ``S``
    lowered by that much keeps its sign (and one bit more would not for some input, so the bound
    is the tightest)."""
    from golden.blocks import range_reduce, seed_poly
    from hw.spec.datapath import datapath
    dp = datapath(config)
    res, frac, u = dp.residual, dp.frac_bits, np.uint64
    assert res.sign_from > 0
    sig = np.concatenate([np.arange(1 << frac, 2 << frac, dtype=np.uint64)] * 2)
    exp = np.repeat(np.array([0, 1], dtype=np.int64), 1 << frac)
    parity, _, mr = range_reduce(dp, exp, sig)
    t = seed_poly(config, dp, parity, sig) >> u(res.r_bits - res.precision)
    decided = t < u(1 << res.precision)
    y = u(2) * t[decided] + u(1)
    n = 2 * res.precision + 2 + frac
    s = (y * y * mr[decided] - (u(1 << n) if n < 64 else u(0))).view(np.int64)     # exact: |S| < 2**63
    drop = (1 << (res.sign_from + 1)) - 1
    assert np.array_equal(s - drop < 0, s < 0)
    assert not np.array_equal(s - 2 * drop - 1 < 0, s < 0)


@pytest.mark.parametrize("config", [Config("fp32"), pytest.param(Config("fp32", seed="lut", newton=2), marks=pytest.mark.full),
                                    Config("e8m15", rounding="residual", seed="magic", newton=2)],
                         ids=lambda c: c.name)
def test_residual_rounding_is_correct_on_every_significand(config):
    """rounding "residual": correctly rounded for every significand of both exponent parities
    (the whole input space up to a power of four) and across the subnormals, where the
    approximation alone is not."""
    fmt = config.format
    frac = np.arange(1 << fmt.man_bits, dtype=np.uint64)
    x = np.concatenate([(np.uint64(field) << np.uint64(fmt.man_bits)) | frac for field in (0, fmt.bias, fmt.bias + 1)])
    assert np.array_equal(rsqrt(config, x), rsqrt_exact(fmt, x))
    assert not np.array_equal(rsqrt(config.with_(rounding="direct"), x), rsqrt_exact(fmt, x))
