"""The comparison functions (ELU, tanh, the sigmoid, the ISRU sigmoid and their backward units) in
signed fixed point: the golden twins against the exact reference (MPFR, rounded to the output
grid) on every q4.12 input, with random grads for the backward units; within about half an LSB
(correct rounding is not the fixed-point target), flags (saturation) exactly as the reference's;
the formats the datapaths take."""
import numpy as np
import pytest

from golden.eval import evaluate, reference_of
from hw.config import Config

FUNCTIONS = ("elu", "elu-grad", "tanh", "tanh-grad", "sigmoid", "sigmoid-grad", "isru-sigmoid",
             "isru-sigmoid-grad")
# Largest error of the golden twin on every q4.12 input (grads random), in output LSBs: what
# the tests hold each function to (measured: 0.5001 to 0.5044).
MAX_LSB = 0.505


def _signed(config, y):
    width = config.out_format.width
    return y.astype(np.int64) - np.where(y >> np.uint64(width - 1) == 1, 1 << width, 0)


def _compare(config, grad_seed=5):
    x = np.arange(1 << config.in_width, dtype=np.uint64)
    operands = {"x": x}
    if config.is_backward:
        operands["grad"] = np.random.default_rng(grad_seed).integers(0, 1 << config.in_width, x.size,
                                                                     dtype=np.uint64)
    y, flag = evaluate(config, **operands)
    ref = reference_of(config)(config, **operands)
    lsb = 2.0 ** -config.out_format.frac_bits
    error = np.where(ref["flag"], 0.0, np.abs(_signed(config, y) * lsb - ref["value"]) / lsb)
    return y, flag, ref, error


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_q4_12_input_within_half_an_lsb(function):
    config = Config("q4.12", function=function)
    y, flag, ref, error = _compare(config)
    assert np.array_equal(flag, ref["flag"])
    assert error.max() <= MAX_LSB, error.max()
    off = np.abs(_signed(config, y) - _signed(config, ref["bits"]))
    assert off.max() <= 1 and np.mean(off) < 2e-3        # the rest correctly rounded (99.8 %+)


def test_saturation_is_flagged():
    """ELU at alpha 3 in q2.14 (range [-2, 2)) saturates below ln(1/3) = -1.0986, at -2 exactly."""
    config = Config("q2.14", function="elu", alpha=3.0)
    y, flag, ref, error = _compare(config)
    x = np.arange(1 << 16) - np.where(np.arange(1 << 16) >= 1 << 15, 1 << 16, 0)
    assert np.array_equal(flag, ref["flag"]) and flag.sum() > 10000
    assert np.all(x[flag] < -1.0986 * 2 ** 14) and np.all(x[~flag] > -1.0987 * 2 ** 14)
    assert np.all(_signed(config, y[flag]) == -(1 << 15))
    assert error.max() <= MAX_LSB


def test_fixed_point_specials():
    """0 gives 0 (the sigmoids 0.5), grad 0 gives 0; the identity half of ELU is x itself."""
    raw = lambda v: np.array([round(v * 4096) & 0xFFFF], dtype=np.uint64)
    half, one = raw(0.5), raw(1.0)
    assert evaluate(Config("q4.12", function="sigmoid"), raw(0.0))[0].tolist() == half.tolist()
    assert evaluate(Config("q4.12", function="isru-sigmoid"), raw(0.0))[0].tolist() == half.tolist()
    assert evaluate(Config("q4.12", function="tanh"), raw(0.0))[0].tolist() == [0]
    assert evaluate(Config("q4.12", function="elu"), raw(0.0))[0].tolist() == [0]
    assert evaluate(Config("q4.12", function="elu"), raw(7.5))[0].tolist() == raw(7.5).tolist()
    assert evaluate(Config("q4.12", function="elu-grad"), raw(2.0), grad=raw(-3.25))[0].tolist() == raw(-3.25).tolist()
    assert evaluate(Config("q4.12", function="sigmoid-grad"), raw(0.0), grad=one)[0].tolist() == raw(0.25).tolist()
    for function in ("elu-grad", "tanh-grad", "sigmoid-grad", "isru-sigmoid-grad"):
        y, flag = evaluate(Config("q4.12", function=function), raw(-1.0), grad=raw(0.0))
        assert y.tolist() == [0] and flag.tolist() == [False]


@pytest.mark.parametrize("function", ["elu", "tanh-grad", "sigmoid"])
def test_formats_taken(function):
    assert Config("q12.12", function=function).format.width == 24
    with pytest.raises(ValueError, match=r"up to 24 bits, not q8\.17 \(25 bits\)"):
        Config("q8.17", function=function)
    with pytest.raises(ValueError, match="out_format is not used"):
        Config("q4.12", function=function, out_format="q8.8")
