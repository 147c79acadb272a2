"""The streaming ELU unit and its backward pass (golden twin: golden.elu.elu)."""

from amaranth.hdl import Cat, Const, Mux, Signal, signed
from amaranth.lib import data

from hw.spec.classes import Cls
from hw.spec.config import Config
from hw.spec.elu import EXP_MAX, elu_datapath
from hw.spec.formats import FloatFormat, significand_span
from hw.spec.tiles import product_width, table_split
from hw.rtl.blocks.arith import MulShr, at_least, bits_below, constant_minus, staged_product
from hw.rtl.blocks.round import PACK_CUTS, RoundPackFixed, RoundPackFloat
from hw.rtl.blocks.seed import quad_cuts, quad_table
from hw.rtl.blocks.select_sum import carry_select
from hw.rtl.blocks.unpack import FixedUnpack, FloatUnpack
from hw.rtl.pipeline import StreamUnit
from .rsqrt import output_layout

__all__ = ["EluUnit", "unpack_operand", "fixed_result", "shift_distance", "log2e_operand"]


def shift_distance(m, name, top, e, limit):
    """A shift's distance ``top - e`` (``top`` a constant, ``e`` an exponent) clamped to ``[0,
    limit]``, ``limit`` the shifted operand's width, which a shift that far already clears: a
    ``range(limit + 1)`` signal, so that a shifter driven by it has only the levels the operand
    needs. Both comparisons are of ``e`` with constants, beside the subtraction, not after it;
    all three are logic, not carry chains (:func:`~hw.rtl.blocks.arith.at_least`,
    :func:`~hw.rtl.blocks.arith.constant_minus`)."""
    distance = Signal(range(limit + 1), name=name)
    between = constant_minus(top, e, len(distance))
    m.d.comb += distance.eq(Mux(at_least(e, top), 0, Mux(at_least(e, top - limit + 1), between, limit)))
    return distance


def log2e_operand(m, st, en, name, live, dp, man, t_exp, small_exp, device):
    """The exponential's operand step (twins: ``golden.elu._exp_part``, ``golden.logistic._qr``):
    ``t = c*|x|*log2(e)``, ``c = 2**t_exp``, a product with a constant aligned for ``c*|x|`` below
    ``2**EXP_MAX``, then shifted down to the exponent by a distance worked out beside the product
    and clamped to ``t``'s width, so that the shifter has only the levels the width needs: by its
    multiple of 8 before the ``t_coarse`` register, the rest after it. Unless
    ``small_exp`` is None, also ``live["small"]`` (``c*|x|`` below ``2**(small_exp + 1)``) and that
    regime's operand ``c*|x|`` below 1 with ``t_bits`` fraction bits: its distance beside the
    product's tiles, its shift after their register. Returns ``(live, t, small operand or None)``,
    ``live`` after the ``t_coarse`` cut."""
    ex, tb = live["ex"], dp.t_bits
    live["distance"] = shift_distance(m, f"{name}_distance", EXP_MAX - t_exp, ex, dp.top_bits)
    after_tiles = None
    if small_exp is not None:
        live["small"] = ~at_least(ex, small_exp - t_exp + 1)
        live["small_shift"] = shift_distance(m, f"{name}_small_shift", -1 - t_exp, ex, tb)

        def small_operand(live):
            live["small_operand"] = ((live["sigx"] << (tb - man - 1)) >> live.pop("small_shift"))[:tb]
            return live
        after_tiles = small_operand
    sigx, constant = live["sigx"], Const(dp.log2e)
    width = product_width(len(sigx), len(constant))
    live = staged_product(m, st, en, name, "log2e", live, sigx, constant, 0, 2 * width, row_bits=dp.log2e_row_bits,
                          device=device, after_tiles=after_tiles, rows=True, cut_step=False)
    rows = live.pop("log2e")
    total = carry_select(m, rows[:width], rows[width:], width, device, min_bits=0)
    live["log2e"] = (total >> (man + dp.log2e_bits - tb - EXP_MAX))[:dp.top_bits]
    live = st.cut("log2e", live)
    distance = live.pop("distance")
    live["t_coarse"], live["t_fine"] = live.pop("log2e") >> Cat(Const(0, 3), distance[3:]), distance[:3]
    live = st.cut("t_coarse", live)
    t = Signal(dp.top_bits, name=f"{name}_t")
    m.d.comb += t.eq(live.pop("t_coarse") >> live.pop("t_fine"))
    return live, t, live.pop("small_operand", None)


