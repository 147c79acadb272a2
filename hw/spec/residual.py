"""The exact last-bit decision of a correctly rounded inverse square root (``rounding="residual"``).

The approximation ``r ~ 1/sqrt(m)`` (``m = MR / 2**P`` in ``[1, 4)``, ``t`` in ``(0.5, 1]``) is
within half an ulp of the exact value ``t``. Its truncation to the result's ``p`` significant
bits, ``T = floor(r * 2**p)``, and the midpoint above it, ``Y = 2T + 1`` (units of
``2**-(p+1)``), then bracket ``t``: the correctly rounded result is ``T + 1`` when ``t >
Y/2**(p+1)``, else ``T`` (a midpoint is never exact). ``T`` is not clamped to the binade: it may
be ``2**(p-1) - 1`` (``r`` just below one half: ``t`` rounds up to it) or ``2**p`` (``r`` at
least 1: ``t`` rounds to 1, as ``T`` is), which the packer places one binade down or up. That is
the sign of

    S = Y**2 * MR - 2**(2p + 2 + P)

with ``|Y/2**(p+1) - t| < 2**-p`` and ``t`` in ``(0.5, 1]`` bounding
``|S| < 2**(2p + 2 + P) * 2**-(p - 3)``: ``S`` is known exactly from its low
``p + P + 6`` bits (two's complement), and so is its sign. The hardware computes ``Y**2``, then
``Y**2 * MR`` modulo ``2**low_bits``: tiles above that weight never exist.

The product leaves its carry-save reduction as two rows, ``A + B = S`` modulo ``2**low_bits``, and
only their bits from ``sign_from`` up are summed: that sum is ``S`` less than ``2**(sign_from +
1)``, too little to turn a positive ``S`` negative wherever every positive ``S`` is at least that
(a negative one stays negative). Where the approximation is known for every significand (a
polynomial seed alone), :func:`sign_from` finds the smallest positive ``S`` over all of them (FP32:
``2**22.3``, so ``sign_from = 21``: a 32-bit sum instead of 53); else ``sign_from`` is 0. The sum
is a carry-select one (:func:`select_bits`): its sign is the lower chain's carry selecting the
upper chunk's top bit.
"""
from dataclasses import dataclass

import numpy as np

__all__ = ["Residual", "residual", "sign_from"]


@dataclass(frozen=True)
class Residual:
    precision: int      # p: significant bits of the result
    r_bits: int         # fraction bits of the approximation r
    mr_bits: int        # bits of MR (P fraction bits, value below 4)
    y_bits: int         # bits of Y = 2T + 1
    low_bits: int       # Y**2 * MR is computed modulo 2**low_bits; its top bit is the sign of S
    row_bits: int       # the products' tiles narrower than a whole DSP are LUT rows
    sign_from: int = 0  # the sign sums the product's two rows from this bit up

    @staticmethod
    def square_row_levels(device):
        """Carry-save levels of ``Y**2``'s LUT rows before its tile register: one fewer than the
        device's, as ``Y`` comes straight from the approximation's sum, whose register fans out to
        every row (FP32: 4.4 ns of routing before five LUT levels, 20.1 ns)."""
        return device.row_levels - 1

    @property
    def select_bits(self):
        """The lower chain of the sign's carry-select sum over the ``low_bits - sign_from`` summed
        bits: the larger part, so that the upper chunk's two versions are ready before its carry."""
        return (self.low_bits - self.sign_from) * 3 // 5


def residual(precision, r_bits, frac_bits, device):
    """The widths of the exact decision for a ``precision``-bit result from an approximation with
    ``r_bits`` fraction bits of ``1/sqrt(MR / 2**frac_bits)`` (``sign_from`` 0: see
    :func:`sign_from`)."""
    if r_bits < precision:
        raise ValueError(f"the approximation has {r_bits} fraction bits, fewer than the result's {precision}")
    return Residual(precision=precision, r_bits=r_bits, mr_bits=frac_bits + 2, y_bits=precision + 1,
                    low_bits=precision + frac_bits + 6, row_bits=device.dsp_width - 1)


def sign_from(res, r, mr):
    """The highest bit ``K`` from which the two rows of ``Y**2 * MR`` may be summed for the sign of
    ``S`` (module docstring), given the approximation ``r`` for every ``MR`` (integer arrays, all
    significands of both exponent parities): ``2**(K + 1)`` at most the smallest positive ``S``.
    ``T = 2**p`` is left out (it rounds down undecided). ``S`` is worked out modulo ``2**64``,
    exact as ``|S| < 2**(low_bits - 1) <= 2**63``."""
    if res.low_bits > 64:
        return 0
    p, u = res.precision, np.uint64
    t = np.asarray(r, dtype=np.uint64) >> u(res.r_bits - p)
    decided = t < u(1 << p)
    y = u(2) * t[decided] + u(1)
    n = 2 * p + 2 + res.mr_bits - 2
    s = (y * y * np.asarray(mr, dtype=np.uint64)[decided] - (u(1 << n) if n < 64 else u(0))).view(np.int64)
    positive = s[s > 0]
    if not len(positive):
        return res.low_bits - 2
    return min(int(positive.min()).bit_length() - 2, res.low_bits - 2)
