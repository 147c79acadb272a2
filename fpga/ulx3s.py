"""The board top on the ULX3S (ECP5, 85F by default): 25 MHz oscillator through an ``EHXPLLL``,
the FTDI UART, LED 0 = self-test passed, LED 1 = failed, LED 2 = running.

``ulx3s_design(config, clock_mhz, baud)`` returns ``(design, achieved_hz)`` for
``amaranth_boards.ulx3s.ULX3S_85F_Platform().build(design)``.
"""
from amaranth.hdl import Instance, Signal
from amaranth.lib import io

from .board import BoardDesign
from .pll import ecp5_pll

__all__ = ["ULX3SDesign", "ulx3s_design", "ULX3S_CLOCK_MHZ"]

ULX3S_CLOCK_MHZ = 25.0


class ULX3SDesign(BoardDesign):
    """:class:`~fpga.top.BoardTop` on the ULX3S. Requests ``clk25`` (into the PLL), ``uart`` 0 and
    ``led`` 0..2. At exactly 25 MHz there is no PLL and the platform's clock domain is used."""
    def pll(self, m, platform, clk):
        m.submodules.clk25 = clk25 = io.Buffer("i", platform.request("clk25", 0, dir="-"))
        locked = Signal()
        p = self.pll_params
        m.submodules.pll = Instance(
            "EHXPLLL",
            a_FREQUENCY_PIN_CLKI=f"{p.f_in_mhz:g}", a_FREQUENCY_PIN_CLKOP=f"{p.f_out_mhz:g}",
            a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
            a_MFG_GMCREF_SEL="2",
            p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
            p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_CLKOP_ENABLE="ENABLED",
            p_CLKI_DIV=p.clki_div, p_CLKOP_DIV=p.clkop_div, p_CLKOP_CPHASE=p.clkop_cphase,
            p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP", p_CLKFB_DIV=p.clkfb_div,
            i_RST=0, i_STDBY=0, i_CLKI=clk25.i, i_CLKFB=clk, i_PHASESEL0=0, i_PHASESEL1=0,
            i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1, i_PLLWAKESYNC=0, i_ENCLKOP=0,
            o_CLKOP=clk, o_LOCK=locked)
        return locked

    def connect_leds(self, m, platform, top):
        for index, value in enumerate((top.led_pass, top.led_fail, top.led_busy)):
            self.drive(m, platform, "led", index, value)


def ulx3s_design(config, clock_mhz, baud, **top_options):
    """The ULX3S design of ``config`` at the achievable clock closest to ``clock_mhz``
    (25 MHz: no PLL; else 10..400 MHz through the PLL); returns ``(design, achieved_hz)``."""
    if clock_mhz == ULX3S_CLOCK_MHZ:
        pll, achieved = None, ULX3S_CLOCK_MHZ
    else:
        pll = ecp5_pll(ULX3S_CLOCK_MHZ, clock_mhz)
        achieved = pll.f_out_mhz
    design = ULX3SDesign(config, pll, achieved, baud, **top_options)
    return design, achieved * 1e6
