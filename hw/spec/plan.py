"""Where each unit may put pipeline registers, and which of them a configuration enables.

Every unit is a chain of combinational steps separated by *cuts*. Some cuts always hold a
register (the table ROM's synchronous read, the output register); the others are optional.
``Config.pipeline`` is the knob shared by every unit: the number of optional cuts that get a
register (default: all of them, the shortest clock period). :func:`enabled_cuts` places that many
so that the largest estimated logic delay between two registers is as small as possible; the
estimates come from the configuration's device model (:mod:`hw.spec.devices`) and only rank the
placements, the report measures the result. The latency of a unit is the number of enabled cuts.

Each unit family has its cut list here (:func:`rsqrt_cuts`, :func:`activation_cuts`,
:func:`fma_cuts`, :func:`select_cuts`, :func:`elu_cuts`, :func:`logistic_cuts`), because the latency is part of the specification (the configuration, the
descriptor and the test vectors need it without the RTL). The RTL registers at these cuts by name
through :class:`hw.rtl.pipeline.Stages`, which checks at elaboration that it used every planned
cut once and no other.
"""
from dataclasses import dataclass, replace
from functools import lru_cache

from .datapath import datapath, product_lead_min
from .elu import elu_datapath
from .fma import GROUP_LEVELS, fma_window
from .formats import FloatFormat, significand_span
from .functions import Family
from .isru_sigmoid import isru_sigmoid_tail
from .logistic import kind_of, logistic_datapath
from .tiles import dsp_tiles, has_split, has_sum, inner_cuts, product_width, sum_levels, table_split

__all__ = ["Cut", "unit_cuts", "enabled_cuts", "optional_cuts", "latency", "rsqrt_cuts", "activation_cuts", "fma_cuts", "select_cuts", "elu_cuts",
           "logistic_cuts", "alpha_register"]


@dataclass(frozen=True)
class Cut:
    name: str
    before_ns: float       # estimated delay of the logic between the previous cut and this one
    mandatory: bool = False


def _unpack_cuts(fmt, device):
    """Every unit starts by unpacking its operands: a leading-one count over the fraction (float)
    or the magnitude (fixed point, after a negation), then the normalizing shift."""
    is_float = isinstance(fmt, FloatFormat)
    bits = fmt.man_bits if is_float else fmt.width
    count = device.levels_ns(bits) + (0 if is_float else device.chain_ns(bits))
    shift = device.levels_ns(bits) + device.ns("lut") + device.ns("to_dsp")
    return [Cut("unpack_count", count), Cut("unpack", shift)]


def _fields_cut(device):
    """Float fields as they are (:class:`~hw.rtl.blocks.unpack.FloatFields`): the class, the hidden
    bit, the exponent, and the route to the DSPs."""
    return Cut("unpack", device.ns("lut") * 2 + device.ns("to_dsp"))


def _product_parts_ns(device, a_width, b_width, square=False, row_bits=None, low_bits=None, row_levels=None):
    """A product's (or square's) three parts, between its optional registers: its DSP tiles (the
    route to them and the setup of their output register, which Yosys packs into the SB_MAC16)
    beside its LUT rows' carry-save reduction; the DSPs' clock-to-out and route back with the
    carry-save sum of the DSP products and the rows' partial sums; the carry chain (nothing after
    the DSPs without a sum)."""
    rows, final = sum_levels(a_width, b_width, square, row_bits, device, low_bits, row_levels)
    dsp = dsp_tiles(a_width, b_width, square, row_bits, device, low_bits)
    lut = device.ns("lut")
    before = max(device.ns("dsp_in") if dsp else 0.0, lut * (rows + 1) if rows or not dsp else 0.0)
    middle = device.ns("dsp_out") if dsp else 0.0
    chain = 0.0
    if has_sum(a_width, b_width, square, row_bits, device, low_bits):
        middle += lut * final
        chain = device.sum_ns(product_width(a_width, b_width, low_bits))
    return before, middle, chain


