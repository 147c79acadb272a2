"""The streaming fused multiply-add unit ``a*b + c`` (golden model: golden.fma.fma)."""
from amaranth.hdl import Cat, Const, Mux, Signal, signed
from amaranth.lib import data

from hw.rtl.blocks.multiply import Product
from hw.rtl.blocks.select_sum import chunk_sums, select_chunks
from hw.rtl.blocks.unpack import FloatFields
from hw.spec.classes import Cls
from hw.spec.config import Config
from hw.spec.fma import GROUP_LEVELS, PRODUCT_LSB, fma_window
from hw.rtl.pipeline import StreamUnit

__all__ = ["FmaUnit", "fma_input_layout"]

def fma_input_layout(config):
    lanes = data.ArrayLayout(config.in_width, config.lanes)
    return data.StructLayout({"a": lanes, "b": lanes, "c": lanes})


def fma_output_layout(config):
    return data.StructLayout({"y": data.ArrayLayout(config.out_width, config.lanes)})


def _shift_sticky(m, value, amount, name):
    """``value >> amount`` with the OR of the shifted-out bits in bit 0; the sticky OR goes
    through a mask of ones made by a shifter, not a second shift and a compare."""
    shifted = Signal(len(value), name=f"{name}_shifted")
    mask = Signal(len(value), name=f"{name}_mask")
    m.d.comb += [shifted.eq(value >> amount),
                 mask.eq(~(Const(-1, len(value)) << amount))]
    return shifted | (value & mask).any()


def _first_one(m, nodes, name):
    """One level of a first-one tree: pairs ``(any, index)`` of neighbouring ranges merged, the
    index of the first one in the list order (the earlier range wins)."""
    merged = []
    for (any_a, index_a), (any_b, index_b) in zip(nodes[0::2], nodes[1::2]):
        found = Signal(name=f"{name}_any{len(merged)}")
        index = Signal(len(index_a) + 1, name=f"{name}_index{len(merged)}")
        m.d.comb += [found.eq(any_a | any_b), index.eq(Cat(Mux(any_a, index_a, index_b), ~any_a))]
        merged.append((found, index))
    return merged


def _leaves(bits, levels):
    """``bits`` (a list, first place first) as the leaves of a ``levels``-deep first-one tree."""
    padded = list(bits) + [Const(0, 1)] * ((1 << levels) - len(bits))
    return [(bit, Const(0, 0)) for bit in padded]


def _tree(m, nodes, levels, name):
    """``levels`` levels of a first-one tree from ``nodes`` (the first with index width 0:
    :func:`_leaves`, or an earlier call's result)."""
    for _ in range(levels):
        nodes = _first_one(m, nodes, f"{name}_l{len(nodes)}")
    return nodes


