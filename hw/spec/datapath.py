"""Widths and table contents of the rsqrt datapath, computed once from a Config.

Both the golden model and the RTL take every width, constant and table entry from
:func:`datapath`, so the two cannot drift. ``config`` is a :class:`hw.spec.config.Config`. Fixed-point quantities are integers with a stated
number of fraction bits:

* ``MR``: reduced argument ``m = 1.f * 2**parity`` in ``[1, 4)``, ``frac_bits`` fraction bits.
* ``R0``: seed, ``seed_bits`` fraction bits, value in ``(0.25, 2)``.
* ``R``: Newton iterate, ``work_bits`` fraction bits (``seed_bits`` with no Newton stage).
"""
from dataclasses import dataclass, replace
from functools import lru_cache
from fractions import Fraction
from math import frexp, isqrt, sqrt
from types import SimpleNamespace

import numpy as np

from .devices import Device
from .magic import magic_seed_error
from .residual import residual, sign_from
from .seeds import pack_parabolas, parabolas, poly_seed
from .tiles import ROWS_ONLY, dsp_tiles, has_split, sum_levels

__all__ = ["Datapath", "datapath", "lut_contents", "pwl_contents", "quad_contents", "subnormal_x_passes", "subnormal_x_vanishes",
           "product_lead_min", "core_alpha", "residual_square_bits"]

GUARD_BITS = 4
# Float activations square significands of up to this many fraction bits with a table (block RAM)
# rather than a DSP multiplier: BF16 (7) and FP16 (10); so does a quad seed its ``ut`` (FP16).
SQUARE_ROM_MAX_BITS = 10
SEED_GUARD_BITS = 4
# The activations have more products than the UP5K has DSPs (an FP32 one: x**2, the seed's three,
# the final one): their tiles up to 8 bits wide (an FP32 significand's low byte) are LUT rows.
ACTIVATION_ROW_BITS = 8
CORRECTLY_ROUNDED_ROW_BITS = 12     # significands up to this wide: the 16-bit formats


