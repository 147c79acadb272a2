"""The exact last-bit decision of a correctly rounded inverse square root (``rounding="residual"``).

The approximation ``r ~ 1/sqrt(m)`` (``m = MR / 2**P`` in ``[1, 4)``, ``r`` in ``(0.5, 1]``) is
within half an ulp of the exact value ``t``. Its truncation to the result's ``p`` significant
bits, ``T = floor(r * 2**p)`` clamped to ``[2**(p-1), 2**p - 1]``, and the midpoint above it,
``Y = 2T + 1`` (units of ``2**-(p+1)``), then bracket ``t``: the correctly rounded result is
``T + 1`` when ``t > Y/2**(p+1)``, else ``T`` (a midpoint is never exact). That is the sign of

    S = Y**2 * MR - 2**(2p + 2 + P)

with ``|Y/2**(p+1) - t| < 2**-p`` and ``t`` in ``(0.5, 1]`` bounding
``|S| < 2**(2p + 2 + P) * 2**-(p - 3)``: ``S`` is known exactly from its low
``p + P + 6`` bits (two's complement), and so is its sign. The hardware computes ``Y**2``, then
``Y**2 * MR`` modulo ``2**low_bits``: tiles above that weight never exist.
"""
from dataclasses import dataclass

__all__ = ["Residual", "residual"]


@dataclass(frozen=True)
class Residual:
    precision: int      # p: significant bits of the result
    r_bits: int         # fraction bits of the approximation r
    mr_bits: int        # bits of MR (P fraction bits, value below 4)
    y_bits: int         # bits of Y = 2T + 1
    low_bits: int       # Y**2 * MR is computed modulo 2**low_bits; its top bit is the sign of S
    row_bits: int       # the products' tiles narrower than a whole DSP are LUT rows


def residual(precision, r_bits, frac_bits, device):
    """The widths of the exact decision for a ``precision``-bit result from an approximation with
    ``r_bits`` fraction bits of ``1/sqrt(MR / 2**frac_bits)``."""
    if r_bits < precision:
        raise ValueError(f"the approximation has {r_bits} fraction bits, fewer than the result's {precision}")
    return Residual(precision=precision, r_bits=r_bits, mr_bits=frac_bits + 2, y_bits=precision + 1,
                    low_bits=precision + frac_bits + 6, row_bits=device.dsp_width - 1)
