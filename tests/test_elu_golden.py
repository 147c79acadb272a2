"""ELU's golden model (the datapath of hw.spec.elu) against its exact reference
(golden.reference_float64): correctly rounded on every BF16 and FP16 input, forward and backward
(grad 1 and random grads), at alpha 1 and 0.5; FP32 within 1 ulp on sampled inputs; the special
values."""
import numpy as np
import pytest

from golden.elu import elu_model
from golden.reference import decode_float
from golden.reference_elementary import AmbiguousRounding, round_mpfr
from golden.reference_float64 import elu_fast
from hw.spec.elu import elu_datapath
from hw.spec.formats import parse_format


@pytest.mark.parametrize("name", ["bf16", "fp16"])
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_correctly_rounded_on_every_16_bit_input(name, alpha):
    fmt = parse_format(name)
    x = np.arange(1 << 16, dtype=np.uint64)
    one = np.full(x.shape, fmt.bias << fmt.man_bits, dtype=np.uint64)
    grad = np.random.default_rng(int(alpha * 10)).integers(0, 1 << 16, x.shape, dtype=np.uint64)
    for g in (None, one, grad):
        got = elu_model(fmt, alpha, x, grad=g)
        want = elu_fast(fmt, alpha, x, grad=g)["bits"]
        wrong = np.nonzero(got != want)[0]
        assert len(wrong) == 0, [(hex(int(i)), hex(int(got[i])), hex(int(want[i]))) for i in wrong[:5]]


def test_fp32_within_one_ulp():
    fmt = parse_format("fp32")
    rng = np.random.default_rng(4)
    mag = np.ldexp(rng.random(6000) + 1, rng.integers(-30, 6, 6000)).astype(np.float32)
    x = np.concatenate([(-mag).view(np.uint32).astype(np.uint64),
                        rng.integers(0, 1 << 32, 2000, dtype=np.uint64)])
    for grad in (None, rng.integers(0, 1 << 32, x.size, dtype=np.uint64)):
        got = decode_float(fmt, elu_model(fmt, 1.0, x, grad=grad))
        ref = elu_fast(fmt, 1.0, x, grad=grad)
        value, numeric = ref["value"], np.isfinite(ref["value"]) & (ref["value"] != 0)
        _, e2 = np.frexp(np.abs(np.where(numeric, value, 1.0)))
        ulp = np.ldexp(1.0, (np.maximum(e2 - 1, fmt.emin) - fmt.man_bits).astype(np.int32))
        with np.errstate(invalid="ignore"):
            err = np.where(numeric, np.abs(got - value) / ulp, 0.0)
        assert err.max() < 1.0
        special = ~numeric
        assert np.array_equal(elu_model(fmt, 1.0, x, grad=grad)[special], ref["bits"][special])


def test_special_values():
    fmt = parse_format("fp32")
    f32 = lambda *v: np.array(v, dtype=np.float32).view(np.uint32).astype(np.uint64)
    x = f32(0.0, -0.0, np.inf, -np.inf, 2.5, -1e-45, np.nan, -200.0)
    assert elu_model(fmt, 1.0, x).tolist() == f32(0.0, -0.0, np.inf, -1.0, 2.5, -1e-45, np.nan, -1.0).tolist()
    grad = f32(3.0, 3.0, 3.0, 3.0, 3.0, -2.0, 3.0, 3.0)
    assert elu_model(fmt, 1.0, x, grad=grad).tolist() == f32(3.0, 3.0, 3.0, 0.0, 3.0, -2.0, np.nan, 0.0).tolist()
    inf = f32(np.inf)
    assert elu_model(fmt, 1.0, f32(-np.inf), grad=inf).tolist() == [fmt.quiet_nan]     # inf * 0
    assert elu_model(fmt, 1.0, f32(-1.0), grad=inf).tolist() == inf.tolist()


def test_datapath_rejects_a_bad_alpha():
    with pytest.raises(ValueError, match="alpha must be a float in"):
        elu_datapath(parse_format("bf16"), -1.0, False)
    with pytest.raises(ValueError, match="ELU takes fixed-point formats of up to 24 bits"):
        elu_datapath(parse_format("q8.24"), 1.0, False)


def test_reference_refuses_to_guess():
    """A value that sits on a rounding boundary within the working precision is reported."""
    import gmpy2
    fmt = parse_format("bf16")
    with gmpy2.context(precision=400):
        midpoint = gmpy2.mpfr(1) + gmpy2.mpfr(2) ** -8 + gmpy2.mpfr(2) ** -350
    with pytest.raises(AmbiguousRounding):
        round_mpfr(fmt, midpoint)
