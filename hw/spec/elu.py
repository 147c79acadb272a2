"""ELU's datapath: widths, constants and tables, computed once from the format and alpha.

For ``x = -a < 0`` the unit computes, in fixed point:

* **small** ``a < 1`` (forward only): ``ELU(x) = -a * P'(a)``, ``P'(a) = alpha*(1 - e**-a)/a`` in
  ``(0.63*alpha, alpha]`` from a table of parabolas over ``a`` (``t_bits`` fraction bits): no
  cancellation, so tiny and subnormal ``x`` keep their relative precision;
* **exp** ``a >= 1`` (forward), every ``a > 0`` (backward): ``t = a*log2(e) = k + f``, ``k`` an
  integer, ``f`` in ``[0, 1)``; ``Q'(f) = alpha * 2**-f`` from a table of parabolas; forward
  ``ELU(x) = -(alpha - Q' * 2**-k)`` (at least ``0.63*alpha``: no cancellation), backward
  ``grad * alpha*e**x = grad * Q' * 2**-k``.

Both tables are one ROM (the regime is the top index bit), evaluated by one set of products.
Every value has ``work_bits`` fraction bits (alpha's exponent is kept apart). ``Q' * 2**-k`` is rounded up (a sticky bit), so the
forward magnitude lies strictly below alpha, as the exact one does; beyond ``k_max`` the product is
that sticky bit alone. The golden model is :mod:`golden.elu`; the exact reference
:func:`golden.reference_elementary.elu_mpfr`; docs/elu.md has the error budget.
"""
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from functools import lru_cache
from math import frexp

import numpy as np

from .formats import significand_span
from .seeds import fewest_quad
from .tiles import ROWS_ONLY

__all__ = ["EluDatapath", "elu_datapath", "GUARD_BITS"]

# Working precision: 2p + GUARD_BITS["2p"] for precisions up to 12 bits (the 16-bit formats, where
# the target is correct rounding), else p + GUARD_BITS["p"] (FP32, target 1 ulp).
CORRECTLY_ROUNDED_MAX_BITS = 12
GUARD_BITS = {"2p": 8, "p": 8}
T_GUARD_BITS = 6            # t = a*log2(e) carries this many fraction bits more than the values
LOG2E_GUARD_BITS = 12       # log2(e) carries this many more than t
TABLE_BITS = range(4, 11)   # index bits tried for the tables: the fewest within TABLE_ERROR_LSB
TABLE_ERROR_LSB = 3.0       # largest table error accepted, in units of 2**-work_bits (the coefficients
                            # rounding alone costs about 2.2)
EXP_MAX = 8                 # a >= 2**EXP_MAX: t is clamped there (the result is saturated or 0)
# Significand bits these datapaths take (the golden models' products fit 64 bits): every float
# format, fixed point up to 24 bits.
MAX_PRECISION = 24
# Product tiles with a side of at most this many bits are LUT rows (as the activations': the UP5K
# has 8 SB_MAC16).
ROW_BITS = 8
# The product with the constant log2(e): LUT rows, so that FP16 and FP32 ELU fit the UP5K's eight
# SB_MAC16 (they took three for it): every row for significands of up to CONSTANT_ROWS_ONLY_BITS
# bits (BF16, FP16: no DSP), else every tile but the largest (FP32: one DSP).
CONSTANT_ROW_BITS = 16
CONSTANT_ROWS_ONLY_BITS = 12


def check_precision(fmt, what):
    """The operand's ``(precision, lowest, highest)`` (:func:`~hw.spec.formats.significand_span`);
    a ValueError for a fixed-point format wider than :data:`MAX_PRECISION`."""
    span = significand_span(fmt)
    if span[0] > MAX_PRECISION:
        raise ValueError(f"{what} takes fixed-point formats of up to {MAX_PRECISION} bits, "
                         f"not {fmt.name} ({fmt.width} bits)")
    return span


