"""The logistic family's datapath (tanh, the sigmoid and their backward units): widths, constants
and tables, computed once from the format, the function and the direction.

With ``a = |x|``, ``c = 2`` (tanh) or 1 (sigmoid) and ``t = c*a*log2(e) = k + f`` (``k`` an
integer, ``f`` in ``[0, 1)``), ``E = exp(-c*a) = Q'(f) * 2**-k``, ``Q'(f) = 2**-f`` from a table
of parabolas; then a second table of parabolas over ``E`` (``t_bits`` fraction bits, clamped
below 1): ``R(E) = 1/(1 + E)`` forward, ``R2(E) = 1/(1 + E)**2`` backward, and one product
``QR = Q' * R`` (or ``Q' * R2``) kept to ``work_bits + QR_GUARD_BITS`` fraction bits:

* small regime, ``b = c*a < 1``, forward: ``T(b/2)``, ``T(y) = tanh(y)/y`` in ``(0.92, 1]``, read as
  ``small_one - g(u)`` from the ``Q'`` table's second half (``u = 1 - 2**-t_bits - b``, the
  complement of ``b``'s bits: ``T`` is concave there, ``g = small_one - T`` falls and curves up),
  times the input's significand in ``QR``'s place: tanh ``a * T(a)``; the sigmoid ``0.5 +- a/4 *
  T(a/2)`` (an aligned sum): tiny and subnormal ``x`` keep their relative precision, and values
  near ``0.5 + x/4`` keep the absolute precision that decides their rounding;
* sigmoid, ``a >= 1``: ``Q' * R * 2**-k`` for ``x < 0``, ``1 - Q' * R * 2**-k`` for ``x > 0``
  (at least 0.73); tanh, ``a >= 0.5``: ``1 - 2 * Q' * R * 2**-k`` (at least 0.46);
* backward: ``grad * Q' * R2 * 2**-k`` (sigmoid ``E/(1 + E)**2``; tanh ``4E/(1 + E)**2``), with
  ``Q' * R2`` kept strictly below 1/4 where ``k = 0`` (there ``E = Q'``: the exact value is below
  1/4), exactly 1/4 at ``x = 0``.

Where ``QR`` is shifted to be added to or subtracted from 1 (or 0.5), it carries one more bit,
set when bits were shifted out, so that the sum lies strictly between its neighbours as the exact
value does (a result stays below 1); beyond ``k_max`` the shifted term is that bit alone. The
golden model is :mod:`golden.logistic`; the exact references
:func:`golden.reference_elementary.tanh_mpfr` and ``sigmoid_mpfr``; docs/logistic.md has the
error budget.
"""
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .elu import (EXP_MAX, LOG2E_GUARD_BITS, T_GUARD_BITS, TABLE_BITS, TABLE_ERROR_LSB, _log2e, check_precision,
                  constant_row_bits)
from .seeds import fewest_quad

# Product tiles with a side of at most this many bits are LUT rows: two tables of parabolas and
# three products do not fit the UP5K's eight SB_MAC16 otherwise (BF16 took 12 and 13 at 8 bits).
ROW_BITS = 12

__all__ = ["LogisticDatapath", "logistic_datapath", "kind_of", "KINDS", "GUARD_BITS", "QR_GUARD_BITS", "SMALL_EXP"]

KINDS = ("tanh", "sigmoid")
# Working precision: 2p + GUARD_BITS["2p"] for precisions up to 12 bits (correct rounding), else
# p + GUARD_BITS["p"] (FP32, at most 1 ulp).
CORRECTLY_ROUNDED_MAX_BITS = 12
GUARD_BITS = {"2p": 8, "p": 8}
QR_GUARD_BITS = 4           # QR keeps this many fraction bits more than the tables' values
SMALL_EXP = -1              # forward: c*a below 2**(SMALL_EXP + 1) (exponent of a, plus t_exp, at most this)
SMALL_MARGIN_LSB = 8        # g = small_one - T stays this many units above 0


