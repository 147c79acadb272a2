"""Fixed-point arithmetic blocks of the activation datapath (twins in golden.blocks and
golden.intmath: ``mul_shr``/``product``/``square``/``cube``, ``add_one``, ``normalize_sum``)."""
from amaranth.hdl import Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .multiply import ROW_MAX_BITS, multiply

__all__ = ["MulShr", "AddOne", "NormalizeSum"]


class MulShr(wiring.Component):
    """``p = (a * b) >> shift`` (``<< -shift`` for a negative shift), exact product, truncated.
    Latency 0, plus 1 with ``cut`` and 1 with ``split`` (the product's tile and split registers,
    :class:`~hw.blocks.multiply.Product`).
    With ``square``, ``p = (a * a) >> shift`` (``b`` unused; :class:`~hw.blocks.multiply.Square`);
    ``row_bits``: see :class:`~hw.blocks.multiply.Product`.

    Ports: ``a`` (in, ``a_width``), ``b`` (in, ``b_width``), ``en`` (in, pipeline advance); ``p``
    (out, ``p_width``; the caller guarantees the result fits).
    """
    def __init__(self, a_width, b_width, shift, p_width, cut=False, square=False, row_bits=ROW_MAX_BITS,
                 split=False):
        self.shift, self.cut, self.square, self.row_bits, self.split = shift, cut, square, row_bits, split
        super().__init__({"a": In(a_width), "b": In(b_width), "en": In(1), "p": Out(p_width)})

    @property
    def latency(self):
        return int(self.cut) + int(self.split)

    def elaborate(self, platform):
        m = Module()
        full = multiply(m, "product", self.a, self.a if self.square else self.b, self.en, self.cut,
                        self.row_bits, self.split)
        m.d.comb += self.p.eq(full >> self.shift if self.shift >= 0 else full << -self.shift)
        return m


class AddOne(wiring.Component):
    """``u = 1 + t * 2**exp`` aligned: ``U = t + 2**(W - exp)`` for ``0 <= exp <= W``, ``U = t`` for
    ``exp > W``, ``U = 2**W + (t >> -exp)`` for ``exp < 0``; ``eu = max(exp, 0)``. Combinational.

    Ports: ``t`` (in, ``W + 3`` bits, value in ``[1, 8)``), ``exp`` (in, signed); ``u`` (out,
    ``W + 4`` bits, value in ``[1, 9)``), ``eu`` (out, signed).
    """
    def __init__(self, work_bits, exp_width):
        self.w = work_bits
        super().__init__({"t": In(work_bits + 3), "exp": In(signed(exp_width)),
                          "u": Out(work_bits + 4), "eu": Out(signed(exp_width))})

    def elaborate(self, platform):
        m = Module()
        w = self.w
        shift_bits = (w + 3).bit_length()
        with m.If(self.exp >= 0):
            m.d.comb += self.eu.eq(self.exp)
            with m.If(self.exp <= w):
                amount = Signal(range(w + 1))
                m.d.comb += [amount.eq(w - self.exp[:shift_bits]),
                             self.u.eq(self.t + (Const(1, 1) << amount))]
            with m.Else():
                m.d.comb += self.u.eq(self.t)
        with m.Else():
            down = -self.exp
            m.d.comb += [self.eu.eq(0),
                         self.u.eq((1 << w) + Mux(down > w + 3, 0, self.t >> down[:shift_bits]))]
        return m


class NormalizeSum(wiring.Component):
    """``U`` in ``[1, 9) * 2**W`` normalized to ``sig`` in ``[1, 2)`` (``W`` fraction bits, low bits
    truncated) with ``exp = eu + lead``. Combinational.

    Ports: ``u`` (in, ``W + 4`` bits), ``eu`` (in, signed); ``sig`` (out, ``W + 1``), ``exp`` (out).
    """
    def __init__(self, work_bits, exp_width):
        self.w = work_bits
        super().__init__({"u": In(work_bits + 4), "eu": In(signed(exp_width)),
                          "sig": Out(work_bits + 1), "exp": Out(signed(exp_width))})

    def elaborate(self, platform):
        m = Module()
        w = self.w
        lead = Signal(range(4))
        for bit in range(1, 4):
            with m.If(self.u[w + bit]):
                m.d.comb += lead.eq(bit)
        m.d.comb += [self.sig.eq(self.u >> lead), self.exp.eq(self.eu + lead)]
        return m