def _product_cuts(device, name, a_width, b_width, after_ns=0.0, square=False, row_bits=None, split=True,
                  beside_ns=0.0, low_bits=None, row_levels=None):
    """The cuts of a step ``name`` that multiplies (or squares) and then spends ``after_ns`` more
    (and ``beside_ns`` on other values before its tile register; ``row_levels``: see
    :func:`~hw.spec.tiles.sum_levels`):
    an optional ``<name>_tiles`` register after its DSP tiles (inside the SB_MAC16s) and its LUT
    rows' partial sums and, with ``split`` where the product has one
    (:func:`~hw.spec.tiles.has_split`), an optional ``<name>_split`` register before its carry
    chain (a product modulo ``2**low_bits``: :func:`~hw.spec.tiles.tiles`)."""
    before, middle, chain = _product_parts_ns(device, a_width, b_width, square, row_bits, low_bits, row_levels)
    before = max(before, beside_ns)
    tiles, split_cut = inner_cuts(name)
    if split and has_split(a_width, b_width, square, row_bits, device, low_bits):
        return [Cut(tiles, before), Cut(split_cut, middle), Cut(name, chain + after_ns)]
    return [Cut(tiles, before), Cut(name, middle + chain + after_ns)]


def _newton(device, index, r_bits, dp):
    square, t, h, r = (f"newton{index}_{step}" for step in ("square", "t", "h", "r"))
    w, rows = dp.work_bits, dp.row_bits
    return (_product_cuts(device, square, r_bits + 1, r_bits + 1, square=True, row_bits=rows)
            + _product_cuts(device, t, dp.frac_bits + 2, w + 2, row_bits=rows)
            + [Cut(h, device.ns("subtract"))]
            + _product_cuts(device, r, r_bits + 1, w + 2, row_bits=rows))


def fma_cuts(config):
    """The FMA (:mod:`hw.spec.fma`): the operands' fields with the exponent sums; the product,
    with the addend's shift amount beside its DSP tiles and the addend's alignment beside the rest
    (its coarse shift beside the DSPs' return where the product has a split register, its fine
    shift beside the final carry chain); the sum's carry-select chunks; their selection (and the
    sign); the leading- and trailing-one trees (over 48 bits: their 16-bit groups first); the
    coarse normalizing shift beside the exponent, overflow and sticky tests; the fine shift with
    the rounding decision; the increment and the packing."""
    device, fmt = config.device_model, config.format
    p, win = fmt.precision, fma_window(fmt)
    lut = device.ns("lut")
    amount_bits = win.window.bit_length()
    exponents = device.chain_ns(fmt.exp_bits + 3) + 2 * lut         # the shift amount, clamped
    coarse = lut * (amount_bits - 3) + device.ns("levels")           # c by multiples of 8, sticky
    fine = 3 * lut + device.ns("levels")
    product = _product_cuts(device, "multiply", p, p, beside_ns=exponents)
    if len(product) == 3:
        product[1] = replace(product[1], before_ns=max(product[1].before_ns, coarse))
        product[2] = replace(product[2], before_ns=max(product[2].before_ns, fine))
    else:
        product[1] = replace(product[1], before_ns=max(product[1].before_ns, lut * amount_bits + device.ns("levels")))
    chunk = max(hi - lo for lo, hi in win.chunks)
    carries = lut * (len(win.chunks) + 2)   # each chunk's carry in, then its version (wide fan-out)
    select = ([Cut("sum_carries", carries), Cut("sum", 2 * lut)] if win.carries_cut
              else [Cut("sum", carries + 2 * lut)])
    lead = device.levels_ns(win.width) + lut
    trees = ([Cut("lead_groups", device.levels_ns(1 << GROUP_LEVELS)),
              Cut("lead", lead - lut * GROUP_LEVELS)] if win.grouped else [Cut("lead", lead)])
    shift_bits = (win.width - 1).bit_length()
    return tuple([Cut("unpack", lut + device.chain_ns(fmt.exp_bits + 2))] + product
                 + [Cut("sum_chunks", device.chain_ns(chunk) + 2 * lut)] + select + trees
                 + [Cut("shift_coarse", max(lut * (shift_bits - 3), device.chain_ns(shift_bits + 1))
                        + device.ns("levels")),
                    Cut("shift", fine + 2 * lut),
                    Cut("out", device.chain_ns(fmt.width), mandatory=True)])


