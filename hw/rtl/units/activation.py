"""The streaming ISRLU/ISRU forward and backward units (golden twin: golden.activation)."""
from amaranth.hdl import Const, Mux, Signal
from amaranth.lib import data

from hw.rtl.blocks.arith import AddOne, NormalizeSum, staged_product
from hw.rtl.blocks.round import PACK_CUTS, RoundPackFixed, RoundPackFloat
from hw.rtl.blocks.square import SquareRom
from hw.rtl.blocks.unpack import FixedUnpack, FloatFields, FloatUnpack
from hw.spec.classes import Cls
from hw.spec.config import Config
from hw.spec.datapath import datapath, product_lead_min
from hw.spec.plan import alpha_register
from hw.rtl.pipeline import StreamUnit
from . import isru_sigmoid
from .core import rsqrt_core
from .rsqrt import output_layout

__all__ = ["ActivationUnit", "activation_input_layout"]


def activation_input_layout(config):
    fields = {"x": data.ArrayLayout(config.in_width, config.lanes)}
    if config.is_backward:
        fields["grad"] = data.ArrayLayout(config.in_width, config.lanes)
    if config.runtime_alpha:
        fields["alpha"] = data.ArrayLayout(config.in_width, config.lanes)
    return data.StructLayout(fields)


class ActivationUnit(StreamUnit):
    """Fused, fully pipelined ISRLU / ISRU and their backward pass on ``config.lanes`` lanes.

    Ports
    -----
    i : In(stream.Signature(activation_input_layout(config)))
        ``payload.x[lane]``; backward units also ``payload.grad[lane]`` (``grad_out``);
        ``runtime_alpha`` also ``payload.alpha[lane]``; all raw bits in the unit's format.
    o : Out(stream.Signature(output_layout(config)))
        ``payload.y[lane]`` (``f(x)`` or ``grad_out * f'(x)``); fixed point also ``flag[lane]``.

    Timing: initiation interval 1; with every pipeline register, latency ``14 + 7 * newton``
    cycles for floats, 13 for fixed point (one less where a subnormal ``x`` passes through
    unnormalized: one unpack stage; +2 with the pwl seed, +4 with the quad seed, +3 where it reads
    ``ut**2`` from a table (FP16 forward); +1 for ``x**2``
    and +1 for ``alpha*x**2`` where they are products; +4 for ``r**2``, ``r**3`` where the seed
    does not give ``f'`` itself): unpack's count and shift, ``x**2`` (a table read for
    BF16/FP16), ``alpha*x**2``, ``1 + .`` (its alignment, then its sum), its normalization, seed
    [, the polynomial's steps] [, 7 per Newton stage] [, ``r**2``, ``r**3``], the product (with
    the register after its DSP tiles), normalize (floats: the leading one, then the selection of
    its outcome), shift, round/pack; fewer with ``config.pipeline`` (:mod:`hw.spec.plan`). ISRLU's
    identity half takes the same path (with ``r = 1``), so every input has the same latency. Flow
    control as :class:`RsqrtUnit`.

    Numerics: bit-exact with :func:`golden.activation.activation`: ``1 + alpha*x**2``, its inverse
    square root and the final product in fixed point with ``work_bits`` fraction bits, rounded once
    (nearest even; subnormal results; overflow to infinity). A subnormal ``x`` whose ``f(x)``
    rounds to ``x`` for every alpha (``Datapath.subnormal_x_passes``) is returned as it is, and the
    results then lie at most ``Datapath.below_emin_max`` binades below ``emin``; a backward unit's
    subnormal ``x`` whose ``alpha*x**2`` vanishes beside 1 (``Datapath.subnormal_x_vanishes``) is
    squared unnormalized. Where ``r = 1`` stands in (``unit``), the final product takes ``2**work_bits``
    for ``r`` (:class:`~hw.rtl.blocks.multiply.Product`'s ``one_at``: after its tiles where it has
    both inner registers). Special values: see docs/activation.md.
    """

    def __init__(self, config: Config):
        super().__init__(config, activation_input_layout(config), output_layout(config))
        self.dp = datapath(config)

    def _unpack(self, m, st, en, name, bits, normalize=True):
        config, dp = self.config, self.dp
        if not normalize:
            unpack = FloatFields(config.format, dp.exp_width)
        elif config.is_float:
            unpack = FloatUnpack(config.format, dp.exp_width, cut=st.on("unpack_count"))
        else:
            unpack = FixedUnpack(config.format, dp.exp_width, magnitude=True, cut=st.on("unpack_count"))
        m.submodules[name] = unpack
        m.d.comb += unpack.bits.eq(bits)
        if normalize:
            m.d.comb += unpack.en.eq(en)
        return [getattr(unpack, port) for port in ("sign", "cls", "exp", "sig")]

    def _mul(self, m, st, en, lane, step, live, a, b, shift, width, cut_step=True, row_bits=None, after_tiles=None,
             one=None):
        """``(a * b) >> shift`` into ``live[step]`` (:func:`~hw.rtl.blocks.arith.staged_product`)."""
        return staged_product(m, st, en, f"lane{lane}", step, live, a, b, shift, width,
                              row_bits=self.dp.row_bits if row_bits is None else row_bits,
                              device=self.dp.device, cut_step=cut_step, after_tiles=after_tiles, one=one)

    def _lane(self, m, en, lane, st):
        config, dp = self.config, self.dp
        w, p, name = dp.work_bits, dp.x_frac_bits, f"lane{lane}"
        payload = self.i.payload
        # A subnormal x that is its own result is not normalized: its fields after "unpack_count"
        # (which only a runtime alpha's unpack has then).
        # A backward unit's subnormal x whose alpha*x**2 vanishes beside 1 (Datapath.subnormal_x_vanishes)
        # is not normalized either: its fields before "unpack_count", as grad's unpacking takes them.
        passes, vanishes = dp.subnormal_x_passes, dp.subnormal_x_vanishes
        live = {"x_raw": payload.x[lane]}
        x_fields = ("sx", "cx", "ex", "sigx")
        if vanishes:
            live |= zip(x_fields, self._unpack(m, st, en, f"{name}_x", payload.x[lane], normalize=False))
        if not passes or config.runtime_alpha:
            live = st.cut("unpack_count", live)
        if not vanishes:
            x_bits = live["x_raw"] if passes else payload.x[lane]
            live |= zip(x_fields, self._unpack(m, st, en, f"{name}_x", x_bits, normalize=not passes))
        if config.runtime_alpha:
            sa, ca, live["ea"], live["siga"] = self._unpack(m, st, en, f"{name}_alpha", payload.alpha[lane])
            live["alpha_ok"] = (sa == 0) & (ca == Cls.FINITE)
        if config.is_backward:
            live["sg"], live["cg"], live["eg"], live["sigg"] = self._unpack(m, st, en, f"{name}_grad", payload.grad[lane])
        live = st.cut("unpack", live)
        if passes:
            live["passes"] = (live["cx"] == Cls.FINITE) & ~live["sigx"][p]
        # An infinite x stands in as 2**big_exp (its significand is already 1 << p: the hidden bit
        # and a zero fraction); f'(x) = 1 (ISRLU: x >= 0; both: x = 0) uses r = 1.
        if config.is_float:
            live["ex"] = Mux(live["cx"] == Cls.INF, dp.big_exp, live["ex"])
        unit = live["cx"] == Cls.ZERO
        if config.entry.identity_nonnegative:
            unit = unit | (live["sx"] == 0)
        live["unit"] = unit
        if config.runtime_alpha:
            ea, siga = live.pop("ea"), live.pop("siga") << (w - p)
        else:
            ea, siga = dp.alpha_exp, dp.alpha_sig
            live["alpha_ok"] = Const(1, 1)
        # x**2; alpha * x**2; 1 + alpha*x**2, normalized.
        live["et"] = 2 * live["ex"] + ea
        if config.runtime_alpha:
            live["siga"] = siga
        if dp.square_rom:
            rom = m.submodules[f"{name}_square"] = SquareRom(p)
            m.d.comb += [rom.sig.eq(live["sigx"]), rom.en.eq(en)]
            live = st.cut("square", live)
            live["square"] = (rom.sq >> (2 * p - w) if 2 * p >= w else rom.sq << (w - 2 * p))[:w + 2]
        else:
            live = self._mul(m, st, en, lane, "square", live, live["sigx"], live["sigx"], 2 * p - w, w + 2)
        if config.entry.alpha_gradient:
            live["q"] = live["square"]
        siga = live.pop("siga") if config.runtime_alpha else Const(siga)
        # The ISRU sigmoid's N = 1 + ((alpha - 1)/4)*x**2 beside 1 + (alpha/4)*x**2 (alpha 1: none).
        sigmoid = config.entry.sigmoid_form and not config.is_backward
        n_t = isru_sigmoid.n_product(m, st, en, config, dp, name, live) if sigmoid else None
        if dp.alpha_shift:
            live["alpha"] = (siga * live.pop("square")) >> w
        else:
            live = self._mul(m, st, en, lane, "alpha", live, siga, live.pop("square"), w, w + 3, cut_step=False)
        if n_t is not None:
            live["n_t"] = n_t
        if alpha_register(config):
            live = st.cut("alpha", live)
        add = m.submodules[f"{name}_add"] = AddOne(w, dp.exp_width, cut=st.on("sum_align"))
        m.d.comb += [add.t.eq(live.pop("alpha")), add.exp.eq(live.pop("et")), add.en.eq(en)]
        n_add = "n_t" in live and isru_sigmoid.n_sum(m, st, en, config, dp, name, live.pop("n_t"), live["ex"])
        live = st.cut("sum_align", live)
        live["u"], live["eu"] = add.u, add.eu
        if n_add:
            live["n_u"], live["n_eu"] = n_add.u, n_add.eu
        live = st.cut("sum", live)
        norm = m.submodules[f"{name}_norm"] = NormalizeSum(w, dp.exp_width)
        m.d.comb += [norm.u.eq(live.pop("u")), norm.eu.eq(live.pop("eu"))]
        live["sigu"], live["eu"] = norm.sig, norm.exp
        if n_add:
            live["sig_n"], live["exp_n"] = isru_sigmoid.n_normalize(m, dp, name, live.pop("n_u"), live.pop("n_eu"))
        live = st.cut("add", live)
        # The rsqrt core: seed and Newton stages.
        eu, sigu = live.pop("eu"), live.pop("sigu")
        r, r_bits, live = rsqrt_core(m, en, st, config, dp, name, eu, sigu, live)
        if r_bits != w:
            r = r << (w - r_bits)
        # r = 1 where unit: the final product takes 2**w for r there (Product's one_at: its rows
        # selected after its tiles where it has both inner registers), except for the ISRU
        # sigmoid's tail, which takes r itself. The alpha gradient's result is 0 there: no stand-in.
        stand_in = not (config.entry.alpha_gradient or sigmoid)
        if config.entry.alpha_gradient:
            live["r"] = r
        else:
            live["r"] = Mux(live["unit"], 1 << w, r) if sigmoid else r
            live["k"] = Mux(live["unit"], 0, live["k"])
        # [r**2, r**3,] the product, round/pack.
        if config.is_backward:
            if dp.seed_power == 1:
                live = self._mul(m, st, en, lane, "r2", live, live["r"], live["r"], w, w + 1)
                live = self._mul(m, st, en, lane, "r3", live, live.pop("r2"), live.pop("r"), w, w + 1)
                live["r"] = live.pop("r3")
            operand, exp_in, sign = live["sigg"], live["eg"], live["sg"]
            live["exp"] = exp_in - (live["k"] << 1) - live["k"]     # 3k without a multiplier
            if config.entry.sigmoid_form:
                live["exp"] = live["exp"] - 2                        # the sigmoid form's 1/4
            if config.entry.alpha_gradient:                          # * x**3 / 2, negated for x > 0
                live["exp"] = live["exp"] + (live["ex"] << 1) + live["ex"] - 1
                identity = live["unit"] if config.entry.identity_nonnegative else Const(0, 1)
                sign = Mux(identity, sign, sign ^ ~live["sx"])
        else:
            operand, exp_in, sign = live["sigx"], live["ex"], live["sx"]
            live["exp"] = exp_in - live["k"]
        live["sign"] = sign
        r = live["r"] if sigmoid else live.pop("r")
        # The ISRU sigmoid's tail: the shifts of |v|, worked out beside the product.
        after_tiles = isru_sigmoid.tail_shifts(m, config, dp, name) if sigmoid else None
        # A float packer takes the exponent one cycle early, before the last step's own register
        # (the ISRU sigmoid's tail still changes it).
        last = "agrad" if config.entry.alpha_gradient else "product"
        early = config.is_float and not sigmoid
        live = self._mul(m, st, en, lane, "product", live, operand, r, p, w + 2, row_bits=dp.significand_row_bits,
                         cut_step=last != "product" or not early, after_tiles=after_tiles,
                         one=(live["unit"], w) if stand_in else None)
        if config.entry.alpha_gradient:
            live["v"] = live.pop("product")
            live = self._mul(m, st, en, lane, "cube", live, live["sigx"], live.pop("q"), p, w + 3,
                             row_bits=dp.significand_row_bits)
            live = self._mul(m, st, en, lane, "agrad", live, live.pop("cube"), live.pop("v"), w, w + 4,
                             cut_step=not early)
        live["v"] = live.pop(last)
        early_exp = None
        if early:
            early_exp = live.pop("exp")
            live = st.cut(last, live)
        if sigmoid:                 # the tail chooses by x < 0; the result is positive
            live["sign"] = live["sign"] & (live["cx"] != Cls.ZERO)
            live = isru_sigmoid.sigmoid_tail(m, st, en, config, dp, name, live)
            live["sign"] = Const(0, 1)
        if config.is_float:
            self._float_out(m, st, en, lane, live, early_exp, early and st.on(last))
        else:
            self._fixed_out(m, st, en, lane, live)

    def _float_out(self, m, st, en, lane, live, early_exp=None, exp_cut=False):
        """The float packer and the specials; ``early_exp``: the exponent from before the last
        step's register (``exp_cut``: whether it holds one), else ``live["exp"]``."""
        config, dp, fmt = self.config, self.dp, self.config.format
        w = dp.work_bits
        lead_min = product_lead_min(config, dp)
        sigmoid = config.entry.sigmoid_form and not config.is_backward
        top = 2                     # the product v below 2 (w + 2 bits, leading one at w + 1 at most)
        if sigmoid:                 # (isru_sigmoid.sigmoid_tail): one more fraction bit, N < 2
            w, lead_min = w + 1, max(0, lead_min - 1)
        if config.entry.alpha_gradient:
            top = 4                 # x**3 * (grad * r**3) below 16
        exp = live.pop("exp") if early_exp is None else early_exp
        pack = m.submodules[f"lane{lane}_pack"] = RoundPackFloat(
            fmt, w + top, w, lead_min, w + top - 1, dp.exp_width, subnormals=True,
            cuts=st.on_each(PACK_CUTS), below_max=dp.below_emin_max, lead_cut=st.on("pack_lead"), exp_cut=exp_cut,
            device=config.device_model)
        m.d.comb += [pack.v.eq(live.pop("v")), pack.exp.eq(exp), pack.en.eq(en)]
        live = st.cut_each(("pack_lead",) + PACK_CUTS, live)
        cx, sign = live["cx"], live["sign"]
        signed_bits = Mux(sign, fmt.sign_bit, 0)
        result = Signal(fmt.width, name=f"lane{lane}_result")
        m.d.comb += result.eq(pack.bits | signed_bits)
        if config.entry.alpha_gradient:                  # df/dalpha = 0 where unit
            cg, unit = live["cg"], live["unit"]
            with m.If((cg == Cls.ZERO) | unit):
                m.d.comb += result.eq(signed_bits)
            with m.If(cg == Cls.INF):
                m.d.comb += result.eq(fmt.inf | signed_bits)
            invalid = (cx == Cls.NAN) | (cg == Cls.NAN) | (unit & (cg == Cls.INF))
        elif config.is_backward:
            cg = live["cg"]
            vanishing = (cx == Cls.INF) & ~live["unit"]
            with m.If(cg == Cls.ZERO):
                m.d.comb += result.eq(signed_bits)
            with m.If(cg == Cls.INF):
                m.d.comb += result.eq(fmt.inf | signed_bits)
            invalid = (cx == Cls.NAN) | (cg == Cls.NAN) | (vanishing & (cg == Cls.INF))
        else:
            if not sigmoid:
                with m.If((cx == Cls.ZERO) | live.get("passes", 0)):
                    m.d.comb += result.eq(live["x_raw"])
            invalid = cx == Cls.NAN
        with m.If(invalid | ~live["alpha_ok"]):
            m.d.comb += result.eq(fmt.quiet_nan)
        out = st.cut("out", {"y": result})
        m.d.comb += self.o.payload.y[lane].eq(out["y"])

    def _exp_range(self):
        """Range of the fixed-point result's exponent ``exp`` (``x = v / 2**w * 2**exp``): at most
        the input's top exponent; below it anything rounds to 0, so a loose bound suffices."""
        fmt = self.config.format
        return -fmt.width - 2, fmt.int_bits

    def _fixed_out(self, m, st, en, lane, live):
        config, dp = self.config, self.dp
        out, w = config.out_format, dp.work_bits
        low, high = self._exp_range()
        sigmoid = config.entry.sigmoid_form and not config.is_backward
        # The ISRU sigmoid's tail gives one more fraction bit (isru_sigmoid.sigmoid_tail).
        width, frac = (w + 3, w + 1) if sigmoid else (w + 2, w)
        pack = m.submodules[f"lane{lane}_pack"] = RoundPackFixed(
            out, width, frac, low, high, dp.exp_width, cuts=st.on_each(PACK_CUTS))
        m.d.comb += [pack.v.eq(live.pop("v")), pack.exp.eq(live.pop("exp")),
                     pack.negative.eq(live["sign"]), pack.en.eq(en)]
        live = st.cut_each(PACK_CUTS, live)
        sign = live["sign"]
        zero = (live["cg"] if config.is_backward else live["cx"]) == Cls.ZERO
        if sigmoid:                 # its 0.5 at 0 comes from the tail
            zero = Const(0, 1)
        alpha_ok = live["alpha_ok"]
        mag = Mux(zero | ~alpha_ok, 0, pack.y)
        y = Mux(sign, -mag, mag)
        result = st.cut("out", {"y": y[:out.width], "flag": (pack.sat & ~zero) | ~alpha_ok})
        m.d.comb += [self.o.payload.y[lane].eq(result["y"]), self.o.payload.flag[lane].eq(result["flag"])]
