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


def _blocks_in_child(queue):
    queue.put(each_block(lambda start: start, 1000, workers=2, block=64))


def test_each_block_in_a_forked_child():
    """The thread pool kept for the process is not inherited across fork (its threads are not):
    a child started after the parent used it runs blocks on threads of its own."""
    import multiprocessing
    each_block(lambda start: start, 1000, workers=2, block=64)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_blocks_in_child, args=(queue,))
    child.start()
    child.join(60)
    hung = child.is_alive()
    if hung:
        child.kill()
    assert not hung, "the child hung"
    assert queue.get(timeout=5) == list(range(0, 1000, 64))