@dataclass(frozen=True)
class LogisticDatapath:
    tanh: bool              # tanh (t = 2a*log2(e)), else the sigmoid
    backward: bool
    work_bits: int          # W: fraction bits of the tables' values
    qr_bits: int            # fraction bits of QR = Q' * R (or Q' * R2, or sig * T)
    t_bits: int             # fraction bits of t and of E, the second table's operand
    log2e: int              # log2(e) with log2e_bits fraction bits, rounded
    log2e_bits: int
    k_max: int              # QR * 2**-k for k >= k_max is the sticky bit alone
    small_one: int          # forward: T = small_one - g, W fraction bits
    table: object           # Q'(f) = 2**-f (parity 0), forward also g(u) (parity 1)
    recip: object           # R(E) = 1/(1 + E), backward R2(E) = 1/(1 + E)**2
    top_bits: int           # bits of t for a below 2**EXP_MAX (t_bits fraction bits)
    exp_width: int          # signed width of the unit's exponents
    row_bits: int           # products: tiles with a side of at most this many bits are LUT rows
    log2e_row_bits: int     # ... and in the product with log2(e)

    @property
    def t_exp(self):
        """log2(c): t = a * 2**t_exp * log2(e)."""
        return int(self.tanh)


def kind_of(function):
    """The kind (``tanh`` or ``sigmoid``) of a registered function's name (its backward unit's
    too)."""
    return function.removesuffix("-grad")


def _work_bits(precision):
    if precision <= CORRECTLY_ROUNDED_MAX_BITS:
        return 2 * precision + GUARD_BITS["2p"]
    return precision + GUARD_BITS["p"]


def _tanh_ratio(a):
    """``tanh(a)/a`` (1 at 0), float64, vectorized."""
    a = np.asarray(a, dtype=np.float64)
    safe = np.where(a > 0, a, 1.0)
    return np.where(a > 0, np.tanh(safe) / safe, 1.0)


@lru_cache(maxsize=None)
def logistic_datapath(fmt, kind, backward):
    """The datapath of ``kind`` (``tanh`` or ``sigmoid``; ``backward``: its derivative unit) in
    format ``fmt`` (float, or fixed point up to :data:`~hw.spec.elu.MAX_PRECISION` bits)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    precision, lowest, highest = check_precision(fmt, kind)
    w = _work_bits(precision)
    t_bits = w + T_GUARD_BITS
    log2e_bits = t_bits + LOG2E_GUARD_BITS
    tanh = kind == KINDS[0]
    small_one = (1 << w) + SMALL_MARGIN_LSB
    functions = [lambda f: 2.0 ** -f]
    if not backward:
        # u = 1 - 2**-t_bits - b (the complement of b's bits): T(b/2) falls, so g(u) falls too.
        functions.append(lambda u: small_one / 2.0 ** w - _tanh_ratio((1 - 2.0 ** -t_bits - u) / 2))
    recip = (lambda e: (1 + e) ** -2.0) if backward else (lambda e: 1 / (1 + e))
    top_bits = t_bits + (int(2 ** (EXP_MAX + 1) / np.log(2.0))).bit_length()
    qr_bits = w + QR_GUARD_BITS
    # Exponents: the input's (subnormals normalized) or grad's, less k (below 2**(top_bits - t_bits)).
    span = abs(lowest) + 2 ** (top_bits - t_bits) + highest + 8
    return LogisticDatapath(tanh=tanh, backward=backward, work_bits=w, qr_bits=qr_bits, t_bits=t_bits,
                            log2e=_log2e(log2e_bits), log2e_bits=log2e_bits, k_max=qr_bits + 3,
                            small_one=small_one, table=fewest_quad(functions, t_bits, w, TABLE_BITS, TABLE_ERROR_LSB),
                            recip=fewest_quad([recip], t_bits, w, TABLE_BITS, TABLE_ERROR_LSB), top_bits=top_bits,
                            exp_width=span.bit_length() + 1, row_bits=ROW_BITS,
                            log2e_row_bits=constant_row_bits(precision))