def constant_row_bits(precision):
    """``row_bits`` of a product of a ``precision``-bit significand with a constant."""
    return ROWS_ONLY if precision <= CONSTANT_ROWS_ONLY_BITS else CONSTANT_ROW_BITS


@dataclass(frozen=True)
class EluDatapath:
    work_bits: int          # W: fraction bits of P', Q', the forward magnitude
    t_bits: int             # fraction bits of t = a*log2(e)
    log2e: int              # log2(e) with log2e_bits fraction bits, rounded
    log2e_bits: int
    alpha_fixed: int        # alpha's significand in [1, 2) with W fraction bits, rounded
    alpha_exp: int          # alpha = alpha_fixed * 2**(alpha_exp - W)
    k_max: int              # Q' * 2**-k for k >= k_max is the sticky bit alone
    table: object           # parabolas: Q'(f) = s * 2**-f (parity 0) and, forward, P'(a) =
                            # s*(1 - e**-a)/a (parity 1), s alpha's significand; operands f and a
                            # in [0, 1) with t_bits fraction bits (hw.spec.seeds.quad_value)
    top_bits: int           # bits of t = a*log2(e) for a below 2**EXP_MAX (t_bits fraction bits)
    exp_width: int          # signed width of the unit's exponents
    row_bits: int           # products: tiles with a side of at most this many bits are LUT rows
    log2e_row_bits: int     # ... and in the product with log2(e)


def _work_bits(precision):
    if precision <= CORRECTLY_ROUNDED_MAX_BITS:
        return 2 * precision + GUARD_BITS["2p"]
    return precision + GUARD_BITS["p"]


def _log2e(bits):
    """``log2(e) * 2**bits`` rounded to an integer (decimal arithmetic with digits to spare)."""
    with localcontext() as context:
        context.prec = bits // 3 + 30
        return int((Decimal(2) ** bits / Decimal(2).ln()).to_integral_value(ROUND_HALF_EVEN))


@lru_cache(maxsize=None)
def elu_datapath(fmt, alpha, backward):
    """The datapath of ELU (``backward``: its derivative unit) in format ``fmt`` (float, or fixed
    point up to :data:`MAX_PRECISION` bits) with the constant ``alpha`` (a float in ``(0, 65536)``,
    rounded to ``work_bits`` fraction bits)."""
    precision, lowest, highest = check_precision(fmt, "ELU")
    w = _work_bits(precision)
    if not (isinstance(alpha, float) and 0 < alpha < 2 ** 16):
        raise ValueError(f"alpha must be a float in (0, 65536), not {alpha!r}")
    mantissa, exponent = frexp(alpha)                      # alpha = mantissa * 2**exponent
    alpha_exp = exponent - 1
    scale = mantissa * 2                                   # alpha's significand, in [1, 2)
    alpha_fixed = round(Fraction(scale) * 2 ** w)          # exact for alpha 1, 0.5, 3, ...
    t_bits = w + T_GUARD_BITS
    log2e_bits = t_bits + LOG2E_GUARD_BITS
    log2e = _log2e(log2e_bits)
    functions = [lambda f: scale * 2.0 ** -f]
    if not backward:
        functions.append(lambda a: scale * np.where(a > 0, -np.expm1(-a) / np.where(a > 0, a, 1.0), 1.0))
    top_bits = t_bits + (int(2 ** (EXP_MAX + 1) / np.log(2.0))).bit_length()
    # Exponents: the input's (subnormals normalized), less k (up to 2**top_bits), alpha's.
    span = abs(lowest) + 2 ** (top_bits - t_bits) + abs(alpha_exp) + highest + 8
    return EluDatapath(work_bits=w, t_bits=t_bits, log2e=log2e, log2e_bits=log2e_bits,
                       alpha_fixed=alpha_fixed, alpha_exp=alpha_exp, k_max=w + 3,
                       table=fewest_quad(functions, t_bits, w, TABLE_BITS, TABLE_ERROR_LSB), top_bits=top_bits,
                       exp_width=span.bit_length() + 1, row_bits=ROW_BITS,
                       log2e_row_bits=constant_row_bits(precision))
