"""Each RTL block against its NumPy twin, in Amaranth's simulator (exhaustive where small)."""
import gc
from dataclasses import replace
import re
import warnings

import numpy as np
import pytest
from amaranth.back import rtlil
from amaranth.hdl import Module, Signal, UnusedElaboratable, signed
from amaranth.sim import Simulator

from golden import blocks as twin
from hw.spec.intmath import round_shift
from hw.rtl.blocks.arith import AddOne, MulShr, NormalizeSum, at_least, constant_minus
from hw.rtl.blocks.newton import NewtonStage
from hw.rtl.blocks.reduce import RangeReduce
from hw.rtl.blocks.round import SPECULATE_SPAN, RoundPackFixed, RoundPackFloat, RoundSelect, RoundShift
from hw.rtl.blocks.seed import LutSeed, MagicSeed, PolySeed, poly_cuts
from hw.rtl.blocks.multiply import Product, Square, multiply
from hw.rtl.blocks.select_sum import chunk_sums, select_chunks
from hw.spec.devices import DEFAULT_DEVICE
from hw.spec.tiles import ROWS_ONLY, dsp_tiles, has_split, row_reduction, sum_levels
from hw.rtl.blocks.unpack import FixedUnpack, FloatFields, FloatUnpack
from hw.config import Config
from hw.spec.datapath import datapath


def _array(values):
    """int64 where the values fit, else Python integers (wide products)."""
    return np.array(values, dtype=np.int64 if max(values, default=0) < 1 << 63 else object)


def assert_rejected(make, match):
    """``make()`` raises a ValueError matching ``match``. The half-built block (Amaranth created
    it before its ``__init__`` raised) is collected here, so its UnusedElaboratable warning is
    neither shown nor left to fire during a later test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)
        with pytest.raises(ValueError, match=match):
            make()
        gc.collect()


def run_comb(dut, inputs, outputs):
    """Apply each row of ``inputs`` (dict name -> array) and read ``outputs`` combinationally."""
    n = len(next(iter(inputs.values())))
    got = {name: [] for name in outputs}

    async def bench(ctx):
        for i in range(n):
            for name, values in inputs.items():
                ctx.set(getattr(dut, name), int(values[i]))
            for name in outputs:
                got[name].append(ctx.get(getattr(dut, name)))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return {name: _array(values) for name, values in got.items()}


def run_pipelined(dut, latency, inputs, outputs):
    """Stream rows through a block with ``en`` held high; output row i appears ``latency`` later."""
    if latency == 0:
        return run_comb(dut, inputs, outputs)
    n = len(next(iter(inputs.values())))
    got = {name: [] for name in outputs}

    async def bench(ctx):
        ctx.set(dut.en, 1)
        for i in range(n + latency):
            if i < n:
                for name, values in inputs.items():
                    ctx.set(getattr(dut, name), int(values[i]))
            if i >= latency:
                for name in outputs:
                    got[name].append(ctx.get(getattr(dut, name)))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return {name: _array(values) for name, values in got.items()}


@pytest.mark.parametrize("fmt, cut", [("e5m2", False), ("e4m3", False), ("e3m4", False), ("e4m3", True),
                                      ("e3m5", True), ("e3m8", True)])
def test_float_unpack_exhaustive(fmt, cut):
    config = Config(fmt)
    dp = datapath(config)
    x = np.arange(1 << config.format.width, dtype=np.uint64)
    _assert_unpacks(FloatUnpack(config.format, dp.exp_width, cut=cut), config.format, x)


def _assert_unpacks(dut, fmt, x):
    """``dut`` (a FloatUnpack) gives the twin's sign and class of ``x``, and its exponent and
    significand where finite."""
    got = run_pipelined(dut, dut.latency, {"bits": x}, ["sign", "cls", "exp", "sig"])
    sign, cls, exp, sig = twin.unpack_float(fmt, x)
    finite = cls == 0
    assert np.array_equal(got["sign"], sign) and np.array_equal(got["cls"], cls)
    assert np.array_equal(got["exp"][finite], exp[finite])
    assert np.array_equal(got["sig"][finite], sig[finite].astype(np.int64))


@pytest.mark.parametrize("cut", [False, True])
def test_float_unpack_fp32_subnormals(cut):
    """FP32's subnormals, every leading-one position with random bits below it, and random
    normals, zeros and specials, with and without the register."""
    config = Config("fp32")
    rng = np.random.default_rng(4)
    lead = np.repeat(np.arange(23), 60)
    x = (np.left_shift(1, lead) | rng.integers(0, 1 << 23, lead.size) & (np.left_shift(1, lead) - 1))
    x = np.concatenate([x, rng.integers(0, 1 << 32, 1000), [0, 1 << 31, 0x7F800000, 0x7FC00000]])
    x = (x | rng.integers(0, 2, x.size) << 31).astype(np.uint64)
    _assert_unpacks(FloatUnpack(config.format, datapath(config).exp_width, cut=cut), config.format, x)


@pytest.mark.parametrize("fmt", ["e5m2", "e4m3", "e3m4"])
def test_float_fields_exhaustive(fmt):
    """Unnormalized fields: every finite input is sig * 2**(exp - man_bits); class and sign as
    the normalizing unpack's twin."""
    config = Config(fmt)
    fmt = config.format
    x = np.arange(1 << fmt.width, dtype=np.uint64)
    got = run_comb(FloatFields(fmt, datapath(config).exp_width), {"bits": x}, ["sign", "cls", "exp", "sig"])
    sign, cls, exp, sig = twin.unpack_float(fmt, x)
    assert np.array_equal(got["sign"], sign) and np.array_equal(got["cls"], cls)
    finite = cls == 0
    fields = got["sig"][finite] * 2.0 ** (got["exp"][finite] - fmt.man_bits)
    normalized = sig[finite] * 2.0 ** (exp[finite] - fmt.man_bits)
    assert np.array_equal(fields, normalized)
    assert np.all(got["sig"][finite] < 2 << fmt.man_bits)


