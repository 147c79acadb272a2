"""The reply frame sender of the board top."""
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .parser import FRAME_CRC
from .protocol import SOF

__all__ = ["FrameSender"]


class FrameSender(wiring.Component):
    """Sends one frame (:mod:`fpga.protocol`) per ``start``.

    Ports: ``start`` (in, one cycle; ``type`` and ``length`` (in, 8 and 16 bits) are sampled
    then); ``pl_data`` (in, 8 bits), ``pl_valid`` (in), ``pl_ready`` (out): the ``length``
    payload bytes, a byte taken in a cycle with ``pl_valid & pl_ready``; ``tx_data`` (out, 8
    bits), ``tx_valid`` (out), ``tx_ready`` (in): the bytes to the transmitter; ``done`` (out,
    one cycle) when the last CRC byte has been handed to the transmitter; ``busy`` (out) from
    ``start`` until ``done``. ``start`` while busy is ignored.
    """
    def __init__(self):
        super().__init__({
            "start": In(1), "type": In(8), "length": In(16),
            "pl_data": In(8), "pl_valid": In(1), "pl_ready": Out(1),
            "tx_data": Out(8), "tx_valid": Out(1), "tx_ready": In(1),
            "done": Out(1), "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.crc = crc16 = FRAME_CRC(8).create()
        crc = crc16.crc
        type_ = Signal(8)
        length = Signal(16)
        left = Signal(16)
        sent = self.tx_valid & self.tx_ready
        m.d.sync += self.done.eq(0)

        def byte(value, next_state):
            m.d.comb += [self.tx_data.eq(value), self.tx_valid.eq(1)]
            with m.If(self.tx_ready):
                m.next = next_state

        with m.FSM() as fsm:
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [type_.eq(self.type), length.eq(self.length),
                                 left.eq(self.length)]
                    m.d.comb += crc16.start.eq(1)
                    m.next = "SOF"
            with m.State("SOF"):
                byte(SOF, "TYPE")
            with m.State("TYPE"):
                byte(type_, "LEN0")
            with m.State("LEN0"):
                byte(length[:8], "LEN1")
            with m.State("LEN1"):
                byte(length[8:], "PAYLOAD")
                with m.If(self.tx_ready & (length == 0)):
                    m.next = "CRC0"
            with m.State("PAYLOAD"):
                m.d.comb += [self.tx_data.eq(self.pl_data), self.tx_valid.eq(self.pl_valid),
                             self.pl_ready.eq(self.tx_ready)]
                with m.If(sent):
                    m.d.sync += left.eq(left - 1)
                    with m.If(left == 1):
                        m.next = "CRC0"
            with m.State("CRC0"):
                byte(crc[:8], "CRC1")
            with m.State("CRC1"):
                byte(crc[8:], "IDLE")
                with m.If(self.tx_ready):
                    m.d.sync += self.done.eq(1)
        covered = (fsm.ongoing("TYPE") | fsm.ongoing("LEN0") | fsm.ongoing("LEN1")
                   | fsm.ongoing("PAYLOAD"))
        with m.If(sent & covered):      # the CRC covers TYPE, LEN and the payload
            m.d.comb += crc16.valid.eq(1)
        m.d.comb += crc16.data.eq(self.tx_data)
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE") | self.done)
        return m