def _core_cuts(config, dp):
    """The inverse-square-root core: the table read (a polynomial seed's operand ``u`` is registered
    beside it, and Yosys packs that register into the DSP of ``c1*u``: the stage before reaches
    the DSPs at the die edge), the polynomial's steps, the Newton stages."""
    device = config.device_model
    seed_ns = device.ns("seed") + (device.ns("to_dsp") if config.seed in ("pwl", "quad") else 0)
    cuts = [Cut("seed", seed_ns, mandatory=config.seed != "magic")]
    if config.seed == "pwl":            # the line c0 - c1*u after the table read
        cuts += _product_cuts(device, "seed_linear", dp.slope_width, dp.poly_u_bits, device.ns("subtract"),
                              row_bits=dp.slope_row_bits, split=False)
    elif config.seed == "quad" and dp.seed_square_rom:     # v read beside the table: c1*u beside c2*v; the sum
        parts = [_product_parts_ns(device, dp.slope_width, dp.poly_u_bits, row_bits=dp.slope_row_bits),
                 _product_parts_ns(device, dp.curve_width, dp.square_bits, row_bits=dp.row_bits)]
        cuts += [Cut(inner_cuts("seed_products")[0], max(before for before, _, _ in parts)),
                 Cut("seed_products", max(middle + chain for _, middle, chain in parts)),
                 Cut("seed_sum", device.chain_ns(dp.seed_bits + 2) + device.ns("lut"))]
    elif config.seed == "quad":         # c1*u beside ut**2; c2*v beside c0 - c1*u; their sum
        shapes = [(dp.slope_width, dp.poly_u_bits, False, dp.slope_row_bits),
                  (dp.square_bits, dp.square_bits, True, dp.row_bits)]
        parts = [_product_parts_ns(device, *shape) for shape in shapes]     # one tile register for both
        line = device.chain_ns(dp.seed_bits + 2)
        if dp.seed_slope_rows:          # c1*u's rows registered; the line from them through a 3:2 level
            before, middle, chain = parts[0]
            parts[0] = (before, middle + device.ns("lut"), 0.0)        # and the rows' lower carry
            line = device.chain_ns(dp.seed_bits + 3) + device.ns("lut")
        cuts += _slope_products_cuts("seed_products", parts, dp.seed_split)
        curve = _product_parts_ns(device, dp.curve_width, dp.square_bits, row_bits=dp.row_bits)
        if dp.seed_curve_tiles:     # c2*v's tiles beside c0 - c1*u, then its sum
            cuts += [Cut("seed_curve_tiles", max(curve[0], line)), Cut("seed_curve", curve[1] + curve[2])]
        else:
            cuts.append(Cut("seed_curve", max(sum(curve), line)))
        cuts.append(Cut("seed_sum", device.chain_ns(dp.seed_bits + 2)))
    r_bits = dp.seed_bits
    for index in range(config.newton):
        cuts += _newton(device, index, r_bits, dp)
        r_bits = dp.work_bits
    if dp.residual is not None:
        cuts += _residual_cuts(device, dp.residual, dp.decided_word_bits)[0]
    return cuts


