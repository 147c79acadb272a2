"""Widths and table contents of the rsqrt datapath, computed once from a Config.

Both the golden model and the RTL take every width, constant and table entry from
:func:`datapath`, so the two cannot drift. Fixed-point quantities are integers with a stated
number of fraction bits:

* ``MR``: reduced argument ``m = 1.f * 2**parity`` in ``[1, 4)``, ``frac_bits`` fraction bits.
* ``R0``: seed, ``seed_bits`` fraction bits, value in ``(0.25, 2)``.
* ``R``: Newton iterate, ``work_bits`` fraction bits (``seed_bits`` with no Newton stage).
"""
from dataclasses import dataclass
from functools import lru_cache
from math import isqrt, sqrt

from .config import Config
from .magic import magic_seed_error

__all__ = ["Datapath", "datapath", "lut_contents"]

GUARD_BITS = 4
SEED_GUARD_BITS = 3


@dataclass(frozen=True)
class Datapath:
    frac_bits: int        # P: fraction bits of the normalized input significand
    exp_width: int        # signed width of unbiased exponents and of k
    seed_bits: int        # S: fraction bits of the seed R0
    work_bits: int        # W: fraction bits of the Newton iterates and of the value rounded
    table: tuple          # lut seed entries (R0 values), empty for the magic seed
    table_width: int      # bits stored per entry
    seed_error: float     # maximum relative error of the seed
    newton_bias: int      # added to 3 (work_bits fraction bits) in the last Newton stage


def lut_error(config: Config, seed_bits: int, table):
    """Maximum relative error of a table seed over its intervals (exact at the interval ends)."""
    top_bits = config.table_bits - 1
    worst = 0.0
    for j, entry in enumerate(table):
        parity, top = j >> top_bits, j & ((1 << top_bits) - 1)
        a = (1 + top / 2 ** top_bits) * 2 ** parity
        b = a + 2.0 ** (parity - top_bits) if config.table_bits < config.significand_bits else a
        c = entry / 2 ** seed_bits
        worst = max(worst, abs(c * sqrt(a) - 1), abs(c * sqrt(b) - 1))
    return worst


def newton_bias(seed_error, newton, work_bits):
    """Centre the error of the last Newton stage.

    Newton's step for ``m**-0.5`` always lands below the true value: a seed error ``e`` leaves
    ``-(1.5e**2 + 0.5e**3)``. Adding half that bound, ``E/2``, relative, turns ``[-E, 0]`` into
    ``[-E/2, E/2]``; the last stage does it for free by using ``3 + E`` instead of ``3``.
    The table seed uses it; the magic seed keeps the textbook step, so that its published error
    figures (Lomont 2003) are reproduced.
    """
    if newton == 0:
        return 0
    error = seed_error
    for _ in range(newton):
        error = 1.5 * error ** 2 + 0.5 * error ** 3
    return round(error * 2 ** work_bits)


def lut_contents(config: Config, seed_bits: int):
    """Seed table: entry ``j`` = ``(parity << (T-1)) | top fraction bits``.

    A partial table stores, for its interval ``[a, b)`` of ``m``, ``2/(sqrt(a)+sqrt(b))`` (the
    constant with the smallest maximum relative error) rounded to ``seed_bits`` fraction bits. A
    full table (one entry per significand) stores ``m**-0.5`` correctly rounded to ``seed_bits``.
    """
    table_bits = config.table_bits
    top_bits = table_bits - 1
    full = table_bits == config.significand_bits
    entries = []
    for j in range(1 << table_bits):
        parity, top = j >> top_bits, j & ((1 << top_bits) - 1)
        if full:
            # m = A / 2**P exactly; round sqrt(2**(2S+P) / A) to nearest (never a tie).
            frac = config.fraction_bits
            a_int = ((1 << frac) | top) << parity
            num = 1 << (2 * seed_bits + frac)
            c = isqrt(num // a_int)
            if 4 * num >= (2 * c + 1) ** 2 * a_int:
                c += 1
            entries.append(c)
        else:
            a = (1 + top / 2 ** top_bits) * 2 ** parity
            b = a + 2.0 ** (parity - top_bits)
            entries.append(round(2 ** seed_bits * 2 / (sqrt(a) + sqrt(b))))
    return tuple(entries)


@lru_cache(maxsize=None)
def datapath(config: Config) -> Datapath:
    frac = config.fraction_bits
    if config.is_float:
        fmt = config.format
        span = max(fmt.bias + frac + 2, fmt.exp_max_field)
    else:
        span = max(config.format.width, config.out_format.width) + 2
    exp_width = span.bit_length() + 2
    if config.seed == "magic":
        seed_bits = frac + 2
        table = ()
        seed_error = magic_seed_error(config.magic, frac)
    elif config.table_bits == config.significand_bits:
        seed_bits = config.significand_bits
        table = None
    else:
        seed_bits = config.table_bits + SEED_GUARD_BITS
        table = None
    if table is None:
        table = lut_contents(config, seed_bits)
        seed_error = lut_error(config, seed_bits, table)
    work_bits = seed_bits if config.newton == 0 else config.result_bits + GUARD_BITS
    table_width = max(table).bit_length() if table else 0
    return Datapath(frac_bits=frac, exp_width=exp_width, seed_bits=seed_bits, work_bits=work_bits,
                    table=table, table_width=table_width, seed_error=seed_error,
                    newton_bias=newton_bias(seed_error, config.newton, work_bits)
                    if config.seed == "lut" else 0)
