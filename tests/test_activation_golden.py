"""Golden activation models: special values, saturation for large |x|, subnormals, fixed point."""
import numpy as np
import pytest

from golden import blocks
from golden.eval import evaluate
from hw.config import Config
from hw.spec.datapath import datapath
from hw.spec.formats import FP16

U64 = np.uint64


def f16(values):
    return np.array(values, dtype=np.float16).view(np.uint16).astype(np.uint64)


def from16(bits):
    return np.asarray(bits, dtype=np.uint16).view(np.float16).astype(np.float64)


ONE, NAN, INF = 0x3C00, 0x7E00, 0x7C00


@pytest.mark.parametrize("alpha", [1.0, 3.0])
def test_forward_special_values(alpha):
    limit = f16([1 / np.sqrt(alpha)])[0]
    isru = Config("fp16", function="isru", alpha=alpha)
    isrlu = Config("fp16", function="isrlu", alpha=alpha)
    x = np.array([0x0000, 0x8000, INF, 0xFC00, NAN, 0x7C01, 0xFE00], dtype=np.uint64)
    y_isru, _ = evaluate(isru, x)
    y_isrlu, _ = evaluate(isrlu, x)
    q = FP16.quiet_nan
    assert [hex(v) for v in y_isru] == [hex(v) for v in [0, 0x8000, limit, limit | 0x8000, q, q, q]]
    assert [hex(v) for v in y_isrlu] == [hex(v) for v in [0, 0x8000, INF, limit | 0x8000, q, q, q]]


def test_large_inputs_approach_the_limit():
    """alpha*x**2 overflows FP16 from |x| > 256; the internal datapath does not."""
    config = Config("fp16", function="isru", alpha=1.0)
    x = f16([300.0, -1000.0, 60000.0, -65504.0])
    y, _ = evaluate(config, x)
    exact = from16(x) / np.sqrt(1 + from16(x) ** 2)
    assert np.array_equal(from16(y), np.float16(exact).astype(np.float64))


@pytest.mark.parametrize("function", ["isrlu", "isru"])
def test_positive_and_negative_halves(function):
    config = Config("fp16", function=function, alpha=1.0)
    x = f16([2.0, 0.5, -2.0, -0.5])
    y = from16(evaluate(config, x)[0])
    v = from16(x)
    isru = np.float16(v / np.sqrt(1 + v * v)).astype(np.float64)
    expected = np.where(v >= 0, v, isru) if function == "isrlu" else isru
    assert np.array_equal(y, expected)


@pytest.mark.parametrize("fmt", ["fp32", "bf16", "fp16"])
def test_symmetries(fmt):
    """ISRU is odd and its derivative even; ISRLU is ISRU for x < 0 and x itself for x >= 0, its
    derivative ISRU's for x < 0 and 1 for x >= 0 (so a sweep of ISRU's inputs measures ISRLU's
    too). Every non-NaN input of the 16-bit formats, 10**6 random ones of FP32; grad_out 1."""
    form = Config(fmt).format
    x = (np.arange(form.inf + 1, dtype=np.uint64) if form.width <= 16 else
         np.random.default_rng(3).integers(0, form.inf + 1, 10**6, dtype=np.uint64))
    neg = x | form.sign_bit
    grad = np.full(len(x), form.bias << form.man_bits, dtype=np.uint64)       # 1.0

    def y(function, bits):
        return evaluate(Config(fmt, function=function), bits, grad=grad if "grad" in function else None)[0]

    assert np.array_equal(y("isru", neg), y("isru", x) | form.sign_bit)
    assert np.array_equal(y("isrlu", neg), y("isru", neg)) and np.array_equal(y("isrlu", x), x)
    assert np.array_equal(y("isru-grad", neg), y("isru-grad", x))
    assert np.array_equal(y("isrlu-grad", neg), y("isru-grad", neg))
    assert np.array_equal(y("isrlu-grad", x), grad)



def test_backward_special_values():
    isru_grad = Config("fp16", function="isru-grad")
    isrlu_grad = Config("fp16", function="isrlu-grad")
    q = FP16.quiet_nan
    cases = [  # x, grad -> isru-grad, isrlu-grad
        (0x0000, 0x4000, 0x4000, 0x4000),     # f'(0) = 1
        (0x8000, 0xC000, 0xC000, 0xC000),
        (INF, ONE, 0x0000, ONE),              # f'(+inf) = +0 (ISRLU: 1)
        (0xFC00, 0xBC00, 0x8000, 0x8000),     # f'(-inf) = +0, times -1
        (INF, INF, q, INF),                   # inf * 0 is invalid
        (0xFC00, INF, q, q),
        (ONE, INF, INF, INF),
        (0xBC00, 0x0000, 0x0000, 0x0000),
        (NAN, ONE, q, q),
        (ONE, NAN, q, q),
        (0x4000, 0x3C00, f16([5 ** -1.5])[0], ONE),
    ]
    x = np.array([c[0] for c in cases], dtype=np.uint64)
    g = np.array([c[1] for c in cases], dtype=np.uint64)
    assert [hex(v) for v in evaluate(isru_grad, x, g)[0]] == [hex(c[2]) for c in cases]
    assert [hex(v) for v in evaluate(isrlu_grad, x, g)[0]] == [hex(c[3]) for c in cases]


def test_subnormal_inputs_and_results():
    config = Config("fp16", function="isru", alpha=1.0)
    x = np.arange(1, 1024, dtype=np.uint64)                  # every positive subnormal
    y, _ = evaluate(config, x)
    assert np.array_equal(y, x)                              # f(x) = x(1 - x**2/2 ...) rounds to x
    grad = Config("fp16", function="isru-grad")
    y, _ = evaluate(grad, np.full(1023, ONE, dtype=np.uint64), x)
    assert np.array_equal(from16(y), np.float16(from16(x) * 2 ** -1.5).astype(np.float64))