def test_fixed_unpack_exhaustive():
    config = Config("q3.7")
    dp = datapath(config)
    x = np.arange(1 << 10, dtype=np.uint64)
    got = run_comb(FixedUnpack(config.format, dp.exp_width), {"bits": x}, ["sign", "cls", "exp", "sig"])
    sign, cls, exp, sig = twin.unpack_fixed(config.format, x)
    positive = (cls == 0) & (sign == 0)
    assert np.array_equal(got["sign"], sign) and np.array_equal(got["cls"], cls)
    assert np.array_equal(got["exp"][positive], exp[positive])
    assert np.array_equal(got["sig"][positive], sig[positive].astype(np.int64))


def test_range_reduce():
    dp = datapath(Config("fp16"))
    rng = np.random.default_rng(3)
    exp = rng.integers(-24, 16, 500)
    sig = rng.integers(1 << 10, 1 << 11, 500).astype(np.uint64)
    got = run_comb(RangeReduce(dp.frac_bits, dp.exp_width), {"exp": exp, "sig": sig}, ["parity", "k", "mr"])
    parity, k, mr = twin.range_reduce(dp, exp, sig)
    assert np.array_equal(got["parity"], parity) and np.array_equal(got["k"], k)
    assert np.array_equal(got["mr"], mr.astype(np.int64))


@pytest.mark.parametrize("fmt, magic", [("fp16", None), ("bf16", None), ("fp16", 0x59E0)])
def test_magic_seed_exhaustive(fmt, magic):
    config = Config(fmt, seed="magic", magic=magic, newton=1)
    dp = datapath(config)
    frac = np.arange(1 << dp.frac_bits, dtype=np.uint64)
    parity = np.concatenate([np.zeros_like(frac), np.ones_like(frac)]).astype(np.int64)
    sig = np.concatenate([frac, frac]) | np.uint64(1 << dp.frac_bits)
    got = run_comb(MagicSeed(config, dp), {"parity": parity, "sig": sig}, ["r0"])
    assert np.array_equal(got["r0"], twin.seed_magic(config, dp, parity, sig).astype(np.int64))


@pytest.mark.parametrize("fmt, table_bits", [("fp16", 6), ("bf16", 8)])
def test_lut_seed_exhaustive(fmt, table_bits):
    config = Config(fmt, table_bits=table_bits)
    dp = datapath(config)
    frac = np.arange(0, 1 << dp.frac_bits, 1 << max(dp.frac_bits - 8, 0), dtype=np.uint64)
    parity = np.concatenate([np.zeros_like(frac), np.ones_like(frac)]).astype(np.int64)
    sig = np.concatenate([frac, frac]) | np.uint64(1 << dp.frac_bits)
    got = run_pipelined(LutSeed(config, dp), 1, {"parity": parity, "sig": sig}, ["r0"])
    assert np.array_equal(got["r0"], twin.seed_lut(config, dp, parity, sig).astype(np.int64))


@pytest.mark.parametrize("spec, cuts", [
    (dict(format="bf16", function="isrlu"), ()),
    (dict(format="bf16", function="isru-grad"), ("seed_linear",)),
    (dict(format="fp16", function="isru"), ("seed_products", "seed_sum")),
    (dict(format="fp16", function="isrlu"), ("seed_products_tiles", "seed_products", "seed_sum")),
    (dict(format="fp16", function="isrlu-grad"), ("seed_products_tiles", "seed_products", "seed_curve",
                                                  "seed_sum")),
    (dict(format="fp32", seed="quad", table_bits=7, newton=1), ("seed_curve",)),
    (dict(format="fp32", function="isrlu-grad"), ("seed_products_split", "seed_curve_tiles", "seed_curve")),
    (dict(format="e4m3", seed="pwl", table_bits=3), ("seed_linear",))])