@dataclass(frozen=True)
class Datapath:
    frac_bits: int        # fraction bits of the operand of the inverse square root (rsqrt: P)
    x_frac_bits: int      # fraction bits of the normalized input significand (P)
    magic_bits: int       # fraction bits the magic constant is defined on
    exp_width: int        # signed width of unbiased exponents and of k
    seed_bits: int        # S: fraction bits of the seed R0
    work_bits: int        # W: fraction bits of the Newton iterates and of the value rounded
    table: tuple          # lut seed entries (R0 values), pwl/quad coefficients; empty for magic
    table_width: int      # bits stored per entry
    seed_error: float     # maximum relative error of the seed
    newton_bias: int      # added to 3 (work_bits fraction bits) in the last Newton stage
    alpha_sig: int        # activations, constant alpha: significand, work_bits fraction bits
    alpha_exp: int        # ... and exponent: alpha ~= alpha_sig / 2**work_bits * 2**alpha_exp
    big_exp: int          # activations: exponent that stands in for an infinite input
    square_rom: bool      # activations: x**2 read from a table of exact squares (SquareRom)
    seed_power: int       # the seed approximates m**-(seed_power/2): 1, or 3 (Config.seed_power)
    poly_u_bits: int      # pwl/quad seed: operand fraction bits below the index (the position u)
    slope_width: int      # pwl/quad seed: bits of the slope c1 (below c0 in each entry)
    curve_width: int      # quad seed: bits of the curvature c2 (the low part of each entry)
    square_bits: int      # quad seed: D, the top bits of u that are squared
    row_bits: int         # products: tiles with a side of at most this many bits are LUT rows
    significand_row_bits: int  # ... in the products with the significand of x or grad ("product", "cube")
    subnormal_x_passes: bool  # forward float activations: a subnormal x is the result itself
    subnormal_x_vanishes: bool  # backward float activations: a subnormal x's alpha*x**2 vanishes beside 1
    residual: object      # rounding "residual": the exact decision's widths (hw.spec.residual), else None
    decided_word_bits: int  # a float rsqrt with the exact decision: bits of the two packed words
    #                         (T and T + 1 at the result's last place) it selects between; else 0
    device: Device        # the device model whose DSP tiles the products use

    @property
    def below_emin_max(self):
        """Forward float activations that pass a subnormal ``x`` through: their results lie at most
        one binade below ``emin`` (``|f(x)|`` grows with ``|x|`` and is ``2**emin`` to within
        ``2**-(man_bits + 2)`` at the smallest normal ``x``; a core error under 0.4, which Newton
        stages keep, cannot halve it), so the packer's subnormal shift is one bit. ``None``: any."""
        return 1 if self.subnormal_x_passes and self.seed_error <= 0.4 else None

    @property
    def slope_row_bits(self):
        """``row_bits`` of the polynomial seed's ``c1*u``. ``c1`` arrives from the block RAM late
        in its stage (clock-to-out and a long route), so only ``u``'s strip beyond the DSP tiles
        is LUT rows, and a wider strip of ``c1`` takes a DSP tile: few rows, few adder levels
        after the read (the FP16 backward units: 5 rows instead of 11, one SB_MAC16 more)."""
        strip = self.poly_u_bits % self.device.dsp_width
        return min(self.row_bits, strip) if strip else self.row_bits

    @property
    def seed_split(self):
        """A quad seed (without a table of squares) whose ``c1*u`` is wide enough for a ``split``
        register before its carry chain (:func:`~hw.spec.tiles.has_split`; the backward units'):
        the seed's products then have a ``seed_products_split`` cut."""
        return (self.curve_width > 0 and not self.seed_square_rom
                and has_split(self.slope_width, self.poly_u_bits, False, self.slope_row_bits, self.device))

    @property
    def seed_slope_rows(self):
        """A quad seed (without a table of squares or a split register) whose ``c1*u`` has
        carry-save levels after its DSP tile (FP32's 19x20 bits: a tile and ten rows): its
        ``seed_products`` register holds the product's two carry-save rows, from which ``c0 -
        c1*u`` is formed beside ``c2*v`` (one 3:2 level and one carry chain), so that the DSP's
        return, the levels and a 23-bit chain (21 ns on the FP32 ISRLU) are not one stage."""
        return (self.curve_width > 0 and not self.seed_square_rom and not self.seed_split
                and sum_levels(self.slope_width, self.poly_u_bits, False, self.slope_row_bits, self.device)[1] > 0)

    @property
    def seed_curve_tiles(self):
        """A quad seed (without a table of squares) whose ``c2*v`` sums a DSP tile and LUT rows
        through carry-save levels (more than two terms: the FP32 backward units' 15x19 bits, a
        DSP tile and three rows): the seed then has a ``seed_curve_tiles`` cut after its tiles,
        where the DSP without its output register, the levels and the carry chain took 23 ns in
        one stage. (FP16's 13x17 bits, a DSP tile and one row, need no level.)"""
        shape = (self.curve_width, self.square_bits, False, self.row_bits, self.device)
        return (self.curve_width > 0 and not self.seed_square_rom
                and dsp_tiles(*shape) > 0 and sum(sum_levels(*shape)) > 0)

    @property
    def seed_square_rom(self):
        """A quad seed whose ``ut**2`` is short enough to be read from a table of squares (block
        RAM) beside its coefficients, so that ``c2*v`` runs beside ``c1*u``."""
        return 0 < self.square_bits <= SQUARE_ROM_MAX_BITS

    @property
    def alpha_shift(self):
        """A constant power-of-two alpha: its product is a shift (``alpha_sig`` is 0 at run time)."""
        return self.alpha_sig != 0 and self.alpha_sig & (self.alpha_sig - 1) == 0

    @property
    def alpha_width(self):
        """Bits of alpha's significand as a multiplier operand (``work_bits`` fraction bits)."""
        return self.alpha_sig.bit_length() if self.alpha_sig else self.work_bits + 1


def _interval_ends(config):
    """Ends ``a, b`` of the operand interval ``[a, b)`` of every table entry (index as
    :func:`lut_contents`), as float64 arrays."""
    top_bits = config.table_bits - 1
    j = np.arange(1 << config.table_bits)
    parity, top = j >> top_bits, j & ((1 << top_bits) - 1)
    a = (1 + top / 2.0 ** top_bits) * 2.0 ** parity
    return a, a + 2.0 ** (parity - top_bits)


