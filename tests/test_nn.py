"""golden.nn: the PyTorch activation is the golden model, bit for bit, forward and backward, on
every BF16 and FP16 input and a million FP32 inputs, for the default and the magic-seed
configurations; the input is rounded once; the operators pass opcheck and torch.compile; bad
arguments get errors naming them."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from golden.eval import evaluate                                         # noqa: E402
from golden.nn import FUNCTIONS, HardwareActivation, _backward, _backward_by_table, _forward  # noqa: E402
from golden.reference import decode_float                                 # noqa: E402

MAGIC = [dict(seed="magic", newton=0), dict(seed="magic", newton=1)]
CASES = ([(f, {}) for f in FUNCTIONS] + [(f, params) for f in ("isrlu", "isru") for params in MAGIC])


def _values(fmt, bits):
    return torch.from_numpy(decode_float(fmt, bits))


def _golden(config, x, grad=None):
    y, _ = evaluate(config, x=x) if grad is None else evaluate(config, x=x, grad=grad)
    return decode_float(config.format, y)


def _expected_backward(act, x, grad):
    if act.backward_config is None:                                       # ReLU
        return np.where(decode_float(act.config.format, x) > 0, decode_float(act.config.format, grad), 0.0)
    return _golden(act.backward_config, x, grad)


def _check(act, x_bits, grad_bits, dtype=torch.float64):
    fmt = act.config.format
    x = _values(fmt, x_bits).to(dtype).requires_grad_()
    grad = _values(fmt, grad_bits).to(dtype)
    y = act(x)
    y.backward(grad)
    np.testing.assert_array_equal(y.detach().double().numpy(), _golden(act.config, x_bits))
    np.testing.assert_array_equal(x.grad.double().numpy(), _expected_backward(act, x_bits, grad_bits))


@pytest.mark.parametrize("name", ["bf16", "fp16"])
@pytest.mark.parametrize("function, params", CASES)
def test_every_16_bit_input(name, function, params):
    act = HardwareActivation(function, name, **params)
    x = np.arange(1 << 16, dtype=np.uint64)
    grad = np.random.default_rng(len(function)).permutation(x)
    _check(act, x, grad)                                                  # float64: the NumPy path
    _check(act, x, grad, torch.float32)                                   # float32: the table path


@pytest.mark.parametrize("function, params", CASES)
def test_fp32_inputs(function, params):
    count = 1_000_000 if function == "isrlu" else 100_000
    rng = np.random.default_rng(7)
    x, grad = (rng.integers(0, 1 << 32, count, dtype=np.uint64) for _ in range(2))
    act = HardwareActivation(function, "fp32", **params)
    _check(act, x, grad)                                                  # float64: rounded to FP32
    _check(act, x, grad, torch.float32)                                   # float32: its own bits


def test_input_rounds_once_to_nearest_even():
    act = HardwareActivation("relu", "bf16")
    one, ulp = 1.0, 2.0 ** -7
    x = torch.tensor([one + ulp / 2, one + 3 * ulp / 2, one + ulp / 2 + 2.0 ** -40, -2.0 ** -140, 3.4e38],
                     dtype=torch.float64)
    assert act(x).tolist() == [one, one + 2 * ulp, one + ulp, 0.0, float("inf")]
    # float32 inputs take torch's own rounding to bfloat16: the same on values around midpoints
    near = (torch.arange(1 << 16, dtype=torch.int32) << 16 | 0x8000).view(torch.float32)
    near = torch.cat([near, near.nextafter(torch.tensor(0.0)), near.nextafter(torch.tensor(np.inf))])
    for fn in ("isrlu", "elu"):
        act = HardwareActivation(fn, "bf16")
        np.testing.assert_array_equal(act(near).double().numpy(), act(near.double()).numpy())


def test_keeps_shape_dtype_and_device():
    act = HardwareActivation("isru", "fp16")
    x = torch.randn(3, 4, 5, dtype=torch.float16, requires_grad=True)
    y = act(x)
    y.sum().backward()
    assert y.shape == x.shape and y.dtype == torch.float16 and x.grad.dtype == torch.float16


def test_operators_pass_opcheck_and_compile():
    act = HardwareActivation("elu", "bf16", alpha=0.5)
    x = torch.randn(4, 5, requires_grad=True)
    torch.library.opcheck(_forward, (x, act.key))
    torch.library.opcheck(_backward, (torch.randn(4, 5), x.detach(), act.key))
    model = torch.nn.Sequential(torch.nn.Linear(5, 5), act)
    compiled = torch.compile(model, backend="aot_eager")
    y = compiled(x)
    y.sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), model(x).detach().numpy())


@pytest.mark.parametrize("call, message", [
    (lambda: HardwareActivation("swish"), "function must be one of"),
    (lambda: HardwareActivation("isrlu", "q4.12"), "format must be a float format"),
    (lambda: HardwareActivation("tanh", alpha=2.0), "alpha is not used"),
    (lambda: HardwareActivation("isrlu", seed="bogus"), "seed must be one of"),
    (lambda: HardwareActivation("isrlu")(torch.arange(3)), "x must be a floating-point tensor"),
])
def test_bad_arguments_name_the_parameter(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def _alpha_bits(fmt, alpha):
    from golden.reference_float64 import round_float64
    return round_float64(fmt, alpha)


@pytest.mark.parametrize("function", ["isrlu", "isru"])
@pytest.mark.parametrize("name, alpha", [("bf16", 1.0), ("bf16", 3.0), ("fp16", 0.7)])
def test_learnable_alpha_is_the_runtime_alpha_units(function, name, alpha):
    act = HardwareActivation(function, name, alpha=alpha, learn_alpha=True)
    fmt = act.config.format
    x = np.arange(1 << 16, dtype=np.uint64)
    x = x[np.isfinite(decode_float(fmt, x))]                              # alpha's sum stays finite
    grad = np.random.default_rng(3).permutation(x)
    a = np.full(x.shape, _alpha_bits(fmt, act.alpha.item()), dtype=np.uint64)
    xt = _values(fmt, x).requires_grad_()
    y = act(xt)
    y.backward(_values(fmt, grad))
    forward = act.config
    want_y, _ = evaluate(forward, x=x, alpha=a)
    want_gx, _ = evaluate(forward.with_(function=f"{function}-grad"), x=x, grad=grad, alpha=a)
    want_ga, _ = evaluate(forward.with_(function=f"{function}-alpha-grad"), x=x, grad=grad, alpha=a)
    np.testing.assert_array_equal(y.detach().numpy(), decode_float(fmt, want_y))
    np.testing.assert_array_equal(xt.grad.numpy(), decode_float(fmt, want_gx))
    per_element = torch.from_numpy(decode_float(fmt, want_ga))
    chain = torch.sigmoid(act.alpha_raw.detach())                        # d softplus / d raw
    want_raw = per_element.sum() * chain
    torch.testing.assert_close(act.alpha_raw.grad, want_raw, rtol=1e-12, atol=0)


def test_learnable_alpha_per_channel():
    act = HardwareActivation("isrlu", "fp32", alpha=2.0, learn_alpha=True, channels=3)
    x = torch.randn(4, 3, 5, dtype=torch.float64, requires_grad=True)
    act(x).sum().backward()
    assert act.alpha_raw.grad.shape == (3,) and (act.alpha_raw.grad != 0).all()
    with pytest.raises(ValueError, match="x must have 3 channels"):
        act(torch.randn(4, 2, 5))
    torch.library.opcheck(torch.ops.isrlu_ip.forward_alpha.default,
                          (x, act.alpha.detach().reshape(1, 3, 1).clone().requires_grad_(), act.key))


@pytest.mark.parametrize("call, message", [
    (lambda: HardwareActivation("elu", learn_alpha=True), "learn_alpha: only isrlu, isru"),
    (lambda: HardwareActivation("isrlu", learn_alpha=True, alpha=-1.0), "alpha must be a positive number"),
    (lambda: HardwareActivation("isrlu", channels=4), "channels: only with learn_alpha"),
    (lambda: HardwareActivation("isru", learn_alpha=True, runtime_alpha=False), "runtime_alpha: learn_alpha sets it"),
])
def test_learnable_alpha_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("reader", ["compiled", "torch"])
@pytest.mark.parametrize("function, name", [("isrlu", "bf16"), ("tanh", "bf16"), ("isru-sigmoid", "bf16"),
                                            ("elu", "fp16")])
def test_backward_table_matches_the_twins(function, name, reader, monkeypatch):
    """The backward table (results at one grad exponent, scaled) against the twins on a million
    random (x, grad) pairs of every class, grads from float32 and 16-bit tensors; read in one
    compiled pass (golden.table_read) and with torch's operations (where there is no C compiler,
    or the tensors are not on the CPU)."""
    from golden import nn
    if reader == "torch":
        monkeypatch.setattr(nn, "table_reader", lambda: None)
    elif nn.table_reader() is None:
        pytest.skip("no C compiler")
    act = HardwareActivation(function, name)
    rng = np.random.default_rng(11)
    x, grad = (rng.integers(0, 1 << 16, 1 << 20, dtype=np.uint64) for _ in range(2))
    want = _golden(act.backward_config, x, grad)
    fmt = act.config.format
    for dtype in (torch.float32, torch.bfloat16 if name == "bf16" else torch.float16):
        got = _backward(_values(fmt, grad).to(dtype), _values(fmt, x).to(dtype), act.key)
        np.testing.assert_array_equal(got.double().numpy(), want)


@pytest.mark.parametrize("name", ["bf16", "fp16"])
def test_backward_table_special_grads_among_ordinary_ones(name):
    """Infinite and NaN grads among ordinary (x, grad) pairs that the table decides: the table's
    quick check of a whole batch must not let them through."""
    act = HardwareActivation("isru", name)
    dtype = torch.bfloat16 if name == "bf16" else torch.float16
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(4096, generator=generator).to(dtype)
    grad = (torch.rand(4096, generator=generator) + 0.5).to(dtype)      # no result near the subnormals
    special = [7, 100, 2000]
    x[special] = 3.0                                # f'(x) about 0.03: the sum stays below the top
    grad[special] = torch.tensor([float("inf"), -float("inf"), float("nan")], dtype=dtype)
    raw = {name: t.view(torch.int16).numpy().astype(np.uint16).astype(np.uint64) for name, t in (("x", x), ("g", grad))}
    want = _golden(act.backward_config, raw["x"], raw["g"])
    np.testing.assert_array_equal(_backward(grad, x, act.key).double().numpy(), want)
    ordinary = slice(0, special[0])                 # a batch the table decides whole
    assert _backward_by_table(act.key, x[ordinary], grad[ordinary])[1] is None
    np.testing.assert_array_equal(_backward(grad[ordinary], x[ordinary], act.key).double().numpy(), want[ordinary])


def test_table_reader_lists_the_elements_it_does_not_decide():
    """Non-finite grads and results near the subnormals are left to the twins; bad arguments are
    refused."""
    from golden import nn
    from golden.table_read import table_reader
    reader = table_reader()
    if reader is None:
        pytest.skip("no C compiler")
    act = HardwareActivation("isru", "bf16")
    entries = nn._backward_entries(act.key, torch.device("cpu")).numpy()
    x = np.full(6, 0x3F80, np.uint16)                             # x = 1: f'(x) = 2**-1.5
    grad = np.array([0x3F80, 0x7F80, 0xFF80, 0x7FC0, 0x0001, 0x4000], np.uint16)   # 1, inf, -inf, nan, tiny, 2
    y, rest = reader(entries, x, grad, 7, 8, workers=2, block=2)
    assert rest.tolist() == [1, 2, 3, 4]
    want = _golden(act.backward_config, x.astype(np.uint64), grad.astype(np.uint64))
    np.testing.assert_array_equal(decode_float(act.config.format, y[[0, 5]].astype(np.uint64)), want[[0, 5]])
    with pytest.raises(ValueError, match="int16 entries"):
        reader(entries, x.astype(np.int32), grad, 7, 8)


def test_backward_table_cache(tmp_path, monkeypatch):
    """A table is written to the cache folder once and read back; a damaged file is rebuilt."""
    from golden import nn
    monkeypatch.setenv("ISRLU_IP_CACHE", str(tmp_path))
    act = HardwareActivation("isru", "bf16")
    nn._backward_table.cache_clear()
    first = nn._backward_table(act.key)
    (path,) = tmp_path.glob("isru_grad_bf16*.npz")
    same = lambda: torch.equal(nn._backward_table(act.key), first)  # noqa: E731
    nn._backward_table.cache_clear()
    assert same()
    for damage in (b"not a table", path.read_bytes()[:1000]):            # not a zip; a cut one
        path.write_bytes(damage)
        nn._backward_table.cache_clear()
        assert same()
    nn._backward_table.cache_clear()


def test_distinct_rows_rebuild_the_table():
    from golden.nn import _distinct_rows
    table = np.array([[1, 2], [3, 4], [1, 2], [5, 6], [3, 4]], dtype=np.int16)
    rows, entries = _distinct_rows(table)
    assert rows.tolist() == [0, 1, 0, 2, 1]
    np.testing.assert_array_equal(entries.reshape(-1, 2)[rows], table)
