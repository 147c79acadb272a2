"""The inverse-square-root core shared by every unit (twin: golden.rsqrt.rsqrt_core)."""
from hw.rtl.blocks.newton import NEWTON_PRODUCTS, NEWTON_STEPS, NewtonStage
from hw.rtl.blocks.reduce import RangeReduce
from hw.rtl.blocks.residual import residual_round
from hw.rtl.blocks.seed import POLY_CUTS, LutSeed, MagicSeed, PolySeed, poly_cuts

__all__ = ["rsqrt_core"]


def rsqrt_core(m, en, st, config, dp, name, exp, sig, live, candidates=None, finish=None):
    """Range reduction, seed and Newton stages of the operand ``sig * 2**(exp - frac_bits)``.

    ``live`` holds the side-band values carried through the core's cuts (``seed`` and three to six
    per Newton stage). Returns ``(r, r_bits, live)``: ``r`` with ``r_bits`` fraction bits
    (``seed_bits`` without a Newton stage, else ``work_bits``) and ``live`` with ``k`` added, so
    that ``1/sqrt(operand) ~= r / 2**r_bits * 2**-k``. With the exact decision
    (``dp.residual``), ``r`` is None, ``live`` holds what ``candidates`` and ``finish`` made of
    ``T`` and ``live["pick"]`` (combinational, for the caller's next register) selects the
    correctly rounded one (:func:`~hw.rtl.blocks.residual.residual_round`).
    """
    reduce = m.submodules[f"{name}_reduce"] = RangeReduce(dp.frac_bits, dp.exp_width)
    m.d.comb += [reduce.exp.eq(exp), reduce.sig.eq(sig)]
    cuts = (poly_cuts(config.seed, dp.seed_square_rom, dp.seed_split, dp.seed_curve_tiles)
            if config.seed in POLY_CUTS else ())
    if cuts:
        seed = PolySeed(config, dp, cuts={name: st.on(name) for name in cuts}, square_rom=dp.seed_square_rom,
                        slope_row_bits=dp.slope_row_bits, split=dp.seed_split, curve_tiles=dp.seed_curve_tiles,
                        slope_rows=dp.seed_slope_rows)
    else:
        seed = (LutSeed if config.seed == "lut" else MagicSeed)(config, dp)
    m.submodules[f"{name}_seed"] = seed
    m.d.comb += [seed.parity.eq(reduce.parity), seed.sig.eq(sig)]
    live = {**live, "mr": reduce.mr, "k": reduce.k}
    if config.seed != "magic":           # the ROM read is the "seed" register
        m.d.comb += seed.en.eq(en)
        live = st.cut_each(("seed",) + cuts, live)
        r = seed.r0
    else:
        live = st.cut("seed", {**live, "r": seed.r0})
        r = live.pop("r")
    r_bits = dp.seed_bits
    for index in range(config.newton):
        prefix = f"newton{index}_"
        steps = [full for step in NEWTON_STEPS
                 for full in (st.inner(prefix + step) if step in NEWTON_PRODUCTS else ()) + (prefix + step,)]
        stage = m.submodules[f"{name}_newton{index}"] = NewtonStage(
            dp, r_bits, last=index == config.newton - 1,
            cuts={full[len(prefix):]: st.on(full) for full in steps})
        m.d.comb += [stage.r.eq(r), stage.mr.eq(live["mr"]), stage.en.eq(en)]
        live = st.cut_each(steps, live)
        r, live["mr"], r_bits = stage.r_next, stage.mr_next, dp.work_bits
    if dp.residual is not None:
        pick, live = residual_round(m, en, st, name, dp.residual, dp.device, r, live, candidates, finish)
        live["pick"], r, r_bits = pick, None, dp.residual.precision
    del live["mr"]
    return r, r_bits, live
