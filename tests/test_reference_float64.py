"""The fast exact references (golden.reference_float64) against the MPFR references they stand
for: bit-identical on sampled BF16, FP16 and FP32 inputs (every BF16 input with --sim-full; with
the elements the float64 bound cannot decide), identical when every element goes to MPFR, and the
float64 estimates within their stated error bound on this machine's NumPy."""
import numpy as np
import pytest

from golden import reference_elementary as mp
from golden import reference_float64 as fp
from golden.accuracy import special_inputs
from hw.spec.formats import parse_format

PAIRS = {
    "elu": (lambda f, *a, **k: fp.elu_fast(f, 0.5, *a, **k), lambda f, *a, **k: mp.elu_mpfr(f, 0.5, *a, **k)),
    "tanh": (fp.tanh_fast, mp.tanh_mpfr),
    "sigmoid": (fp.sigmoid_fast, mp.sigmoid_mpfr),
    "isru-sigmoid": (lambda f, *a, **k: fp.isru_sigmoid_fast(f, 0.5, *a, **k),
                     lambda f, *a, **k: mp.isru_sigmoid_mpfr(f, 0.5, *a, **k)),
}


def _inputs(fmt, count, rng):
    """Every special class, values around the functions' bends, and random bit patterns."""
    if count is None:
        return np.arange(1 << fmt.width, dtype=np.uint64)
    mag = np.ldexp(rng.random(count) + 1, rng.integers(-12, 8, count))
    near = np.concatenate([mag, -mag]).astype(np.float32 if fmt.width == 32 else np.float16)
    near = near.view(np.uint32 if fmt.width == 32 else np.uint16).astype(np.uint64)
    return np.concatenate([special_inputs(fmt), near, rng.integers(0, 1 << fmt.width, count, dtype=np.uint64)])


def _assert_same(got, want, x):
    wrong = np.flatnonzero(got["bits"] != want["bits"])
    assert wrong.size == 0, [(hex(int(x[i])), hex(int(got["bits"][i])), hex(int(want["bits"][i]))) for i in wrong[:5]]


@pytest.mark.parametrize("name, count", [pytest.param("bf16", None, marks=pytest.mark.full),  # every input: 3 minutes
                                         ("bf16", 1000), ("fp16", 1000), ("fp32", 3000)])
@pytest.mark.parametrize("function", PAIRS)
def test_bit_identical_to_mpfr(name, count, function):
    fmt = parse_format(name)
    fast, slow = PAIRS[function]
    rng = np.random.default_rng(fmt.width + len(function))
    x = _inputs(fmt, count, rng)
    one = np.full(x.shape, fp.round_float64(fmt, 1.0), dtype=np.uint64)
    grad = rng.integers(0, 1 << fmt.width, x.shape, dtype=np.uint64)
    for g in (None, one, grad):
        _assert_same(fast(fmt, x, g), slow(fmt, x, g), x)


def test_every_element_through_mpfr_is_the_same(monkeypatch):
    fmt = parse_format("bf16")
    x = _inputs(fmt, 500, np.random.default_rng(3))
    want = fp.tanh_fast(fmt, x)
    monkeypatch.setattr(fp, "decide", lambda f, value, rel: (fp.round_float64(f, value), np.zeros(value.shape, bool)))
    _assert_same(fp.tanh_fast(fmt, x), want, x)
    _assert_same(fp.elu_fast(fmt, 0.5, x, x), mp.elu_mpfr(fmt, 0.5, x, x), x)


@pytest.mark.parametrize("function", PAIRS)
def test_estimates_within_their_bound(function):
    """The estimate's error against MPFR's value (rounded to float64) stays inside the stated
    bound; that of NumPy's elementary functions 16 times inside :data:`REL_LIBM`."""
    fmt = parse_format("fp32")
    fast, slow = PAIRS[function]
    x = _inputs(fmt, 4000, np.random.default_rng(9))
    estimate = {"elu": fp._elu, "tanh": fp._tanh, "sigmoid": fp._sigmoid, "isru-sigmoid": fp._isru_sigmoid}[function]
    v = fp.decode_float(fmt, x)
    ok = np.isfinite(v) & (v != 0)
    for derivative in (False, True):
        with np.errstate(all="ignore"):
            value, rel = estimate(v[ok], 0.5, derivative)
        exact = slow(fmt, x[ok], np.full(ok.sum(), fp.round_float64(fmt, 1.0), np.uint64) if derivative else None)["value"]
        wide = np.abs(exact) > 2.0 ** -900
        with np.errstate(all="ignore"):
            err = (np.abs(value - exact) / np.abs(exact))[wide]
        assert (err <= rel[wide] + 2.0 ** -53).all()
        if function != "isru-sigmoid":                      # no library call there
            assert err.max() <= fp.REL_LIBM / 16


def test_round_float64_is_one_rounding():
    fmt = parse_format("bf16")
    one = 0x3F80
    half_ulp = 2.0 ** -8
    tiny = 2.0 ** -133                                      # the smallest subnormal
    values = [1.0, 1 + half_ulp, 1 + 3 * half_ulp, 1 + half_ulp * (1 + 2 ** -30), -0.0, tiny / 2,
              -tiny * 0.75, tiny * 1.5, 3.5e38, np.inf, np.nan]
    assert fp.round_float64(fmt, np.array(values)).tolist() == [
        one, one, one + 2, one + 1, 0x8000, 0x0000, 0x8001, 0x0002, 0x7F80, 0x7F80, 0x7FC0]


def test_hard_cases_agree_with_mpfr():
    """Where the FP32 ELU twin is not correctly rounded (its value lies near a rounding midpoint,
    the hardest cases for the float64 bound), the fast reference still equals MPFR."""
    from golden.elu import elu_model
    fmt = parse_format("fp32")
    x = np.random.default_rng(5).integers(0xBF000000, 0xC1A00000, 300_000, dtype=np.uint64)
    fast = fp.elu_fast(fmt, 1.0, x)["bits"]
    hard = np.flatnonzero(elu_model(fmt, 1.0, x) != fast)
    assert hard.size > 100
    np.testing.assert_array_equal(mp.elu_mpfr(fmt, 1.0, x[hard])["bits"], fast[hard])
