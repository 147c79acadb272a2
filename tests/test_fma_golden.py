"""FMA golden model: correctly rounded against MPFR, and the IEEE 754 directed cases."""
import numpy as np
import pytest

from golden.fma import decode, fma
from golden.reference import fma_mpfr as mpfr_fma
from hw.config import Config




@pytest.mark.parametrize("fmt", ["fp32", "fp16", "bf16", "e4m3", "e5m2", "e3m8"])
def test_matches_mpfr(fmt):
    config = Config(fmt, function="fma")
    f = config.format
    rng = np.random.default_rng(11)
    n = 4000
    a, b, c = (rng.integers(0, 1 << f.width, n, dtype=np.uint64) for _ in range(3))
    c[: n // 2] = fma(config, a[: n // 2], b[: n // 2], np.zeros(n // 2, dtype=np.uint64)) ^ np.uint64(f.sign_bit)
    got = decode(f, fma(config, a, b, c))
    ref = mpfr_fma(f, a, b, c)
    same = ((got == ref) & (np.signbit(got) == np.signbit(ref))) | (np.isnan(got) & np.isnan(ref))
    assert same.all()


def f32(values):
    return np.array(values, dtype=np.float32).view(np.uint32).astype(np.uint64)


@pytest.mark.parametrize("a, b, c, expected", [
    (1.0, 1.0, -1.0, 0.0),                      # exact cancellation gives +0
    (-0.0, 1.0, -0.0, -0.0),                    # -0 + -0 = -0
    (0.0, -1.0, 0.0, 0.0),                      # -0 + +0 = +0
    (np.inf, 0.0, 1.0, np.nan),                 # inf * 0
    (np.inf, 1.0, -np.inf, np.nan),             # inf - inf
    (np.inf, -2.0, 5.0, -np.inf),
    (3.0, 4.0, np.inf, np.inf),
    (np.nan, 0.0, 1.0, np.nan),
    (3e38, 10.0, 0.0, np.inf),                  # overflow
    (1e-30, 1e-15, 0.0, 1e-45),                 # underflow to the smallest subnormal
    (1.0 + 2 ** -23, 1.0 - 2 ** -23, -1.0, -(2.0 ** -46)),   # fused: no intermediate rounding
])
def test_directed_fp32(a, b, c, expected):
    config = Config("fp32", function="fma")
    got = decode(config.format, fma(config, f32([a]), f32([b]), f32([c])))[0]
    if np.isnan(expected):
        assert fma(config, f32([a]), f32([b]), f32([c]))[0] == config.format.quiet_nan
    else:
        assert got == np.float32(expected) and np.signbit(got) == np.signbit(expected)
