"""The streaming inverse-square-root unit (golden twin: golden.rsqrt.rsqrt)."""
from amaranth.hdl import Cat, Mux, Signal, signed
from amaranth.lib import data

from hw.rtl.blocks.round import PACK_CUTS, RoundPackFixed, RoundPackFloat
from hw.rtl.blocks.unpack import FixedUnpack, FloatUnpack
from hw.spec.classes import Cls
from hw.spec.config import Config
from hw.spec.datapath import datapath
from hw.rtl.pipeline import StreamUnit
from .core import rsqrt_core

__all__ = ["RsqrtUnit", "input_layout", "output_layout"]


def input_layout(config):
    return data.StructLayout({"x": data.ArrayLayout(config.in_width, config.lanes)})


def output_layout(config):
    """``y`` per lane, and for fixed point ``flag`` per lane (the activations' layout too)."""
    fields = {"y": data.ArrayLayout(config.out_width, config.lanes)}
    if not config.is_float:
        fields["flag"] = data.ArrayLayout(1, config.lanes)
    return data.StructLayout(fields)


class RsqrtUnit(StreamUnit):
    """Fully pipelined ``1/sqrt(x)`` on ``config.lanes`` independent lanes.

    Ports
    -----
    i : In(stream.Signature(input_layout(config)))
        ``payload.x[lane]``: raw input bits.
    o : Out(stream.Signature(output_layout(config)))
        ``payload.y[lane]``: raw result bits; fixed point also ``payload.flag[lane]`` (result
        saturated, zero or negative input).

    Timing: initiation interval 1; latency ``6 + 7 * newton`` cycles with every pipeline register
    (unpack's count and shift, seed [, the pwl seed's tile register and line: +2; the quad seed's:
    +4], 7 per Newton stage (its three products, each with the register after its DSP tiles, and
    ``3 - m*r**2``; +1 per product with a sum of 40 bits or more, its split register: FP32 +2 in
    the first stage, +3 in later ones), normalize, shift, round/pack); with the exact last-bit
    decision (``rounding="residual"``, the FP32 default: 12 cycles, its quad seed's square read
    from a table: +3) its five registers (:func:`~hw.rtl.blocks.residual.residual_round`: the
    approximation's register is its midpoint's) and no normalize or shift: the result's word and
    that plus one are worked out beside the decision, whose sign selects one before the output
    register; fewer with ``config.pipeline``
    (:mod:`hw.spec.plan`);
    when ``o.ready`` is low the whole pipeline holds (``i.ready = ~o.valid | o.ready``) and
    nothing is lost. Results leave in input order.

    Numerics: bit-exact with :func:`golden.rsqrt.rsqrt`. Floats: ``+0 -> +inf``, ``-0 -> -inf``,
    negative (incl. ``-inf``) ``-> qNaN``, ``+inf -> +0``, NaN ``-> qNaN`` (canonical), subnormal
    inputs normalized and computed. Fixed point: zero gives the output maximum and ``flag``,
    negative gives 0 and ``flag``, results beyond the output format saturate with ``flag``.
    """

    def __init__(self, config: Config):
        super().__init__(config, input_layout(config), output_layout(config))
        self.dp = datapath(config)

    @staticmethod
    def _special(m, fmt, name, sign, cls, packed):
        """The float result: ``packed`` for a positive finite input, else the special value its
        class and sign give."""
        result = Signal(fmt.width, name=name)
        with m.If((cls == Cls.NAN) | (sign & (cls != Cls.ZERO))):
            m.d.comb += result.eq(fmt.quiet_nan)
        with m.Elif(cls == Cls.ZERO):
            m.d.comb += result.eq(fmt.inf | Mux(sign, fmt.sign_bit, 0))
        with m.Elif(cls == Cls.INF):
            m.d.comb += result.eq(0)
        with m.Else():
            m.d.comb += result.eq(packed)
        return result

    def _decided_words(self, m, name):
        """The two candidate results ``(T + up) / 2**precision * 2**-k`` (``up`` from the exact
        decision; both ``T``'s where ``T = 2**p``, which is not decided), as :func:`~hw.rtl.blocks.residual.residual_round`'s ``candidates`` and
        ``finish``: ``T``'s fraction below the biased exponent of its binade (``T = 2**p`` is the
        next binade's first significand, ``2**(p-1) - 1`` the last of the one below: the exponent
        one up or down, so that the fraction field is ``T``'s low bits in every case), and that
        plus one, whose carry out of the significand is the next binade (out of the largest
        binade: exactly +inf's word); +inf where the exponent is beyond the largest already
        (formats whose results can exceed the largest finite number). The increment is two carry
        chains of half the word a register apart: the lower half beside the decision's square,
        the upper half and the lower one's carry beside its product, where both words also take
        the input's special cases, so that the decision only selects."""
        fmt, p = self.config.format, self.config.format.precision
        half = (fmt.width - 1) // 2

        def words(t, live):
            live = dict(live)
            k = live.pop("k")
            biased = [Signal(signed(self.dp.exp_width + 2), name=f"{name}_biased{d}") for d in range(3)]
            m.d.comb += [b.eq(fmt.bias - d - k) for d, b in enumerate(biased)]
            # Each exponent beside the others and its overflow a comparison of k with a constant:
            # T's top bits then only select.
            field = Mux(t[p], biased[0], Mux(t[p - 1], biased[1], biased[2]))
            beyond = Mux(t[p], k <= fmt.bias - fmt.exp_max_field,
                         Mux(t[p - 1], k <= fmt.bias - 1 - fmt.exp_max_field, k <= fmt.bias - 2 - fmt.exp_max_field))
            word = Cat(t[:fmt.man_bits], field[:fmt.exp_bits])
            low = Signal(half + 1, name=f"{name}_word_low")
            m.d.comb += low.eq(word[:half] + 1)
            return {**live, "word": Mux(beyond, fmt.inf, word), "beyond": beyond, "word_low": low,
                    "word_high": word[half:]}

        def finish(live):
            live = dict(live)
            low, high = live.pop("word_low"), live.pop("word_high")
            up = Mux(live.pop("beyond"), fmt.inf, Cat(low[:half], high + low[half]))
            up = Mux(live.pop("over"), live["word"], up)
            sign, cls = live.pop("sign"), live.pop("cls")
            return {**live, "word": self._special(m, fmt, f"{name}_word_result", sign, cls, live["word"]),
                    "word_up": self._special(m, fmt, f"{name}_word_up_result", sign, cls, up)}
        return words, finish

    def _lane(self, m, en, lane, st):
        config, dp, fmt = self.config, self.dp, self.config.format
        name = f"lane{lane}"
        unpack_cls = FloatUnpack if config.is_float else FixedUnpack
        unpack = m.submodules[f"{name}_unpack"] = unpack_cls(fmt, dp.exp_width, cut=st.on("unpack_count"))
        m.d.comb += [unpack.bits.eq(self.i.payload.x[lane]), unpack.en.eq(en)]
        live = st.cut("unpack", {port: getattr(unpack, port) for port in ("sign", "cls", "exp", "sig")})

        decided = dp.decided_word_bits > 0
        r, _, live = rsqrt_core(m, en, st, config, dp, name, live["exp"], live["sig"],
                                {"sign": live["sign"], "cls": live["cls"]},
                                *(self._decided_words(m, name) if decided else ()))
        if decided:         # the decision selects before the output register
            out = st.cut("out", {"y": live["pick"](live["word"], live["word_up"])})
            m.d.comb += self.o.payload.y[lane].eq(out["y"])
        elif config.is_float:
            w = dp.work_bits
            pack = m.submodules[f"{name}_pack"] = RoundPackFloat(
                fmt, w + 1, w, w - 2, w, dp.exp_width, subnormals=False,
                cuts=st.on_each(PACK_CUTS), device=config.device_model)
            m.d.comb += [pack.v.eq(r), pack.exp.eq(-live["k"]), pack.en.eq(en)]
            live = st.cut_each(PACK_CUTS, {"sign": live["sign"], "cls": live["cls"]})
            result = self._special(m, fmt, f"{name}_result", live["sign"], live["cls"], pack.bits)
            out = st.cut("out", {"y": result})
            m.d.comb += self.o.payload.y[lane].eq(out["y"])
        else:
            out_fmt = config.out_format
            k_min, k_max = (-fmt.frac_bits) >> 1, (fmt.int_bits - 2) >> 1
            pack = m.submodules[f"{name}_pack"] = RoundPackFixed(
                out_fmt, dp.work_bits + 1, dp.work_bits, -k_max, -k_min, dp.exp_width,
                cuts=st.on_each(PACK_CUTS))
            m.d.comb += [pack.v.eq(r), pack.exp.eq(-live["k"]), pack.en.eq(en)]
            live = st.cut_each(PACK_CUTS, {"sign": live["sign"], "cls": live["cls"]})
            zero, negative = live["cls"] == Cls.ZERO, live["sign"]
            y = Mux(negative, 0, Mux(zero, out_fmt.max_int, pack.y))
            out = st.cut("out", {"y": y, "flag": pack.sat | zero | negative})
            m.d.comb += [self.o.payload.y[lane].eq(out["y"]), self.o.payload.flag[lane].eq(out["flag"])]
