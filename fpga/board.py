"""The part of a board design every board shares: a :class:`~fpga.top.BoardTop` on the board's
UART and LEDs, clocked by a PLL (or the board clock) with reset held until the PLL locks."""
from amaranth.hdl import ClockDomain, Elaboratable, Module
from amaranth.lib import io
from amaranth.lib.cdc import ResetSynchronizer

from .top import BoardTop

__all__ = ["BoardDesign"]


class BoardDesign(Elaboratable):
    """``BoardTop(config, clk_freq=clock_mhz * 1e6, baud=baud, **top_options)`` on a board.

    Subclasses implement ``pll(m, platform, clk)`` (instantiate the PLL of ``self.pll_params``
    driving ``clk``; return its lock signal) and ``connect_leds(m, platform, top)``. Without a
    PLL (``pll_params`` None) the platform's default clock domain is used as it is. The PLL's
    clock is constrained by the build (:mod:`hw.build` gives nextpnr ``--freq``).
    """
    def __init__(self, config, pll_params, clock_mhz, baud, **top_options):
        self.pll_params = pll_params
        self.clock_mhz = clock_mhz
        self.top = BoardTop(config, clk_freq=clock_mhz * 1e6, baud=baud, **top_options)

    def elaborate(self, platform):
        m = Module()
        if self.pll_params is not None:
            m.domains.sync = sync = ClockDomain("sync")
            locked = self.pll(m, platform, sync.clk)
            m.submodules.reset = ResetSynchronizer(~locked, domain="sync")
        m.submodules.top = top = self.top
        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_rx = rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = tx = io.Buffer("o", uart.tx)
        m.d.comb += [top.uart_rx.eq(rx.i), tx.o.eq(top.uart_tx)]
        self.connect_leds(m, platform, top)
        return m

    def pll(self, m, platform, clk):
        raise NotImplementedError(f"{type(self).__name__} does not implement pll()")

    def connect_leds(self, m, platform, top):
        raise NotImplementedError(f"{type(self).__name__} does not implement connect_leds()")

    @staticmethod
    def drive(m, platform, name, number, value):
        """Drive the output resource ``name``/``number`` (e.g. an LED) with ``value``."""
        buffer = io.Buffer("o", platform.request(name, number, dir="-"))
        m.submodules[f"{name}_{number}"] = buffer
        m.d.comb += buffer.o.eq(value)