def lut_error(config, seed_bits: int, table):
    """Maximum relative error of a table seed over its intervals (exact at the interval ends)."""
    a, b = _interval_ends(config)
    if config.table_bits == config.core_significand_bits:
        b = a
    c = np.asarray(table, dtype=np.float64) / 2 ** seed_bits
    return float(max(np.abs(c * np.sqrt(a) - 1).max(), np.abs(c * np.sqrt(b) - 1).max()))


def pwl_contents(config, seed_bits: int):
    """Piecewise-linear seed of ``m**-q`` (``q = seed_power/2``): entry ``j`` (index as
    :func:`lut_contents`) holds a line ``r0 = c0 - floor(c1 * u / 2**U)`` over its interval, ``u``
    the ``U`` operand fraction bits below the index; both in units of ``2**-seed_bits``. The line is
    the minimax one of the convex ``m**-q``: the secant's slope, lowered by half its largest gap.
    Returns ``(entries, slope_width, u_bits)`` with ``entry = c0 << slope_width | c1``."""
    q = config.seed_power / 2
    u_bits = config.core_significand_bits - config.table_bits
    a, b = _interval_ends(config)
    fa, fb = a ** -q, b ** -q
    slope = (fa - fb) / (b - a)                         # the secant falls by this per unit of m
    touch = (slope / q) ** (-1 / (q + 1))               # where m**-q has the secant's slope
    gap = fa - slope * (touch - a) - touch ** -q
    c0 = np.round((fa - gap / 2) * 2.0 ** seed_bits).astype(np.int64)
    c1 = np.round((fa - fb) * 2.0 ** seed_bits).astype(np.int64)
    slope_width = int(c1.max()).bit_length()
    entries = tuple(int(k0) << slope_width | int(k1) for k0, k1 in zip(c0, c1))
    return entries, slope_width, u_bits


def quad_contents(config, seed_bits: int):
    """Piecewise-quadratic seed of ``m**-q`` (``q = seed_power/2``): entry ``j`` (index as
    :func:`lut_contents`) holds a parabola ``r0 = c0 - floor(c1 * u / 2**U) + floor(c2 * v / 2**D)``
    over its interval, ``u`` the ``U`` operand fraction bits below the index, ``v = floor(ut**2 /
    2**D)`` with ``ut`` the top ``D`` bits of ``u``; coefficients in units of ``2**-seed_bits``. The
    parabola interpolates ``m**-q`` at the three Chebyshev nodes of the interval (error within a
    few per cent of the minimax one). ``D`` is four bits more than ``c2`` has, so that the
    truncated square costs at most 3/16 of a unit. Returns ``(entries, slope_width, curve_width,
    u_bits, square_bits)`` with ``entry = (c0 << slope_width | c1) << curve_width | c2``."""
    q = config.seed_power / 2
    u_bits = config.core_significand_bits - config.table_bits
    a, b = _interval_ends(config)
    entries, slope_width, curve_width = pack_parabolas(*parabolas(lambda m: m ** -q, a, b - a, seed_bits))
    return entries, slope_width, curve_width, u_bits, min(u_bits, curve_width + 4)


def residual_square_bits(config, poly, seed_bits, seed_error):
    """The bits ``D`` of ``ut`` a quad seed squares when the exact decision rounds its result: the
    approximation need only be within half an ulp there (:mod:`hw.spec.residual`), so the square
    is read from a table (``D = SQUARE_ROM_MAX_BITS``, beside the coefficients: one product step
    fewer) where the truncation still leaves it so. Truncating ``u`` to ``D`` bits, ``v`` and
    ``c2 * v`` lowers ``r`` by less than ``3 * c2 / 2**D + 1`` units of ``2**-seed_bits`` (``u**2``
    by less than ``2 * 2**-D``, ``v``'s floor by one unit of ``2**-D``, the product's by one unit);
    with the fit's own error (relative, ``r <= 1``) that must stay below half an ulp of ``r`` in
    ``(0.5, 1]``, ``2**(seed_bits - precision - 1)`` units. FP32: 6 + 49 of 64 units (measured on
    every significand: 34)."""
    bits = SQUARE_ROM_MAX_BITS
    if poly["square_bits"] <= bits:
        return poly["square_bits"]
    loss = 3 * ((1 << poly["curve_width"]) - 1) / 2 ** bits + 1
    budget = 2.0 ** (seed_bits - config.result_bits - 1)
    return bits if seed_error * 2 ** seed_bits + loss < budget else poly["square_bits"]


