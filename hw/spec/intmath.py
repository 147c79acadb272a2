"""Exact integer helpers on NumPy arrays (vectorized, no per-element Python)."""
import numpy as np

__all__ = ["mul_shr", "bit_length", "round_shift", "lookup"]

_MASK32 = np.uint64(0xFFFFFFFF)


def _recorded(helper, *args):
    """The result of ``helper(*args)`` as a recorded operand records it (:mod:`golden.trace`: whole,
    as one operation), or None where no argument is recorded. Every helper here asks first."""
    for arg in args:
        record = getattr(arg, "record_helper", None)
        if record is not None:
            return record(helper, *args)
    return None


def _u64(value):
    """``value`` as a uint64 array, without a copy when it is one already."""
    return np.asarray(value).astype(np.uint64, copy=False)


def mul_shr(a, b, shift):
    """``(a * b) >> shift`` exactly, for non-negative ``a, b < 2**64`` and a result below ``2**64``.

    The 128-bit product is formed from 32-bit limbs, so any product width up to 128 bits is exact;
    where every product fits 64 bits (by the operands' largest values) it is formed directly, where
    the narrower operand leaves room, from two products, and a product by a scalar power of two
    is a shift.
    """
    recorded = _recorded("mul_shr", a, b, shift)
    if recorded is not None:
        return recorded
    a, b = _u64(a), _u64(b)
    if b.ndim == 0 and a.ndim != 0:
        a, b = b, a
    if a.ndim == 0 and int(a) and int(a) & (int(a) - 1) == 0:       # by a power of two: a shift
        left = int(a).bit_length() - 1 - shift
        if left >= 0:
            if b.size and int(b.max()).bit_length() + left > 64:
                raise OverflowError(f"mul_shr: product >> {shift} does not fit in 64 bits")
            return b << np.uint64(left)
        return b >> np.uint64(-left) if -left < 64 else np.zeros(b.shape, np.uint64)
    a_bits = int(a.max()).bit_length() if a.size else 0
    b_bits = int(b.max()).bit_length() if b.size else 0
    if a_bits + b_bits <= 64:
        return (a * b) >> np.uint64(shift) if shift < 64 else np.zeros(np.broadcast(a, b).shape, np.uint64)
    if a_bits > b_bits:
        a, b, a_bits, b_bits = b, a, b_bits, a_bits
    split = min(64 - a_bits, shift)
    if a_bits + b_bits - 64 <= split:
        # Two products: b's low `split` bits and the rest, each within 64 bits, and
        # floor(a*b / 2**shift) = (a*b_hi + floor(a*b_lo / 2**split)) >> (shift - split), below 2**64.
        low = (a * (b & np.uint64((1 << split) - 1))) >> np.uint64(split)
        return (a * (b >> np.uint64(split)) + low) >> np.uint64(shift - split)
    a0, a1 = a & _MASK32, a >> np.uint64(32)
    b0, b1 = b & _MASK32, b >> np.uint64(32)
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    middle = (p00 >> np.uint64(32)) + (p01 & _MASK32) + (p10 & _MASK32)
    lo = (p00 & _MASK32) | ((middle & _MASK32) << np.uint64(32))
    hi = p11 + (p01 >> np.uint64(32)) + (p10 >> np.uint64(32)) + (middle >> np.uint64(32))
    if shift == 0:
        result, overflow = lo, hi
    elif shift < 64:
        result = (lo >> np.uint64(shift)) | (hi << np.uint64(64 - shift))
        overflow = hi >> np.uint64(shift)
    else:
        result, overflow = hi >> np.uint64(shift - 64), np.uint64(0)
    if np.any(overflow):
        raise OverflowError(f"mul_shr: product >> {shift} does not fit in 64 bits")
    return result


def bit_length(value):
    """Bit length of each element of a non-negative integer array (0 for 0)."""
    recorded = _recorded("bit_length", value)
    if recorded is not None:
        return recorded
    value = _u64(value)
    # The float64 conversion's exponent field: exact below 2**53, else possibly rounded up to the
    # next power of two (2**64 at most), which the check below takes back. (np.frexp gives the
    # same exponent but is an order of magnitude slower.)
    field = (value.astype(np.float64).view(np.uint64) >> np.uint64(52)).astype(np.int64)
    length = np.maximum(field - 1022, 0)
    if value.size and int(value.max()) < 1 << 53:
        return length
    rounded_up = (length > 0) & ((value >> np.maximum(length - 1, 0).astype(np.uint64)) == 0)
    return length - rounded_up


def round_shift(value, shift):
    """Round ``value / 2**shift`` to nearest, ties to even; ``shift`` is a non-negative array.

    Shifts of 64 or more give 0 (the value is below half the step, as callers guarantee), and so
    do negative ones.
    """
    recorded = _recorded("round_shift", value, shift)
    if recorded is not None:
        return recorded
    value = _u64(value)
    shift = np.asarray(shift).astype(np.int64, copy=False)
    shift = np.broadcast_to(shift, value.shape)
    one = np.uint64(1)
    if value.size and int(shift.min()) >= 1 and int(shift.max()) < 64 and int(value.max()) < 1 << 63:
        # No carry out of 64 bits: add half, less one unless the kept part is odd, and shift.
        s = shift.astype(np.uint64)
        return (value + ((one << (s - one)) - one) + ((value >> s) & one)) >> s
    safe = np.minimum(shift, 63).astype(np.uint64)
    kept = np.where(shift >= 64, np.uint64(0), value >> safe)
    half = np.where(shift >= 1, one << (np.maximum(shift, 1) - 1).astype(np.uint64), np.uint64(0))
    rest = np.where(shift >= 64, value, value & ((one << safe) - one))
    up = (shift >= 1) & (shift < 64) & ((rest > half) | ((rest == half) & ((kept & one) == one)))
    return kept + up.astype(np.uint64)


def lookup(table, index):
    """``table[index]``: the entries of the 1-D integer array ``table`` at the integer array
    ``index``."""
    recorded = _recorded("lookup", table, index)
    return recorded if recorded is not None else np.asarray(table).take(index)