def unpack_operand(m, st, en, name, bits, fmt, exp_width):
    """A float operand's fields, or a fixed-point one's by its magnitude (``width - 1`` fraction
    bits), with the ``unpack_count`` register: the unpack block (``sign``, ``cls``, ``exp``,
    ``sig``)."""
    if isinstance(fmt, FloatFormat):
        unpack = FloatUnpack(fmt, exp_width, cut=st.on("unpack_count"))
    else:
        unpack = FixedUnpack(fmt, exp_width, magnitude=True, cut=st.on("unpack_count"))
    m.submodules[name] = unpack
    m.d.comb += [unpack.bits.eq(bits), unpack.en.eq(en)]
    return unpack


def fixed_result(m, st, en, out, payload, lane, live, width, frac, high, negative, zero):
    """A fixed-point result in format ``out`` from ``live["v"]`` (``width`` bits, ``frac`` fraction bits) and
    ``live["exp"]`` (at most ``high``): rounded to the output grid, saturated (flag set), negated
    where ``negative``, 0 where ``zero``; the packer's cuts and the output register, into
    ``payload.y[lane]`` and ``payload.flag[lane]``. ``negative`` and ``zero`` are taken from
    ``live`` before the packer and carried beside it."""
    pack = m.submodules[f"lane{lane}_pack"] = RoundPackFixed(
        out, width, frac, -out.frac_bits - 3, high, len(live["exp"]), cuts=st.on_each(PACK_CUTS))
    m.d.comb += [pack.v.eq(live.pop("v")), pack.exp.eq(live.pop("exp")), pack.negative.eq(negative),
                 pack.en.eq(en)]
    live["negative"], live["zero"] = negative, zero
    live = st.cut_each(PACK_CUTS, live)
    zero = live["zero"]
    mag = Mux(zero, 0, pack.y)
    y = Mux(live["negative"], -mag, mag)
    result = st.cut("out", {"y": y[:out.width], "flag": pack.sat & ~zero})
    m.d.comb += [payload.y[lane].eq(result["y"]), payload.flag[lane].eq(result["flag"])]