class FmaUnit(StreamUnit):
    """Fully pipelined ``a*b + c`` with a single rounding, on ``config.lanes`` lanes.

    Ports
    -----
    i : In(stream.Signature(fma_input_layout(config)))
        ``payload.a[lane]``, ``payload.b[lane]``, ``payload.c[lane]``: raw float bits.
    o : Out(stream.Signature(fma_output_layout(config)))
        ``payload.y[lane]``: raw result bits.

    Timing: initiation interval 1; latency 9 with every pipeline register, 12 for FP32 and wider
    (:func:`hw.spec.plan.fma_cuts`): unpack (the exponents summed); the product's DSP tiles, with
    the addend's shift amount and the window's bounds beside them; [FP32: the product's split
    register, with the addend's coarse shift beside it;] the product, with the addend aligned
    beside it; the sum's carry-select chunks; [FP32: their carries resolved;] the sum chosen;
    [FP32: the leading- and trailing-one trees' 16-bit groups;] the trees; the coarse
    normalizing shift with the exponent, overflow and sticky tests; the fine shift and the
    rounding decision; the increment and the packing. Fewer with ``config.pipeline``
    (:mod:`hw.spec.plan`); flow control as :class:`~hw.rtl.units.rsqrt.RsqrtUnit`.

    Numerics: IEEE 754 ``fusedMultiplyAdd`` rounded to nearest even. The exact product stays in
    place in a ``3p + 6``-bit window (:mod:`hw.spec.fma`); the addend is shifted right beside the
    multiplier (its bits below the window ORed into bit 0; an addend further above the product
    than the window allows sits at its top, where the product only acts as a sticky part would);
    the sum and both differences are formed at once (``c - p - 1 = ~(p - c)``), so no negation
    follows; the normalizing shift is bounded at the subnormal boundary by a sentinel bit ORed
    into the leading-one tree's input, and the sticky bit comes from a trailing-one count. Rounded
    once. Subnormal inputs enter unnormalized (:class:`FloatFields`) and are exact in the window;
    subnormal results; overflow to infinity; ``inf * 0``, ``inf - inf`` and NaN inputs give the
    canonical quiet NaN; an exact zero sum is ``+0`` unless both addends are ``-0``.
    """

    def __init__(self, config: Config):
        super().__init__(config, fma_input_layout(config), fma_output_layout(config))

    def _lane(self, m, en, lane, st):
        fmt = self.config.format
        man, p, win = fmt.man_bits, fmt.precision, fma_window(fmt)
        width = win.width
        exp_width = (4 * (fmt.bias + man + width + 4)).bit_length() + 1
        name = f"lane{lane}"
        live = {}
        # The fields; the biased exponents (1 for subnormals) summed and offset, each sum formed
        # for both values of the zero-field tests and chosen after its carry chain.
        fields, zero = {}, {}
        for operand in "abc":
            unpack = m.submodules[f"{name}_{operand}"] = FloatFields(fmt, exp_width)
            bits = getattr(self.i.payload, operand)[lane]
            m.d.comb += unpack.bits.eq(bits)
            fields[operand] = bits[man:man + fmt.exp_bits]
            zero[operand] = fields[operand] == 0
            for port in ("sign", "cls", "sig"):
                live[f"{operand}_{port}"] = getattr(unpack, port)
        fa, fb, fc = fields["a"], fields["b"], fields["c"]
        # With s = e_ab - e_c the addend's shift (ea + eb - ec + p + 3): far (s < 0) puts it above
        # the product; big (s > window) leaves only its sticky bit. e_top_c: the window's top bit
        # (biased) when the addend is its anchor.
        ab_plus = lambda offset: Mux(zero["a"], Mux(zero["b"], 2 + offset, fb + (1 + offset)),
                                     Mux(zero["b"], fa + (1 + offset), fa + fb + offset))
        c_plus = lambda offset: Mux(zero["c"], 1 + offset, fc + offset)
        exponents = {"e_ab": ab_plus(p + 3), "e_c": c_plus(fmt.bias), "e_cw": c_plus(fmt.bias + win.window + 1),
                     "e_top_c": c_plus(1)}
        e_bits = max(2 * fmt.exp_max_field + p + 3, fmt.exp_max_field + fmt.bias + win.window + 1).bit_length()
        for key, value in exponents.items():
            live[key] = Signal(e_bits, name=f"{name}_{key}")
            m.d.comb += live[key].eq(value)
        live["sub"] = sub = Signal(name=f"{name}_sub")           # the addend's sign against the product's
        m.d.comb += sub.eq(self.i.payload.a[lane][-1] ^ self.i.payload.b[lane][-1] ^ self.i.payload.c[lane][-1])
        live = st.cut("unpack", live)
        # Specials; beside the product's tiles, the addend's shift and clamps and the window's
        # bounds for either anchor.
        ca, cb, cc = live.pop("a_cls"), live.pop("b_cls"), live.pop("c_cls")
        sc = live.pop("c_sign")
        prod_sign = live.pop("a_sign") ^ live.pop("b_sign")
        prod_zero = (ca == Cls.ZERO) | (cb == Cls.ZERO)
        prod_inf = (ca == Cls.INF) | (cb == Cls.INF)
        c_zero = cc == Cls.ZERO
        nan = ((ca == Cls.NAN) | (cb == Cls.NAN) | (cc == Cls.NAN) | (prod_inf & prod_zero)
               | (prod_inf & (cc == Cls.INF) & (prod_sign != sc)))
        special = Signal(2, name=f"{name}_special")     # 0 none, 1 NaN, 2 infinity, 3 zero + zero
        special_sign = Signal(name=f"{name}_special_sign")
        with m.If(nan):
            m.d.comb += special.eq(1)
        with m.Elif(prod_inf | (cc == Cls.INF)):
            m.d.comb += [special.eq(2), special_sign.eq(Mux(prod_inf, prod_sign, sc))]
        with m.Elif(prod_zero & c_zero):
            m.d.comb += [special.eq(3), special_sign.eq(prod_sign & sc)]
        e_ab, e_c, e_cw, e_top_c = (live.pop(key) for key in ("e_ab", "e_c", "e_cw", "e_top_c"))
        # The addend's shift s (its low bits: it matters only from 0 to the window); far (s < 0)
        # or no product: the addend stays at the top and is the anchor; big (s > window): only its
        # sticky bit is left.
        shift = Signal(signed(exp_width), name=f"{name}_s")
        m.d.comb += shift.eq(e_ab - e_c)
        far = shift < 0
        inner = st.inner("multiply")
        cut, split = st.inner_on("multiply")
        product = m.submodules[f"{name}_product"] = Product(p, p, cut=cut, split=split)
        # An infinite or NaN factor enters as 0 (its product is not used): with that gate the
        # multiplier's operands are not bare register outputs, so Yosys keeps the unpack register
        # in the fabric instead of packing it as the SB_MAC16's input register, and the DSP's
        # stage is timed from fabric register to its output register.
        for operand, cls in (("a", ca), ("b", cb)):
            used = (cls == Cls.FINITE) | (cls == Cls.ZERO)
            m.d.comb += getattr(product, operand).eq(Mux(used, live.pop(f"{operand}_sig"), 0))
        m.d.comb += product.en.eq(en)
        # The window's top bit (biased exponent) less 1, for either anchor: the largest
        # normalizing shift (to emin); less the largest field: overflow at shifts up to it.
        for key, offset in (("limit", 1), ("kovf", fmt.exp_max_field)):
            for anchor, value in (("c", e_top_c - offset), ("p", e_ab - (fmt.bias - 1 + offset))):
                live[f"{key}_{anchor}"] = Signal(signed(exp_width), name=f"{name}_{key}_{anchor}")
                m.d.comb += live[f"{key}_{anchor}"].eq(value)
        live.update(special=special, special_sign=special_sign, prod_sign=prod_sign, c_sign=sc,
                    shift=shift[:win.window.bit_length()], stay=far | prod_zero, big=e_ab >= e_cw,
                    anchor_c=prod_zero | (far & ~c_zero))
        live = st.cut(inner[0], live)
        # The addend aligned beside the rest of the product: by multiples of 8, then the rest.
        shift, stay, big = live.pop("shift"), live.pop("stay"), live.pop("big")
        c_win = Signal(win.window, name=f"{name}_c_win")
        m.d.comb += c_win.eq(live.pop("c_sig") << win.top)
        coarse = _shift_sticky(m, c_win, Cat(Const(0, 3), shift[3:]), f"{name}_c_coarse")
        live["c_coarse"] = Mux(stay, c_win, Mux(big, c_win.any(), coarse))
        live["c_fine"] = Mux(stay, 0, shift[:3])
        # For either anchor, the sentinel: a one at the normalizing shift's bound (none when the
        # bound is beyond the window; below 0 the sum is too small to round away from zero).
        for anchor in "cp":
            limit = live[f"limit_{anchor}"]
            live[f"sentinel_{anchor}"] = Signal(width, name=f"{name}_sentinel_{anchor}")
            m.d.comb += live[f"sentinel_{anchor}"].eq(
                Mux(limit < 0, 0, Const(1 << (width - 1), width) >> limit.as_unsigned()))
        if len(inner) > 1:
            live = st.cut(inner[1], live)
        live["c_al"] = _shift_sticky(m, live.pop("c_coarse"), live.pop("c_fine"), f"{name}_c_fine")
        # The product in place, complemented for a subtraction.
        p_win = Signal(width, name=f"{name}_p_win")
        m.d.comb += p_win.eq((product.p << PRODUCT_LSB) ^ Mux(live["sub"], Const(-1, width), 0))
        live["p_win"] = p_win
        live = st.cut("multiply", live)
        # The anchor's bounds, beside the sum.
        anchor_c = live.pop("anchor_c")
        for key in ("limit", "kovf", "sentinel"):
            live[key] = Mux(anchor_c, live.pop(f"{key}_c"), live.pop(f"{key}_p"))
        live["tiny"] = live["limit"] < 0
        # c + p, or c - p - 1 and c - p at once (c - p - 1 = ~(p - c)), in carry-select chunks.
        x = Signal(width, name=f"{name}_x")
        m.d.comb += x.eq(live.pop("c_al"))
        live.update(chunk_sums(m, x, live.pop("p_win"), win.chunks, f"{name}_sum"))
        live = st.cut("sum_chunks", live)
        below, exact = (select_chunks(live, win.chunks, f"{name}_sum", carry) for carry in (0, 1))
        for index in range(len(win.chunks)):
            for carry in (0, 1):
                del live[f"{name}_sum{index}_{carry}"]
        sub = live.pop("sub")
        negative = sub & exact[-1]
        live.update(below=below, exact=exact, negative=negative, use_below=~sub | negative,
                    sign=Mux(negative, live.pop("prod_sign"), live.pop("c_sign")))
        if win.carries_cut:
            live = st.cut("sum_carries", live)
        below, exact, negative = live.pop("below"), live.pop("exact"), live.pop("negative")
        total = Signal(width, name=f"{name}_total")
        m.d.comb += total.eq(Mux(live.pop("use_below"), below ^ Mux(negative, Const(-1, width), 0), exact))
        # The leading-one tree's input: the sum with the sentinel ORed in, beside the sum.
        live.update(sum=total, marked=total | live.pop("sentinel"))
        live = st.cut("sum", live)
        # Leading zeros (bounded by the sentinel) and trailing zeros of the sum.
        total = live["sum"]
        levels = (width - 1).bit_length()
        marked = live.pop("marked")
        lead = _leaves([marked[width - 1 - i] for i in range(width)], levels)
        trail = _leaves([total[i] for i in range(width)], levels)
        if win.grouped:
            lead, trail = _tree(m, lead, GROUP_LEVELS, f"{name}_lz"), _tree(m, trail, GROUP_LEVELS, f"{name}_tz")
            nodes = {f"{kind}{i}_{part}": value for kind, tree in (("lead", lead), ("trail", trail))
                     for i, node in enumerate(tree) for part, value in zip(("any", "index"), node)}
            live = st.cut("lead_groups", {**live, **nodes})
            lead = [(live.pop(f"lead{i}_any"), live.pop(f"lead{i}_index")) for i in range(len(lead))]
            trail = [(live.pop(f"trail{i}_any"), live.pop(f"trail{i}_index")) for i in range(len(trail))]
            levels -= GROUP_LEVELS
        (_, lz), = _tree(m, lead, levels, f"{name}_lz")
        (nonzero, tz), = _tree(m, trail, levels, f"{name}_tz")
        live.update(lshift=lz, tz=tz, zero=~nonzero)
        live = st.cut("lead", live)
        # The coarse normalizing shift; beside it the biased exponent less one (the hidden bit
        # adds it back: 0 for a subnormal), the overflow and the sticky bit.
        lshift = live.pop("lshift")
        coarse = Signal(width, name=f"{name}_norm_coarse")
        m.d.comb += coarse.eq(live.pop("sum") << Cat(Const(0, 3), lshift[3:]))
        field = Signal(signed(exp_width), name=f"{name}_field")
        sticky = Signal(name=f"{name}_sticky")
        m.d.comb += [field.eq(live.pop("limit") - lshift),
                     sticky.eq(live.pop("tz") + lshift < width - p - 1)]
        sign, special, tiny = live.pop("sign"), live.pop("special"), live.pop("tiny")
        # Forced results: NaN, infinity, zero + zero, an exact zero sum (+0), a sum that rounds
        # to zero (only a product with a zero addend can be that small).
        forced = Signal(name=f"{name}_forced")
        forced_word = Signal(fmt.width, name=f"{name}_forced_word")
        negative = Mux(special == 0, tiny & sign, live.pop("special_sign"))
        m.d.comb += [forced.eq((special != 0) | live.pop("zero") | tiny),
                     forced_word.eq(Mux(special == 1, fmt.quiet_nan,
                                        Mux(special == 2, fmt.inf, 0) | Mux(negative, fmt.sign_bit, 0)))]
        live = st.cut("shift_coarse", {"coarse": coarse, "fine": lshift[:3], "field": field, "sticky": sticky,
                                       "overflow": lshift <= live.pop("kovf"), "sign": sign,
                                       "forced": forced, "forced_word": forced_word})
        # The fine shift and the rounding decision; a forced result (special, zero, overflow) with
        # no increment.
        top = Signal(p + 1, name=f"{name}_norm_top")
        m.d.comb += top.eq((live["coarse"] << live["fine"])[width - p - 1:width])
        kept, guard = top[1:], top[0]
        up = guard & (live["sticky"] | kept[0])
        sign_bit = Mux(live["sign"], fmt.sign_bit, 0)
        base = Signal(fmt.width, name=f"{name}_base")
        with m.If(live["forced"]):
            m.d.comb += base.eq(live["forced_word"])
        with m.Elif(live["overflow"]):
            m.d.comb += base.eq(fmt.inf | sign_bit)
        with m.Else():
            m.d.comb += base.eq(Cat(kept[:man], live["field"][:fmt.exp_bits], live["sign"]))
        normal = ~live["forced"] & ~live["overflow"]
        live = st.cut("shift", {"base": base, "hidden": normal & kept[man], "up": normal & up})
        # The increment (a carry out of the significand lands in the exponent, up to +inf).
        y = Signal(fmt.width, name=f"{name}_result")
        m.d.comb += y.eq((Cat(live["up"], live["base"]) + Cat(live["up"], Const(0, man), live["hidden"]))[1:])
        m.d.comb += self.o.payload.y[lane].eq(st.cut("out", {"y": y})["y"])
