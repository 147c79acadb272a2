"""The board top on the iCEBreaker (iCE40UP5K): 12 MHz oscillator through an ``SB_PLL40_PAD``,
the FTDI's second channel as the UART, green LED = self-test passed, red LED = self-test running
or failed.

``icebreaker_design(config, clock_mhz, baud)`` returns ``(design, achieved_hz)`` for
``amaranth_boards.icebreaker.ICEBreakerPlatform().build(design)``.
"""
from amaranth.hdl import Instance, Signal

from .board import BoardDesign
from .pll import ice40_pll

__all__ = ["ICEBreakerDesign", "icebreaker_design", "ICEBREAKER_CLOCK_MHZ"]

ICEBREAKER_CLOCK_MHZ = 12.0


class ICEBreakerDesign(BoardDesign):
    """:class:`~fpga.top.BoardTop` on the iCEBreaker. Requests ``clk12`` (raw pad, into the PLL),
    ``uart`` 0, ``led_g`` 0 (self-test passed) and ``led_r`` 0 (self-test running or failed).
    At exactly 12 MHz there is no PLL and the platform's clock domain is used."""
    def pll(self, m, platform, clk):
        pad = platform.request("clk12", 0, dir="-")
        locked = Signal()
        p = self.pll_params
        m.submodules.pll = Instance(
            "SB_PLL40_PAD",
            p_FEEDBACK_PATH="SIMPLE", p_DIVR=p.divr, p_DIVF=p.divf, p_DIVQ=p.divq,
            p_FILTER_RANGE=p.filter_range,
            i_PACKAGEPIN=pad.io, i_RESETB=1, i_BYPASS=0,
            o_PLLOUTGLOBAL=clk, o_LOCK=locked)
        return locked

    def connect_leds(self, m, platform, top):
        self.drive(m, platform, "led_g", 0, top.led_pass)
        self.drive(m, platform, "led_r", 0, top.led_fail | top.led_busy)


def icebreaker_design(config, clock_mhz, baud, **top_options):
    """The iCEBreaker design of ``config`` at the achievable clock closest to ``clock_mhz``
    (12 MHz: no PLL; else 16..275 MHz through the PLL); returns ``(design, achieved_hz)``.
    ``top_options`` go to :class:`~fpga.top.BoardTop` (``depth``, ``timeout``, ``post``)."""
    if clock_mhz == ICEBREAKER_CLOCK_MHZ:
        pll, achieved = None, ICEBREAKER_CLOCK_MHZ
    else:
        pll = ice40_pll(ICEBREAKER_CLOCK_MHZ, clock_mhz)
        achieved = pll.f_out_mhz
    design = ICEBreakerDesign(config, pll, achieved, baud, **top_options)
    return design, achieved * 1e6
