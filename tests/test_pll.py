"""PLL parameter search (icepll / ecppll) and a smoke test of the board wrappers: they elaborate
for their platforms (Yosys netlist, no place and route)."""
import pytest

from fpga.icebreaker import icebreaker_design
from fpga.pll import ecp5_outputs, ecp5_pll, ice40_outputs, ice40_pll
from fpga.ulx3s import ulx3s_design
from hw.config import Config


@pytest.mark.parametrize("request_mhz, divr, divf, divq, filter_range, achieved", [
    (48, 0, 63, 4, 1, 48.0), (30, 0, 79, 5, 1, 30.0), (25, 0, 66, 5, 1, 25.125),
    (16, 0, 84, 6, 1, 15.9375), (100, 0, 66, 3, 1, 100.5)])
def test_ice40_pll_matches_icepll(request_mhz, divr, divf, divq, filter_range, achieved):
    pll = ice40_pll(12.0, request_mhz)
    assert (pll.divr, pll.divf, pll.divq, pll.filter_range) == (divr, divf, divq, filter_range)
    assert pll.f_out_mhz == achieved


def test_pll_ranges_are_named():
    with pytest.raises(ValueError, match=r"iCE40 PLL output frequency must be in 16..275 MHz, not 12"):
        ice40_pll(12.0, 12)
    with pytest.raises(ValueError, match=r"ECP5 PLL output frequency must be in 10..400 MHz, not 500"):
        ecp5_pll(25.0, 500)


@pytest.mark.parametrize("request_mhz", [50, 40, 33.3, 100])
def test_ecp5_pll_in_limits(request_mhz):
    pll = ecp5_pll(25.0, request_mhz)
    assert 400 <= pll.f_out_mhz * pll.clkop_div <= 800
    assert abs(pll.f_out_mhz - request_mhz) < 0.2
    assert pll.f_out_mhz == 25.0 * pll.clkfb_div / pll.clki_div


def test_icebreaker_wrapper_elaborates():
    from amaranth_boards.icebreaker import ICEBreakerPlatform
    design, hz = icebreaker_design(Config("bf16"), 25, 115200)
    assert hz == 25.125e6 and design.top.clk_freq == hz and design.top.divisor == 218
    plan = ICEBreakerPlatform().prepare(design, name="top")
    rtlil, pcf = plan.files["top.il"], plan.files["top.pcf"]
    assert "SB_PLL40_PAD" in rtlil and "\\DIVF 66" in rtlil
    assert "set_io clk12_0__io 35" in pcf and "set_io uart_0__rx__io 6" in pcf
    design, hz = icebreaker_design(Config("bf16"), 12, 115200)
    assert hz == 12e6 and design.pll_params is None
    assert "SB_PLL40" not in ICEBreakerPlatform().prepare(design, name="top").files["top.il"]


def test_ulx3s_wrapper_elaborates():
    from amaranth_boards.ulx3s import ULX3S_85F_Platform
    design, hz = ulx3s_design(Config("bf16", function="fma"), 50, 115200)
    assert hz == 50e6
    plan = ULX3S_85F_Platform().prepare(design, name="top")
    assert "EHXPLLL" in plan.files["top.il"]


def test_output_lists_are_exactly_what_the_searches_reach():
    """Every listed output is the closest setting's own frequency; nothing between two listed
    outputs is reachable."""
    outputs = ice40_outputs(12.0)
    assert outputs[0] >= 16 and outputs[-1] <= 275 and 25.125 in outputs and 48.0 in outputs
    for f in outputs:
        assert ice40_pll(12.0, f).f_out_mhz == f
    for low, high in zip(outputs, outputs[1:]):
        assert ice40_pll(12.0, (low + high) / 2).f_out_mhz in (low, high)
    ecp5 = ecp5_outputs(25.0)
    assert 50.0 in ecp5 and ecp5[0] >= 10 and ecp5[-1] <= 400
    for f in ecp5[::7]:
        assert ecp5_pll(25.0, f).f_out_mhz == pytest.approx(f, abs=1e-9)
