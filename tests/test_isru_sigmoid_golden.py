"""The ISRU sigmoid's golden model (the activation datapath with hw.spec.isru_sigmoid's tail)
against its exact reference (golden.reference_float64): correctly rounded on every BF16 and FP16
input, forward and backward (grad 1 and random grads); FP32 within 1 ulp on sampled inputs; the
special values."""
import numpy as np
import pytest

from golden.activation import activation
from golden.reference import decode_float
from golden.reference_float64 import isru_sigmoid_exact
from hw.config import Config
from hw.spec.datapath import datapath
from hw.spec.isru_sigmoid import isru_sigmoid_tail


@pytest.mark.parametrize("name", ["bf16", "fp16"])
@pytest.mark.parametrize("function, alpha", [("isru-sigmoid", 1.0), ("isru-sigmoid", 3.0),
                                             ("isru-sigmoid-grad", 1.0), ("isru-sigmoid-grad", 0.5)])
def test_correctly_rounded_on_every_16_bit_input(name, function, alpha):
    config = Config(name, function=function, alpha=alpha)
    fmt = config.format
    x = np.arange(1 << 16, dtype=np.uint64)
    grads = [None]
    if config.is_backward:
        grads = [np.full(x.shape, fmt.bias << fmt.man_bits, dtype=np.uint64),
                 np.random.default_rng(int(alpha * 10)).integers(0, 1 << 16, x.shape, dtype=np.uint64)]
    for g in grads:
        got = activation(config, x, grad=g)
        want = isru_sigmoid_exact(config, x, grad=g)["bits"]
        wrong = np.nonzero(got != want)[0]
        assert len(wrong) == 0, [(hex(int(i)), hex(int(got[i])), hex(int(want[i]))) for i in wrong[:5]]


@pytest.mark.parametrize("function", ["isru-sigmoid", "isru-sigmoid-grad"])
def test_fp32_within_one_ulp(function):
    config = Config("fp32", function=function)
    fmt = config.format
    rng = np.random.default_rng(5)
    mag = np.ldexp(rng.random(6000) + 1, rng.integers(-30, 30, 6000)).astype(np.float32)
    sign = rng.integers(0, 2, mag.size).astype(np.uint64) << np.uint64(31)
    x = np.concatenate([mag.view(np.uint32).astype(np.uint64) | sign,
                        rng.integers(0, 1 << 32, 2000, dtype=np.uint64)])
    grad = rng.integers(0, 1 << 32, x.size, dtype=np.uint64) if config.is_backward else None
    bits = activation(config, x, grad=grad)
    ref = isru_sigmoid_exact(config, x, grad=grad)
    value, numeric = ref["value"], np.isfinite(ref["value"]) & (ref["value"] != 0)
    _, e2 = np.frexp(np.abs(np.where(numeric, value, 1.0)))
    ulp = np.ldexp(1.0, (np.maximum(e2 - 1, fmt.emin) - fmt.man_bits).astype(np.int32))
    with np.errstate(invalid="ignore"):
        err = np.where(numeric, np.abs(decode_float(fmt, bits) - value) / ulp, 0.0)
    assert err.max() < 1.0
    assert np.array_equal(bits[~numeric], ref["bits"][~numeric])


def test_special_values():
    config = Config("fp32", function="isru-sigmoid")
    f32 = lambda *v: np.array(v, dtype=np.float32).view(np.uint32).astype(np.uint64)
    x = f32(0.0, -0.0, np.inf, -np.inf, np.nan, -1e-45, -1e30)
    # -inf: (1 - 1/sqrt(alpha))/2 = 0 exactly; -1e30: about 1/x**2, below the subnormals.
    assert activation(config, x).tolist() == f32(0.5, 0.5, 1.0, 0.0, np.nan, 0.5, 0.0).tolist()
    three = config.with_(alpha=3.0)
    want = np.float32((1 - 3 ** -0.5) / 2)
    assert decode_float(config.format, activation(three, f32(-np.inf)))[0] == want


def test_tail_constants():
    """|v| < 2/sqrt(alpha) sets the table's operand range; N's factor (alpha - 1)/4."""
    assert isru_sigmoid_tail(Config("bf16", function="isru-sigmoid")).v_bits == 1
    assert isru_sigmoid_tail(Config("bf16", function="isru-sigmoid")).n_sig == 0
    five = Config("bf16", function="isru-sigmoid", alpha=5.0)
    tail = isru_sigmoid_tail(five)
    assert tail.v_bits == 0 and (tail.n_sig, tail.n_exp) == (1 << datapath(five).work_bits, 0)
    with pytest.raises(ValueError, match="isru-sigmoid, not isru"):
        isru_sigmoid_tail(Config("bf16", function="isru"))
