"""The logistic family's golden model (the datapath of hw.spec.logistic) against its exact
references (golden.reference_float64): tanh, the sigmoid and their backward units correctly
rounded on every BF16 and FP16 input (backward with grad 1, and random grads on a quarter of the
inputs); FP32 within 1 ulp on sampled inputs; the special values."""
import numpy as np
import pytest

from golden.logistic import logistic_model
from golden.reference import decode_float
from golden.reference_float64 import sigmoid_fast, tanh_fast
from hw.spec.formats import parse_format
from hw.spec.logistic import logistic_datapath

REFERENCES = {"tanh": tanh_fast, "sigmoid": sigmoid_fast}


def _assert_equal(got, want):
    wrong = np.nonzero(got != want)[0]
    assert len(wrong) == 0, (len(wrong), [(hex(int(i)), hex(int(got[i])), hex(int(want[i]))) for i in wrong[:5]])


@pytest.mark.parametrize("name", ["bf16", "fp16"])
@pytest.mark.parametrize("kind", ["tanh", "sigmoid"])
def test_correctly_rounded_on_every_16_bit_input(name, kind):
    fmt, reference = parse_format(name), REFERENCES[kind]
    x = np.arange(1 << 16, dtype=np.uint64)
    _assert_equal(logistic_model(fmt, kind, x), reference(fmt, x)["bits"])
    one = np.full(x.shape, fmt.bias << fmt.man_bits, dtype=np.uint64)
    _assert_equal(logistic_model(fmt, kind, x, grad=one), reference(fmt, x, grad=one)["bits"])
    rng = np.random.default_rng(len(kind) + fmt.man_bits)
    x = rng.permutation(x)[:1 << 14]
    grad = rng.integers(0, 1 << 16, x.shape, dtype=np.uint64)
    _assert_equal(logistic_model(fmt, kind, x, grad=grad), reference(fmt, x, grad=grad)["bits"])


@pytest.mark.parametrize("kind", ["tanh", "sigmoid"])
def test_fp32_within_one_ulp(kind):
    fmt, reference = parse_format("fp32"), REFERENCES[kind]
    rng = np.random.default_rng(4)
    mag = np.ldexp(rng.random(3000) + 1, rng.integers(-30, 7, 3000))
    sign = np.where(rng.random(3000) < 0.5, -1.0, 1.0)
    x = np.concatenate([(sign * mag).astype(np.float32).view(np.uint32).astype(np.uint64),
                        rng.integers(0, 1 << 32, 1000, dtype=np.uint64)])
    for grad in (None, rng.integers(0, 1 << 32, x.size, dtype=np.uint64)):
        bits = logistic_model(fmt, kind, x, grad=grad)
        ref = reference(fmt, x, grad=grad)
        value, numeric = ref["value"], np.isfinite(ref["value"]) & (ref["value"] != 0)
        _, e2 = np.frexp(np.abs(np.where(numeric, value, 1.0)))
        ulp = np.ldexp(1.0, (np.maximum(e2 - 1, fmt.emin) - fmt.man_bits).astype(np.int32))
        with np.errstate(invalid="ignore"):
            err = np.where(numeric, np.abs(decode_float(fmt, bits) - value) / ulp, 0.0)
        assert err.max() < 1.0
        assert np.mean(bits[numeric] == ref["bits"][numeric]) > 0.99
        _assert_equal(bits[~numeric], ref["bits"][~numeric])


def test_special_values():
    fmt = parse_format("fp32")
    f32 = lambda *v: np.array(v, dtype=np.float32).view(np.uint32).astype(np.uint64)
    x = f32(0.0, -0.0, np.inf, -np.inf, np.nan, -1e-45, 1e-30, -200.0, 200.0)
    assert logistic_model(fmt, "tanh", x).tolist() == f32(0.0, -0.0, 1.0, -1.0, np.nan, -1e-45, 1e-30,
                                                          -1.0, 1.0).tolist()
    assert logistic_model(fmt, "sigmoid", x).tolist() == f32(0.5, 0.5, 1.0, 0.0, np.nan, 0.5, 0.5,
                                                             0.0, 1.0).tolist()
    grad = f32(3.0, -3.0, 3.0, -3.0, 3.0, 3.0, 3.0, 3.0, -3.0)
    assert logistic_model(fmt, "tanh", x, grad=grad).tolist() == f32(3.0, -3.0, 0.0, -0.0, np.nan, 3.0, 3.0,
                                                                     0.0, -0.0).tolist()
    assert logistic_model(fmt, "sigmoid", x, grad=grad).tolist() == f32(0.75, -0.75, 0.0, -0.0, np.nan, 0.75,
                                                                        0.75, 0.0, -0.0).tolist()
    inf = f32(np.inf, np.inf)
    for kind in ("tanh", "sigmoid"):
        assert logistic_model(fmt, kind, f32(np.inf, -1.0), grad=inf).tolist() == [fmt.quiet_nan, fmt.inf]


def test_datapath_rejects_what_it_does_not_compute():
    with pytest.raises(ValueError, match=r"tanh takes fixed-point formats of up to 24 bits, not q8\.24 \(32 bits\)"):
        logistic_datapath(parse_format("q8.24"), "tanh", False)
    with pytest.raises(ValueError, match="kind must be one of tanh, sigmoid, not 'softsign'"):
        logistic_datapath(parse_format("bf16"), "softsign", False)
