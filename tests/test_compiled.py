"""The compiled twins (golden.compiled) against the NumPy twins they are recorded from."""
import os
import shutil
import warnings

import numpy as np
import pytest

from golden.trace import Graph
from golden.compiled import compile_function, compiled_twin, trace
from golden.trace import Sym, TraceError
from golden.eval import evaluate
from hw.spec.config import Config
from hw.spec.functions import REGISTRY
from hw.spec.intmath import bit_length, mul_shr, round_shift

FUNCTIONS = [name for name in REGISTRY if name != "fma"]
needs_cc = pytest.mark.skipif(not (os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")),
                              reason="no C compiler (cc, gcc or $CC): the NumPy twins run instead")


def _operands(config, rng, n):
    width = config.format.width
    ops = {name: rng.integers(0, 1 << width, n, dtype=np.uint64) for name in config.operands}
    if width <= 16:                                      # every x, each with a random grad and alpha
        ops["x"] = np.tile(np.arange(1 << width, dtype=np.uint64), n >> width)
    elif config.is_float:                                # half of them ordinary values
        ops["x"][: n // 2] = rng.standard_normal(n // 2).astype(np.float32).view(np.uint32)
    if "alpha" in ops and config.is_float:              # alphas of every kind, most of them positive normal
        ops["alpha"][: n // 2] = (rng.random(n // 2) * 4 + 0.01).astype(np.float32).view(np.uint32) \
            if width == 32 else ops["alpha"][: n // 2] & np.uint64((1 << (width - 1)) - 1)
    return ops


def _check(config, n=1 << 17):
    program = compiled_twin(config)
    assert program is not None, f"{config.name}: no compiled twin"
    ops = _operands(config, np.random.default_rng(sum(map(ord, config.name))), n)
    want, want_flag = evaluate(config, **ops)
    got, got_flag = program(workers=2, block=1 << 14, **ops)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    if want_flag is None:
        assert got_flag is None
    else:
        np.testing.assert_array_equal(got_flag, want_flag)


@needs_cc
@pytest.mark.parametrize("fmt", ["bf16", "fp32"])
@pytest.mark.parametrize("function", FUNCTIONS)
def test_compiled_twin_matches_the_numpy_twin(function, fmt):
    _check(Config(function=function, format=fmt))


@needs_cc
@pytest.mark.parametrize("kwargs", [
    dict(function="isrlu", format="fp16"),
    dict(function="isrlu-grad", format="fp16", seed="magic", newton=1),
    dict(function="isrlu", format="fp32", seed="magic", newton=0),
    dict(function="isru", format="bf16", runtime_alpha=True),
    dict(function="isrlu-alpha-grad", format="fp16", alpha=3.0),
    dict(function="rsqrt", format="q4.12"),
    dict(function="isru", format="q3.13"),
    dict(function="tanh", format="q4.12"),
    dict(function="rsqrt", format="e5m4", seed="lut", table_bits=4, newton=2),
])
def test_compiled_twin_of_other_configurations(kwargs):
    _check(Config(**kwargs))


def _integer_semantics(x, y):
    """NumPy's integer corner cases: shifts by the width or more, signed with unsigned
    comparisons, wrapping, bool arithmetic, casts and views; the helpers of hw.spec.intmath that a
    recording takes whole, with shifts below 0 and beyond 64."""
    s = x.astype(np.int64) - np.int64(1 << 40)                    # negative and positive
    amount = y & np.uint64(127)                                    # shifts of 0..127
    signed_amount = amount.astype(np.int64) - 32                   # and negative ones
    small = (x & np.uint64(0xFF)).astype(np.int8)                 # int8 wrapping
    flag = (x & np.uint64(1)) == 1
    return (s >> amount.astype(np.int64), s << amount.astype(np.int64), x >> amount, x << amount,
            s >> signed_amount, x.astype(np.int64) << signed_amount,
            s < x, x <= s, s == x, x != s, s > x, x >= s,
            np.maximum(s, -5), np.minimum(x, np.uint64(1 << 63)), -s, ~x, ~flag, np.abs(s),
            x * y, s * s, x - y, small + small, small * np.int8(3),
            flag + flag, flag * (y > x), np.where(flag, s, x.astype(np.int64) * 3),
            x.astype(np.float64).view(np.uint64), s.astype(np.float64), flag.view(np.int8) * 2,
            np.clip(s, -7, 1 << 35), (s >> 3) & np.int64(-1) | (flag.astype(np.int64) << 62),
            round_shift(x, signed_amount), round_shift(x >> np.uint64(1), amount.astype(np.int64)),
            bit_length(x), bit_length(x >> (y & np.uint64(63))),
            mul_shr(x & np.uint64((1 << 40) - 1), y & np.uint64((1 << 40) - 1), 20))


@needs_cc
def test_compiled_integer_semantics_are_numpy_s():
    program = compile_function(_integer_semantics, ["x", "y"])
    rng = np.random.default_rng(1)
    edges = np.array([0, 1, 2, 63, 64, 65, 127, 128, (1 << 40) - 1, 1 << 40, (1 << 40) + 1, (1 << 63) - 1,
                      1 << 63, (1 << 64) - 1], dtype=np.uint64)
    x = np.concatenate([np.repeat(edges, edges.size), rng.integers(0, (1 << 64) - 1, 1 << 16, dtype=np.uint64,
                                                                      endpoint=True)])
    y = np.concatenate([np.tile(edges, edges.size), rng.integers(0, (1 << 64) - 1, 1 << 16, dtype=np.uint64,
                                                                   endpoint=True)])
    with np.errstate(all="ignore"):
        want = _integer_semantics(x, y)
    got = program(workers=2, block=4096, x=x, y=y)
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        w = w.astype(np.uint64) if w.dtype.kind in "iu" else w
        np.testing.assert_array_equal(g, w, err_msg=f"output {k}")


def test_a_python_branch_on_a_traced_value_is_refused():
    graph = Graph()
    x = graph.input("x")
    with pytest.raises(TraceError, match="Python branch"):
        bool(x > 3)
    with pytest.raises(TraceError, match="concrete array"):
        np.asarray(x)


def test_bounds_pick_the_general_algorithm():
    """A value the trace cannot bound answers max() with its type's largest value, so that
    mul_shr takes its 128-bit path; a masked one with the mask."""
    graph = Graph()
    x = graph.input("x")
    assert x.max() == (1 << 64) - 1 and x.min() == 0
    assert (x & np.uint64(0xFFFF)).max() == 0xFFFF
    assert ((x & np.uint64(0xFF)) << np.uint64(4)).max() == 0xFF0
    assert isinstance(x >> np.uint64(3), Sym)


def test_trace_gives_c_text():
    text, dtypes, names = trace(Config(function="relu", format="bf16"))
    assert "void run(int64_t n, const uint16_t *in_x, uint16_t *out0)" in text     # BF16 in and out
    assert names == ["x"] and [str(d) for d in dtypes] == ["uint16"]


def test_without_a_compiler_the_numpy_twin_runs(tmp_path, monkeypatch):
    """No C compiler: compiled_twin gives None with a warning, and the PyTorch layer still gives
    the golden results (through the NumPy twins)."""
    torch = pytest.importorskip("torch")
    from golden.nn import HardwareActivation
    monkeypatch.setenv("ISRLU_IP_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    compiled_twin.cache_clear()
    try:
        config = Config(function="isru", format="fp32")
        with pytest.warns(UserWarning, match="no compiled twin"):
            assert compiled_twin(config) is None
        x = torch.randn(1000)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = HardwareActivation("isru", "fp32")(x)
        want, _ = evaluate(config, x=x.numpy().view(np.uint32).astype(np.uint64))
        np.testing.assert_array_equal(y.numpy().view(np.uint32), want.astype(np.uint32))
    finally:
        compiled_twin.cache_clear()
