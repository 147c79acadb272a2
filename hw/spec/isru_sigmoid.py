"""The ISRU sigmoid's tail: constants and table after the activation core, from the Config.

``isru-sigmoid`` is ``(1 + ISRU(x/2))/2 = (2 + v)/4`` with ``v = x * r``, ``r = U**-0.5``,
``U = 1 + (alpha/4)*x**2``: the ISRU datapath with the core's alpha ``alpha/4``
(:func:`hw.spec.datapath.core_alpha`), then

* ``x >= 0``: ``(2 + |v|)/4``, a sum in fixed point (no cancellation);
* ``x < 0``: ``(2 - |v|)/4`` cancels as ``x`` falls (to 0 at ``-inf`` for alpha 1), so it is
  computed as ``N * U**-1 / D``, ``D = 2 + |v|``, ``N = 1 + ((alpha - 1)/4)*x**2`` (exact
  algebra: ``2 - |v| = (4 - x**2*r**2)/D`` and ``4 - x**2/U = 4N/U``): ``U**-1 = r**2``, ``2/D``
  from a table of parabolas over ``|v|`` in fixed point, ``N`` from the square ``x**2`` the core
  already has (``N = 1`` for alpha 1). Every factor is in ``[1/4, 8)``: no cancellation.

Alpha is at least 1 (below, the function crosses 0 and is no sigmoid; ``Config`` says so).
The golden model is :func:`golden.isru_sigmoid.isru_sigmoid_tail`; docs/isru_sigmoid.md has the
error budget.
"""
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import frexp, sqrt

from .datapath import datapath
from .seeds import fewest_quad

__all__ = ["IsruSigmoidTail", "isru_sigmoid_tail"]

TABLE_BITS = range(4, 11)   # index bits tried for the table of 2/D: the fewest within TABLE_ERROR_LSB
TABLE_ERROR_LSB = 3.0       # largest table error accepted, in units of 2**-work_bits


@dataclass(frozen=True)
class IsruSigmoidTail:
    v_bits: int         # |v| < 2**v_bits: the table's operand is u = |v| / 2**v_bits in [0, 1)
    table: object       # parabolas of 2/(2 + 2**v_bits * u), work_bits fraction bits
                        # (hw.spec.seeds.quad_value), operand of v_bits + work_bits fraction bits
    n_sig: int          # (alpha - 1)/4 = n_sig * 2**(n_exp - work_bits), n_sig in [1, 2) rounded;
    n_exp: int          # n_sig 0 for alpha 1 (N = 1)
    n_product: bool     # T = ((alpha - 1)/4) * x**2 needs a product (n_sig neither 0 nor 1 << work_bits)


@lru_cache(maxsize=None)
def isru_sigmoid_tail(config):
    """The tail of ``config`` (an ``isru-sigmoid`` forward configuration)."""
    if not (config.entry.sigmoid_form and not config.is_backward):
        raise ValueError(f"the ISRU sigmoid's tail is for isru-sigmoid, not {config.function}")
    w = datapath(config).work_bits
    # |v| < 2/sqrt(alpha) <= 2; the unit clamps a computed |v| to just below 2**v_bits.
    v_bits = 0
    while 2 ** v_bits < 2 / sqrt(config.alpha):
        v_bits += 1
    scale = 2 ** v_bits
    table = fewest_quad([lambda u: 2 / (2 + scale * u)], v_bits + w, w, TABLE_BITS, TABLE_ERROR_LSB)
    n_sig = n_exp = 0
    if config.alpha != 1:
        mantissa, exponent = frexp((config.alpha - 1) / 4)
        n_sig, n_exp = round(Fraction(mantissa) * 2 ** (w + 1)), exponent - 1
        if n_sig == 1 << (w + 1):
            n_sig, n_exp = 1 << w, n_exp + 1
    return IsruSigmoidTail(v_bits=v_bits, table=table, n_sig=n_sig, n_exp=n_exp,
                           n_product=n_sig not in (0, 1 << w))
