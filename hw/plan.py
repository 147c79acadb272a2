"""Where each unit may put pipeline registers, and which of them a configuration enables.

Every unit is a chain of combinational steps separated by *cuts*. Some cuts always hold a
register (the table ROM's synchronous read, the output register); the others are optional.
``Config.pipeline`` is the knob shared by every unit: the number of optional cuts that get a
register (default: all of them, the shortest clock period). :func:`enabled_cuts` places that many
so that the largest estimated logic delay between two registers is as small as possible; the
estimates (``DELAY_NS``, rough iCE40UP5K figures) only rank the placements, the report measures
the result. The latency of a unit is the number of enabled cuts.
"""
from dataclasses import dataclass
from functools import lru_cache

from .blocks.multiply import ROW_MAX_BITS, dsp_tiles, has_split, has_sum, inner_cuts, sum_levels
from .formats import FloatFormat

__all__ = ["Cut", "unit_cuts", "enabled_cuts", "optional_cuts"]

# Rough logic delays of each step on the iCE40UP5K, in ns, from the critical paths of our builds:
# a table read, a product on one SB_MAC16 between fabric registers (~9 ns in the DSP plus ~8 ns of
# routing to and from the die edge), a subtraction, an addition, leading-one detection with the
# shifters around it, rounding, one LUT level with its routing, the route from the fabric to the
# DSPs at the die edge. Carry chains, shifter trees and tile sums scale with their width
# (:func:`_chain_ns`, :func:`_levels_ns`).
# A product's DSP tiles with the register after them packed into the SB_MAC16: from a fabric
# register to that register (route to the die edge, setup of A/B into the DSP's internal register,
# 6.5 ns in IceStorm's database), and from it back to the fabric (clock-to-out 2.01 ns, route).
DSP_IN_NS, DSP_OUT_NS = 12.5, 6.0
DELAY_NS = {"seed": 6, "multiply": 18, "subtract": 10, "add": 14, "normalize": 14, "shift": 14,
            "round": 10, "lut": 2.6, "to_dsp": 4.6}


@dataclass(frozen=True)
class Cut:
    name: str
    before_ns: float       # estimated delay of the logic between the previous cut and this one
    mandatory: bool = False


def _chain_ns(bits):
    """A carry chain of ``bits``: ~5 ns to enter and leave it, 0.28 ns per bit."""
    return 5 + 0.28 * bits


def _levels_ns(bits):
    """A shifter or leading-one tree over ``bits``: one LUT level and its routing per halving."""
    return 4 + DELAY_NS["lut"] * (bits - 1).bit_length()


def _shift_ns(bits):
    """A wide shift by a variable amount with the rounding increment after it (measured on the
    FMA's window and the FP32 activations' packer: about 8 ns plus 0.45 ns per bit)."""
    return 8 + 0.45 * bits


def _unpack_cuts(fmt):
    """Every unit starts by unpacking its operands: a leading-one count over the fraction (float)
    or the magnitude (fixed point, after a negation), then the normalizing shift."""
    is_float = isinstance(fmt, FloatFormat)
    bits = fmt.man_bits if is_float else fmt.width
    count = _levels_ns(bits) + (0 if is_float else _chain_ns(bits))
    shift = _levels_ns(bits) + DELAY_NS["lut"] + DELAY_NS["to_dsp"]
    return [Cut("unpack_count", count), Cut("unpack", shift)]


def _fields_cut():
    """Float fields as they are (:class:`~hw.blocks.unpack.FloatFields`): the class, the hidden bit,
    the exponent, and the route to the DSPs."""
    return Cut("unpack", DELAY_NS["lut"] * 2 + DELAY_NS["to_dsp"])


def _product_parts_ns(a_width, b_width, square=False, row_bits=ROW_MAX_BITS):
    """A :class:`~hw.blocks.multiply.Product`'s (or ``Square``'s) three parts, between its optional
    registers: its DSP tiles (the route to them and the setup of their output register, which
    Yosys packs into the SB_MAC16) beside its LUT rows' carry-save reduction; the DSPs'
    clock-to-out and route back with the carry-save sum of the DSP products and the rows' partial
    sums; the carry chain (nothing after the DSPs without a sum)."""
    rows, final = sum_levels(a_width, b_width, square, row_bits)
    dsp = dsp_tiles(a_width, b_width, square, row_bits)
    before = max(DSP_IN_NS if dsp else 0.0, DELAY_NS["lut"] * (rows + 1) if rows or not dsp else 0.0)
    middle = DSP_OUT_NS if dsp else 0.0
    chain = 0.0
    if has_sum(a_width, b_width, square, row_bits):
        middle += DELAY_NS["lut"] * final
        chain = _chain_ns(a_width + b_width)
    return before, middle, chain