def test_poly_seed(spec, cuts):
    """Lines and parabolas (of m**-0.5, and of m**-1.5 for the backward units) against their twin,
    on every interval: its ends and random points inside."""
    config = Config(**spec)
    dp = datapath(config)
    assert dp.seed_power == (3 if config.is_backward else 1)
    rng = np.random.default_rng(11)
    frac = np.concatenate([np.arange(0, 1 << dp.frac_bits, 1 << dp.poly_u_bits),
                           np.arange(0, 1 << dp.frac_bits, 1 << dp.poly_u_bits) + (1 << dp.poly_u_bits) - 1,
                           rng.integers(0, 1 << dp.frac_bits, 2000)]).astype(np.uint64)
    parity = np.concatenate([np.zeros_like(frac), np.ones_like(frac)]).astype(np.int64)
    sig = np.concatenate([frac, frac]) | np.uint64(1 << dp.frac_bits)
    dut = PolySeed(config, dp, cuts={name: True for name in cuts}, square_rom=dp.seed_square_rom,
                   slope_row_bits=dp.slope_row_bits, split=dp.seed_split, curve_tiles=dp.seed_curve_tiles)
    assert set(cuts) <= set(poly_cuts(config.seed, dp.seed_square_rom, dp.seed_split, dp.seed_curve_tiles))
    assert dut.latency == 1 + len(cuts)
    got = run_pipelined(dut, dut.latency, {"parity": parity, "sig": sig}, ["r0"])
    expected = twin.seed_poly(config, dp, parity, sig)
    assert np.array_equal(got["r0"], expected.astype(np.int64))
    # The seed's error is close to the datapath's (sampled) estimate, and small.
    m = sig / 2.0 ** dp.frac_bits * 2.0 ** parity
    error = np.abs(expected / 2.0 ** dp.seed_bits * m ** (dp.seed_power / 2) - 1).max()
    assert error <= dp.seed_error * 1.05 and dp.seed_error < 2.0 ** -(config.table_bits + 2)


@pytest.mark.parametrize("fmt, seed, last, cuts", [
    ("fp32", "lut", True, ("square_tiles", "square", "t_tiles", "t", "h", "r_tiles", "r")),
    ("fp32", "lut", True, ("square_tiles", "square", "t_tiles", "t_split", "t", "h", "r_tiles",
                           "r_split", "r")),
    ("fp32", "lut", False, ("t_tiles", "r")),
    ("fp32", "lut", False, ("t_split", "r_split")),
    ("fp16", "magic", False, ("h",)),
    ("q4.12", "lut", True, ())])
def test_newton_stage(fmt, seed, last, cuts):
    config = Config(fmt, seed=seed, newton=2)
    dp = datapath(config)
    rng = np.random.default_rng(4)
    mr = rng.integers(1 << dp.frac_bits, 4 << dp.frac_bits, 400).astype(np.uint64)
    exact = 1 / np.sqrt(mr / 2.0 ** dp.frac_bits)
    r = np.round(exact * (1 + rng.uniform(-0.03, 0.03, 400)) * 2 ** dp.seed_bits).astype(np.uint64)
    dut = NewtonStage(dp, dp.seed_bits, last, cuts={name: True for name in cuts})
    assert dut.latency == len(cuts)
    got = run_pipelined(dut, dut.latency, {"r": r, "mr": mr}, ["r_next", "mr_next"])
    expected = twin.newton_stage(dp, r, dp.seed_bits, mr, last)
    assert np.array_equal(got["r_next"], expected.astype(np.int64))
    assert np.array_equal(got["mr_next"], mr.astype(np.int64))


@pytest.mark.parametrize("low", [0, 1, 2, 9])
def test_round_shift_random(low):
    """Round by ``low + d``: the shifter covers only the positions from ``min_shift`` up."""
    rng = np.random.default_rng(5)
    v = rng.integers(0, 1 << 20, 2000).astype(np.uint64)
    d = rng.integers(0, 23 - low, 2000)
    got = run_comb(RoundShift(20, 22, low), {"v": v, "d": d}, ["q"])
    assert np.array_equal(got["q"], round_shift(v, d + low).astype(np.int64))


@pytest.mark.parametrize("low", [0, 1, 2, 9])
def test_round_select_random(low):
    """The one-hot shift (with its mask of the bits below the guard bit) rounds as the shifter."""
    rng = np.random.default_rng(7)
    v = rng.integers(0, 1 << 20, 2000).astype(np.uint64)
    d = rng.integers(0, 8, 2000)
    sel, mask = np.left_shift(1, d), np.left_shift(1, d) - 1            # mask[k]: d > k
    got = run_comb(RoundSelect(20, 8, low), {"v": v, "sel": sel, "mask": mask}, ["kept", "up"])
    assert np.array_equal(got["kept"] + got["up"], round_shift(v, d + low).astype(np.int64))


def _rounding(late):
    """The default device with every float word rounded after the packer's last register, or none."""
    return replace(DEFAULT_DEVICE, late_round_max_bits=64 if late else 0)


@pytest.mark.parametrize("fmt, subnormals, below_max", [
    ("fp16", False, None), ("e3m8", False, None), ("fp32", False, None), ("fp16", True, None),
    ("bf16", True, None), ("e4m3", True, None), ("fp32", True, 1), ("e4m3", True, 2)])
