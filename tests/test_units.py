"""Whole units in Amaranth's simulator against the golden models, on small formats exhaustively,
across seeds, Newton stages and pipelining levels (the exported Verilog is co-simulated in sim/)."""
import gc
import warnings

import numpy as np
import pytest
from amaranth.hdl import Fragment, UnusedElaboratable
from amaranth.sim import Simulator

from golden.eval import evaluate
from golden.fma import fma
from hw.config import FUNCTIONS, Config
from hw.rtl.pipeline import PlanMismatch
from hw.rtl.top import build_unit
from hw.rtl.units.rsqrt import RsqrtUnit
from hw.spec.datapath import datapath
from hw.spec.functions import lookup
from hw.spec.plan import optional_cuts


def stream(config, operands):
    """Every row of ``operands`` through the unit with ``o.ready`` high: the outputs in order."""
    dut = build_unit(config)
    n = len(next(iter(operands.values())))
    got, flags = [], []

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        i = 0
        while len(got) < n:
            ctx.set(dut.i.valid, i < n)
            if i < n:
                for name, values in operands.items():
                    ctx.set(getattr(dut.i.payload, name)[0], int(values[i]))
            await ctx.tick()
            if ctx.get(dut.o.valid):
                got.append(ctx.get(dut.o.payload.y[0]))
                if not config.is_float:
                    flags.append(ctx.get(dut.o.payload.flag[0]))
            i += 1

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return np.array(got, dtype=np.uint64), np.array(flags, dtype=bool)


CONFIGS = [
    Config("e5m4", rounding="residual", seed="magic", newton=2), Config("e4m3", rounding="residual", pipeline=3),
    Config("e4m3"), Config("e4m3", seed="magic", newton=2), Config("e5m2", pipeline=0),
    Config("e4m3", function="isru", newton=0), Config("e4m3", function="isrlu", seed="magic"),
    Config("e5m2", function="isru-grad", alpha=3.0, pipeline=2),
    Config("e4m3", function="isrlu-grad", runtime_alpha=True, pipeline=0),
    Config("q2.6", function="isru", newton=0), Config("q3.5"), Config("q2.6", function="isrlu-grad", pipeline=1),
    Config("e5m2", seed="pwl", table_bits=2), Config("e4m3", seed="pwl", table_bits=3, newton=1, pipeline=1),
    Config("e4m3", function="isrlu", seed="pwl", table_bits=5, pipeline=0),
    Config("e4m3", function="isru-grad", seed="pwl", pipeline=3), Config("q3.5", seed="pwl", table_bits=4),
    Config("e4m3", seed="quad", table_bits=3), Config("e5m2", function="isru", seed="quad", pipeline=1),
    Config("e4m3", function="isrlu-grad", seed="quad", table_bits=4, newton=0),
    Config("e4m3", function="isru-grad", seed="quad", newton=1, pipeline=4),
    Config("q3.5", seed="quad", table_bits=4, newton=1), Config("q2.6", function="isru", seed="quad", pipeline=2),
    Config("e4m3", function="elu"), Config("e5m2", function="elu", alpha=0.5, pipeline=3),
    Config("e4m3", function="elu-grad", alpha=3.0), Config("e5m2", function="elu-grad", pipeline=0),
    Config("e4m3", function="isru-sigmoid"), Config("e5m2", function="isru-sigmoid", alpha=3.0, pipeline=4),
    Config("e4m3", function="isru-sigmoid", alpha=1.75, seed="magic", pipeline=0),
    Config("e4m3", function="isru-sigmoid-grad", alpha=0.5), Config("q3.5", function="isru-sigmoid-grad", pipeline=2),
    Config("e4m3", function="tanh"), Config("e5m2", function="tanh", pipeline=0),
    Config("e5m2", function="tanh-grad"), Config("e4m3", function="tanh-grad", pipeline=5),
    Config("e5m2", function="sigmoid"), Config("e4m3", function="sigmoid", pipeline=7),
    Config("e4m3", function="sigmoid-grad"), Config("e5m2", function="sigmoid-grad", pipeline=0),
    Config("q3.5", function="elu"), Config("q2.6", function="elu-grad", pipeline=0),
    Config("q1.7", function="elu", alpha=3.0, pipeline=4), Config("q3.5", function="tanh"),
    Config("q4.4", function="tanh-grad", pipeline=3), Config("q2.6", function="sigmoid", pipeline=0),
    Config("q3.5", function="sigmoid-grad"), Config("q3.5", function="isru-sigmoid"),
    Config("q2.6", function="isru-sigmoid", alpha=3.0, pipeline=2),
    Config("e4m3", function="isru-alpha-grad"), Config("e5m2", function="isru-alpha-grad", alpha=3.0, pipeline=3),
    Config("e4m3", function="isrlu-alpha-grad", runtime_alpha=True), Config("e5m2", function="isrlu-alpha-grad",
                                                                             seed="magic", newton=1, pipeline=0),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.name)
