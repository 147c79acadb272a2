"""The streaming ISRLU/ISRU forward and backward units (golden twin: golden.activation)."""
from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..blocks.arith import AddOne, MulShr, NormalizeSum
from ..blocks.newton import NewtonStage
from ..blocks.reduce import RangeReduce
from ..blocks.round import RoundPackFixed, RoundPackFloat
from ..blocks.seed import LutSeed, MagicSeed
from ..blocks.unpack import FixedUnpack, FloatUnpack
from ..classes import Cls
from ..config import Config
from ..datapath import datapath
from ..pipeline import delay, register

__all__ = ["ActivationUnit", "activation_input_layout"]

# Cycles before the rsqrt core (unpack, square, alpha product, add-one/normalize), in the core
# (seed, Newton stages), and after it (cube for the backward units, product, round/pack).
FRONT_LATENCY = 4


def activation_input_layout(config):
    fields = {"x": data.ArrayLayout(config.in_width, config.lanes)}
    if config.is_backward:
        fields["grad"] = data.ArrayLayout(config.in_width, config.lanes)
    if config.runtime_alpha:
        fields["alpha"] = data.ArrayLayout(config.in_width, config.lanes)
    return data.StructLayout(fields)


def activation_output_layout(config):
    fields = {"y": data.ArrayLayout(config.out_width, config.lanes)}
    if not config.is_float:
        fields["flag"] = data.ArrayLayout(1, config.lanes)
    return data.StructLayout(fields)


