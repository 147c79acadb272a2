"""ReLU: the golden twin against the exact reference on every 16-bit input, the special values,
and the unit against the twin in Amaranth's simulator."""
import numpy as np
import pytest

from golden.eval import evaluate
from golden.reference import relu_exact
from hw.config import Config
from tests.test_units import stream


@pytest.mark.parametrize("fmt", ["bf16", "fp16", "e4m3", "q4.12", "q2.6"])
def test_twin_is_the_exact_result(fmt):
    config = Config(fmt, function="relu")
    x = np.arange(1 << config.in_width, dtype=np.uint64)
    y, flag = evaluate(config, x=x)
    ref = relu_exact(config, x)
    assert np.array_equal(y.astype(np.uint64), ref["bits"])
    if flag is not None:
        assert not flag.any() and not ref["flag"].any()


def test_special_values():
    config = Config("fp32", function="relu")
    f32 = lambda *v: np.array(v, dtype=np.float32).view(np.uint32).astype(np.uint64)
    x = f32(0.0, -0.0, np.inf, -np.inf, 1.5, -1.5, 1e-45, -1e-45)
    nans = np.array([0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001], dtype=np.uint64)
    y, _ = evaluate(config, x=np.concatenate([x, nans]))
    assert y[:8].tolist() == f32(0.0, 0.0, np.inf, 0.0, 1.5, 0.0, 1e-45, 0.0).tolist()
    assert y[8:].tolist() == [0x7FC00000] * 4        # the canonical quiet NaN, either sign


@pytest.mark.parametrize("config", [Config("e4m3", function="relu"), Config("q3.5", function="relu")],
                         ids=lambda c: c.name)
def test_unit_matches_twin(config):
    x = np.arange(1 << config.in_width, dtype=np.uint64)
    got, got_flag = stream(config, {"x": x})
    y, flag = evaluate(config, x=x)
    assert np.array_equal(got, y.astype(np.uint64))
    if flag is not None:
        assert np.array_equal(got_flag, flag)