def _product_ns(a_width, b_width, square=False, row_bits=ROW_MAX_BITS):
    """A :class:`~hw.blocks.multiply.Product` (or ``Square``) with no register inside."""
    return sum(_product_parts_ns(a_width, b_width, square, row_bits))


def _product_cuts(name, a_width, b_width, after_ns=0.0, square=False, row_bits=ROW_MAX_BITS, split=True):
    """The cuts of a step ``name`` that multiplies (:class:`hw.blocks.multiply.Product`, or
    squares: ``Square``) and then spends ``after_ns`` more: an optional ``<name>_tiles`` register
    after its DSP tiles (inside the SB_MAC16s) and its LUT rows' partial sums and, with ``split``
    where the product has one (:func:`~hw.blocks.multiply.has_split`), an optional
    ``<name>_split`` register before its carry chain."""
    before, middle, chain = _product_parts_ns(a_width, b_width, square, row_bits)
    tiles, split_cut = inner_cuts(name)
    if split and has_split(a_width, b_width, square, row_bits):
        return [Cut(tiles, before), Cut(split_cut, middle), Cut(name, chain + after_ns)]
    return [Cut(tiles, before), Cut(name, middle + chain + after_ns)]


def _newton(index, r_bits, dp):
    square, t, h, r = (f"newton{index}_{step}" for step in ("square", "t", "h", "r"))
    w, rows = dp.work_bits, dp.row_bits
    return (_product_cuts(square, r_bits + 1, r_bits + 1, square=True, row_bits=rows)
            + _product_cuts(t, dp.frac_bits + 2, w + 2, row_bits=rows) + [Cut(h, DELAY_NS["subtract"])]
            + _product_cuts(r, r_bits + 1, w + 2, row_bits=rows))