def _residual_cuts(device, res, word_bits):
    """The exact last-bit decision (:mod:`hw.spec.residual`), from ``Y = 2T + 1`` in the
    approximation's register: ``Y**2`` (beside its tiles the lower half of the result's
    ``word_bits``-bit word for ``T`` plus one, and its exponent: a float rsqrt's candidates);
    ``Y**2 * MR`` modulo ``2**low_bits`` (beside its tiles the word's upper half and the special
    cases) up to its last inner register. Returns ``(cuts, sign_ns)``: the product's rest, whose
    sign bit (a carry-select sum of its two rows from ``sign_from``) selects the candidate before
    the output register (:func:`rsqrt_cuts`)."""
    lut = device.ns("lut")
    words = device.chain_ns((word_bits + 1) // 2) + 2 * lut
    product = _product_cuts(device, "residual_product", 2 * res.y_bits, res.mr_bits, row_bits=res.row_bits,
                            low_bits=res.low_bits, beside_ns=words)
    sign_ns = (product[-1].before_ns - device.sum_ns(res.low_bits)
               + device.chain_ns(res.select_bits) + lut)
    return (_product_cuts(device, "residual_square", res.y_bits, res.y_bits, square=True,
                          row_bits=res.row_bits, beside_ns=words, row_levels=res.square_row_levels(device))
            + product[:-1]), sign_ns


def rsqrt_cuts(config):
    """The inverse square root: unpack, the core, normalize, shift, round/pack; after the exact
    decision (rounding ``residual``) the result is already rounded: the decision's sign selects
    one of two packed words before the output register."""
    device, dp = config.device_model, datapath(config)
    cuts = _unpack_cuts(config.format, device) + _core_cuts(config, dp)
    if dp.residual is not None:
        sign_ns = _residual_cuts(device, dp.residual, dp.decided_word_bits)[1]
        return tuple(cuts + [Cut("out", sign_ns + 2 * device.ns("lut"), mandatory=True)])
    return tuple(cuts + [Cut("normalize", device.ns("normalize")), Cut("shift", device.ns("shift")),
                         Cut("out", device.ns("round"), mandatory=True)])


def activation_cuts(config):
    """An activation or its backward unit: unpack, ``x**2``, ``alpha*x**2``, ``1 + .`` (aligned,
    summed, normalized), the core, [``r**2``, ``r**3``,] the product, [``x**3`` and its product
    (alpha gradient),] round/pack."""
    device, dp = config.device_model, datapath(config)
    w, p = dp.work_bits, dp.x_frac_bits + 1
    lut = device.ns("lut")
    if dp.subnormal_x_passes and not config.runtime_alpha:
        cuts = [_fields_cut(device)]           # x unnormalized; no other operand
    else:
        cuts = _unpack_cuts(config.format, device)
    # The square table's read is the "square" register; a constant power-of-two alpha is a shift.
    if dp.square_rom:
        cuts.append(Cut("square", device.ns("seed"), mandatory=True))
    else:
        cuts += _product_cuts(device, "square", p, p, square=True, row_bits=dp.row_bits)
    if not dp.alpha_shift:
        cuts += _product_cuts(device, "alpha", dp.alpha_width, w + 2, row_bits=dp.row_bits)
    elif alpha_register(config):        # the ISRU sigmoid's product for N beside the shift
        cuts.append(Cut("alpha", 0))
    # 1 + T aligned: a shift of T by its exponent, then the sum across the word.
    cuts += [Cut("sum_align", device.levels_ns(w + 3)), Cut("sum", device.chain_ns(w + 4)),
             Cut("add", device.ns("normalize"))]
    cuts += _core_cuts(config, dp)
    if config.is_backward and dp.seed_power == 1:
        cuts += (_product_cuts(device, "r2", w + 1, w + 1, square=True, row_bits=dp.row_bits)
                 + _product_cuts(device, "r3", w + 1, w + 1, row_bits=dp.row_bits))
    cuts += _product_cuts(device, "product", p, w + 1, row_bits=dp.significand_row_bits)
    if config.entry.alpha_gradient:             # x**3 = x * Q, then x**3 * (grad * r**3)
        cuts += (_product_cuts(device, "cube", p, w + 2, row_bits=dp.significand_row_bits)
                 + _product_cuts(device, "agrad", w + 3, w + 2, row_bits=dp.row_bits))
        w += 2                                  # the packer's input: below 16, w + 4 bits
    if config.entry.sigmoid_form and not config.is_backward:
        cuts += _isru_sigmoid_cuts(config, dp)
        w += 1                                  # the packer's input: (2 + |v|) or N/(U*D), 2w + 1
    # The rounded value v (w + 2 bits) may be shifted right to a subnormal position, then
    # rounded and packed with a carry chain across the word. A result at most one binade below
    # emin leaves a few shift amounts (a mux tree) with the guard and sticky bits after it.
    out = max(device.ns("round"), device.chain_ns(config.out_width) + lut)
    if config.is_float and dp.below_emin_max is not None:
        amounts = w + 2 - product_lead_min(config, dp) + dp.below_emin_max
        shift = device.levels_ns(amounts) + 2 * lut
    else:
        shift = device.shift_ns(w + 2)
    if config.is_float:
        # The leading one beside each position's exponent tests, then their selection.
        cuts.append(Cut("pack_lead", device.ns("normalize") - 2 * lut))
        normalize = 2 * lut
    else:
        normalize = device.ns("normalize")
    return tuple(cuts + [Cut("normalize", normalize), Cut("shift", shift), Cut("out", out, mandatory=True)])


def alpha_register(config):
    """Whether an activation has an ``alpha`` cut. A constant power-of-two alpha is a shift, which
    is wiring: the cut would be a second register right behind ``square``'s, so there is none,
    unless the ISRU sigmoid's product for ``N`` runs beside it."""
    sigmoid = config.entry.sigmoid_form and not config.is_backward
    return not datapath(config).alpha_shift or (sigmoid and isru_sigmoid_tail(config).n_product)


def _isru_sigmoid_cuts(config, dp):
    """The ISRU sigmoid's tail (:mod:`hw.spec.isru_sigmoid`) after the product ``v = |x|*r``:
    ``|v|`` aligned to fixed point (the table's operand); the table of ``2/D`` read and its
    parabola (as the quad seed), with ``r**2`` beside its first products; ``r**2 * 2/D``; with
    alpha other than 1, times ``N``."""
    device, w = config.device_model, dp.work_bits
    tail = isru_sigmoid_tail(config)
    cuts = [Cut("tail_operand", device.shift_ns(w + 2) + device.ns("lut"))]
    cuts += _table_cuts(device, tail.table, w, dp.row_bits, "tail_seed",
                        extra=[_product_parts_ns(device, w + 1, w + 1, True, dp.row_bits)])
    cuts += _product_cuts(device, "tail_p", w + 1, w + 1, row_bits=dp.row_bits)
    if tail.n_sig:
        cuts += _product_cuts(device, "tail_n", w + 1, w + 1, row_bits=dp.row_bits)
    return cuts


def _table_cuts(device, table, value_bits, row_bits, step, extra=(), split=False):
    """A table of parabolas (:func:`hw.spec.seeds.fit_quad`) read and evaluated like the quad
    seed (:class:`~hw.rtl.blocks.seed.PolySeed`), its cuts named as the seed's with ``step`` for
    ``seed``; ``extra``: the parts (:func:`_product_parts_ns`) of products beside its first two;
    ``split``: ``c1*u``'s split register (:func:`~hw.spec.tiles.table_split`), its carry chain after
    it and the other products whole before it."""
    shapes = [(table.slope_width, table.poly_u_bits, False, row_bits),
              (table.square_bits, table.square_bits, True, row_bits)]
    parts = [_product_parts_ns(device, *shape) for shape in shapes] + list(extra)
    curve = sum(_product_parts_ns(device, table.curve_width, table.square_bits, row_bits=row_bits))
    return ([Cut(step, device.ns("seed") + device.ns("to_dsp"), mandatory=True)]
            + _slope_products_cuts(f"{step}_products", parts, split)
            + [Cut(f"{step}_curve", max(curve, device.chain_ns(value_bits + 2))),
               Cut(f"{step}_sum", device.chain_ns(value_bits + 2))])


def _slope_products_cuts(name, parts, split):
    """The cuts of a parabola's first products, side by side (``parts``: their
    :func:`_product_parts_ns`, ``c1*u``'s first): one tile register for all, then with ``split``
    ``c1*u``'s split register (the others whole before it) and its carry chain, else their sums."""
    tiles_cut, split_cut = inner_cuts(name)
    cuts = [Cut(tiles_cut, max(before for before, _, _ in parts))]
    if split:
        (_, slope_middle, slope_chain), others = parts[0], parts[1:]
        return cuts + [Cut(split_cut, max([slope_middle] + [middle + chain for _, middle, chain in others])),
                       Cut(name, slope_chain)]
    return cuts + [Cut(name, max(middle + chain for _, middle, chain in parts))]


def elu_cuts(config):
    """ELU and its backward unit (:mod:`hw.spec.elu`): unpack; ``t = a*log2(e)`` (a product with a
    constant); the operand of the table (``t`` aligned by a shift over the exponent, or ``a``
    itself in the small regime); the table read and its parabola (as the quad seed); the final
    product (forward: beside the shift of ``Q'`` by ``k`` and the subtraction from alpha); the
    packer."""
    device, dp = config.device_model, elu_datapath(config.format, config.alpha, config.is_backward)
    p, w, lut = significand_span(config.format)[0], dp.work_bits, device.ns("lut")
    cuts = _unpack_cuts(config.format, device) + _log2e_cuts(config, dp)
    cuts += _table_cuts(device, dp.table, w, dp.row_bits, "seed", split=table_split(dp.table, dp.row_bits, device))
    # Forward: Q' >> k and its sticky bit beside the tiles, alpha - . beside the carry chain.
    beside = 0.0 if config.is_backward else device.shift_ns(w + 1) + device.levels_ns(w + 1)
    cuts += _product_cuts(device, "product", p, w + 1, row_bits=dp.row_bits, beside_ns=beside)
    # The value strictly below the product before the packer: a float's is a flag (the packer's
    # ``below``), fixed point subtracts; forward selects it or the other regime's value.
    below = (0.0 if config.is_float else device.chain_ns(p + w + 3) + lut) + (0.0 if config.is_backward else lut)
    return tuple(cuts + _pack_cuts(config, p + w + 3, below))


def _log2e_cuts(config, dp):
    """The exponential's operand step of ELU and the logistic units
    (:func:`hw.rtl.units.elu.log2e_operand`): ``t = c*|x|*log2(e)``, a product with a constant
    (forward: the small regime's operand, a shift of ``|x|`` by its exponent, beside it), then
    ``t``'s shift by its multiple of 8 (``t_coarse``), the rest of it and the small regime's
    select."""
    device, lut = config.device_model, config.device_model.ns("lut")
    small = 0.0 if config.is_backward else device.levels_ns(dp.top_bits) + lut
    p, amount = significand_span(config.format)[0], dp.top_bits.bit_length()
    return _product_cuts(device, "log2e", p, dp.log2e.bit_length(), row_bits=dp.log2e_row_bits, beside_ns=small) + [
        Cut("t_coarse", device.ns("levels") + lut * max(amount - 3, 0)),
        Cut("operand", device.ns("levels") + lut * min(amount, 3) + 2 * lut)]


def _pack_cuts(config, width, before_ns=0.0):
    """The packer of a ``width``-bit value (worked out in ``before_ns`` after the caller's last
    register): a float's leading one beside each position's exponent tests, their selection, the
    shift with the rounding (:class:`~hw.rtl.blocks.round.RoundPackFloat`), or a fixed-point
    result's shift amount and rounded shift (``RoundPackFixed``); the output register."""
    device = config.device_model
    lut = device.ns("lut")
    lead = [Cut("pack_lead", before_ns + device.ns("normalize") - 2 * lut)] if config.is_float else []
    normalize = 2 * lut if config.is_float else before_ns + device.ns("normalize")
    return lead + [Cut("normalize", normalize), Cut("shift", device.shift_ns(width)),
                   Cut("out", max(device.ns("round"), device.chain_ns(config.out_width) + lut), mandatory=True)]


def logistic_cuts(config):
    """tanh, the sigmoid and their backward units (:mod:`hw.spec.logistic`): unpack; ``t =
    c*a*log2(e)``; the first table's operand (``t`` aligned, or the small regime's ``c*a``); the
    ``Q'`` table (as the quad seed); ``E = Q' * 2**-k`` in two shifts (and the small regime's
    ``T`` beside the first); the ``R``
    table; the product ``QR``; forward, its shift (with the lost bit), then its sum with 1 or 0.5,
    backward the product with grad; the packer."""
    device = config.device_model
    dp = logistic_datapath(config.format, kind_of(config.function), config.is_backward)
    p, w, lut, rows = significand_span(config.format)[0], dp.work_bits, device.ns("lut"), dp.row_bits
    cuts = _unpack_cuts(config.format, device) + _log2e_cuts(config, dp)
    for name, table in (("seed", dp.table), ("recip", dp.recip)):
        cuts += _table_cuts(device, table, w, rows, name, split=table_split(table, rows, device))
        if name == "seed":          # E = Q' >> k, clamped: by k's multiple of 8, the rest; the
            # small regime's T = small_one - g beside the first
            amount = (dp.t_bits + 1).bit_length()
            cuts += [Cut("e_coarse", max(device.ns("levels") + lut * max(amount - 3, 0), device.chain_ns(w + 1))),
                     Cut("e_operand", device.ns("levels") + lut * (min(amount, 3) + 1))]
    cuts += _product_cuts(device, "qr", w + 1, w + 1, row_bits=rows)
    if config.is_backward:
        cuts += _product_cuts(device, "product", p, dp.qr_bits + 1, row_bits=rows)
        width = p + dp.qr_bits + 2
    else:
        # The term QR >> sh with its lost bit; then its sum with 1 or 0.5 (or 2*QR - 1).
        cuts += [Cut("aligned_term", device.shift_ns(dp.qr_bits + 1) + lut),
                 Cut("aligned", device.chain_ns(dp.qr_bits + 3) + lut)]
        width = dp.qr_bits + 3
    return tuple(cuts + _pack_cuts(config, width))


def select_cuts(config):
    """A selection (ReLU): the sign and class tests and the multiplexer before the output
    register; the stream wrapper alone."""
    return (Cut("out", 2 * config.device_model.ns("lut"), mandatory=True),)


FAMILY_CUTS = {Family.RSQRT: rsqrt_cuts, Family.ACTIVATION: activation_cuts, Family.FMA: fma_cuts,
               Family.SELECT: select_cuts, Family.EXP: elu_cuts, Family.LOGISTIC: logistic_cuts}


def unit_cuts(config):
    """The cuts of ``config``'s unit, input to output."""
    return FAMILY_CUTS[config.entry.family](config)


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


def latency(config):
    """Cycles from input to output of ``config``'s unit: its enabled cuts."""
    return len(enabled_cuts(config))


def enabled_cuts(config):
    """Names of the cuts that hold a register in ``config``'s unit."""
    cuts = unit_cuts(config)
    level = optional_cuts(config) if config.pipeline is None else config.pipeline
    return _place(cuts, level)