@pytest.mark.parametrize("lead_span", ["narrow", "wide"])
@pytest.mark.parametrize("late_round", [False, True])
def test_round_pack_float(fmt, subnormals, below_max, lead_span, late_round):
    """Bit-exact with the twin; with ``below_max``, also for results further below ``emin`` than
    the narrow shifter is meant for (both round them ``below_max`` bits below normal). A narrow
    span of leading-one positions takes the packer's per-position outcomes, a wide one its
    arithmetic on the position. Rounding before or after the last register gives the same bits."""
    config = Config(fmt, seed="magic", newton=1)
    dp = datapath(config)
    fmt = config.format
    rng = np.random.default_rng(6)
    w, frac = dp.work_bits, dp.work_bits - 1
    v = rng.integers(1 << (w - 3), 1 << (w + 1), 1500).astype(np.uint64)
    if subnormals:   # around and below the subnormal range, and overflowing
        exp = rng.integers(fmt.emin - fmt.man_bits - 4, fmt.emax + 3, 1500)
    else:            # normal and overflowing results only
        exp = rng.integers(fmt.emin + 2, fmt.emax + 3, 1500)
    lead_min = w - 3 if lead_span == "narrow" else 0
    assert (w - lead_min < SPECULATE_SPAN) == (lead_span == "narrow")
    dut = RoundPackFloat(fmt, w + 1, frac, lead_min, w, dp.exp_width, subnormals, below_max=below_max,
                         device=_rounding(late_round))
    got = run_comb(dut, {"v": v, "exp": exp}, ["bits"])
    piped = RoundPackFloat(fmt, w + 1, frac, lead_min, w, dp.exp_width, subnormals, cuts=(True, True),
                           below_max=below_max, lead_cut=True, device=_rounding(late_round))
    assert piped.latency == 3
    assert np.array_equal(run_pipelined(piped, 3, {"v": v, "exp": exp}, ["bits"])["bits"], got["bits"])
    expected = twin.round_pack_float(fmt, v, frac, exp, subnormals, below_max)
    assert np.array_equal(got["bits"], expected.astype(np.int64))
    if below_max is not None:       # the narrow shifter matches the full one within its range
        lead = np.floor(np.log2(v.astype(np.float64))).astype(np.int64)
        within = lead - frac + exp + fmt.bias > -below_max
        assert within.sum() > 500 and (~within).sum() > 100
        full = twin.round_pack_float(fmt, v, frac, exp, subnormals)
        assert np.array_equal(expected[within], full[within])