def _residual(config, work_bits, frac, poly, table):
    """The exact decision's widths; with a quad seed alone (its ``r`` known for every significand
    here), the bit its sign is summed from (:func:`hw.spec.residual.sign_from`)."""
    res = residual(config.result_bits, work_bits, frac, config.device_model)
    if config.seed != "quad" or config.newton != 0:
        return res
    return replace(res, sign_from=_quad_sign_from(res, config.table_bits, table, frac,
                                                  *(poly[key] for key in POLY_FIELDS)))


POLY_FIELDS = ("slope_width", "curve_width", "poly_u_bits", "square_bits")


@lru_cache(maxsize=None)
def _quad_sign_from(res, table_bits, table, frac, *poly):
    """:func:`~hw.spec.residual.sign_from` over every significand of both parities (FP32: 2**25,
    about 3 s; cached per seed)."""
    fields = SimpleNamespace(table=table, frac_bits=frac, **dict(zip(POLY_FIELDS, poly)))
    sig = np.arange(1 << frac, 2 << frac, dtype=np.uint64)
    r = np.concatenate([poly_seed("quad", table_bits, fields, np.full(len(sig), parity), sig) for parity in (0, 1)])
    return sign_from(res, r, np.concatenate([sig, sig << np.uint64(1)]))


def poly_error(config, fields, samples=33):
    """Maximum relative error of a quantized polynomial seed (``pwl`` or ``quad``) against
    ``m**-q``, sampled across every interval; ``fields`` has the :class:`Datapath` attributes the
    seed reads (``table``, ``seed_bits`` and the coefficient widths)."""
    u_bits, top_bits = fields.poly_u_bits, config.table_bits - 1
    u = np.unique(np.linspace(0, (1 << u_bits) - 1, samples).astype(np.uint64))
    j = np.arange(1 << config.table_bits)[:, None]
    parity = (j >> top_bits) + np.zeros(len(u), dtype=np.int64)
    sig = (((1 << (top_bits + u_bits)) | ((j & ((1 << top_bits) - 1)) << u_bits)).astype(np.uint64)
           | u[None, :])
    r0 = poly_seed(config.seed, config.table_bits, fields, parity, sig).astype(np.float64) / 2.0 ** fields.seed_bits
    m = sig.astype(np.float64) / 2.0 ** (top_bits + u_bits) * 2.0 ** parity
    return float(np.abs(r0 * m ** (config.seed_power / 2) - 1).max())


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


def lut_contents(config, seed_bits: int):
    """Seed table: entry ``j`` = ``(parity << (T-1)) | top fraction bits``.

    A partial table stores, for its interval ``[a, b)`` of ``m``, ``2/(sqrt(a)+sqrt(b))`` (the
    constant with the smallest maximum relative error) rounded to ``seed_bits`` fraction bits. A
    full table (one entry per significand) stores ``m**-0.5`` correctly rounded to ``seed_bits``.
    """
    table_bits = config.table_bits
    top_bits = table_bits - 1
    full = table_bits == config.core_significand_bits
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


def subnormal_x_passes(config):
    """Whether ``f(x)`` rounds to ``x`` for every subnormal ``x`` of a forward float unit, for every
    alpha it can see (the constant, or any finite one of the format at run time).

    ``f(x) = x * (1 - d)`` with ``0 <= d <= alpha*x**2/2 < alpha * 2**(2*emin) / 2``; below half a
    subnormal ulp of ``x`` when ``d < 2**-(man_bits + 1)``. This asks for a margin of two more
    bits: ``alpha * 2**(2*emin) <= 2**-(man_bits + 2)``. Then the unit passes such an ``x`` through
    (the correctly rounded result) and never normalizes one. True for BF16, FP16 and FP32 with any
    alpha of the format; false for a format whose bias is small beside its fraction (e5m12) with a
    large or run-time alpha: those normalize ``x`` as the backward units do.
    """
    if not (config.is_activation and config.is_float) or config.is_backward or config.entry.sigmoid_form:
        return False
    fmt = config.format
    alpha = Fraction(2) ** (fmt.emax + 1) if config.runtime_alpha else Fraction(config.alpha)
    return alpha * Fraction(2) ** (2 * fmt.emin) <= Fraction(2) ** -(fmt.man_bits + 2)