class ActivationUnit(wiring.Component):
    """Fused, fully pipelined ISRLU / ISRU and their backward pass on ``config.lanes`` lanes.

    Ports
    -----
    i : In(stream.Signature(activation_input_layout(config)))
        ``payload.x[lane]``; backward units also ``payload.grad[lane]`` (``grad_out``);
        ``runtime_alpha`` also ``payload.alpha[lane]``; all raw bits in the unit's format.
    o : Out(stream.Signature(activation_output_layout(config)))
        ``payload.y[lane]`` (``f(x)`` or ``grad_out * f'(x)``); fixed point also ``flag[lane]``.

    Timing: initiation interval 1; latency ``7 + 3 * newton`` cycles forward, ``9 + 3 * newton``
    backward (unpack, ``x**2``, ``alpha*x**2``, ``1 + .`` normalized, seed, 3 per Newton stage,
    [``r**2``, ``r**3``,] product, round/pack); ISRLU's identity half takes the same path (with
    ``r = 1``), so every input has the same latency. Flow control as :class:`RsqrtUnit`.

    Numerics: bit-exact with :func:`golden.activation.activation`: ``1 + alpha*x**2``, its inverse
    square root and the final product in fixed point with ``work_bits`` fraction bits, rounded once
    (nearest even; subnormal results; overflow to infinity). Special values: see docs/activation.md.
    """
    def __init__(self, config: Config):
        if not config.is_activation:
            raise ValueError(f"ActivationUnit computes the activation functions, not {config.function!r}")
        self.config = config
        self.dp = datapath(config)
        super().__init__({
            "i": In(stream.Signature(activation_input_layout(config))),
            "o": Out(stream.Signature(activation_output_layout(config))),
        })

    @property
    def core_latency(self):
        return 1 + NewtonStage.latency * self.config.newton

    @property
    def back_latency(self):
        return (2 if self.config.is_backward else 0) + 2

    @property
    def latency(self):
        return FRONT_LATENCY + self.core_latency + self.back_latency

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

    def _unpack(self, m, en, name, bits):
        config, dp = self.config, self.dp
        if config.is_float:
            unpack = FloatUnpack(config.format, dp.exp_width)
        else:
            unpack = FixedUnpack(config.format, dp.exp_width, magnitude=True)
        m.submodules[name] = unpack
        m.d.comb += unpack.bits.eq(bits)
        return [register(m, en, getattr(unpack, port), f"{name}_{port}")
                for port in ("sign", "cls", "exp", "sig")]

    def _mul(self, m, name, a, b, shift, width):
        block = m.submodules[name] = MulShr(len(a), len(b), shift, width)
        m.d.comb += [block.a.eq(a), block.b.eq(b)]
        return block.p

    def _lane(self, m, en, lane):
        config, dp, fmt = self.config, self.dp, self.config.format
        w, p, name = dp.work_bits, dp.x_frac_bits, f"lane{lane}"
        payload = self.i.payload
        # Stage 1: unpack; an infinite x stands in as 2**big_exp.
        sx, cx, ex, sigx = self._unpack(m, en, f"{name}_x", payload.x[lane])
        if config.is_float:
            infinite = cx == Cls.INF
            ex = Mux(infinite, dp.big_exp, ex)
            sigx = Mux(infinite, 1 << p, sigx)
        if config.runtime_alpha:
            sa, ca, ea, siga = self._unpack(m, en, f"{name}_alpha", payload.alpha[lane])
            alpha_ok = (sa == 0) & (ca == Cls.FINITE)
            siga = siga << (w - p)
        else:
            alpha_ok, ea, siga = Const(1, 1), dp.alpha_exp, dp.alpha_sig
        if config.is_backward:
            grad = self._unpack(m, en, f"{name}_grad", payload.grad[lane])
        unit = cx == Cls.ZERO
        if config.function in ("isrlu", "isrlu-grad"):
            unit = unit | (sx == 0)
        # Stage 2: x**2. Stage 3: alpha * x**2. Stage 4: 1 + alpha*x**2, normalized.
        shift = 2 * p - w
        q = register(m, en, self._mul(m, f"{name}_square", sigx, sigx, shift, w + 2), f"{name}_q")
        et = register(m, en, 2 * ex + ea, f"{name}_et")
        siga = register(m, en, siga, f"{name}_siga") if config.runtime_alpha else siga
        t = self._mul(m, f"{name}_alpha_product", siga, q, w, w + 3) if config.runtime_alpha else \
            (dp.alpha_sig * q) >> w
        t = register(m, en, t, f"{name}_t")
        et = register(m, en, et, f"{name}_et2")
        add = m.submodules[f"{name}_add"] = AddOne(w, dp.exp_width)
        m.d.comb += [add.t.eq(t), add.exp.eq(et)]
        norm = m.submodules[f"{name}_norm"] = NormalizeSum(w, dp.exp_width)
        m.d.comb += [norm.u.eq(add.u), norm.eu.eq(add.eu)]
        sigu = register(m, en, norm.sig, f"{name}_sigu")
        eu = register(m, en, norm.exp, f"{name}_eu")
        # Core: seed (1 cycle) and Newton stages.
        reduce = m.submodules[f"{name}_reduce"] = RangeReduce(dp.frac_bits, dp.exp_width)
        m.d.comb += [reduce.exp.eq(eu), reduce.sig.eq(sigu)]
        seed = m.submodules[f"{name}_seed"] = (LutSeed if config.seed == "lut" else MagicSeed)(config, dp)
        m.d.comb += [seed.parity.eq(reduce.parity), seed.sig.eq(sigu)]
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
            r, mr, r_bits = stage.r_next, stage.mr_next, w
        if r_bits != w:
            r = r << (w - r_bits)
        k = delay(m, en, k, NewtonStage.latency * config.newton, f"{name}_k")
        wait = 3 + self.core_latency
        unit = delay(m, en, unit, wait, f"{name}_unit")
        r = Mux(unit, 1 << w, r)
        k = Mux(unit, 0, k)
        # Back: [r**2, r**3,] product, round/pack.
        if config.is_backward:
            r2 = register(m, en, self._mul(m, f"{name}_r2", r, r, w, w + 1), f"{name}_r2")
            r1 = register(m, en, r, f"{name}_r1")
            r = register(m, en, self._mul(m, f"{name}_r3", r2, r1, w, w + 1), f"{name}_r3")
            k = delay(m, en, k, 2, f"{name}_k3")
            sg, cg, eg, sigg = (delay(m, en, v, wait + 2, f"{name}_grad{i}") for i, v in enumerate(grad))
            operand, exp_in, sign = sigg, eg, sg
            wait += 2
        else:
            operand, exp_in, sign = (delay(m, en, v, wait, f"{name}_x{i}") for i, v in
                                     enumerate((sigx, ex, sx)))
        v = register(m, en, self._mul(m, f"{name}_product", operand, r, p, w + 2), f"{name}_v")
        exp = register(m, en, exp_in - (3 * k if config.is_backward else k), f"{name}_exp")
        sign = register(m, en, sign, f"{name}_sign")
        cx = delay(m, en, cx, wait + 1, f"{name}_cx")
        if config.is_backward:
            unit_out = delay(m, en, unit, 3, f"{name}_unit_out")
            cg = delay(m, en, cg, 1, f"{name}_cg")
        alpha_ok = delay(m, en, alpha_ok, wait + 1, f"{name}_alpha_ok") if config.runtime_alpha else alpha_ok
        if config.is_float:
            self._float_out(m, en, lane, v, exp, sign, cx, cg if config.is_backward else None,
                            unit_out if config.is_backward else None, alpha_ok,
                            delay(m, en, payload.x[lane], wait + 2, f"{name}_xraw"))
        else:
            self._fixed_out(m, en, lane, v, exp, sign, cg if config.is_backward else cx, alpha_ok)

    def _exp_range(self):
        """Range of the fixed-point result's exponent ``exp`` (``x = v / 2**w * 2**exp``): at most
        the input's top exponent; below it anything rounds to 0, so a loose bound suffices."""
        fmt = self.config.format
        return -fmt.width - 2, fmt.int_bits

    def _float_out(self, m, en, lane, v, exp, sign, cx, cg, unit, alpha_ok, x_raw):
        config, dp, fmt = self.config, self.dp, self.config.format
        w = dp.work_bits
        pack = m.submodules[f"lane{lane}_pack"] = RoundPackFloat(
            fmt, w + 2, w, w - 3, w + 1, dp.exp_width, subnormals=True)
        m.d.comb += [pack.v.eq(v), pack.exp.eq(exp)]
        signed_bits = Mux(sign, fmt.sign_bit, 0)
        result = Signal(fmt.width, name=f"lane{lane}_result")
        m.d.comb += result.eq(pack.bits | signed_bits)
        if config.is_backward:
            vanishing = (cx == Cls.INF) & ~unit
            with m.If(cg == Cls.ZERO):
                m.d.comb += result.eq(signed_bits)
            with m.If(cg == Cls.INF):
                m.d.comb += result.eq(fmt.inf | signed_bits)
            invalid = (cx == Cls.NAN) | (cg == Cls.NAN) | (vanishing & (cg == Cls.INF))
        else:
            with m.If(cx == Cls.ZERO):
                m.d.comb += result.eq(x_raw)
            invalid = cx == Cls.NAN
        with m.If(invalid | ~alpha_ok):
            m.d.comb += result.eq(fmt.quiet_nan)
        m.d.comb += self.o.payload.y[lane].eq(register(m, en, result, f"lane{lane}_y"))

    def _fixed_out(self, m, en, lane, v, exp, sign, zero_cls, alpha_ok):
        config, dp = self.config, self.dp
        out, w = config.out_format, dp.work_bits
        low, high = self._exp_range()
        pack = m.submodules[f"lane{lane}_pack"] = RoundPackFixed(out, w + 2, w, low, high, dp.exp_width)
        m.d.comb += [pack.v.eq(v), pack.exp.eq(exp), pack.negative.eq(sign)]
        zero = zero_cls == Cls.ZERO
        mag = Mux(zero | ~alpha_ok, 0, pack.y)
        y = Mux(sign, -mag, mag)
        flag = (pack.sat & ~zero) | ~alpha_ok
        m.d.comb += [self.o.payload.y[lane].eq(register(m, en, y[:out.width], f"lane{lane}_y")),
                     self.o.payload.flag[lane].eq(register(m, en, flag, f"lane{lane}_flag"))]
