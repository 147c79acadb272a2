"""The magic-constant seed ("K method", Gustafson 1986; Lomont 2003) for any float format.

For a float with ``M`` fraction bits and bias ``B`` the seed is the integer subtraction
``y = K - (x >> 1)`` on raw bit patterns. Written in the unit's reduced domain (normalized
significand ``m = 1.f * 2**parity`` in ``[1, 4)``, true result ``r = m**-0.5`` in ``(0.5, 1]``) it
depends only on ``parity`` and ``f``::

    low    = Kf - (((1 - parity) << (M - 1)) | (f >> 1))      # Kf = K's fraction field
    borrow = low < 0
    r0     = (1 + (low mod 2**M) / 2**M) * 2**(-parity - borrow)

This holds when K's exponent field is ``(3B - 1) / 2``, which every useful constant has; the
configuration enforces it. Subnormal inputs are normalized first, so the trick works for them too.
"""
from functools import lru_cache

import numpy as np

__all__ = ["magic_exponent_field", "magic_range", "magic_seed_value", "magic_seed_error", "default_magic",
           "derive_magic",
           "PUBLISHED_FP32"]

# Best published FP32 constants by Newton stages: Lomont (2003) / Moroz et al. (2018) minimise the
# maximum relative error of the bare seed (0x5f37642f) and after one Newton step (0x5f375a86).
PUBLISHED_FP32 = {0: 0x5F37642F, 1: 0x5F375A86}


def magic_exponent_field(bias):
    return (3 * bias - 1) // 2


def magic_range(bias, man_bits):
    """Accepted constants: exponent field ``(3*bias - 1)/2``, any fraction."""
    low = magic_exponent_field(bias) << man_bits
    return low, low + (1 << man_bits) - 1


def magic_seed_value(magic, man_bits, parity, frac):
    """Seed for ``parity``/``frac`` arrays as exact integers ``R0`` with ``man_bits + 2`` fraction bits."""
    kf = magic & ((1 << man_bits) - 1)
    parity = np.asarray(parity, dtype=np.int64)
    frac = np.asarray(frac, dtype=np.int64)
    low = kf - (((1 - parity) << (man_bits - 1)) | (frac >> 1))
    borrow = (low < 0).astype(np.int64)
    yf = low & ((1 << man_bits) - 1)
    return ((1 << man_bits) | yf) << (2 - parity - borrow)


def _max_rel_error(kf, man_bits, newton, parity, frac):
    r0 = magic_seed_value(kf, man_bits, parity, frac).astype(np.float64) / 2.0 ** (man_bits + 2)
    m = (1.0 + frac / 2.0 ** man_bits) * 2.0 ** parity
    q = r0 * np.sqrt(m)
    for _ in range(newton):
        q = q * (3.0 - q * q) / 2.0
    return float(np.max(np.abs(q - 1.0)))


def _grid(man_bits):
    points = min(man_bits, 13)
    frac = (np.arange(1 << points, dtype=np.int64) << (man_bits - points))
    return np.concatenate([np.zeros_like(frac), np.ones_like(frac)]), np.concatenate([frac, frac])


def magic_seed_error(magic, man_bits):
    """Maximum relative error of the bare seed (exhaustive up to 13 fraction bits, else a grid)."""
    return _max_rel_error(magic, man_bits, 0, *_grid(man_bits))


@lru_cache(maxsize=None)
def default_magic(bias, man_bits, newton):
    """The best constant for ``newton`` stages: the published one for FP32, else :func:`derive_magic`."""
    if (bias, man_bits) == (127, 23):
        return PUBLISHED_FP32[min(newton, 1)]
    return derive_magic(bias, man_bits, newton)


def derive_magic(bias, man_bits, newton):
    """The constant minimising the maximum relative error after ``min(newton, 1)`` exact Newton
    steps, searching the fraction field coarse to fine; errors are measured over every significand
    for up to 13 fraction bits, on an even grid of 2**14 significands above."""
    target = min(newton, 1)
    parity, frac = _grid(man_bits)
    step = 1 << max(man_bits - 10, 0)
    candidates = range(0, 1 << man_bits, step)
    while True:
        best = min(candidates, key=lambda kf: (_max_rel_error(kf, man_bits, target, parity, frac), kf))
        if step == 1:
            break
        lo = max(best - 2 * step, 0)
        hi = min(best + 2 * step, (1 << man_bits) - 1)
        step = max(step // 16, 1)
        candidates = range(lo, hi + 1, step)
    return (magic_exponent_field(bias) << man_bits) | best
