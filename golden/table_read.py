"""The 16-bit backward table read in one compiled pass (:mod:`golden.nn`'s backward pass).

    reader = table_reader()                      # None where no C compiler is found
    y, missing = reader(entries, x, grad, man_bits, exp_bits, workers=2)

For each element: the entry at ``x << man_bits | grad's significand`` plus the grad's exponent
field, with the grad's sign; ``missing`` lists the elements whose sum is not a normal result at
least one binade above the smallest, or whose grad is not finite (the caller computes those
from the twins). This is the same arithmetic on raw bits as the torch operations it replaces
(:func:`golden.nn._backward_by_table`), in one pass over memory instead of a dozen, with the
table's reads prefetched a few elements ahead: the FP16 table (2**26 entries, 134 MB) is read
from main memory, and a read's wait is what the pass costs.
"""
import ctypes
import functools

import numpy as np

from .blocked import BLOCK, each_block
from .c_program import build

__all__ = ["table_reader", "TableReader"]

# Elements ahead whose table entry is prefetched (16 to 64 measured alike here; none is 15 %
# slower).
AHEAD = 32

_TEXT = f"""#include <stdint.h>

int64_t table_read(int64_t n, const int16_t *entries, const uint16_t *x, const uint16_t *g,
                   uint16_t *out, uint8_t *missing, int64_t man, int64_t exp_bits)
{{
    const uint32_t frac = (UINT32_C(1) << man) - 1, top = ((UINT32_C(1) << exp_bits) - 1) << man;
    const int32_t low = 2 << man;
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {{
        if (i + {AHEAD} < n)
            __builtin_prefetch(&entries[((uint32_t)x[i + {AHEAD}] << man) | (g[i + {AHEAD}] & frac)]);
        uint32_t gb = g[i], exponent = gb & top;
        int32_t magnitude = (int32_t)entries[((uint32_t)x[i] << man) | (gb & frac)] + (int32_t)exponent;
        uint8_t bad = (magnitude < low) | (magnitude >= (int32_t)top) | (exponent >= top);
        out[i] = (uint16_t)((uint32_t)magnitude | (gb & 0x8000u));
        missing[i] = bad;
        count += bad;
    }}
    return count;
}}
"""


class TableReader:
    """The compiled table read: ``reader(entries, x, grad, man_bits, exp_bits, workers=1)`` with
    ``entries`` (int16, ``2**(16 + man_bits)``) and raw 16-bit ``x`` and ``grad`` (uint16, one
    length) returns ``(y, missing)``: raw results (uint16; meaningless where missing) and the
    indices (int64) of the elements the table does not decide."""

    def __init__(self):
        self.function = build(_TEXT).table_read
        self.function.restype = ctypes.c_int64

    def __call__(self, entries, x, grad, man_bits, exp_bits, workers=1, block=BLOCK):
        n = len(x)
        if entries.dtype != np.int16 or x.dtype != np.uint16 or grad.dtype != np.uint16 or len(grad) != n:
            raise ValueError("table_read: int16 entries, uint16 x and grad of one length")
        y, missing = np.empty(n, np.uint16), np.empty(n, np.uint8)

        def pointer(array, start):
            return ctypes.c_void_p(array.ctypes.data + array.itemsize * start)

        def run(start):
            count = min(block, n - start)
            return self.function(ctypes.c_int64(count), pointer(entries, 0), pointer(x, start),
                                 pointer(grad, start), pointer(y, start), pointer(missing, start),
                                 ctypes.c_int64(man_bits), ctypes.c_int64(exp_bits))

        counts = each_block(run, n, workers=workers, block=block)
        rest = np.flatnonzero(missing) if sum(counts) else np.empty(0, np.int64)
        return y, rest


@functools.lru_cache(maxsize=None)
def table_reader():
    """The :class:`TableReader`, or None where it cannot be built (no C compiler)."""
    try:
        return TableReader()
    except OSError:
        return None