def unit_cuts(config):
    """The cuts of ``config``'s unit, input to output."""
    if config.function == "fma":
        p = config.format.precision
        # The FMA's alignment window: wide shifts and carry chains. Its final shift (with the round
        # increment and the routing of a wide mux tree) grows about linearly with the window:
        # ~51 ns with the packer for FP32, under 32 ns for BF16 (measured).
        window = 2 * p + 3
        # Operands are not normalized (FloatFields): the final normalization covers a subnormal's
        # leading zeros, since the window keeps every bit that can reach the rounding position.
        return tuple([_fields_cut()] + _product_cuts("multiply", p, p)
                     + [Cut("align", _levels_ns(window) + 2 * DELAY_NS["lut"]),
                        Cut("add", _chain_ns(window) + 2 * DELAY_NS["lut"]),
                        Cut("normalize", 2 * _levels_ns(window)), Cut("shift", _shift_ns(window)),
                        Cut("out", DELAY_NS["round"], mandatory=True)])
    from .datapath import datapath, product_lead_min
    dp = datapath(config)
    w, p = dp.work_bits, dp.x_frac_bits + 1
    if dp.subnormal_x_passes and not config.runtime_alpha:
        cuts = [_fields_cut()]           # x unnormalized; no other operand
    else:
        cuts = _unpack_cuts(config.format)
    if config.is_activation:
        # The square table's read is the "square" register; a constant power-of-two alpha is a shift.
        if dp.square_rom:
            cuts.append(Cut("square", DELAY_NS["seed"], mandatory=True))
        else:
            cuts += _product_cuts("square", p, p, square=True, row_bits=dp.row_bits)
        if dp.alpha_shift:
            cuts.append(Cut("alpha", 0))
        else:
            cuts += _product_cuts("alpha", dp.alpha_width, w + 2, row_bits=dp.row_bits)
        # 1 + T aligned: a shift of T by its exponent, then the sum across the word.
        cuts += [Cut("sum_align", _levels_ns(w + 3)), Cut("sum", _chain_ns(w + 4)),
                 Cut("add", DELAY_NS["normalize"])]
    # The table read; a polynomial seed's operand u is registered beside it, and Yosys packs that
    # register into the DSP of c1*u: the stage before reaches the DSPs at the die edge.
    seed_ns = DELAY_NS["seed"] + (DELAY_NS["to_dsp"] if config.seed in ("pwl", "quad") else 0)
    cuts.append(Cut("seed", seed_ns, mandatory=config.seed != "magic"))
    if config.seed == "pwl":            # the line c0 - c1*u after the table read
        cuts += _product_cuts("seed_linear", dp.slope_width, dp.poly_u_bits, DELAY_NS["subtract"],
                              row_bits=dp.row_bits, split=False)
    elif config.seed == "quad":         # c1*u beside ut**2; c2*v beside c0 - c1*u; their sum
        shapes = [(dp.slope_width, dp.poly_u_bits, False, dp.row_bits),
                  (dp.square_bits, dp.square_bits, True, dp.row_bits)]
        parts = [_product_parts_ns(*shape) for shape in shapes]     # one tile register for both
        cuts.append(Cut(inner_cuts("seed_products")[0], max(before for before, _, _ in parts)))
        products = max(middle + chain for _, middle, chain in parts)
        cuts += [Cut("seed_products", products),
                 Cut("seed_curve", max(_product_ns(dp.curve_width, dp.square_bits, row_bits=dp.row_bits),
                                       _chain_ns(dp.seed_bits + 2))),
                 Cut("seed_sum", _chain_ns(dp.seed_bits + 2))]
    r_bits = dp.seed_bits
    for index in range(config.newton):
        cuts += _newton(index, r_bits, dp)
        r_bits = w
    if config.is_backward and dp.seed_power == 1:
        cuts += (_product_cuts("r2", w + 1, w + 1, square=True, row_bits=dp.row_bits)
                 + _product_cuts("r3", w + 1, w + 1, row_bits=dp.row_bits))
    if config.is_activation:
        cuts += _product_cuts("product", p, w + 1, row_bits=dp.row_bits)
    if config.is_activation:
        # The rounded value v (w + 2 bits) may be shifted right to a subnormal position, then
        # rounded and packed with a carry chain across the word. A result at most one binade below
        # emin leaves a few shift amounts (a mux tree) with the guard and sticky bits after it.
        out = max(DELAY_NS["round"], _chain_ns(config.out_width) + DELAY_NS["lut"])
        if config.is_float and dp.below_emin_max is not None:
            amounts = w + 2 - product_lead_min(config, dp) + dp.below_emin_max
            shift = _levels_ns(amounts) + 2 * DELAY_NS["lut"]
        else:
            shift = _shift_ns(w + 2)
        if config.is_float:
            # The leading one beside each position's exponent tests, then their selection.
            cuts.append(Cut("pack_lead", DELAY_NS["normalize"] - 2 * DELAY_NS["lut"]))
            normalize = 2 * DELAY_NS["lut"]
        else:
            normalize = DELAY_NS["normalize"]
    else:
        shift, out, normalize = DELAY_NS["shift"], DELAY_NS["round"], DELAY_NS["normalize"]
    cuts += [Cut("normalize", normalize), Cut("shift", shift), Cut("out", out, mandatory=True)]
    return tuple(cuts)


def optional_cuts(config):
    return sum(not cut.mandatory for cut in unit_cuts(config))


@lru_cache(maxsize=None)
def _place(cuts, level):
    """Enable every mandatory cut and exactly ``level`` optional ones, minimising the largest sum of
    delays between consecutive enabled cuts, then the sum of their squares (so that, among equally
    long worst stages, the others are balanced too; dynamic programming over the chain)."""
    n = len(cuts)
    # best[i][j]: (largest segment, sum of squares, enabled cuts) for the prefix ending with cut i
    # enabled, j optional cuts used.
    best = [[None] * (level + 1) for _ in range(n)]
    for i in range(n):
        used = 0 if cuts[i].mandatory else 1
        for j in range(used, level + 1):
            candidates = []
            span = 0.0
            for p in range(i - 1, -2, -1):
                span += cuts[p + 1].before_ns
                if p == -1:
                    if j == used:
                        candidates.append((span, span * span, (i,)))
                    break
                previous = best[p][j - used]
                if previous is not None:
                    candidates.append((max(previous[0], span), previous[1] + span * span, previous[2] + (i,)))
                if cuts[p].mandatory:
                    break
            if candidates:
                best[i][j] = min(candidates)
    result = best[n - 1][level]
    if result is None:
        raise ValueError(f"cannot enable {level} optional cuts")
    return frozenset(cuts[i].name for i in result[2])


def enabled_cuts(config):
    """Names of the cuts that hold a register in ``config``'s unit."""
    cuts = unit_cuts(config)
    level = optional_cuts(config) if config.pipeline is None else config.pipeline
    return _place(cuts, level)