@pytest.mark.parametrize("fmt, work", [("fp16", 30), ("fp32", 32)])
@pytest.mark.parametrize("late_round", [False, True])
def test_round_pack_float_coarse(fmt, work, late_round):
    """A backward unit's packer (``v`` of ``work + 4`` bits, its leading one in the top seven,
    results any depth below ``emin``) shifts by 16 before its first register: bit-exact with the
    twin, the bits that shift drops included (values with few ones, whose only sticky bits lie
    in the lowest 16)."""
    fmt = Config(fmt).format
    rng = np.random.default_rng(9)
    n, width = 3000, work + 4
    v = rng.integers(1 << (width - 7), 1 << width, n).astype(np.uint64)
    few = rng.integers(0, 16, n).astype(np.uint64)      # a leading one and one low bit
    one = np.uint64(1)
    v[:n // 2] = (one << rng.integers(width - 7, width, n // 2).astype(np.uint64)) | (one << few[:n // 2])
    exp = rng.integers(fmt.emin - fmt.man_bits - 8, fmt.emin + 3, n)
    dut = RoundPackFloat(fmt, width, work, work - 3, width - 1, 10, True, device=_rounding(late_round))
    assert dut.coarse
    got = run_comb(dut, {"v": v, "exp": exp}, ["bits"])["bits"]
    piped = RoundPackFloat(fmt, width, work, work - 3, width - 1, 10, True, cuts=(True, True), lead_cut=True,
                           device=_rounding(late_round))
    assert np.array_equal(run_pipelined(piped, 3, {"v": v, "exp": exp}, ["bits"])["bits"], got)
    assert np.array_equal(got, twin.round_pack_float(fmt, v, work, exp, True).astype(np.int64))


@pytest.mark.parametrize("fmt, lead_span", [("fp16", "narrow"), ("bf16", "wide"), ("fp32", "wide")])
@pytest.mark.parametrize("late_round", [False, True])
def test_round_pack_float_below(fmt, lead_span, late_round):
    """With ``below``, ``v`` stands for a value strictly between ``v - 1`` and ``v``: bit-exact
    with the twin's packing of ``2*v - 1`` one fraction bit further (ties, exact values, powers of
    two and subnormal results included), through the registers too."""
    config = Config(fmt, seed="magic", newton=1)
    dp, fmt = datapath(config), config.format
    rng = np.random.default_rng(8)
    w, frac, n = dp.work_bits, dp.work_bits - 1, 3000
    low = rng.integers(0, w - fmt.man_bits - 1, n)                     # low zero bits: ties, exact values
    v = (rng.integers(1 << (w - 3), 1 << (w + 1), n).astype(np.uint64) >> low.astype(np.uint64)) << low.astype(np.uint64)
    v[:50] = 1 << rng.integers(w - 3, w + 1, 50).astype(np.uint64)       # powers of two
    exp = rng.integers(fmt.emin - fmt.man_bits - 4, fmt.emax + 3, n)
    below = rng.integers(0, 2, n)
    lead_min = w - 3 if lead_span == "narrow" else 0
    dut = RoundPackFloat(fmt, w + 1, frac, lead_min, w, dp.exp_width, True, strict=True, device=_rounding(late_round))
    got = run_comb(dut, {"v": v, "exp": exp, "below": below}, ["bits"])["bits"]
    piped = RoundPackFloat(fmt, w + 1, frac, lead_min, w, dp.exp_width, True, cuts=(True, True), lead_cut=True,
                           strict=True, device=_rounding(late_round))
    assert np.array_equal(run_pipelined(piped, 3, {"v": v, "exp": exp, "below": below}, ["bits"])["bits"], got)
    strict = twin.round_pack_float(fmt, 2 * v - 1, frac + 1, exp, True)
    plain = twin.round_pack_float(fmt, v, frac, exp, True)
    expected = np.where(below == 1, strict, plain)
    assert np.array_equal(got, expected.astype(np.int64))
    assert (strict != plain)[below == 1].sum() > 20       # ties that round down


def test_round_pack_float_below_max_needs_subnormals():
    assert_rejected(lambda: RoundPackFloat(Config("fp16").format, 20, 18, 15, 19, 10,
                                           subnormals=False, below_max=1), "below_max")


def test_round_pack_fixed():
    config = Config("q4.12", out_format="q6.10")
    dp = datapath(config)
    rng = np.random.default_rng(7)
    w = dp.work_bits
    exp_min, exp_max = -8, 6
    v = rng.integers(1 << (w - 1), 1 << w, 3000).astype(np.uint64)
    exp = rng.integers(exp_min, exp_max + 1, 3000)
    negative = rng.integers(0, 2, 3000)
    dut = RoundPackFixed(config.out_format, w + 1, w, exp_min, exp_max, dp.exp_width)
    got = run_comb(dut, {"v": v, "exp": exp, "negative": negative}, ["y", "sat"])
    y, sat = twin.round_pack_fixed(config.out_format, v, w, exp, negative=negative)
    assert np.array_equal(got["y"], y.astype(np.int64))
    assert np.array_equal(got["sat"], sat.astype(np.int64))


@pytest.mark.parametrize("cut", [False, True])
def test_fixed_unpack_magnitude_exhaustive(cut):
    config = Config("q3.7", function="isru")
    dp = datapath(config)
    x = np.arange(1 << 10, dtype=np.uint64)
    dut = FixedUnpack(config.format, dp.exp_width, magnitude=True, cut=cut)
    got = run_pipelined(dut, dut.latency, {"bits": x}, ["sign", "cls", "exp", "sig"])
    sign, cls, exp, sig = twin.unpack_fixed(config.format, x, magnitude=True)
    nonzero = cls == 0
    assert np.array_equal(got["sign"], sign) and np.array_equal(got["cls"], cls)
    assert np.array_equal(got["exp"][nonzero], exp[nonzero])
    assert np.array_equal(got["sig"][nonzero], sig[nonzero].astype(np.int64))


@pytest.mark.parametrize("cut, split", [(False, False), (True, False), (True, True)])
def test_mul_shr_block(cut, split):
    rng = np.random.default_rng(9)
    a = rng.integers(0, 1 << 18, 1000).astype(np.uint64)
    b = rng.integers(0, 1 << 22, 1000).astype(np.uint64)
    dut = MulShr(18, 22, 17, 23, cut=cut, split=split)
    got = run_pipelined(dut, dut.latency, {"a": a, "b": b}, ["p"])
    assert np.array_equal(got["p"], twin.product(a, 17, b).astype(np.int64))


@pytest.mark.parametrize("a_width, b_width, cut, split", [
    (27, 27, True, False), (25, 30, False, False), (16, 16, True, False), (9, 40, True, False),
    (22, 21, True, False), (20, 18, False, False), (5, 40, True, False), (3, 9, False, False),
    (27, 27, True, True), (25, 30, False, True), (9, 40, False, True), (16, 24, True, True)])
def test_tiled_product(a_width, b_width, cut, split):
    """The tiled product (DSP tiles, carry-save rows, one adder) is the exact product, with or
    without its tile and split registers."""
    rng = np.random.default_rng(a_width * b_width)
    a = [int(v) for v in rng.integers(0, 1 << a_width, 600, dtype=np.uint64)] + [(1 << a_width) - 1]
    b = [int(v) for v in rng.integers(0, 1 << min(b_width, 63), 600, dtype=np.uint64)] + [(1 << b_width) - 1]
    b = [v | (int(rng.integers(0, 2)) << (b_width - 1)) for v in b]
    dut = Product(a_width, b_width, cut, split=split)
    assert dut.latency == cut + split
    got = run_pipelined(dut, dut.latency, {"a": a, "b": b}, ["p"])
    assert [int(v) for v in got["p"]] == [x * y for x, y in zip(a, b)]


@pytest.mark.parametrize("a_width, b_width, at, cut, split, row_bits", [
    (24, 33, 32, True, True, ROWS_ONLY), (24, 33, 32, True, True, None), (8, 25, 24, True, False, None),
    (11, 31, 30, False, False, None), (16, 24, 20, True, True, 8)])
def test_product_takes_a_power_of_two_for_b(a_width, b_width, at, cut, split, row_bits):
    """``one_at``: where ``one`` is set, ``p = a << at`` whatever ``b`` holds (the activations'
    ``r = 1`` stand-in, selected into the rows after the tiles), else the exact product, with or
    without the tile and split registers; a square takes no ``one``."""
    rng = np.random.default_rng(a_width + b_width + at)
    a = [int(v) for v in rng.integers(0, 1 << a_width, 500, dtype=np.uint64)] + [(1 << a_width) - 1] * 2
    b = [int(v) for v in rng.integers(0, 1 << b_width, 500, dtype=np.uint64)] + [(1 << b_width) - 1] * 2
    one = [int(v) for v in rng.integers(0, 2, 500)] + [1, 0]
    dut = Product(a_width, b_width, cut, row_bits, split, one_at=at)
    assert dut.latency == cut + split
    got = run_pipelined(dut, dut.latency, {"a": a, "b": b, "one": one}, ["p"])
    assert [int(v) for v in got["p"]] == [x << at if o else x * y for x, y, o in zip(a, b, one)]
    square = Signal(8)
    assert_rejected(lambda: multiply(Module(), "sq", square, square, Signal(), one=(Signal(), 4)), "one")


@pytest.mark.parametrize("a_width, b_width, split", [(28, 28, False), (33, 32, True), (27, 28, False)])
def test_wide_product_sums_by_carry_select(a_width, b_width, split):
    """A product whose final sum has at least the device's ``select_min_bits`` sums its upper half
    for both carries beside its lower half (three sums where a narrower one has one adder), exactly,
    also where the lower half's carry ripples across the whole upper half."""
    width = a_width + b_width
    wide = width >= DEFAULT_DEVICE.select_min_bits
    assert wide == (width >= 56)
    rng = np.random.default_rng(width)
    a = [int(v) for v in rng.integers(0, 1 << a_width, 400, dtype=np.uint64)] + [(1 << a_width) - 1, 1 << (a_width - 1)]
    b = [int(v) for v in rng.integers(0, 1 << b_width, 400, dtype=np.uint64)] + [(1 << b_width) - 1, (1 << b_width) - 1]
    dut = Product(a_width, b_width, True, split=split)
    got = run_pipelined(dut, dut.latency, {"a": a, "b": b}, ["p"])
    assert [int(v) for v in got["p"]] == [x * y for x, y in zip(a, b)]
    adders = rtlil.convert(Product(a_width, b_width, True, split=split), emit_src=False).count("cell $add ")
    assert adders >= 3 if wide else adders == 1
    if wide:
        assert DEFAULT_DEVICE.sum_ns(width) < DEFAULT_DEVICE.chain_ns(width)


@pytest.mark.parametrize("chunks", [((0, 7), (7, 14), (14, 20)), ((0, 10), (10, 20))])
def test_chunk_sums_select_both_carries_in(chunks):
    """Chunks summed for both carries into them and chosen by the carries out below give
    ``x + y + carry`` modulo ``2**20`` for either carry into the first chunk, also where a carry
    ripples through every chunk."""
    m, x, y = Module(), Signal(20), Signal(20)
    sums = chunk_sums(m, x, y, chunks, "sum")
    below, exact = Signal(20), Signal(20)
    m.d.comb += [below.eq(select_chunks(sums, chunks, "sum", 0)), exact.eq(select_chunks(sums, chunks, "sum", 1))]
    rng = np.random.default_rng(len(chunks))
    pairs = [(int(a), int(b)) for a, b in rng.integers(0, 1 << 20, (300, 2))]
    pairs += [((1 << 20) - 1, 0), ((1 << 20) - 1, 1), (0, 0), (0x5555, 0xaaaa), ((1 << 19) - 1, 1)]
    got = []

    async def bench(ctx):
        for a, b in pairs:
            ctx.set(x, a)
            ctx.set(y, b)
            got.append((ctx.get(below), ctx.get(exact)))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert got == [((a + b) % (1 << 20), (a + b + 1) % (1 << 20)) for a, b in pairs]


@pytest.mark.parametrize("shape", [5, signed(5), signed(1)])
def test_constant_compare_and_difference(shape):
    """``at_least(v, c)`` is ``v >= c`` and ``constant_minus(c, v, 4)`` is ``(c - v) mod 16`` for
    every value of a 5-bit (or 1-bit) signed or unsigned signal and every constant from below its
    range to above it."""
    v = Signal(shape)
    low, high = (-(1 << len(v) - 1), 1 << len(v) - 1) if v.shape().signed else (0, 1 << len(v))
    constants = range(low - 2, high + 2)
    m = Module()
    flags = [Signal(name=f"ge_{i}") for i in range(len(constants))]
    differences = [Signal(4, name=f"minus_{i}") for i in range(len(constants))]
    m.d.comb += [flag.eq(at_least(v, c)) for flag, c in zip(flags, constants)]
    m.d.comb += [d.eq(constant_minus(c, v, min(4, len(v)))) for d, c in zip(differences, constants)]
    got = {}

    async def bench(ctx):
        for value in range(low, high):
            ctx.set(v, value)
            got[value] = [(ctx.get(flag), ctx.get(d)) for flag, d in zip(flags, differences)]

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    mask = (1 << min(4, len(v))) - 1
    assert got == {value: [(int(value >= c), (c - value) & mask) for c in constants] for value in range(low, high)}


@pytest.mark.parametrize("a_width, b_width, low_bits, row_bits, split", [
    (50, 25, 53, 15, True), (50, 25, 53, None, False), (30, 20, 17, None, False), (20, 33, 40, 64, False)])
def test_product_modulo_power_of_two(a_width, b_width, low_bits, row_bits, split):
    """A product modulo ``2**low_bits`` (the residual decision's ``Y**2 * MR``) is exact there and
    builds only the tiles that reach below that weight."""
    from hw.spec.tiles import dsp_tiles
    rng = np.random.default_rng(low_bits)
    a = [int(v) for v in rng.integers(0, 1 << min(a_width, 63), 500, dtype=np.uint64)] + [(1 << a_width) - 1]
    b = [int(v) for v in rng.integers(0, 1 << b_width, 500, dtype=np.uint64)] + [(1 << b_width) - 1]
    a = [v | (int(rng.integers(0, 2)) << (a_width - 1)) for v in a]
    dut = Product(a_width, b_width, True, row_bits, split, low_bits=low_bits)
    assert len(dut.p) == min(low_bits, a_width + b_width)
    got = run_pipelined(dut, dut.latency, {"a": a, "b": b}, ["p"])
    assert [int(v) for v in got["p"]] == [x * y % (1 << low_bits) for x, y in zip(a, b)]
    assert dsp_tiles(a_width, b_width, row_bits=row_bits, low_bits=low_bits) <= dsp_tiles(a_width, b_width, row_bits=row_bits)
    if (a_width, b_width, low_bits, row_bits) == (50, 25, 53, 15):
        assert dsp_tiles(a_width, b_width, row_bits=row_bits, low_bits=low_bits) == 3


@pytest.mark.parametrize("row_levels", [None, 2])
def test_product_rows_sum_to_the_product(row_levels):
    """``rows=True`` (the residual decision's ``Y**2 * MR``): the two carry-save rows, not their
    sum, and they sum to the product modulo ``2**low_bits``; fewer carry-save levels before the
    tile register change nothing but where the registers sit."""
    rng = np.random.default_rng(53)
    a = [int(v) for v in rng.integers(0, 1 << 50, 500, dtype=np.uint64)] + [(1 << 50) - 1]
    b = [int(v) for v in rng.integers(0, 1 << 25, 500, dtype=np.uint64)] + [(1 << 25) - 1]
    dut = Product(50, 25, True, 15, True, low_bits=53, rows=True, row_levels=row_levels)
    assert len(dut.p) == 2 * 53
    got = run_pipelined(dut, dut.latency, {"a": a, "b": b}, ["p"])
    mask = (1 << 53) - 1
    rows = [(int(v) & mask, int(v) >> 53) for v in got["p"]]
    assert [(x + y) & mask for x, y in rows] == [u * v & mask for u, v in zip(a, b)]
    assert all(x and y for x, y in rows[:10])      # two rows, not a sum and a zero


def test_rows_only_product_is_exact_and_linear():
    """A product of LUT rows only (48 rows of 24 bits, as the constant products of ELU and the
    logistic units) is exact, and its netlist grows with the rows, not exponentially (with the
    compressors as nested expressions it had 213,885 cells)."""
    rng = np.random.default_rng(48)
    a = [int(v) for v in rng.integers(0, 1 << 24, 400, dtype=np.uint64)] + [(1 << 24) - 1]
    b = [int(v) for v in rng.integers(0, 1 << 48, 400, dtype=np.uint64)] + [(1 << 48) - 1]
    dut = Product(24, 48, row_bits=64)
    got = run_pipelined(dut, dut.latency, {"a": a, "b": b}, ["p"])
    assert [int(v) for v in got["p"]] == [x * y for x, y in zip(a, b)]
    cells = rtlil.convert(Product(24, 48, row_bits=64), emit_src=False).count("\n  cell ")
    assert cells < 48 * 30, f"{cells} cells"


@pytest.mark.parametrize("a_width, b_width, split", [(8, 25, False), (11, 32, True), (11, 32, False), (6, 10, False)])
def test_rows_only_product_spreads_its_levels(a_width, b_width, split):
    """A product of LUT rows alone with its tile register (the 16-bit alpha gradients'
    significand products) reduces its rows by at most the device's ``row_levels`` carry-save
    levels before that register and the rest after it, and stays exact."""
    rng = np.random.default_rng(a_width * b_width)
    a = [int(v) for v in rng.integers(0, 1 << a_width, 500, dtype=np.uint64)] + [(1 << a_width) - 1]
    b = [int(v) for v in rng.integers(0, 1 << b_width, 500, dtype=np.uint64)] + [(1 << b_width) - 1]
    dut = Product(a_width, b_width, True, ROWS_ONLY, split)
    got = run_pipelined(dut, dut.latency, {"a": a, "b": b}, ["p"])
    assert [int(v) for v in got["p"]] == [x * y for x, y in zip(a, b)]
    held = len(set(re.findall(r"\\rows_(\d+)\b", rtlil.convert(dut, emit_src=False))))
    rows = a_width                      # one row per bit of the narrow side; the wide side's tiles share them
    assert held == row_reduction(rows, DEFAULT_DEVICE.row_levels)[1]
    assert held == (2 if rows <= 6 else 3 if rows <= 9 else 4)
    levels, final = sum_levels(a_width, b_width, row_bits=ROWS_ONLY)
    assert levels <= DEFAULT_DEVICE.row_levels and (final > 0) == (rows > 6)


@pytest.mark.parametrize("split", [False, True])
def test_rows_beside_dsp_tiles_spread_their_levels(split):
    """FP32's 24-bit significands in 8-bit strips (a 16x16 DSP tile and 16 LUT rows) reduce their
    rows by at most the device's ``row_levels`` carry-save levels before the tile register too (six
    rows held there, not two), and the product stays exact."""
    rng = np.random.default_rng(24 + split)
    a = [int(v) for v in rng.integers(0, 1 << 24, 500, dtype=np.uint64)] + [(1 << 24) - 1, 0]
    b = [int(v) for v in rng.integers(0, 1 << 24, 500, dtype=np.uint64)] + [(1 << 24) - 1, 1]
    dut = Product(24, 24, True, 8, split)
    got = run_pipelined(dut, dut.latency, {"a": a, "b": b}, ["p"])
    assert [int(v) for v in got["p"]] == [x * y for x, y in zip(a, b)]
    held = len(set(re.findall(r"\\rows_(\d+)\b", rtlil.convert(dut, emit_src=False))))
    assert held == row_reduction(16, DEFAULT_DEVICE.row_levels)[1] == 6


@pytest.mark.parametrize("a_width, b_width", [(16, 16), (12, 27), (3, 9)])
def test_split_needs_a_wide_sum(a_width, b_width):
    """A product without a sum of at least SPLIT_MIN_BITS bits rejects the split register."""
    assert not has_split(a_width, b_width)
    assert_rejected(lambda: Product(a_width, b_width, split=True), "split")


@pytest.mark.parametrize("width, cut, row_bits, split", [(24, True, 8, False), (24, False, 6, False),
                                                         (31, True, 8, False), (13, False, 6, False),
                                                         (40, False, 8, False), (24, True, 8, True)])
def test_square(width, cut, row_bits, split):
    """The square (each off-diagonal tile once, weighted twice) is exact; a 24-bit one takes one
    DSP tile with 8-bit rows."""
    rng = np.random.default_rng(width)
    a = [int(v) for v in rng.integers(0, 1 << min(width, 63), 800, dtype=np.uint64)]
    a = [v | (int(rng.integers(0, 2)) << (width - 1)) for v in a] + [(1 << width) - 1, 0, 1]
    dut = Square(width, cut, row_bits, split)
    got = run_pipelined(dut, dut.latency, {"a": a}, ["p"])
    assert [int(v) for v in got["p"]] == [x * x for x in a]
    assert dsp_tiles(24, 24, square=True, row_bits=8) == 1 and dsp_tiles(24, 24) == 4


@pytest.mark.parametrize("cut", [False, True])
def test_add_one_and_normalize(cut):
    config = Config("fp16", function="isru")
    dp = datapath(config)
    w = dp.work_bits
    rng = np.random.default_rng(10)
    t = rng.integers(1 << w, 8 << w, 3000).astype(np.uint64)
    exp = rng.integers(-w - 6, w + 6, 3000)
    dut = AddOne(w, dp.exp_width, cut=cut)
    assert dut.latency == int(cut)
    got = run_pipelined(dut, dut.latency, {"t": t, "exp": exp}, ["u", "eu"])
    u, eu = twin.add_one(dp, t, exp)
    assert np.array_equal(got["u"], u.astype(np.int64)) and np.array_equal(got["eu"], eu)
    got = run_comb(NormalizeSum(w, dp.exp_width), {"u": u, "eu": eu}, ["sig", "exp"])
    exp, sig = twin.normalize_sum(dp, u, eu)
    assert np.array_equal(got["sig"], sig.astype(np.int64)) and np.array_equal(got["exp"], exp)