def test_unit_matches_golden(config):
    rng = np.random.default_rng(12)
    width = config.in_width
    x = rng.permutation(1 << width).astype(np.uint64)     # neighbours differ: a misaligned stage shows
    operands = {"x": x}
    if config.is_backward:
        operands["grad"] = rng.integers(0, 1 << width, x.size, dtype=np.uint64)
    if config.runtime_alpha:
        operands["alpha"] = rng.integers(1, 1 << (width - 1), x.size, dtype=np.uint64)
    assert tuple(operands) == config.operands
    y, flag = evaluate(config, x, operands.get("grad"), operands.get("alpha"))
    got, got_flag = stream(config, operands)
    assert np.array_equal(got, y.astype(np.uint64))
    if flag is not None:
        assert np.array_equal(got_flag, flag.astype(bool))


@pytest.mark.parametrize("config", [Config("e5m2", function="tanh"), Config("e4m3", function="sigmoid-grad")],
                         ids=lambda c: c.name)
def test_logistic_unit_every_pipeline_level(config):
    """The logistic family's two ROMs and two aligned paths at every placement of its registers."""
    x = np.arange(1 << config.in_width, dtype=np.uint64)
    operands = {"x": x}
    if config.is_backward:
        operands["grad"] = np.random.default_rng(14).integers(0, 1 << config.in_width, x.size, dtype=np.uint64)
    for level in range(optional_cuts(config) + 1):
        leveled = config.with_(pipeline=level)
        y, _ = evaluate(leveled, x, operands.get("grad"))
        got, _ = stream(leveled, operands)
        assert np.array_equal(got, y.astype(np.uint64)), level


@pytest.mark.parametrize("pipeline", [None, 0, 5])
def test_fp32_residual_rounding_unit_matches_golden(pipeline):
    """The correctly rounded FP32 rsqrt (its exact last-bit decision: two wide products, one
    modulo a power of two) at several placements of its registers."""
    config = Config("fp32", pipeline=pipeline)
    assert config.rounding == "residual"
    x = np.random.default_rng(15).integers(0, 1 << 31, 1500, dtype=np.uint64)
    powers = np.arange(1, 255, dtype=np.uint64) << np.uint64(23)           # 1/sqrt(4**n): T + 1 carries
    specials = np.array([0, 1 << 31, 0x7F800000, 0xFF800000, 0x7FC00000, 0xBF800000, 1, 0x7FFFFF, 0x7F7FFFFF],
                        dtype=np.uint64)
    sample = np.random.default_rng(16).integers(0x00800000, 0x7F800000, 300_000, dtype=np.uint64)
    carried = sample[(evaluate(config, sample)[0].astype(np.uint64) & np.uint64(0x7FFF)) == 0]
    assert len(carried) >= 5                     # T + 1 carries from the word's lower half into its upper
    x = np.concatenate([x, powers, powers + np.uint64(1), powers - np.uint64(1), carried, specials])
    got, _ = stream(config, {"x": x})
    assert np.array_equal(got, evaluate(config, x)[0].astype(np.uint64))


