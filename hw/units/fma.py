"""The streaming fused multiply-add unit ``a*b + c`` (golden model: golden.fma.fma)."""
from amaranth.hdl import Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..blocks.round import RoundPackFloat
from ..blocks.unpack import FloatUnpack
from ..classes import Cls
from ..config import Config
from ..pipeline import delay, register

__all__ = ["FmaUnit", "fma_input_layout"]

LATENCY = 5


def fma_input_layout(config):
    lanes = data.ArrayLayout(config.in_width, config.lanes)
    return data.StructLayout({"a": lanes, "b": lanes, "c": lanes})


def fma_output_layout(config):
    return data.StructLayout({"y": data.ArrayLayout(config.out_width, config.lanes)})


def _shift_sticky(m, value, amount, limit, name):
    """``value >> amount`` with the OR of the shifted-out bits in bit 0 (``amount`` clamped)."""
    clamped = Signal(range(limit + 1), name=f"{name}_amount")
    m.d.comb += clamped.eq(Mux(amount > limit, limit, amount))
    shifted = Signal(len(value), name=f"{name}_shifted")
    m.d.comb += shifted.eq(value >> clamped)
    lost = (shifted << clamped)[:len(value)] != value
    return shifted | lost


class FmaUnit(wiring.Component):
    """Fully pipelined ``a*b + c`` with a single rounding, on ``config.lanes`` lanes.

    Ports
    -----
    i : In(stream.Signature(fma_input_layout(config)))
        ``payload.a[lane]``, ``payload.b[lane]``, ``payload.c[lane]``: raw float bits.
    o : Out(stream.Signature(fma_output_layout(config)))
        ``payload.y[lane]``: raw result bits.

    Timing: initiation interval 1, latency 5 (unpack, multiply, align, add, normalize/round/pack);
    flow control as :class:`~hw.units.rsqrt.RsqrtUnit`.

    Numerics: IEEE 754 ``fusedMultiplyAdd`` rounded to nearest even: the exact product is aligned
    with ``c`` in a ``2p + 3``-bit window plus a sticky bit, added, normalized and rounded once;
    subnormal inputs and results, overflow to infinity; ``inf * 0``, ``inf - inf`` and NaN inputs
    give the canonical quiet NaN; an exact zero sum is ``+0`` unless both addends are ``-0``.
    """
    def __init__(self, config: Config):
        if config.function != "fma":
            raise ValueError(f"FmaUnit computes function 'fma', not {config.function!r}")
        self.config = config
        super().__init__({
            "i": In(stream.Signature(fma_input_layout(config))),
            "o": Out(stream.Signature(fma_output_layout(config))),
        })

    latency = LATENCY

    def elaborate(self, platform):
        m = Module()
        en = Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready), self.i.ready.eq(en)]
        valid = self.i.valid
        for stage in range(self.latency):
            reg = Signal(name=f"valid_{stage + 1}")
            with m.If(en):
                m.d.sync += reg.eq(valid)
            valid = reg
        m.d.comb += self.o.valid.eq(valid)
        for lane in range(self.config.lanes):
            self._lane(m, en, lane)
        return m

    def _lane(self, m, en, lane):
        fmt = self.config.format
        man, p = fmt.man_bits, fmt.precision
        window = 2 * p + 3
        exp_width = (4 * (fmt.bias + man + window + 4)).bit_length() + 1
        name = f"lane{lane}"
        fields = {}
        for operand in "abc":
            unpack = m.submodules[f"{name}_{operand}"] = FloatUnpack(fmt, exp_width)
            m.d.comb += unpack.bits.eq(getattr(self.i.payload, operand)[lane])
            fields[operand] = [register(m, en, getattr(unpack, port), f"{name}_{operand}_{port}")
                               for port in ("sign", "cls", "exp", "sig")]
        (sa, ca, ea, siga), (sb, cb, eb, sigb), (sc, cc, ec, sigc) = fields["a"], fields["b"], fields["c"]
        # Classes decided at stage 1, used at the end.
        prod_sign = sa ^ sb
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
        special = delay(m, en, special, LATENCY - 2, f"{name}_special")
        special_sign = delay(m, en, special_sign, LATENCY - 2, f"{name}_special_sign")
        # Stage 2: exact product.
        prod = register(m, en, siga * sigb, f"{name}_prod")
        prod_exp = register(m, en, ea + eb, f"{name}_prod_exp")
        prod_sign = register(m, en, prod_sign, f"{name}_prod_sign")
        prod_zero = register(m, en, prod_zero, f"{name}_prod_zero")
        sc, ec, sigc = (register(m, en, v, f"{name}_c{i}") for i, v in enumerate((sc, ec, sigc)))
        c_zero = register(m, en, cc == Cls.ZERO, f"{name}_c_zero")
        # Stage 3: align both in the window (bit `window` weighs 2**anchor; bit 0 is sticky).
        top = Signal(signed(exp_width), name=f"{name}_prod_top")
        m.d.comb += top.eq(prod_exp + 1)
        anchor = Signal(signed(exp_width), name=f"{name}_anchor")
        m.d.comb += anchor.eq(Mux(c_zero | (~prod_zero & (top > ec)), top, ec))
        limit = window + 2
        prod_win = Signal(window + 1, name=f"{name}_prod_win")
        c_win = Signal(window + 1, name=f"{name}_c_win")
        m.d.comb += [prod_win.eq(Mux(prod_zero, 0, prod << (window - (2 * p - 1)))),
                     c_win.eq(Mux(c_zero, 0, sigc << (window - man)))]
        prod_al = _shift_sticky(m, prod_win, (anchor - top).as_unsigned(), limit, f"{name}_prod")
        c_al = _shift_sticky(m, c_win, (anchor - ec).as_unsigned(), limit, f"{name}_c")
        prod_al = register(m, en, prod_al, f"{name}_prod_al")
        c_al = register(m, en, c_al, f"{name}_c_al")
        anchor = register(m, en, anchor, f"{name}_anchor_r")
        prod_sign = register(m, en, prod_sign, f"{name}_prod_sign3")
        sc = register(m, en, sc, f"{name}_c_sign3")
        # Stage 4: add or subtract; the magnitude and its sign.
        total = Signal(signed(window + 3), name=f"{name}_total")
        with m.If(prod_sign == sc):
            m.d.comb += total.eq(prod_al + c_al)
        with m.Else():
            m.d.comb += total.eq(prod_al - c_al)
        negative = (prod_sign != sc) & total[-1]
        magnitude = register(m, en, Mux(negative, -total, total)[:window + 2], f"{name}_sum")
        sign = register(m, en, prod_sign ^ negative, f"{name}_sum_sign")
        exp = register(m, en, anchor - window, f"{name}_sum_exp")
        # Stage 5: normalize, round once, pack; specials.
        pack = m.submodules[f"{name}_pack"] = RoundPackFloat(
            fmt, window + 2, 0, 0, window + 1, exp_width, subnormals=True)
        m.d.comb += [pack.v.eq(magnitude), pack.exp.eq(exp)]
        result = Signal(fmt.width, name=f"{name}_result")
        with m.If(special == 1):
            m.d.comb += result.eq(fmt.quiet_nan)
        with m.Elif(special == 2):
            m.d.comb += result.eq(fmt.inf | Mux(special_sign, fmt.sign_bit, 0))
        with m.Elif(special == 3):
            m.d.comb += result.eq(Mux(special_sign, fmt.sign_bit, 0))
        with m.Elif(magnitude == 0):
            m.d.comb += result.eq(0)
        with m.Else():
            m.d.comb += result.eq(pack.bits | Mux(sign, fmt.sign_bit, 0))
        m.d.comb += self.o.payload.y[lane].eq(register(m, en, result, f"{name}_y"))
