"""The streaming inverse-square-root unit (golden twin: golden.rsqrt.rsqrt)."""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..blocks.newton import NewtonStage
from ..blocks.reduce import RangeReduce
from ..blocks.round import RoundPackFixed, RoundPackFloat
from ..blocks.seed import LutSeed, MagicSeed
from ..blocks.unpack import FixedUnpack, FloatUnpack
from ..classes import Cls
from ..config import Config
from ..datapath import datapath
from ..pipeline import delay, register

__all__ = ["RsqrtUnit", "input_layout", "output_layout"]


def input_layout(config):
    return data.StructLayout({"x": data.ArrayLayout(config.in_width, config.lanes)})


def output_layout(config):
    fields = {"y": data.ArrayLayout(config.out_width, config.lanes)}
    if not config.is_float:
        fields["flag"] = data.ArrayLayout(1, config.lanes)
    return data.StructLayout(fields)


class RsqrtUnit(wiring.Component):
    """Fully pipelined ``1/sqrt(x)`` on ``config.lanes`` independent lanes.

    Ports
    -----
    i : In(stream.Signature(input_layout(config)))
        ``payload.x[lane]``: raw input bits.
    o : Out(stream.Signature(output_layout(config)))
        ``payload.y[lane]``: raw result bits; fixed point also ``payload.flag[lane]`` (result
        saturated, zero or negative input).

    Timing: initiation interval 1; latency ``3 + 3 * newton`` cycles (unpack, seed, 3 per Newton
    stage, round/pack); when ``o.ready`` is low the whole pipeline holds (``i.ready = ~o.valid |
    o.ready``) and nothing is lost. Results leave in input order.

    Numerics: bit-exact with :func:`golden.rsqrt.rsqrt`. Floats: ``+0 -> +inf``, ``-0 -> -inf``,
    negative (incl. ``-inf``) ``-> qNaN``, ``+inf -> +0``, NaN ``-> qNaN`` (canonical), subnormal
    inputs normalized and computed. Fixed point: zero gives the output maximum and ``flag``,
    negative gives 0 and ``flag``, results beyond the output format saturate with ``flag``.
    """
    def __init__(self, config: Config):
        if config.function != "rsqrt":
            raise ValueError(f"RsqrtUnit computes function 'rsqrt', not {config.function!r}")
        self.config = config
        self.dp = datapath(config)
        super().__init__({
            "i": In(stream.Signature(input_layout(config))),
            "o": Out(stream.Signature(output_layout(config))),
        })

    @property
    def latency(self):
        return 3 + NewtonStage.latency * self.config.newton

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
        config, dp, fmt = self.config, self.dp, self.config.format
        name = f"lane{lane}"
        unpack_cls = FloatUnpack if config.is_float else FixedUnpack
        unpack = m.submodules[f"{name}_unpack"] = unpack_cls(fmt, dp.exp_width)
        m.d.comb += unpack.bits.eq(self.i.payload.x[lane])
        sign = register(m, en, unpack.sign, f"{name}_sign")
        cls = register(m, en, unpack.cls, f"{name}_cls")
        exp = register(m, en, unpack.exp, f"{name}_exp")
        sig = register(m, en, unpack.sig, f"{name}_sig")

        reduce = m.submodules[f"{name}_reduce"] = RangeReduce(dp.frac_bits, dp.exp_width)
        m.d.comb += [reduce.exp.eq(exp), reduce.sig.eq(sig)]
        seed_cls = LutSeed if config.seed == "lut" else MagicSeed
        seed = m.submodules[f"{name}_seed"] = seed_cls(config, dp)
        m.d.comb += [seed.parity.eq(reduce.parity), seed.sig.eq(sig)]
        if config.seed == "lut":
            m.d.comb += seed.en.eq(en)
            r = seed.r0
        else:
            r = register(m, en, seed.r0, f"{name}_r0")
        mr = register(m, en, reduce.mr, f"{name}_mr")
        k = register(m, en, reduce.k, f"{name}_k")
        r_bits = dp.seed_bits
        for index in range(config.newton):
            stage = m.submodules[f"{name}_newton{index}"] = NewtonStage(
                dp, r_bits, last=index == config.newton - 1)
            m.d.comb += [stage.r.eq(r), stage.mr.eq(mr), stage.en.eq(en)]
            r, mr, r_bits = stage.r_next, stage.mr_next, dp.work_bits
        k = delay(m, en, k, NewtonStage.latency * config.newton, f"{name}_k")
        core_latency = 2 + NewtonStage.latency * config.newton
        sign = delay(m, en, sign, core_latency - 1, f"{name}_sign")
        cls = delay(m, en, cls, core_latency - 1, f"{name}_cls")

        if config.is_float:
            w = dp.work_bits
            pack = m.submodules[f"{name}_pack"] = RoundPackFloat(
                fmt, w + 1, w, w - 2, w, dp.exp_width, subnormals=False)
            m.d.comb += [pack.v.eq(r), pack.exp.eq(-k)]
            result = Signal(fmt.width, name=f"{name}_result")
            with m.If((cls == Cls.NAN) | (sign & (cls != Cls.ZERO))):
                m.d.comb += result.eq(fmt.quiet_nan)
            with m.Elif(cls == Cls.ZERO):
                m.d.comb += result.eq(fmt.inf | Mux(sign, fmt.sign_bit, 0))
            with m.Elif(cls == Cls.INF):
                m.d.comb += result.eq(0)
            with m.Else():
                m.d.comb += result.eq(pack.bits)
            out = register(m, en, result, f"{name}_y")
            m.d.comb += self.o.payload.y[lane].eq(out)
        else:
            out_fmt = config.out_format
            k_min, k_max = (-fmt.frac_bits) >> 1, (fmt.int_bits - 2) >> 1
            pack = m.submodules[f"{name}_pack"] = RoundPackFixed(
                out_fmt, dp.work_bits + 1, dp.work_bits, -k_max, -k_min, dp.exp_width)
            m.d.comb += [pack.v.eq(r), pack.exp.eq(-k)]
            zero, negative = cls == Cls.ZERO, sign
            y = Mux(negative, 0, Mux(zero, out_fmt.max_int, pack.y))
            out = register(m, en, y, f"{name}_y")
            flag = register(m, en, pack.sat | zero | negative, f"{name}_flag")
            m.d.comb += [self.o.payload.y[lane].eq(out), self.o.payload.flag[lane].eq(flag)]
