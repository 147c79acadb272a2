"""8N1 UART receiver and transmitter (one start bit, eight data bits LSB first, one stop bit)."""
from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from .timer import CycleTimer

__all__ = ["UARTRx", "UARTTx", "MIN_DIVISOR", "BAUD_TOLERANCE", "baud_divisor"]

MIN_DIVISOR = 4           # clock cycles per bit: enough to sample each bit in its middle
BAUD_TOLERANCE = 0.02     # largest relative baud error of a divisor (8N1 tolerates about 4 %)


def _check_divisor(divisor):
    if not isinstance(divisor, int) or isinstance(divisor, bool) or divisor < MIN_DIVISOR:
        raise ValueError(f"divisor (clock cycles per bit) must be an integer >= {MIN_DIVISOR}, "
                         f"not {divisor!r}")


def baud_divisor(clk_freq, baud):
    """Clock cycles per bit for ``baud`` at ``clk_freq`` Hz; raises ``ValueError`` if the nearest
    divisor is below :data:`MIN_DIVISOR` or misses ``baud`` by more than :data:`BAUD_TOLERANCE`."""
    if not baud > 0 or not clk_freq > 0:
        raise ValueError(f"baud and clk_freq must be positive, not baud={baud!r}, "
                         f"clk_freq={clk_freq!r}")
    divisor = round(clk_freq / baud)
    if divisor < MIN_DIVISOR:
        raise ValueError(f"baud {baud} is too fast for clk_freq {clk_freq:g} Hz: at most "
                         f"{clk_freq / MIN_DIVISOR:g} baud ({MIN_DIVISOR} cycles per bit)")
    error = abs(clk_freq / divisor - baud) / baud
    if error > BAUD_TOLERANCE:
        raise ValueError(f"baud {baud} at clk_freq {clk_freq:g} Hz: the nearest divisor "
                         f"{divisor} gives {clk_freq / divisor:.0f} baud, {error:.1%} off "
                         f"(at most {BAUD_TOLERANCE:.0%})")
    return divisor


class UARTRx(wiring.Component):
    """8N1 receiver.

    Ports: ``rx`` (in; the pin, idle high, asynchronous: two flip-flops synchronize it), ``data``
    (out, 8 bits) with ``valid`` (out, high for one cycle per byte received with a good stop bit;
    no backpressure, take it then), ``error`` (out, high for one cycle instead of ``valid`` when the
    stop bit is low: framing error or break; the receiver then waits for the line to go high).

    Every bit is sampled once, ``divisor // 2`` cycles after the start edge was seen plus a whole
    number of bits; a start bit that is gone at its middle is a glitch and ignored. ``valid``
    rises about 9.5 bit times after the start edge (plus 3 cycles of synchronizer and register).
    """
    def __init__(self, divisor):
        _check_divisor(divisor)
        self.divisor = divisor
        super().__init__({"rx": In(1, init=1), "data": Out(8), "valid": Out(1), "error": Out(1)})

    def elaborate(self, platform):
        m = Module()
        rx = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, rx, init=1)
        timer = CycleTimer(m, self.divisor - 1)
        bit = Signal(range(8))
        shift = Signal(8)
        m.d.sync += [self.valid.eq(0), self.error.eq(0)]
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    timer.load(self.divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer.zero):
                    with m.If(rx):
                        m.next = "IDLE"
                    with m.Else():
                        timer.load(self.divisor - 1)
                        m.d.sync += bit.eq(0)
                        m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer.zero):
                    m.d.sync += [shift.eq(Cat(shift[1:], rx)), bit.eq(bit + 1)]
                    timer.load(self.divisor - 1)
                    with m.If(bit == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(timer.zero):
                    with m.If(rx):
                        m.d.sync += [self.data.eq(shift), self.valid.eq(1)]
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += self.error.eq(1)
                        m.next = "BREAK"
            with m.State("BREAK"):
                with m.If(rx):
                    m.next = "IDLE"
        return m


class UARTTx(wiring.Component):
    """8N1 transmitter with a one-byte holding register.

    Ports: ``data`` (in, 8 bits), ``valid`` (in), ``ready`` (out, a flip-flop: the holding
    register is empty): a byte is taken in a cycle with ``valid & ready``; ``tx`` (out,
    registered, idle high). A byte takes ``10 * divisor`` cycles on the line, starting the cycle
    after it is taken when the line is idle; while one is sent the next waits in the holding
    register, so bytes go back to back. ``ready`` depends on no input, which keeps the senders'
    handshake paths short.
    """
    def __init__(self, divisor):
        _check_divisor(divisor)
        self.divisor = divisor
        super().__init__({"data": In(8), "valid": In(1), "ready": Out(1), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        timer = CycleTimer(m, self.divisor - 1)
        left = Signal(range(10))
        shift = Signal(9)               # data bits, then the stop bit
        hold = Signal(8)
        full = Signal()
        m.d.comb += self.ready.eq(~full)
        with m.If(self.valid & ~full):
            m.d.sync += [hold.eq(self.data), full.eq(1)]

        def start_byte():
            m.d.sync += [self.tx.eq(0), shift.eq(Cat(hold, 1)), left.eq(9), full.eq(0)]
            timer.load(self.divisor - 1)
            m.next = "SEND"

        with m.FSM():
            with m.State("IDLE"):
                with m.If(full):
                    start_byte()
            with m.State("SEND"):
                with m.If(timer.zero & (left != 0)):
                    m.d.sync += [self.tx.eq(shift[0]), shift.eq(shift[1:]), left.eq(left - 1)]
                    timer.load(self.divisor - 1)
                with m.Elif(timer.zero):     # the stop bit's last cycle: the next byte may follow
                    with m.If(full):
                        start_byte()
                    with m.Else():
                        m.next = "IDLE"
        return m