def subnormal_x_vanishes(config, work_bits, alpha_exp):
    """Whether a backward float unit (not an alpha gradient, which takes ``x**3``) may square a
    subnormal ``x`` unnormalized: ``x`` enters only through ``1 + alpha*x**2``, whose alignment
    (:class:`~hw.rtl.blocks.arith.AddOne`, ``golden.blocks.add_one``) drops ``T = alpha*x**2``
    (below 8, ``work_bits`` fraction bits, at exponent ``2*ex + alpha_exp``) entirely once that
    exponent is at most ``-(work_bits + 3)``. A subnormal's fields give ``ex = emin``, above its
    normalized exponent, so if ``2*emin + alpha_exp <= -(work_bits + 3)`` for every alpha the unit
    can see (the constant's ``alpha_exp``, or up to ``emax`` at run time), ``u = 1`` either way and
    the unit needs no leading-zero count and shift for ``x`` (the square's value does not matter
    there: the RTL's table of squares reads the fraction as ``1.f``, the golden model squares
    ``0.f``). True for BF16 and FP32 with any alpha and for e5m2 with a constant one below
    2**8; false for FP16 (``2*emin = -28`` against its 30 work bits)."""
    if not (config.is_activation and config.is_float and config.is_backward) or config.entry.alpha_gradient:
        return False
    top = config.format.emax if config.runtime_alpha else alpha_exp
    return 2 * config.format.emin + top <= -(work_bits + 3)


def product_lead_min(config, dp):
    """Lowest bit of the leading one of the final product ``v`` (``work_bits + 2`` bits): ``x * r``
    (or ``grad * r**3``) is at least 1/8 when ``r`` is near ``1/sqrt(m)`` in (1/2, 1]; a magic seed
    far from its best constant can leave ``r`` anywhere below 2 after the Newton stages."""
    return 0 if config.seed == "magic" else dp.work_bits - 3


def core_alpha(config):
    """The alpha the inverse-square-root core sees: ``alpha/4`` for a sigmoid form (its ``x/2``
    squared), else ``alpha``."""
    return config.alpha / 4 if config.entry.sigmoid_form else config.alpha


def _alpha(alpha, work_bits):
    """``alpha`` as ``(sig, exp)``: ``sig`` rounded to ``work_bits`` fraction bits, in ``[1, 2]``."""
    mantissa, exponent = frexp(alpha)                  # alpha = mantissa * 2**exponent, [0.5, 1)
    sig = round(Fraction(mantissa) * 2 ** (work_bits + 1))
    if sig == 1 << (work_bits + 1):
        return 1 << work_bits, exponent
    return sig, exponent - 1


def _row_bits(config):
    """Product tiles with a side of at most this many bits are LUT rows."""
    if not config.is_activation:
        return config.device_model.row_max_bits
    if _significand_rows(config):
        return max(ACTIVATION_ROW_BITS, config.significand_bits)
    return ACTIVATION_ROW_BITS


def _significand_rows(config):
    """The alpha gradients of the 16-bit formats multiply their significand-wide operands (``x``,
    ``grad``) in LUT rows alone, so that their extra products leave the SB_MAC16 to the wide ones
    and FP16's fits the UP5K's eight."""
    return config.entry.alpha_gradient and config.significand_bits <= CORRECTLY_ROUNDED_ROW_BITS