@pytest.mark.parametrize("function, pipeline", [("isrlu", None), ("isrlu", 16), ("isru", None)])
def test_fp32_activation_unit_matches_golden(function, pipeline):
    """FP32 ISRLU/ISRU (their seed's line from ``c1*u``'s carry-save rows; the packer's one-hot
    shift and its word plus one in two halves) with and without the packer's first register:
    random inputs, results at and just below ``emin``, results whose rounding carries across the
    word's halves, and the specials."""
    config = Config("fp32", function=function, pipeline=pipeline)
    dp = datapath(config)
    assert dp.seed_slope_rows and dp.below_emin_max == 1
    rng = np.random.default_rng(17)
    x = rng.integers(0, 1 << 32, 1500, dtype=np.uint64)
    edge = np.uint64(0x00800000)
    near = np.concatenate([edge + np.arange(-40, 40, dtype=np.int64).astype(np.uint64)] * 2)
    near[80:] |= np.uint64(1 << 31)
    sample = rng.integers(0, 1 << 32, 200_000, dtype=np.uint64)
    carried = sample[(evaluate(config, sample)[0].astype(np.uint64) & np.uint64(0x7FF)) == 0][:300]
    assert len(carried) >= 20                    # the word plus one carries from its lower half
    specials = np.array([0, 1 << 31, 0x7F800000, 0xFF800000, 0x7FC00000, 1, 0x807FFFFF, 0x7F7FFFFF, 0xFF7FFFFF],
                        dtype=np.uint64)
    x = np.concatenate([x, near, carried, specials])
    got, _ = stream(config, {"x": x})
    assert np.array_equal(got, evaluate(config, x)[0].astype(np.uint64))


@pytest.mark.parametrize("function, pipeline", [("isrlu-grad", None), ("isrlu-grad", 0), ("isru-alpha-grad", None)])
def test_fp32_backward_unit_matches_golden(function, pipeline):
    """FP32 backward units (their packer's shift over every subnormal position) with and without
    registers: random operands, deep subnormal results from tiny gradients, and the specials."""
    config = Config("fp32", function=function, pipeline=pipeline)
    rng = np.random.default_rng(18)
    x = rng.integers(0, 1 << 32, 2500, dtype=np.uint64)
    grad = rng.integers(0, 1 << 32, 2500, dtype=np.uint64)
    grad[:1000] = rng.integers(0, 0x0C000000, 1000, dtype=np.uint64) | (grad[:1000] & np.uint64(1 << 31))
    specials = np.array([0, 1 << 31, 0x7F800000, 0xFF800000, 0x7FC00000, 1, 0x807FFFFF, 0x3F800000], dtype=np.uint64)
    x = np.concatenate([x, np.repeat(specials, len(specials))])
    grad = np.concatenate([grad, np.tile(specials, len(specials))])
    got, _ = stream(config, {"x": x, "grad": grad})
    assert np.array_equal(got, evaluate(config, x, grad)[0].astype(np.uint64))


def test_residual_rounding_overflows_to_infinity():
    """A format with few exponent bits (e3m13) whose smallest inputs have results beyond the
    largest finite number: the exactly decided result packs to +inf there, also where only the
    rounding increment carries it over, as the golden model does."""
    config = Config("e3m13")
    assert config.rounding == "residual"
    x = np.concatenate([np.arange(0, 1 << 12, dtype=np.uint64),
                        np.random.default_rng(17).integers(0, 1 << 16, 800, dtype=np.uint64)])
    y = evaluate(config, x)[0].astype(np.uint64)
    assert (y == config.format.inf).sum() > 100 and (y < config.format.inf).sum() > 1000
    got, _ = stream(config, {"x": x})
    assert np.array_equal(got, y)


@pytest.mark.parametrize("pipeline", [None, 0, 2])
def test_fma_unit_matches_golden(pipeline):
    config = Config("e4m3", function="fma", pipeline=pipeline)
    rng = np.random.default_rng(13)
    a, b, c = (rng.integers(0, 256, 3000, dtype=np.uint64) for _ in range(3))
    c[:1000] = fma(config, a[:1000], b[:1000], np.zeros(1000, dtype=np.uint64)) ^ np.uint64(0x80)
    got, _ = stream(config, {"a": a, "b": b, "c": c})
    assert np.array_equal(got, fma(config, a, b, c))


