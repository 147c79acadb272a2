"""Configuration validation: every bad parameter is rejected with a message naming it."""
import re

import pytest

from hw.config import Config, add_config_arguments, config_from_arguments
from hw.spec.formats import BF16, FP16, FP32, FixedFormat, FloatFormat, parse_format
from hw.spec.functions import FUNCTIONS


@pytest.mark.parametrize("text, expected", [
    ("fp32", FP32), ("FP16", FP16), ("bf16", BF16), ("e5m2", FloatFormat(5, 2)),
    ("e8m10", FloatFormat(8, 10)), ("e4m3", FloatFormat(4, 3)), ("q4.12", FixedFormat(4, 12)),
    ("q1.15", FixedFormat(1, 15)), ("q16.16", FixedFormat(16, 16)),
])
def test_parse_format(text, expected):
    assert parse_format(text) == expected


@pytest.mark.parametrize("text, message", [
    ("fp64", "format must be one of fp32, fp16, bf16, eXmY (X in 3..8, Y in 2..23) or qI.F"),
    ("e2m5", "format 'e2m5': exponent bits must be an integer in 3..8, not 2"),
    ("e9m5", "format 'e9m5': exponent bits must be an integer in 3..8, not 9"),
    ("e5m1", "format 'e5m1': mantissa bits must be an integer in 2..23, not 1"),
    ("e5m24", "format 'e5m24': mantissa bits must be an integer in 2..23, not 24"),
    ("q0.8", "format 'q0.8': fixed-point integer bits (sign included) must be at least 1, not 0"),
    ("q20.20", "format 'q20.20': fixed-point width (integer + fraction bits) must be in 4..32, "
               "not 40 (q20.20)"),
    ("q1.2", "fixed-point width (integer + fraction bits) must be in 4..32, not 3"),
])
def test_bad_format(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_format(text)


@pytest.mark.parametrize("kwargs, message", [
    (dict(function="softsign"), f"function must be one of {', '.join(FUNCTIONS)}, not 'softsign'"),
    (dict(function="isru-sigmoid", alpha=0.5), "alpha must be at least 1 with function 'isru-sigmoid'"),
    (dict(function="isru-sigmoid", runtime_alpha=True), "runtime_alpha is not available with function "
                                                        "'isru-sigmoid'"),
    (dict(function="isru-alpha-grad", format="q4.12"), "function 'isru-alpha-grad' takes a float format"),
    (dict(function="relu", alpha=2.0), "alpha is not used with function 'relu' (got 2.0)"),
    (dict(function="relu", format="q4.12", out_format="q8.8"), "out_format is not used with function 'relu'"),
    (dict(function="fma", format="q4.12"), "function 'fma' takes a float format, not q4.12"),
    (dict(function="fma", newton=1), "newton is not used with function 'fma' (got 1)"),
    (dict(function="fma", seed="lut"), "seed is not used with function 'fma' (got 'lut')"),
    (dict(function="fma", lanes=0), "lanes must be an integer in 1..16, not 0"),
    (dict(seed="poly"), "seed must be one of magic, lut, pwl, quad, not 'poly'"),
    (dict(newton=4), "newton must be an integer in 0..3, not 4"),
    (dict(newton=-1), "newton must be an integer in 0..3, not -1"),
    (dict(newton=1.5), "newton must be an integer in 0..3, not 1.5"),
    (dict(lanes=0), "lanes must be an integer in 1..16, not 0"),
    (dict(lanes=17), "lanes must be an integer in 1..16, not 17"),
    (dict(table_bits=1), "table_bits for bf16 must be an integer in 2..8, not 1"),
    (dict(table_bits=9), "table_bits for bf16 must be an integer in 2..8, not 9"),
    (dict(format="fp32", table_bits=17), "table_bits for fp32 must be an integer in 2..16, not 17"),
    (dict(seed="magic", table_bits=6), "table_bits is only used with seeds 'lut', 'pwl' and 'quad'"),
    (dict(seed="quad", table_bits=1), "table_bits for bf16 with seed 'quad' must be an integer in 2..7, not 1"),
    (dict(function="isru", seed="quad", table_bits=13), "table_bits for bf16 with seed 'quad' must be "
                                                        "an integer in 2..12, not 13"),
    (dict(magic=0x5f37), "magic is only used with seed 'magic'"),
    (dict(seed="magic", magic=0x6000), "magic for bf16 must be an integer in 0x5f00..0x5f7f, not 24576"),
    (dict(format="fp32", seed="magic", magic=0x1234), "magic for fp32 must be an integer in "
                                                       "0x5f000000..0x5f7fffff, not 4660"),
    (dict(out_format="q8.8"), "out_format is only used with fixed-point formats, not with bf16"),
    (dict(format="q4.12", out_format="fp16"), "out_format must be a fixed-point format qI.F, not fp16"),
    (dict(alpha=2.0), "alpha is only used with the functions isrlu, isru, isrlu-grad, "
                      "isru-grad, elu, elu-grad, isru-sigmoid, isru-sigmoid-grad, isrlu-alpha-grad, "
                      "isru-alpha-grad, not with 'rsqrt'"),
    (dict(runtime_alpha=True), "runtime_alpha is only used with the functions isrlu, isru, isrlu-grad, "
                               "isru-grad, isrlu-alpha-grad, isru-alpha-grad, not with 'rsqrt'"),
    (dict(function="elu", format="q8.24"), "ELU takes fixed-point formats of up to 24 bits, not q8.24"),
    (dict(function="tanh", format="q4.12", out_format="q8.8"), "out_format is not used with function 'tanh'"),
    (dict(function="elu", runtime_alpha=True), "runtime_alpha is not used with function 'elu'"),
    (dict(function="elu-grad", alpha=1e6), "alpha must be a float in (0, 65536), not 1000000.0"),
    (dict(function="isru", alpha=0.0), "alpha must be a positive finite number, not 0.0"),
    (dict(function="isru", alpha=-1.0), "alpha must be a positive finite number, not -1.0"),
    (dict(function="isru", alpha=float("inf")), "alpha must be a positive finite number, not inf"),
    (dict(function="isru", alpha="big"), "alpha must be a positive finite number, not 'big'"),
    (dict(function="isru", alpha=2.0, runtime_alpha=True), "alpha must not be given with runtime_alpha"),
    (dict(function="isru", runtime_alpha="yes"), "runtime_alpha must be True or False, not 'yes'"),
    (dict(function="isru", table_bits=17), "table_bits for bf16 must be an integer in 2..16, not 17"),
])
def test_bad_parameter(kwargs, message):
    kwargs.setdefault("format", "bf16")
    with pytest.raises(ValueError, match=re.escape(message)):
        Config(**kwargs)


def test_defaults_resolved_once():
    assert Config("bf16").table_bits == 8 and Config("bf16").newton == 0
    assert Config("fp16").table_bits == 11 and Config("fp16").newton == 0
    assert (Config("fp32").table_bits, Config("fp32").newton) == (9, 0)
    assert (Config("fp32", rounding="direct").table_bits, Config("fp32", rounding="direct").newton) == (12, 1)
    assert Config("fp32", seed="magic", newton=1).magic == 0x5F375A86
    assert Config("fp32", seed="magic", newton=0).magic == 0x5F37642F
    assert Config("q4.12").out_format == FixedFormat(8, 12)
    assert Config("q4.12", out_format="q3.13").out_format == FixedFormat(3, 13)
    assert Config("q2.30").out_format == FixedFormat(17, 15)


def test_activation_defaults():
    config = Config("bf16", function="isrlu")
    # Polynomial seeds alone where they meet the target: BF16 lines (forward and backward, the
    # backward's lines of (1 + alpha*x**2)**-1.5 itself), FP16 parabolas (10 index bits, so that the
    # slope product is one DSP); FP32 parabolas too (target 1 ulp), or with a table of constants an
    # 8-bit table and two Newton stages.
    assert (config.alpha, config.runtime_alpha, config.seed, config.table_bits, config.newton) == \
        (1.0, False, "pwl", 11, 0)
    assert (Config("fp16", function="isru").seed, Config("fp16", function="isru").table_bits) == ("quad", 10)
    assert Config("bf16", function="isrlu-grad").name == "isrlu_grad_bf16_a1_pwl11_n0"
    assert Config("bf16", function="isrlu-grad").seed_power == 3
    assert Config("fp16", function="isru-grad").name == "isru_grad_fp16_a1_quad10_n0"
    fp32 = Config("fp32", function="isru")
    assert (fp32.seed, fp32.table_bits, fp32.newton) == ("quad", 10, 0)
    assert Config("fp32", function="isru", seed="lut").name == "isru_fp32_a1_lut8_n2"
    assert Config("q4.12", function="isru").out_format == FixedFormat(4, 12)
    assert Config("bf16", function="isrlu", alpha=3).name == "isrlu_bf16_a3_pwl11_n0"
    assert Config("bf16", function="isrlu", newton=1).name == "isrlu_bf16_a1_lut12_n1"
    # A polynomial seed followed by Newton stages approximates m**-0.5; the backward unit cubes it.
    assert Config("fp16", function="isru-grad", seed="pwl").newton == 1
    assert Config("fp16", function="isru-grad", seed="pwl").seed_power == 1
    assert Config("fp16", function="isru-grad", runtime_alpha=True).name == "isru_grad_fp16_arun_quad10_n0"
    assert Config("fp16", function="isru", alpha=0.1).name.startswith("isru_fp16_a0p1_")


def test_config_is_immutable_and_hashable():
    config = Config("fp16")
    with pytest.raises(AttributeError):
        config.newton = 2
    assert config == Config("fp16", seed="lut", table_bits=11, newton=0)
    assert hash(config) == hash(Config("fp16"))


def test_name_encodes_parameters():
    assert Config("fp16").name == "rsqrt_fp16_lut11_n0"
    assert Config("fp32", seed="magic", magic=0x5f3759df, newton=1, lanes=4).name == \
        "rsqrt_fp32_magic5f3759df_n1_x4"
    assert Config("q4.12").name == "rsqrt_q4_12_toq8_12_lut12_n1"


def test_cli_flags_share_validation(capsys):
    import argparse
    parser = add_config_arguments(argparse.ArgumentParser(prog="tool"))
    args = parser.parse_args(["--format", "fp32", "--seed", "magic", "--magic", "0x5f3759df",
                              "--newton", "1", "--lanes", "2"])
    config = config_from_arguments(args, parser)
    assert (config.magic, config.newton, config.lanes) == (0x5F3759DF, 1, 2)
    with pytest.raises(SystemExit):
        config_from_arguments(parser.parse_args(["--lanes", "40"]), parser)
    assert "lanes must be an integer in 1..16, not 40" in capsys.readouterr().err


def test_with_resolves_every_default_again():
    """with_ changes the request, not the resolved values: BF16's table size does not follow the
    configuration to FP32."""
    bf16 = Config("bf16")
    assert bf16.requested.table_bits is None and bf16.table_bits == 8
    assert bf16.with_(format="fp32") == Config("fp32")
    assert bf16.with_(format="fp32").name == "rsqrt_fp32_quad9_n0_residual"
    asked = Config("bf16", function="isrlu", seed="lut", table_bits=6)
    assert asked.with_(format="fp16").table_bits == 6          # what was asked for is kept
    assert asked.with_(seed=None, table_bits=None) == Config("bf16", function="isrlu")
    assert Config("fp16", function="isru").with_(seed="magic").seed == "magic"   # table bits re-resolved


def test_device_model():
    config = Config("bf16", function="isrlu")
    assert config.device == "ice40up5k" and config.device_model.dsp_width == 16
    assert config == Config("bf16", function="isrlu", device="ice40up5k")
    assert config.to_dict()["device"] == "ice40up5k"
    with pytest.raises(ValueError, match="device must be one of ice40up5k, not 'ecp5'"):
        Config("bf16", device="ecp5")


def test_registry():
    from hw.rtl.top import build_unit
    from golden.eval import twin
    from golden import reference
    from hw.spec.functions import REGISTRY, by_wire_code, lookup
    assert len({entry.wire_code for entry in REGISTRY.values()}) == len(REGISTRY)
    for name, entry in REGISTRY.items():
        assert by_wire_code(entry.wire_code) is entry and lookup(name) is entry
        config = Config("bf16", function=name)
        unit = build_unit(config)
        unit._MustUse__silence = True
        assert type(unit).__name__ == entry.unit.split(":")[1]
        assert tuple(unit.i.payload.shape().members) == config.operands == entry.operands
        assert callable(twin(config))
        module, function = entry.reference.split(":")
        assert callable(getattr(__import__(f"golden.{module}", fromlist=[function]), function))
        for _, operands in entry.float_cases + entry.fixed_cases:
            assert set(operands) <= set(entry.operands)
        if entry.rival is not None:             # a registered function, in the same direction
            assert REGISTRY[entry.rival].backward == entry.backward and entry.rival != name
    with pytest.raises(ValueError, match="function must be one of rsqrt, isrlu"):
        lookup("softsign")


def test_rounding_defaults_and_checks():
    """FP32 rsqrt is correctly rounded by the residual decision, with the polynomial seed alone;
    the 16-bit formats round their approximation directly; the residual decision needs an
    approximation within half an ulp and exists for rsqrt on floats only."""
    fp32 = Config("fp32")
    assert (fp32.rounding, fp32.seed, fp32.table_bits, fp32.newton) == ("residual", "quad", 9, 0)
    assert Config("fp16").rounding == Config("bf16").rounding == "direct"
    assert Config("fp32", rounding="direct").name == "rsqrt_fp32_lut12_n1"
    assert Config("fp32", seed="lut").name == "rsqrt_fp32_lut12_n1_residual"
    assert Config("fp16", rounding="residual").name == "rsqrt_fp16_quad6_n0_residual"
    assert Config("fp32", function="isru").rounding is None
    assert Config("fp32", seed="magic", newton=1).rounding == "direct"     # too coarse: the default falls back
    assert Config("fp32", seed="magic").name == "rsqrt_fp32_magic5f375a86_n3_residual"
    assert Config("fp32", function="fma").rounding is None
    for kwargs, message in [
            ({"format": "fp32", "rounding": "nearest"}, "rounding must be one of direct, residual, not 'nearest'"),
            ({"format": "q4.12", "rounding": "residual"}, "only used with rsqrt on float formats"),
            ({"format": "fp32", "function": "isru", "rounding": "direct"}, "only used with rsqrt on float formats"),
            ({"format": "fp32", "function": "fma", "rounding": "direct"}, "rounding is not used with function 'fma'"),
            ({"format": "fp32", "seed": "quad", "table_bits": 7, "newton": 0, "rounding": "residual"}, "needs an approximation within half an ulp"),
            ({"format": "fp32", "seed": "magic", "newton": 1, "rounding": "residual"}, "needs an approximation within half an ulp")]:
        with pytest.raises(ValueError, match=message):
            Config(**kwargs)
