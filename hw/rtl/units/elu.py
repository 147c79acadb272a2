"""The streaming ELU unit and its backward pass (golden twin: golden.elu.elu)."""

from amaranth.hdl import Cat, Const, Mux, Signal
from amaranth.lib import data

from hw.spec.classes import Cls
from hw.spec.config import Config
from hw.spec.elu import EXP_MAX, elu_datapath
from hw.rtl.blocks.arith import MulShr, staged_product
from hw.rtl.blocks.round import PACK_CUTS, RoundPackFloat
from hw.rtl.blocks.seed import quad_cuts, quad_table
from hw.rtl.blocks.unpack import FloatUnpack
from hw.rtl.pipeline import StreamUnit
from .rsqrt import output_layout

__all__ = ["EluUnit"]


class EluUnit(StreamUnit):
    """Fully pipelined ELU (``x`` for ``x >= 0``, ``alpha*(exp(x) - 1)`` below) or its backward pass
    ``grad * f'(x)`` (``f' = 1``, or ``alpha*exp(x)``) on ``config.lanes`` lanes, float formats.

    Ports
    -----
    i : In(stream.Signature(StructLayout({"x": ..., ["grad": ...]})))
        ``payload.x[lane]``; the backward unit also ``payload.grad[lane]``; raw bits.
    o : Out(stream.Signature(output_layout(config)))
        ``payload.y[lane]``: raw result bits.

    Timing: initiation interval 1; latency with every register 17 (BF16) or 18 (FP16, FP32: the
    final product's split register): unpack's count and shift, ``t = |x|*log2(e)`` (a product with
    a constant: its tile and split registers, then its own), the table's operand, the table read
    and its parabola (as the quad seed: four), the final product (tile [, split] and its own), the
    packer (leading one, normalize, shift) and the output register; fewer with
    ``config.pipeline`` (:func:`hw.spec.plan.elu_cuts`). Flow control as
    :class:`~hw.rtl.units.rsqrt.RsqrtUnit`.

    Numerics: bit-exact with :func:`golden.elu.elu`, the datapath of :mod:`hw.spec.elu`: forward
    ``-|x| * P'(|x|)`` below 1, ``-(alpha - Q'(f) * 2**-k)`` above, backward ``grad * Q'(f) * 2**-k``,
    ``t = |x|*log2(e) = k + f``, one rounding (nearest even, subnormal results). Correctly rounded
    on every BF16 and FP16 input at alpha 1 and 0.5 (docs/elu.md). Specials: NaN in gives the
    canonical quiet NaN; ``x >= 0`` (``-0`` included) gives ``x`` forward, ``grad`` backward;
    ``-inf`` gives ``-alpha`` forward, ``f' = 0`` backward (``inf * 0``: NaN).
    """
    def __init__(self, config: Config):
        fields = {"x": data.ArrayLayout(config.in_width, config.lanes)}
        if config.is_backward:
            fields["grad"] = data.ArrayLayout(config.in_width, config.lanes)
        super().__init__(config, data.StructLayout(fields), output_layout(config))
        self.dp = elu_datapath(config.format, config.alpha, config.is_backward)

    def _unpack(self, m, st, en, name, bits):
        unpack = m.submodules[name] = FloatUnpack(self.config.format, self.dp.exp_width, cut=st.on("unpack_count"))
        m.d.comb += [unpack.bits.eq(bits), unpack.en.eq(en)]
        return unpack

    def _lane(self, m, en, lane, st):
        config, dp, fmt = self.config, self.dp, self.config.format
        man, p, w, name = fmt.man_bits, fmt.precision, dp.work_bits, f"lane{lane}"
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
        # t = a*log2(e), aligned for a below 2**EXP_MAX, then shifted down to the exponent.
        # The shift's distance EXP_MAX - min(e, EXP_MAX) beside the product.
        ex = live["ex"]
        distance = Signal(range(EXP_MAX + 2 ** (dp.exp_width - 1) + 1), name=f"{name}_distance")
        m.d.comb += distance.eq(EXP_MAX - Mux(ex > EXP_MAX, EXP_MAX, ex))
        live["distance"] = distance
        live = staged_product(m, st, en, name, "log2e", live, live["sigx"], Const(dp.log2e),
                              man + dp.log2e_bits - dp.t_bits - EXP_MAX, dp.top_bits, row_bits=dp.log2e_row_bits,
                              device=config.device_model)
        ex = live["ex"]
        t = Signal(dp.top_bits, name=f"{name}_t")
        m.d.comb += t.eq(live.pop("log2e") >> live.pop("distance"))
        live["k"], operand, small = t[dp.t_bits:], t[:dp.t_bits], Const(0, 1)
        if not backward:
            small = ex < 0
            step = Signal(range(2 ** (dp.exp_width - 1) + 1), name=f"{name}_small_shift")
            m.d.comb += step.eq(Mux(small, -1 - ex, 0))
            a = (live["sigx"] << (dp.t_bits - man - 1)) >> step                # a with t_bits fraction bits
            operand = Mux(small, a[:dp.t_bits], operand)
            live["small"] = small
        live["operand"] = operand
        live = st.cut("operand", live)
        if not backward:        # the shift of Q' by k, beside the table read
            k = live.pop("k")
            live["k_shift"], live["k_sat"] = Mux(k >= dp.k_max, dp.k_max, k)[:len(k)], k >= dp.k_max
        value = quad_table(m, st, en, f"{name}_table", dp.table, w, dp.row_bits, config.device_model, "seed",
                           live.get("small", 0), live.pop("operand"))
        live = st.cut_each(quad_cuts("seed"), live)
        sig = live["sigg"] if backward else live["sigx"]
        if not backward:
            # alpha - Q' * 2**-k with the shifted-out bits rounded up (a sticky bit): the shift and
            # the sticky bit beside the product's tiles, the subtraction after their register,
            # so that neither is in series with the product's carry chain.
            shift, sat = live.pop("k_shift"), live.pop("k_sat")
            mask = ~(Const(-1, w + 1) << shift)
            live["shifted"] = Mux(sat, 1, value >> shift)
            live["sticky"] = ~sat & (value & mask).any()
        cut, split = st.inner_on("product")
        product = m.submodules[f"{name}_product_mul"] = MulShr(len(sig), len(value), 0, p + w + 1, cut=cut,
                                                               split=split, row_bits=dp.row_bits,
                                                               device=config.device_model)
        m.d.comb += [product.a.eq(sig), product.b.eq(value), product.en.eq(en)]
        inner = st.inner("product")
        live = st.cut(inner[0], live)
        if not backward:
            live["rest"] = (Const(dp.alpha_fixed, w + 1) - live.pop("shifted") - live.pop("sticky"))[:w + 1]
        live = st.cut_each(inner[1:], live)
        live["product"] = product.p
        below = (live.pop("product") << 1) - 1                               # strictly below
        if backward:
            live["v"], live["exp"] = below, live["eg"] - live["k"] + dp.alpha_exp
        else:
            small = live.pop("small")
            live["v"] = Mux(small, below, live.pop("rest") << (man + 1))
            live["exp"] = Mux(small, live["ex"] + dp.alpha_exp, dp.alpha_exp)
        for used in ("ex", "sigx") + (("eg", "sigg", "k") if backward else ()):
            live.pop(used)
        live = st.cut("product", live)
        pack = m.submodules[f"{name}_pack"] = RoundPackFloat(
            fmt, man + w + 3, man + w + 1, man + w - 1, man + w + 2, dp.exp_width, subnormals=True,
            cuts=st.on_each(PACK_CUTS), lead_cut=st.on("pack_lead"))
        m.d.comb += [pack.v.eq(live.pop("v")), pack.exp.eq(live.pop("exp")), pack.en.eq(en)]
        live = st.cut_each(("pack_lead",) + PACK_CUTS, live)
        result = Signal(fmt.width, name=f"{name}_result")
        cx = live["cx"]
        negative = live["sx"] & (cx != Cls.ZERO)
        if backward:
            cg = live["cg"]
            magnitude = Mux(cg == Cls.ZERO, 0, Mux(cg == Cls.INF, fmt.inf, pack.bits))
            magnitude = Mux(negative & (cx == Cls.INF), Mux(cg == Cls.INF, fmt.quiet_nan, 0), magnitude)
            magnitude = Mux(negative, magnitude, live["g_raw"][:fmt.width - 1])
            signed = Mux(magnitude == fmt.quiet_nan, magnitude, magnitude | Mux(live["sg"], fmt.sign_bit, 0))
            m.d.comb += result.eq(Mux((cx == Cls.NAN) | (cg == Cls.NAN), fmt.quiet_nan, signed))
        else:
            m.d.comb += result.eq(Mux(cx == Cls.NAN, fmt.quiet_nan,
                                      Mux(negative, pack.bits | fmt.sign_bit, live["x_raw"])))
        out = st.cut("out", {"y": result})
        m.d.comb += self.o.payload.y[lane].eq(out["y"])