@pytest.mark.parametrize("fmt, function, alpha, runtime", [
    ("bf16", "isrlu-grad", 1.0, False), ("fp32", "isru-grad", 3.0, False), ("e5m2", "isru-sigmoid-grad", 1.0, False),
    ("bf16", "isru-grad", None, True), ("e5m12", "isrlu-grad", 1.0, False)])
def test_backward_subnormal_x_vanishes_unnormalized(fmt, function, alpha, runtime):
    """Where ``Datapath.subnormal_x_vanishes`` holds, a subnormal ``x``'s fields (unnormalized,
    exponent ``emin``) give the same aligned ``1 + alpha*x**2`` as its normalized significand,
    ``U = 2**work_bits`` exactly, for the largest alpha the unit can see; FP16's does not hold,
    and there the unnormalized fields would give another ``U``."""
    config = Config(fmt, function=function, **({"runtime_alpha": True} if runtime else {"alpha": alpha}))
    dp, f = datapath(config), config.format
    assert dp.subnormal_x_vanishes
    x = np.arange(1, 1 << min(f.man_bits, 16), dtype=np.uint64)
    alpha_exp = f.emax if runtime else dp.alpha_exp
    alpha_sig = U64((2 << dp.work_bits) - 1) if runtime else U64(dp.alpha_sig)
    for unpack in (blocks.float_fields, blocks.unpack_float):
        _, _, ex, sig = unpack(f, x)
        t = blocks.product(alpha_sig, dp.work_bits, blocks.square(dp, sig))
        u, eu = blocks.add_one(dp, t, 2 * ex + alpha_exp)
        assert np.all(u == U64(1 << dp.work_bits)) and np.all(eu == 0)
    fp16 = datapath(Config("fp16", function="isrlu-grad"))
    assert not fp16.subnormal_x_vanishes
    _, _, ex, sig = blocks.float_fields(FP16, np.arange(1, 1024, dtype=np.uint64))
    u, _ = blocks.add_one(fp16, blocks.product(U64(fp16.alpha_sig), fp16.work_bits, blocks.square(fp16, sig)),
                          2 * ex + fp16.alpha_exp)
    assert np.any(u != U64(1 << fp16.work_bits))


def test_runtime_alpha_matches_build_time_alpha_and_rejects_bad_alpha():
    rng = np.random.default_rng(8)
    x = rng.integers(0, 1 << 16, 4000, dtype=np.uint64)
    for alpha in (1.0, 3.0, 0.25):
        fixed = evaluate(Config("fp16", function="isru", alpha=alpha), x)[0]
        runtime = evaluate(Config("fp16", function="isru", runtime_alpha=True), x,
                           alpha=np.full_like(x, f16([alpha])[0]))[0]
        assert np.array_equal(fixed, runtime)
    bad = f16([0.0, -1.0, np.inf, np.nan])
    y = evaluate(Config("fp16", function="isru", runtime_alpha=True), f16([1.0] * 4), alpha=bad)[0]
    assert np.all(y == FP16.quiet_nan)


def test_fixed_point_activation():
    config = Config("q4.12", function="isrlu", alpha=1.0)
    raw = np.array([0x0000, 0x1000, 0xF000, 0x8000, 0x7FFF], dtype=np.uint64)   # 0, 1, -1, -8, max
    y, flag = evaluate(config, raw)
    assert y[0] == 0 and y[1] == 0x1000 and y[4] == 0x7FFF and not flag.any()
    assert y[2] == (-round(2 ** 12 / np.sqrt(2))) & 0xFFFF
    assert y[3] == (-round(8 * 2 ** 12 / np.sqrt(65))) & 0xFFFF
    narrow = Config("q4.12", function="isrlu", out_format="q2.12")    # x >= 2 does not fit: saturate
    y, flag = evaluate(narrow, raw)
    assert y[4] == 0x1FFF and flag[4] and not flag[1]
    bad_alpha = Config("q4.12", function="isru", runtime_alpha=True)
    y, flag = evaluate(bad_alpha, raw[:2], alpha=np.array([0, 0xF000], dtype=np.uint64))
    assert np.all(y == 0) and np.all(flag)


def test_operands_are_checked():
    with pytest.raises(ValueError, match="grad is required for function 'isru-grad'"):
        evaluate(Config("fp16", function="isru-grad"), f16([1.0]))
    with pytest.raises(ValueError, match="grad is not used for function 'isru'"):
        evaluate(Config("fp16", function="isru"), f16([1.0]), f16([1.0]))
    with pytest.raises(ValueError, match="alpha bits are required with runtime_alpha"):
        evaluate(Config("fp16", function="isru", runtime_alpha=True), f16([1.0]))
    with pytest.raises(ValueError, match=r"grad has shape \(2,\), but x has shape \(1,\)"):
        evaluate(Config("fp16", function="isru-grad"), f16([1.0]), f16([1.0, 2.0]))


@pytest.mark.parametrize("fmt, alpha, x, grad", [("fp16", 1e-300, 0xFC00, 0x3C00),
                                                 ("e3m2", 2.0 ** -100, 0x3C, 0x0C)])
def test_derivative_at_infinity_with_a_tiny_alpha(fmt, alpha, x, grad):
    """f'(±inf) = +0 however small alpha is (the infinity stand-in scales with alpha)."""
    config = Config(fmt, function="isru-grad", alpha=alpha)
    y, _ = evaluate(config, np.array([x], dtype=np.uint64), np.array([grad], dtype=np.uint64))
    assert y[0] == 0
