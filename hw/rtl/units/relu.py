"""The streaming ReLU unit (golden twin: golden.relu.relu): the cost floor of the library, a
sign test and a multiplexer behind the stream wrapper."""
from amaranth.hdl import Mux
from amaranth.lib import data

from hw.spec.config import Config
from hw.rtl.pipeline import StreamUnit
from .rsqrt import output_layout

__all__ = ["ReluUnit"]


class ReluUnit(StreamUnit):
    """``max(x, +0)`` on ``config.lanes`` lanes.

    Ports
    -----
    i : In(stream.Signature(StructLayout({"x": ArrayLayout(width, lanes)})))
        ``payload.x[lane]``: raw input bits.
    o : Out(stream.Signature(output_layout(config)))
        ``payload.y[lane]``: raw result bits; fixed point also ``payload.flag[lane]``, always 0
        (a ReLU cannot saturate).

    Timing: initiation interval 1, latency 1 (the output register; plan
    :func:`hw.spec.plan.select_cuts`); flow control as :class:`~hw.rtl.units.rsqrt.RsqrtUnit`.

    Numerics: exact. Floats: ``x`` for a positive sign bit (``+0``, subnormals, ``+inf``
    included), ``+0`` for a negative one (``-0``, ``-inf`` included), NaN of either sign the
    canonical quiet NaN. Fixed point: ``x`` for ``x > 0``, else 0.
    """
    def __init__(self, config: Config):
        super().__init__(config, data.StructLayout({"x": data.ArrayLayout(config.in_width, config.lanes)}),
                         output_layout(config))

    def _lane(self, m, en, lane, st):
        fmt, x = self.config.format, self.i.payload.x[lane]
        sign = x[-1]
        if self.config.is_float:
            nan = (x[fmt.man_bits:fmt.man_bits + fmt.exp_bits] == fmt.exp_max_field) & (x[:fmt.man_bits] != 0)
            out = st.cut("out", {"y": Mux(nan, fmt.quiet_nan, Mux(sign, 0, x))})
        else:
            out = st.cut("out", {"y": Mux(sign, 0, x), "flag": 0})
            m.d.comb += self.o.payload.flag[lane].eq(out["flag"])
        m.d.comb += self.o.payload.y[lane].eq(out["y"])