@pytest.mark.parametrize("pipeline", [None, pytest.param(6, marks=pytest.mark.full)])
def test_fp32_fma_unit_matches_golden(pipeline):
    """The FP32 FMA's own registers (the product's split, the sum's carries, the leading-one
    trees' groups) at two placements: random triples, near-cancellation, subnormal operands."""
    config = Config("fp32", function="fma", pipeline=pipeline)
    rng = np.random.default_rng(16)
    a, b, c = (rng.integers(0, 1 << 32, 900, dtype=np.uint64) for _ in range(3))
    product = fma(config, a[:300], b[:300], np.zeros(300, dtype=np.uint64))
    c[:300] = (product ^ np.uint64(1 << 31)) + rng.integers(0, 3, 300, dtype=np.uint64)
    a[300:600] &= np.uint64(0x807FFFFF)
    c[600:] &= np.uint64(0x807FFFFF)
    got, _ = stream(config, {"a": a, "b": b, "c": c})
    assert np.array_equal(got, fma(config, a, b, c))


def test_pipelining_changes_latency_only():
    from hw.spec.plan import enabled_cuts, optional_cuts, unit_cuts
    base = Config("fp16", function="isrlu")
    latencies = [len(enabled_cuts(base.with_(pipeline=level))) for level in range(optional_cuts(base) + 1)]
    # Mandatory registers: the square table, the seed table, the output.
    assert latencies == list(range(3, 3 + len(latencies)))
    # 11 (one unpack stage: a subnormal x passes through unnormalized; none for alpha = 1, a
    # shift; two for 1 + alpha*x**2: the alignment shift, then the sum; three for the packer's
    # normalization, shift and round), +3 for the quad seed whose ut**2 is read from a table (its
    # products' tile register, the products, the sum), +1 for the final product's tile register.
    assert base.seed == "quad" and base.newton == 0 and datapath(base).seed_square_rom
    assert datapath(base).alpha_shift and "alpha" not in {cut.name for cut in unit_cuts(base)}
    assert len(enabled_cuts(base)) == latencies[-1] == 15
    alpha3 = base.with_(alpha=3.0)          # a product: its tile register and the alpha cut
    assert {"alpha_tiles", "alpha"} <= {cut.name for cut in unit_cuts(alpha3)}


class _Miswired(RsqrtUnit):
    """An rsqrt unit whose lane breaks its plan in one way (``mistake``)."""
    def __init__(self, config, mistake):
        self.mistake = mistake
        super().__init__(config)

    def _lane(self, m, en, lane, st):
        if self.mistake == "unknown":
            st.cut("unpack_shift", {})
        elif self.mistake == "order":
            st.cut("seed", {})
            st.cut("unpack", {})
        elif self.mistake == "missing":
            return
        super()._lane(m, en, lane, st)


@pytest.mark.parametrize("mistake, message", [
    ("unknown", "cut 'unpack_shift' is not in the plan"),
    ("order", "cut 'unpack' placed after 'seed', but the plan has it before"),
    ("missing", "planned cuts never used: unpack_count, unpack, seed"),
])
def test_cuts_follow_the_plan(mistake, message):
    """A unit whose registers differ from the configuration's plan fails at elaboration."""
    dut = _Miswired(Config("bf16"), mistake)
    with warnings.catch_warnings():      # the half-built Module is collected here, unused
        warnings.simplefilter("ignore", UnusedElaboratable)
        with pytest.raises(PlanMismatch, match=message):
            Fragment.get(dut, None)
        gc.collect()


def test_every_planned_cut_is_met():
    """Every default unit meets its plan exactly (elaboration would raise otherwise)."""
    for function in FUNCTIONS:
        for fmt in ("bf16", "fp16", "fp32", "q4.12"):
            if fmt.startswith("q") and not lookup(function).takes_fixed:
                continue
            config = Config(fmt, function=function)
            for level in {0, optional_cuts(config) // 2, optional_cuts(config)}:
                Fragment.get(build_unit(config.with_(pipeline=level)), None)
