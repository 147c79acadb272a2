"""The exact references of the comparison functions against float64 formulas (values), their
special values, and one rounding of the exact value (bits): every seventh BF16 input (every one
with --sim-full)."""
import ml_dtypes
import numpy as np
import pytest

from golden.reference import decode_float
from golden.reference_elementary import elu_mpfr, isru_sigmoid_mpfr, sigmoid_mpfr, tanh_mpfr
from hw.spec.formats import parse_format

BF16 = parse_format("bf16")
X = np.arange(1 << 16, dtype=np.uint64)
with np.errstate(invalid="ignore"):                         # NaN patterns
    V = X.astype(np.uint16).view(ml_dtypes.bfloat16).astype(np.float64)


def _sigmoid(v):
    return np.where(v >= 0, 1 / (1 + np.exp(-np.abs(v))), np.exp(-np.abs(v)) / (1 + np.exp(-np.abs(v))))


def _isru_sigmoid(v, alpha):
    y = v / 2
    s = np.sqrt(1 + alpha * y * y)
    return np.where(y >= 0, (1 + y / s) / 2, (1 + (alpha - 1) * y * y) / (s * (s - y)) / 2)


CASES = {
    "elu": (lambda x, g=None: elu_mpfr(BF16, 0.5, x, g), lambda v: np.where(v >= 0, v, 0.5 * np.expm1(v)),
            lambda v: np.where(v >= 0, 1.0, 0.5 * np.exp(v))),
    "tanh": (lambda x, g=None: tanh_mpfr(BF16, x, g), np.tanh, lambda v: 1 / np.cosh(v) ** 2),
    "sigmoid": (lambda x, g=None: sigmoid_mpfr(BF16, x, g), _sigmoid, lambda v: _sigmoid(v) * _sigmoid(-v)),
    "isru-sigmoid": (lambda x, g=None: isru_sigmoid_mpfr(BF16, 1.0, x, g), lambda v: _isru_sigmoid(v, 1.0),
                     lambda v: (1 + v * v / 4) ** -1.5 / 4),
}


@pytest.mark.parametrize("name", CASES)
def test_values_and_rounding_on_every_bf16_input(name, sim_full):
    reference, forward, derivative = CASES[name]
    step = 1 if sim_full else 7                            # 7: every low-bit pattern too
    x, v = X[::step], V[::step]
    finite = np.isfinite(v)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for result, exact in ((reference(x), forward(v)), (reference(x, np.full(x.shape, 0x3F80, np.uint64)),
                                                           derivative(v))):
            value = result["value"]
            wide = finite & (np.abs(exact) > 1e-300)           # float64 keeps its precision there
            assert np.allclose(value[wide], exact[wide], rtol=1e-12, atol=0)
            # One rounding: at most half an ulp (subnormal results: of the subnormal step) away.
            got = decode_float(BF16, result["bits"])
            _, e2 = np.frexp(np.where(finite & (value != 0), np.abs(value), 1.0))
            ulp = np.ldexp(1.0, np.maximum(e2 - 1, BF16.emin) - BF16.man_bits)
            assert (np.abs(got - value)[finite] <= 0.5 * ulp[finite] * (1 + 1e-9)).all()


def test_special_values():
    inf, ninf, nan = 0x7F80, 0xFF80, 0x7FC0
    x = np.array([0x0000, 0x8000, inf, ninf, 0x7FC1], dtype=np.uint64)
    bits = lambda r: r["bits"].tolist()
    assert bits(tanh_mpfr(BF16, x)) == [0x0000, 0x8000, 0x3F80, 0xBF80, nan]
    assert bits(sigmoid_mpfr(BF16, x)) == [0x3F00, 0x3F00, 0x3F80, 0x0000, nan]
    assert bits(isru_sigmoid_mpfr(BF16, 1.0, x)) == [0x3F00, 0x3F00, 0x3F80, 0x0000, nan]
    assert bits(isru_sigmoid_mpfr(BF16, 4.0, x[2:4])) == [0x3F40, 0x3E80]      # (1 +- 1/2)/2
    assert bits(elu_mpfr(BF16, 1.0, x)) == [0x0000, 0x8000, inf, 0xBF80, nan]
    grad = np.array([0x4040, 0xC040, inf, inf, 0x3F80], dtype=np.uint64)       # 3, -3, inf, inf, 1
    assert bits(tanh_mpfr(BF16, x, grad)) == [0x4040, 0xC040, nan, nan, nan]   # f'(0) = 1; inf * 0
    assert bits(sigmoid_mpfr(BF16, x, grad)) == [0x3F40, 0xBF40, nan, nan, nan]  # 3/4, -3/4
    assert bits(elu_mpfr(BF16, 1.0, x, grad)) == [0x4040, 0xC040, inf, nan, nan]


def test_fixed_point_saturates_with_the_flag():
    q = parse_format("q2.6")
    x = np.array([0x80, 0x40, 0x00], dtype=np.uint64)                        # -2, 1, 0
    result = elu_mpfr(q, 3.0, x)                                               # 3*(e**-2 - 1) = -2.59
    assert result["bits"].tolist()[0] == 0x80 and result["flag"].tolist() == [True, False, False]
