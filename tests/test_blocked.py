"""golden.blocked: block results come back in order on any number of threads, a block's error
reaches the caller, and blocked() computes what the function computes on the whole arrays."""
import numpy as np
import pytest

from golden.blocked import blocked, each_block


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_each_block_in_order(workers):
    def run(start):
        return start
    assert each_block(run, 1000, workers=workers, block=64) == list(range(0, 1000, 64))
    assert each_block(run, 0, workers=workers, block=64) == []


def test_each_block_error_reaches_the_caller():
    def run(start):
        if start == 640:
            raise ValueError("block 640")
        return start
    for workers in (1, 2):
        with pytest.raises(ValueError, match="block 640"):
            each_block(run, 1000, workers=workers, block=64)


@pytest.mark.parametrize("workers", [1, 2])
def test_blocked_equals_whole_arrays(workers):
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 1 << 20, (2, 37, 29), dtype=np.uint64)
    got_sum, got_none, got_xor = blocked(lambda p, q, r: (p + q, None, p ^ q), (a, b, None), workers=workers, block=100)
    np.testing.assert_array_equal(got_sum, a + b)
    np.testing.assert_array_equal(got_xor, a ^ b)
    assert got_none is None and got_sum.shape == a.shape
