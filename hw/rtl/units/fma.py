"""The streaming fused multiply-add unit ``a*b + c`` (golden model: golden.fma.fma)."""
from amaranth.hdl import Const, Mux, Signal, signed
from amaranth.lib import data

from hw.rtl.blocks.multiply import Product
from hw.rtl.blocks.round import PACK_CUTS, RoundPackFloat
from hw.rtl.blocks.unpack import FloatFields
from hw.spec.classes import Cls
from hw.spec.config import Config
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


def _clamp(m, value, limit, name):
    """``min(max(value, 0), limit)`` of a signed value."""
    clamped = Signal(range(limit + 1), name=name)
    m.d.comb += clamped.eq(Mux(value < 0, 0, Mux(value > limit, limit, value)))
    return clamped


class FmaUnit(StreamUnit):
    """Fully pipelined ``a*b + c`` with a single rounding, on ``config.lanes`` lanes.

    Ports
    -----
    i : In(stream.Signature(fma_input_layout(config)))
        ``payload.a[lane]``, ``payload.b[lane]``, ``payload.c[lane]``: raw float bits.
    o : Out(stream.Signature(fma_output_layout(config)))
        ``payload.y[lane]``: raw result bits.

    Timing: initiation interval 1, latency 8 with every pipeline register (unpack, the register
    after the product's DSP tiles, [FP32 and wider: the product's split register, latency 9,]
    multiply with the exponent difference beside it, align, add, normalize, shift, round/pack),
    fewer with ``config.pipeline`` (:mod:`hw.spec.plan`); flow
    control as :class:`~hw.rtl.units.rsqrt.RsqrtUnit`.

    Numerics: IEEE 754 ``fusedMultiplyAdd`` rounded to nearest even: the exact product is aligned
    with ``c`` in a ``2p + 3``-bit window plus a sticky bit, added, normalized and rounded once;
    subnormal inputs and results (subnormal operands enter unnormalized, :class:`FloatFields`:
    the final normalization covers their leading zeros, and the window keeps every bit that can
    reach the rounding position), overflow to infinity; ``inf * 0``, ``inf - inf`` and NaN inputs
    give the canonical quiet NaN; an exact zero sum is ``+0`` unless both addends are ``-0``.
    """

    def __init__(self, config: Config):
        super().__init__(config, fma_input_layout(config), fma_output_layout(config))

    def _lane(self, m, en, lane, st):
        fmt = self.config.format
        man, p = fmt.man_bits, fmt.precision
        window = 2 * p + 3
        exp_width = (4 * (fmt.bias + man + window + 4)).bit_length() + 1
        name = f"lane{lane}"
        live = {}
        for operand in "abc":
            unpack = m.submodules[f"{name}_{operand}"] = FloatFields(fmt, exp_width)
            m.d.comb += unpack.bits.eq(getattr(self.i.payload, operand)[lane])
            for port in ("sign", "cls", "exp", "sig"):
                live[f"{operand}_{port}"] = getattr(unpack, port)
        live = st.cut("unpack", live)
        ca, cb, cc = live.pop("a_cls"), live.pop("b_cls"), live.pop("c_cls")
        sc = live.pop("c_sign")
        prod_sign = live.pop("a_sign") ^ live.pop("b_sign")
        prod_zero = (ca == Cls.ZERO) | (cb == Cls.ZERO)
        prod_inf = (ca == Cls.INF) | (cb == Cls.INF)
        nan = ((ca == Cls.NAN) | (cb == Cls.NAN) | (cc == Cls.NAN) | (prod_inf & prod_zero)
               | (prod_inf & (cc == Cls.INF) & (prod_sign != sc)))
        special = Signal(2, name=f"{name}_special")     # 0 none, 1 NaN, 2 infinity, 3 zero + zero
        special_sign = Signal(name=f"{name}_special_sign")
        with m.If(nan):
            m.d.comb += special.eq(1)
        with m.Elif(prod_inf | (cc == Cls.INF)):
            m.d.comb += [special.eq(2), special_sign.eq(Mux(prod_inf, prod_sign, sc))]
        with m.Elif(prod_zero & (cc == Cls.ZERO)):
            m.d.comb += [special.eq(3), special_sign.eq(prod_sign & sc)]
        # The exact product; beside the multiplier, the exponent difference both ways.
        limit = window + 2
        top = Signal(signed(exp_width), name=f"{name}_prod_top")
        diff = Signal(signed(exp_width), name=f"{name}_diff")
        back = Signal(signed(exp_width), name=f"{name}_back")
        ec = live.pop("c_exp")
        c_zero = cc == Cls.ZERO
        m.d.comb += [top.eq(live.pop("a_exp") + live.pop("b_exp") + 1), diff.eq(top - ec),
                     back.eq(ec - top)]
        cut, split = st.inner_on("multiply")
        product = m.submodules[f"{name}_product"] = Product(p, p, cut=cut, split=split)
        m.d.comb += [product.a.eq(live.pop("a_sig")), product.b.eq(live.pop("b_sig")), product.en.eq(en)]
        live.update(special=special, special_sign=special_sign, prod_sign=prod_sign,
                    prod_zero=prod_zero, c_zero=c_zero, c_sign=sc, diff=diff, back=back,
                    anchor=Mux(c_zero | (~prod_zero & back[-1]), top, ec))
        live = st.cut_each(st.inner("multiply"), live)
        live["prod"] = product.p
        live = st.cut("multiply", live)
        # Align both in the window (bit `window` weighs 2**anchor; bit 0 is sticky).
        diff, back = live.pop("diff"), live.pop("back")
        prod_leads = live["c_zero"] | (~live["prod_zero"] & back[-1])
        prod_shift = Mux(prod_leads, 0, _clamp(m, back, limit, f"{name}_prod_shift"))
        c_shift = Mux(prod_leads, _clamp(m, diff, limit, f"{name}_c_shift"), 0)
        prod_win = Signal(window + 1, name=f"{name}_prod_win")
        c_win = Signal(window + 1, name=f"{name}_c_win")
        m.d.comb += [prod_win.eq(Mux(live.pop("prod_zero"), 0, live.pop("prod") << (window - (2 * p - 1)))),
                     c_win.eq(Mux(live.pop("c_zero"), 0, live.pop("c_sig") << (window - man)))]
        live["prod_al"] = _shift_sticky(m, prod_win, prod_shift, f"{name}_prod")
        live["c_al"] = _shift_sticky(m, c_win, c_shift, f"{name}_c")
        live = st.cut("align", live)
        # Add, or subtract both ways at once and keep the non-negative difference.
        prod_al, c_al = live["prod_al"], live["c_al"]
        total = Signal(window + 2, name=f"{name}_total")
        forward = Signal(signed(window + 3), name=f"{name}_forward")
        backward = Signal(window + 2, name=f"{name}_backward")
        subtract = live["prod_sign"] != live["c_sign"]
        m.d.comb += [forward.eq(prod_al - c_al), backward.eq(c_al - prod_al)]
        negative = subtract & forward[-1]
        with m.If(~subtract):
            m.d.comb += total.eq(prod_al + c_al)
        with m.Elif(negative):
            m.d.comb += total.eq(backward)
        with m.Else():
            m.d.comb += total.eq(forward)
        result = {"sum": total, "sign": live["prod_sign"] ^ negative,
                  "exp": live["anchor"] - window, "special": live["special"],
                  "special_sign": live["special_sign"]}
        live = st.cut("add", result)
        # Normalize, round once, pack; specials.
        pack = m.submodules[f"{name}_pack"] = RoundPackFloat(
            fmt, window + 2, 0, 0, window + 1, exp_width, subnormals=True,
            cuts=st.on_each(PACK_CUTS))
        m.d.comb += [pack.v.eq(live["sum"]), pack.exp.eq(live["exp"]), pack.en.eq(en)]
        live = st.cut_each(PACK_CUTS, {"zero": live["sum"] == 0, "sign": live["sign"],
                                       "special": live["special"],
                                       "special_sign": live["special_sign"]})
        special, special_sign = live["special"], live["special_sign"]
        y = Signal(fmt.width, name=f"{name}_result")
        with m.If(special == 1):
            m.d.comb += y.eq(fmt.quiet_nan)
        with m.Elif(special == 2):
            m.d.comb += y.eq(fmt.inf | Mux(special_sign, fmt.sign_bit, 0))
        with m.Elif(special == 3):
            m.d.comb += y.eq(Mux(special_sign, fmt.sign_bit, 0))
        with m.Elif(live["zero"]):
            m.d.comb += y.eq(0)
        with m.Else():
            m.d.comb += y.eq(pack.bits | Mux(live["sign"], fmt.sign_bit, 0))
        m.d.comb += self.o.payload.y[lane].eq(st.cut("out", {"y": y})["y"])
