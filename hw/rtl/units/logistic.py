"""The streaming tanh and sigmoid units and their backward passes (golden twin:
golden.logistic.logistic)."""

from amaranth.hdl import Cat, Const, Mux, Signal, signed
from amaranth.lib import data

from hw.spec.classes import Cls
from hw.spec.config import Config
from hw.spec.formats import significand_span
from hw.spec.logistic import SMALL_EXP, kind_of, logistic_datapath
from hw.spec.tiles import table_split
from hw.rtl.blocks.arith import at_least, bits_below, staged_product
from hw.rtl.blocks.round import PACK_CUTS, RoundPackFloat
from hw.rtl.blocks.seed import quad_cuts, quad_table
from hw.rtl.pipeline import StreamUnit
from .elu import fixed_result, log2e_operand, unpack_operand
from .rsqrt import output_layout

__all__ = ["LogisticUnit"]


class LogisticUnit(StreamUnit):
    """Fully pipelined tanh or logistic sigmoid, or its backward pass ``grad * f'(x)``, on
    ``config.lanes`` lanes, float formats and signed fixed point up to 24 bits.

    Ports
    -----
    i : In(stream.Signature(StructLayout({"x": ..., ["grad": ...]})))
        ``payload.x[lane]``; the backward unit also ``payload.grad[lane]``; raw bits.
    o : Out(stream.Signature(output_layout(config)))
        ``payload.y[lane]``: raw result bits; fixed point also ``payload.flag[lane]`` (saturated).

    Timing: initiation interval 1; latency with every register 30 forward, 30 (BF16) or 31
    (FP16, FP32) backward: unpack's count and shift, ``t = c*|x|*log2(e)`` (a product with a
    constant: tile, split, its own), ``t``'s shift by its multiple of 8, the first table's operand,
    the ``Q'`` table and its parabola (six), ``E = Q' * 2**-k`` (two: its shift by k's multiple of
    8, the rest), the ``R`` table and its parabola (six), the product ``QR`` (tile,
    split, its own), forward its aligned term (``QR >> sh`` and the lost bit) and its sum, backward the product with grad (tile [, split],
    its own), the packer (leading one, normalize, shift) and the output register; fewer with
    ``config.pipeline`` (:func:`hw.spec.plan.logistic_cuts`). Flow control as
    :class:`~hw.rtl.units.rsqrt.RsqrtUnit`.

    Numerics: bit-exact with :func:`golden.logistic.logistic`, the datapath of
    :mod:`hw.spec.logistic` (``E = exp(-c|x|)``, ``c`` 2 for tanh, 1 for the sigmoid, then
    ``1/(1 + E)`` or ``1/(1 + E)**2`` from a table; ``tanh(x)/x`` from a table for small ``|x|``),
    one rounding (nearest even, subnormal results). Correctly rounded on every BF16 and FP16 input
    (docs/logistic.md). Specials: NaN in gives the canonical quiet NaN; tanh keeps a zero's sign
    and gives ``+-1`` at ``+-inf``; the sigmoid gives 0.5 at zero, 1 at ``+inf``, ``+0`` at
    ``-inf``; backward ``f'`` is 0 at an infinity (``inf * 0``: NaN). Fixed point: the
    magnitude unpacked, the same datapath, the packer rounding to the output grid and saturating
    (no ``pack_lead`` register); within 0.5001 LSB on every q4.12 input.
    """
    def __init__(self, config: Config):
        fields = {"x": data.ArrayLayout(config.in_width, config.lanes)}
        if config.is_backward:
            fields["grad"] = data.ArrayLayout(config.in_width, config.lanes)
        super().__init__(config, data.StructLayout(fields), output_layout(config))
        self.dp = logistic_datapath(config.format, kind_of(config.function), config.is_backward)

    def _unpack(self, m, st, en, name, bits):
        return unpack_operand(m, st, en, name, bits, self.config.format, self.dp.exp_width)

    def _lane(self, m, en, lane, st):
        config, dp, fmt = self.config, self.dp, self.config.format
        p, w, tb, qb, name = significand_span(fmt)[0], dp.work_bits, dp.t_bits, dp.qr_bits, f"lane{lane}"
        man = p - 1
        backward, payload, rows, device = config.is_backward, self.i.payload, dp.row_bits, config.device_model
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
        live, t, small_b = log2e_operand(m, st, en, name, live, dp, man, dp.t_exp, None if backward else SMALL_EXP,
                                         device)
        live["k"], operand = t[tb:], t[:tb]
        if not backward:        # the small regime's operand: the complement of b = c*a's bits
            operand = Mux(live["small"], ~small_b, operand)
        live["operand"] = operand
        live = st.cut("operand", live)
        # E's saturation at k = 0 (backward also the clamp of Q' * R2), long before either
        live["k_zero"] = live["k"] == 0
        # E's shift by k clamped to Q' * 2**-k's width (a shift that far clears it), beside the read
        e_shift = Signal(range(tb + 2), name=f"{name}_e_shift")
        m.d.comb += e_shift.eq(Mux(at_least(live["k"], tb + 1), tb + 1, live["k"]))
        live["e_shift"] = e_shift
        split = table_split(dp.table, rows, device)
        q = quad_table(m, st, en, f"{name}_table", dp.table, w, rows, device, "seed", live.get("small", 0),
                       live.pop("operand"), split)
        live = st.cut_each(quad_cuts("seed", split), live)
        # E = Q' * 2**-k with t_bits fraction bits, below 1 (saturated: Q' = 1 at k = 0): the shift
        # by the shift's multiple of 8 before the e_coarse register, the rest after it; the small
        # regime's T = small_one - g.
        e_shift = live.pop("e_shift")
        live["e_coarse"] = Cat(Const(0, tb - w), q) >> Cat(Const(0, 3), e_shift[3:])
        k_zero = live["k_zero"] if backward else live.pop("k_zero")      # backward: kept for the clamp
        live["e_fine"], live["e_sat"] = e_shift[:3], k_zero & q[w]
        live["q"] = q
        if not backward:        # the small regime's operands, chosen before the reciprocal's table
            live["ratio"] = (Const(dp.small_one, w + 2) - q)[:w + 1]
            live["q"] = Mux(live["small"], live["sigx"] << (w - man), q)
        live = st.cut("e_coarse", live)
        shifted = live.pop("e_coarse") >> live.pop("e_fine")
        live["e"] = Mux(live.pop("e_sat"), (1 << tb) - 1, shifted[:tb])
        live = st.cut("e_operand", live)
        split = table_split(dp.recip, rows, device)
        r = quad_table(m, st, en, f"{name}_recip", dp.recip, w, rows, device, "recip", 0, live.pop("e"), split)
        live = st.cut_each(quad_cuts("recip", split), live)
        a_op, b_op, after_tiles = live.pop("q"), r, None
        if not backward:
            b_op = Mux(live["small"], live.pop("ratio"), b_op)
            live.update(self._alignment(m, name, live))
            after_tiles = self._lost_mask
        live = staged_product(m, st, en, name, "qr", live, a_op, b_op, 2 * w - qb, qb + 2, row_bits=rows,
                              device=device, after_tiles=after_tiles)
        qr = live.pop("qr")
        zero = live["cx"] == Cls.ZERO
        if backward:
            # Q' * R2 <= 1/4 at k = 0: strictly below, but at x = 0, where it is exactly 1/4.
            quarter = 1 << (qb - 2)
            clamped = Signal(qb + 1, name=f"{name}_qr2")
            above = qr[qb - 2:].any()                  # qr >= quarter, without a carry chain
            m.d.comb += clamped.eq(Mux(zero, quarter, Mux(live.pop("k_zero") & above, quarter - 1, qr)))
            live = staged_product(m, st, en, name, "product", live, live["sigg"], clamped, 0, p + qb + 1,
                                  row_bits=rows, device=device, cut_step=False)
            live["v"] = (live.pop("product") << 1) - ~zero
            live["exp"] = live["eg"] - live["k"] + 2 * dp.t_exp
            frac, lead_min, lead_max, width = man + qb + 1, man + qb - 2, man + qb + 1, p + qb + 2
            used = ("k", "ex", "sigx", "eg", "sigg")
        else:
            live.update(self._aligned_term(live, qr))
            live = st.cut("aligned_term", live)
            live.update(self._aligned(m, name, live))
            frac, lead_min, lead_max, width = qb + 1, qb - 1, qb + 1, qb + 3
            used = ("k", "ex", "sigx", "small")
        for value in used:
            live.pop(value)
        if not config.is_float and not backward and not dp.tanh:     # the sigmoid's 0.5 at 0
            live["v"] = Mux(zero, 1 << qb, live["v"])
        live = st.cut("product" if backward else "aligned", live)
        if not config.is_float:
            # Results at most |grad| (backward) or 1; exp exceeds the value's by at most 2*|t_exp| + 2.
            high = (fmt.int_bits - 1 if backward else 0) + 2 * abs(dp.t_exp) + 2
            negative = live["sg"] if backward else (live["sx"] if dp.tanh else Const(0, 1))
            zero = live["cg" if backward else "cx"] == Cls.ZERO
            if not (backward or dp.tanh):
                zero = Const(0, 1)
            fixed_result(m, st, en, config.out_format, self.o.payload, lane, live, width, frac, high, negative, zero)
            return
        pack = m.submodules[f"{name}_pack"] = RoundPackFloat(
            fmt, width, frac, lead_min, lead_max, dp.exp_width, subnormals=True,
            cuts=st.on_each(PACK_CUTS), lead_cut=st.on("pack_lead"), device=config.device_model)
        m.d.comb += [pack.v.eq(live.pop("v")), pack.exp.eq(live.pop("exp")), pack.en.eq(en)]
        live = st.cut_each(("pack_lead",) + PACK_CUTS, live)
        result = Signal(fmt.width, name=f"{name}_result")
        m.d.comb += result.eq(self._specials(live, pack.bits))
        out = st.cut("out", {"y": result})
        m.d.comb += self.o.payload.y[lane].eq(out["y"])

    def _alignment(self, m, name, live):
        """The forward alignment of ``QR``, computed beside its product: the shift ``sh`` (at most
        ``k_max``) and ``far`` (shifted out entirely); ``{"sh", "far"}``."""
        dp, small, ex, k = self.dp, live["small"], live["ex"], live["k"]
        shift = Signal(signed(dp.exp_width + 2), name=f"{name}_shift")
        m.d.comb += shift.eq(k - 1 if dp.tanh else Mux(small, 2 - ex, k))
        far = at_least(shift, dp.k_max)
        sh = Signal(range(dp.k_max + 1), name=f"{name}_sh")
        m.d.comb += sh.eq(Mux(shift < 0, 0, Mux(far, dp.k_max, shift)))
        return {"sh": sh, "far": far}

    def _lost_mask(self, live):
        """The mask of the bits ``QR >> sh`` drops (``lost_mask``), beside the product ``QR``."""
        live["lost_mask"] = bits_below(live["sh"], self.dp.qr_bits + 2)
        return live

    def _aligned_term(self, live, qr):
        """The forward value's parts before its sum: ``QR * 2**-sh`` with one more bit set when
        bits were shifted out (``term``; the mask of those bits is worked out beside the product),
        and ``2*QR - 1`` (``direct_v``, strictly below)."""
        qb = self.dp.qr_bits
        sh, far = live.pop("sh"), live.pop("far")
        lost = (qr & live.pop("lost_mask")).any()
        return {"term": Mux(far, 1, Cat(lost, qr >> sh)), "direct_v": ((qr << 1) - 1)[:qb + 3]}

    def _aligned(self, m, name, live):
        """The forward value to round: ``QR`` itself (``v = 2*QR - 1``) or ``C +- term``
        (``C`` 1, or 0.5 for the sigmoid's small regime); ``{"v", "exp"}``."""
        dp, qb = self.dp, self.dp.qr_bits
        small, sx, ex, k = live["small"], live["sx"], live["ex"], live["k"]
        if dp.tanh:
            direct, exp_direct, half, plus = small, ex, 0, 0
        else:
            direct, exp_direct, half, plus = sx & ~small, -k, small, small & ~sx
        # One carry chain, its operands selected before it: direct_v + 0, c + term, or c - term
        # as c + ~term + 1 (the carry in), modulo 2**(qb + 3).
        width = qb + 3
        term = Signal(width, name=f"{name}_term")
        m.d.comb += term.eq(live.pop("term"))
        c = Mux(direct, 0, Mux(half, 1 << qb, 2 << qb))
        addend = Mux(direct, live.pop("direct_v"), Mux(plus, term, ~term))
        carry = Mux(direct | plus, 0, 1)
        v = Signal(width, name=f"{name}_aligned")
        m.d.comb += v.eq((Cat(carry, c[:width]) + Cat(carry, addend[:width]))[1:])
        exp = Signal(signed(dp.exp_width), name=f"{name}_exp")
        m.d.comb += exp.eq(Mux(direct, exp_direct, 0))
        return {"v": v, "exp": exp}

    def _specials(self, live, bits):
        """The result word: the packed magnitude, or a special value, with its sign."""
        fmt, cx = self.config.format, live["cx"]
        one, zero = fmt.bias << fmt.man_bits, cx == Cls.ZERO
        if self.config.is_backward:
            cg = live["cg"]
            magnitude = Mux(cg == Cls.ZERO, 0, Mux(cg == Cls.INF, fmt.inf, bits))
            magnitude = Mux(cx == Cls.INF, Mux(cg == Cls.INF, fmt.quiet_nan, 0), magnitude)
            signed_ = Mux(magnitude == fmt.quiet_nan, magnitude, magnitude | Mux(live["sg"], fmt.sign_bit, 0))
            return Mux((cx == Cls.NAN) | (cg == Cls.NAN), fmt.quiet_nan, signed_)
        if self.dp.tanh:
            magnitude = Mux(cx == Cls.INF, one, Mux(zero, 0, bits))
            y = magnitude | Mux(live["sx"], fmt.sign_bit, 0)
        else:
            y = Mux(cx == Cls.INF, Mux(live["sx"], 0, one), Mux(zero, (fmt.bias - 1) << fmt.man_bits, bits))
        return Mux(cx == Cls.NAN, fmt.quiet_nan, y)