class EluUnit(StreamUnit):
    """Fully pipelined ELU (``x`` for ``x >= 0``, ``alpha*(exp(x) - 1)`` below) or its backward pass
    ``grad * f'(x)`` (``f' = 1``, or ``alpha*exp(x)``) on ``config.lanes`` lanes, float formats and
    signed fixed point up to 24 bits.

    Ports
    -----
    i : In(stream.Signature(StructLayout({"x": ..., ["grad": ...]})))
        ``payload.x[lane]``; the backward unit also ``payload.grad[lane]``; raw bits.
    o : Out(stream.Signature(output_layout(config)))
        ``payload.y[lane]``: raw result bits; fixed point also ``payload.flag[lane]`` (saturated).

    Timing: initiation interval 1; latency with every register 19 (BF16) or 20 (FP16, FP32: the
    final product's split register): unpack's count and shift, ``t = |x|*log2(e)`` (a product with
    a constant: its tile and split registers, then its own, its sum carry-selected), ``t``'s shift
    by its multiple of 8, the table's operand, the table read and its parabola (as the quad seed,
    with ``c1*u``'s split register: five), the final product (tile [, split] and its own), the
    packer (leading one, normalize, shift) and the output register; fewer with ``config.pipeline``
    (:func:`hw.spec.plan.elu_cuts`). Flow control as :class:`~hw.rtl.units.rsqrt.RsqrtUnit`.

    Numerics: bit-exact with :func:`golden.elu.elu`, the datapath of :mod:`hw.spec.elu`: forward
    ``-|x| * P'(|x|)`` below 1, ``-(alpha - Q'(f) * 2**-k)`` above, backward ``grad * Q'(f) * 2**-k``,
    ``t = |x|*log2(e) = k + f``, one rounding (nearest even, subnormal results). Correctly rounded
    on every BF16 and FP16 input at alpha 1 and 0.5 (docs/elu.md). Specials: NaN in gives the
    canonical quiet NaN; ``x >= 0`` (``-0`` included) gives ``x`` forward, ``grad`` backward;
    ``-inf`` gives ``-alpha`` forward, ``f' = 0`` backward (``inf * 0``: NaN). Fixed point: the
    magnitude unpacked (:class:`~hw.rtl.blocks.unpack.FixedUnpack`), the same datapath, ``x >= 0``
    (``grad``) through the packer too, which rounds to the output grid and saturates
    (:class:`~hw.rtl.blocks.round.RoundPackFixed`, no ``pack_lead`` register); within 0.5002 LSB
    on every q4.12 input.
    """
    def __init__(self, config: Config):
        fields = {"x": data.ArrayLayout(config.in_width, config.lanes)}
        if config.is_backward:
            fields["grad"] = data.ArrayLayout(config.in_width, config.lanes)
        super().__init__(config, data.StructLayout(fields), output_layout(config))
        self.dp = elu_datapath(config.format, config.alpha, config.is_backward)

    def _unpack(self, m, st, en, name, bits):
        return unpack_operand(m, st, en, name, bits, self.config.format, self.dp.exp_width)

    def _lane(self, m, en, lane, st):
        config, dp, fmt = self.config, self.dp, self.config.format
        p, w, name = significand_span(fmt)[0], dp.work_bits, f"lane{lane}"
        man = p - 1
        backward, payload = config.is_backward, self.i.payload
        live = {"x_raw": payload.x[lane]}
        if backward:
            live["g_raw"] = payload.grad[lane]
        live = st.cut("unpack_count", live)
        x = self._unpack(m, st, en, f"{name}_x", payload.x[lane])
        live.update(sx=x.sign, cx=x.cls, ex=x.exp, sigx=x.sig)
        if backward:
            g = self._unpack(m, st, en, f"{name}_grad", payload.grad[lane])
            live.update(sg=g.sign, cg=g.cls, eg=g.exp, sigg=g.sig)
        live = st.cut("unpack", live)
        live, t, small_a = log2e_operand(m, st, en, name, live, dp, man, 0, None if backward else -1,
                                         config.device_model)
        live["k"], operand = t[dp.t_bits:], t[:dp.t_bits]
        if not backward:
            operand = Mux(live["small"], small_a, operand)
        live["operand"] = operand
        live = st.cut("operand", live)
        if not backward:        # the shift of Q' by k, beside the table read
            k = live.pop("k")
            live["k_shift"], live["k_sat"] = Mux(k >= dp.k_max, dp.k_max, k)[:len(k)], k >= dp.k_max
        split = table_split(dp.table, dp.row_bits, config.device_model)
        value = quad_table(m, st, en, f"{name}_table", dp.table, w, dp.row_bits, config.device_model, "seed",
                           live.get("small", 0), live.pop("operand"), split)
        seed_cuts = quad_cuts("seed", split)
        live = st.cut_each(seed_cuts[:-1], live)
        if not backward:        # the mask of the bits Q' >> k drops, before the table's last register
            live["k_mask"] = Mux(live["k_sat"], 0, bits_below(live["k_shift"], w + 1))
        live = st.cut(seed_cuts[-1], live)
        sig = live["sigg"] if backward else live["sigx"]
        if not backward:
            # alpha - Q' * 2**-k with the shifted-out bits rounded up (a sticky bit): the shift by
            # k's even part and the sticky bit beside the product's tiles; the shift by k's low
            # bit and the subtraction after their register, so that neither is in series with the
            # product's carry chain. Saturated, Q' * 2**-k is the sticky bit alone, 1: the shift
            # by k_max (wider than Q') clears Q', which the sat bit then ORs to 1.
            shift = live.pop("k_shift")
            live["shifted"], live["k_odd"] = value >> Cat(Const(0, 1), shift[1:]), shift[0]
            live["sticky"] = (value & live.pop("k_mask")).any()
        cut, split = st.inner_on("product")
        product = m.submodules[f"{name}_product_mul"] = MulShr(len(sig), len(value), 0, p + w + 1, cut=cut,
                                                               split=split, row_bits=dp.row_bits,
                                                               device=config.device_model)
        m.d.comb += [product.a.eq(sig), product.b.eq(value), product.en.eq(en)]
        inner = st.inner("product")
        live = st.cut(inner[0], live)
        if not backward:
            shifted = (live.pop("shifted") >> live.pop("k_odd")) | live.pop("k_sat")
            live["rest"] = (Const(dp.alpha_fixed, w + 1) - shifted - live.pop("sticky"))[:w + 1]
        live = st.cut_each(inner[1:], live)
        live["product"] = product.p
        exp = Signal(signed(dp.exp_width), name=f"{name}_exp")
        if backward:
            m.d.comb += exp.eq(live["eg"] - live["k"] + dp.alpha_exp)
        else:
            m.d.comb += exp.eq(Mux(live["small"], live["ex"] + dp.alpha_exp, dp.alpha_exp))
        if not config.is_float:         # x >= 0: x itself (backward: grad), through the packer
            live["negative_v"] = live["sx"] & (live["cx"] != Cls.ZERO)
            own, own_exp = (live["sigg"], live["eg"]) if backward else (live["sigx"], live["ex"])
            live["own"], exp = own << (w + 1), Mux(live["negative_v"], exp, own_exp)
        live["exp"] = exp
        for used in ("ex", "sigx") + (("eg", "sigg", "k") if backward else ()):
            live.pop(used)
        live = st.cut("product", live)
        # The value strictly below the product (the twin's 2*product - 1): floats take 2*product
        # with the packer's ``below`` flag, which rounds it as that value with no carry chain.
        # Selected after the product's register, before the packer's leading one.
        below = Const(1) if backward else live["small"]
        doubled = live.pop("product") << 1
        if not config.is_float:
            doubled = doubled - 1
        v = Signal(man + w + 3, name=f"{name}_v")
        m.d.comb += v.eq(doubled if backward else Mux(live.pop("small"), doubled, live.pop("rest") << (man + 1)))
        live["v"] = v
        if not config.is_float:
            live["v"] = Mux(live.pop("negative_v"), v, live.pop("own"))
            high = fmt.int_bits - 1 + max(dp.alpha_exp, 0)
            negative = live["sg"] if backward else live["sx"]
            zero = live["cg" if backward else "cx"] == Cls.ZERO
            fixed_result(m, st, en, config.out_format, self.o.payload, lane, live, man + w + 3, man + w + 1, high, negative, zero)
            return
        pack = m.submodules[f"{name}_pack"] = RoundPackFloat(
            fmt, man + w + 3, man + w + 1, man + w - 1, man + w + 2, dp.exp_width, subnormals=True,
            cuts=st.on_each(PACK_CUTS), lead_cut=st.on("pack_lead"), strict=True,
            device=config.device_model)
        m.d.comb += [pack.v.eq(live.pop("v")), pack.exp.eq(live.pop("exp")), pack.below.eq(below),
                     pack.en.eq(en)]
        live = st.cut_each(("pack_lead",) + PACK_CUTS, live)
        result = Signal(fmt.width, name=f"{name}_result")
        cx = live["cx"]
        negative = live["sx"] & (cx != Cls.ZERO)
        if backward:
            cg = live["cg"]
            magnitude = Mux(cg == Cls.ZERO, 0, Mux(cg == Cls.INF, fmt.inf, pack.bits))
            magnitude = Mux(negative & (cx == Cls.INF), 0, magnitude)
            magnitude = Mux(negative, magnitude, live["g_raw"][:fmt.width - 1])
            # NaN from the classes alone (the packer never gives a NaN), not from the magnitude
            nan = (cx == Cls.NAN) | (cg == Cls.NAN) | (negative & (cx == Cls.INF) & (cg == Cls.INF))
            m.d.comb += result.eq(Mux(nan, fmt.quiet_nan, magnitude | Mux(live["sg"], fmt.sign_bit, 0)))
        else:
            m.d.comb += result.eq(Mux(cx == Cls.NAN, fmt.quiet_nan,
                                      Mux(negative, pack.bits | fmt.sign_bit, live["x_raw"])))
        out = st.cut("out", {"y": result})
        m.d.comb += self.o.payload.y[lane].eq(out["y"])