@lru_cache(maxsize=None)
def datapath(config) -> Datapath:
    """Every width, constant and table of ``config``'s datapath (cached per configuration)."""
    frac = config.core_significand_bits - 1
    magic_bits = config.fraction_bits
    poly = {"poly_u_bits": 0, "slope_width": 0, "curve_width": 0, "square_bits": 0}
    if config.seed == "magic":
        seed_bits = magic_bits + 2
        table = ()
        seed_error = magic_seed_error(config.magic, magic_bits)
    elif config.seed == "pwl":
        seed_bits = 2 * config.table_bits + SEED_GUARD_BITS
        table = ()
    elif config.seed == "quad":
        seed_bits = 3 * config.table_bits + SEED_GUARD_BITS
        table = ()
    elif config.table_bits == config.core_significand_bits:
        seed_bits = config.core_significand_bits
        table = None
    else:
        seed_bits = config.table_bits + SEED_GUARD_BITS
        table = None
    if config.is_activation:
        seed_bits = min(seed_bits, frac)        # never finer than the iterates (work_bits = frac)
    if table is None:
        table = lut_contents(config, seed_bits)
        seed_error = lut_error(config, seed_bits, table)
    if config.seed == "pwl":
        table, poly["slope_width"], poly["poly_u_bits"] = pwl_contents(config, seed_bits)
    elif config.seed == "quad":
        (table, poly["slope_width"], poly["curve_width"], poly["poly_u_bits"],
         poly["square_bits"]) = quad_contents(config, seed_bits)
    if config.seed in ("pwl", "quad"):
        seed_error = poly_error(config, SimpleNamespace(**poly, table=table, seed_bits=seed_bits,
                                                        frac_bits=frac))
    if config.seed == "quad" and config.rounding == "residual" and config.newton == 0:
        rom_bits = residual_square_bits(config, poly, seed_bits, seed_error)
        if rom_bits != poly["square_bits"]:
            poly["square_bits"] = rom_bits
            seed_error = poly_error(config, SimpleNamespace(**poly, table=table, seed_bits=seed_bits,
                                                            frac_bits=frac))
    if config.is_activation:
        work_bits = frac
    else:
        work_bits = seed_bits if config.newton == 0 else config.result_bits + GUARD_BITS
    fmt = config.format
    if config.is_float:
        low, high = fmt.emin - fmt.man_bits, fmt.emax + 1
    else:
        low, high = -fmt.frac_bits, fmt.int_bits
        if config.out_format is not None:
            low, high = min(low, -config.out_format.frac_bits), max(high, config.out_format.int_bits)
    big_exp = 0
    alpha_sig = alpha_exp = 0
    if config.is_activation:
        if not config.runtime_alpha:
            alpha_sig, alpha_exp = _alpha(core_alpha(config), work_bits)
            low, high = min(low, alpha_exp), max(high, alpha_exp + 1)
        # An infinite x becomes 2**big_exp: big enough that 1 vanishes beside alpha*x**2 (for any
        # alpha of the format, or the configured one) and that f'(x) underflows every output.
        big_exp = work_bits + 8 + 2 * (high - low)
    span = 4 * (max(abs(low), abs(high)) + big_exp + 4)
    exp_width = span.bit_length() + 1
    table_width = max(table).bit_length() if table else 0
    return Datapath(frac_bits=frac, x_frac_bits=config.fraction_bits, magic_bits=magic_bits,
                    exp_width=exp_width, seed_bits=seed_bits, work_bits=work_bits,
                    table=table, table_width=table_width, seed_error=seed_error,
                    newton_bias=newton_bias(seed_error, config.newton, work_bits)
                    if config.seed == "lut" else 0,
                    alpha_sig=alpha_sig, alpha_exp=alpha_exp, big_exp=big_exp,
                    square_rom=config.is_activation and config.is_float
                    and config.fraction_bits <= SQUARE_ROM_MAX_BITS,
                    seed_power=config.seed_power, **poly,
                    row_bits=_row_bits(config),
                    significand_row_bits=ROWS_ONLY if _significand_rows(config) else _row_bits(config),
                    subnormal_x_passes=subnormal_x_passes(config),
                    subnormal_x_vanishes=subnormal_x_vanishes(config, work_bits, alpha_exp),
                    device=config.device_model,
                    residual=_residual(config, work_bits, frac, poly, table)
                    if config.rounding == "residual" else None,
                    decided_word_bits=config.format.width - 1
                    if config.rounding == "residual" and config.is_float else 0)
