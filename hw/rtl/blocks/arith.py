"""Fixed-point arithmetic blocks of the activation datapath (twins in golden.blocks and
golden.intmath: ``mul_shr``/``product``/``square``/``cube``, ``add_one``, ``normalize_sum``)."""
from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.spec.devices import DEFAULT_DEVICE
from hw.rtl.pipeline import register
from .multiply import multiply
from .select_sum import carry_select

__all__ = ["MulShr", "AddOne", "NormalizeSum", "staged_product", "bits_below", "at_least", "constant_minus"]


class MulShr(wiring.Component):
    """``p = (a * b) >> shift`` (``<< -shift`` for a negative shift), exact product, truncated.
    Latency 0, plus 1 with ``cut`` and 1 with ``split`` (the product's tile and split registers,
    :class:`~hw.rtl.blocks.multiply.Product`).
    With ``square``, ``p = (a * a) >> shift`` (``b`` unused; :class:`~hw.rtl.blocks.multiply.Square`);
    ``row_bits``, ``device``, ``low_bits`` (the product modulo ``2**low_bits``), ``rows`` (its
    two carry-save rows, not their sum), ``row_levels``: see :class:`~hw.rtl.blocks.multiply.Product`.

    Ports: ``a`` (in, ``a_width``), ``b`` (in, ``b_width``), ``en`` (in, pipeline advance); ``p``
    (out, ``p_width``; the caller guarantees the result fits); with ``one_at``, ``one`` (in): ``b``
    taken as ``2**one_at`` where it is set (:class:`~hw.rtl.blocks.multiply.Product`).
    """
    def __init__(self, a_width, b_width, shift, p_width, cut=False, square=False, row_bits=None,
                 split=False, device=DEFAULT_DEVICE, low_bits=None, rows=False, row_levels=None, one_at=None):
        self.shift, self.cut, self.square, self.row_bits, self.split = shift, cut, square, row_bits, split
        self.device, self.low_bits, self.rows, self.row_levels = device, low_bits, rows, row_levels
        self.one_at = one_at
        ports = {"a": In(a_width), "b": In(b_width), "en": In(1), "p": Out(p_width)}
        if one_at is not None:
            ports["one"] = In(1)
        super().__init__(ports)

    @property
    def latency(self):
        return int(self.cut) + int(self.split)

    def elaborate(self, platform):
        m = Module()
        full = multiply(m, "product", self.a, self.a if self.square else self.b, self.en, self.cut,
                        self.row_bits, self.split, self.device, self.low_bits, self.rows, self.row_levels,
                        None if self.one_at is None else (self.one, self.one_at))
        m.d.comb += self.p.eq(full >> self.shift if self.shift >= 0 else full << -self.shift)
        return m


def bits_below(shift, width):
    """The ``width``-bit mask of the bits a right shift by ``shift`` drops: bit ``i`` is
    ``shift > i``, each a comparison of ``shift`` with a constant as logic (:func:`at_least`; a
    shifted constant costs a shifter's levels, a comparison a carry chain)."""
    return Cat(*(at_least(shift, i + 1) for i in range(width)))


def _borrows(bits, constant, width, first):
    """The borrows of ``constant - bits`` over ``width`` bits as AND/OR terms, LSB up, from
    ``first`` into bit 0: the borrow out of bit ``i`` is ``bits[i] & borrow`` where the constant's
    bit is 1, ``bits[i] | borrow`` where it is 0. Returns the ``width + 1`` borrows, into each bit
    and out of the top one. Yosys maps a comparison or a difference to a carry chain, which
    placement breaks into short pieces in series with LUTs between (BF16 ELU's shift distance:
    20-21.5 ns); these terms are a tree of a few LUTs."""
    borrows = [first]
    for i in range(width):
        borrows.append((bits[i] & borrows[-1]) if constant >> i & 1 else (bits[i] | borrows[-1]))
    return borrows


def at_least(value, constant):
    """``value >= constant`` (``value`` signed or unsigned, ``constant`` an integer) as logic: the
    borrow out of ``constant - 1 - value``, i.e. :func:`_borrows` from a borrow of 1 (a signed
    value with its sign bit flipped, the constant offset alike)."""
    width, is_signed = len(value), value.shape().signed
    bits = value.as_unsigned()
    if is_signed:
        bits, constant = bits ^ (1 << (width - 1)), constant + (1 << (width - 1))
    if constant <= 0:
        return Const(1, 1)
    if constant >= 1 << width:
        return Const(0, 1)
    return _borrows(bits, constant, width, Const(1, 1))[-1]


def constant_minus(constant, value, width):
    """``(constant - value) mod 2**width`` (``constant`` an integer) as logic over ``value``'s low
    ``width`` bits: each bit the XOR of the constant's, the value's and the borrow into it
    (:func:`_borrows`), not a carry chain."""
    bits = value.as_unsigned()
    borrows = _borrows(bits, constant, width, Const(0, 1))
    return Cat(*(bits[i] ^ borrows[i] ^ (constant >> i & 1) for i in range(width)))


def staged_product(m, st, en, name, step, live, a, b, shift, width, row_bits=None, device=DEFAULT_DEVICE,
                   cut_step=True, low_bits=None, after_tiles=None, rows=False, row_levels=None, one=None):
    """``(a * b) >> shift`` (``width`` bits; ``b`` the same value as ``a``: a square) of the
    pipeline step ``step`` as ``live[step]``: a :class:`MulShr` whose tile and split registers are
    the step's planned inner cuts (:meth:`~hw.rtl.pipeline.Stages.inner`), with the ``live`` side
    values registered beside them (``after_tiles``: a function of ``live`` returning ``live``,
    applied after the tile register, for side work in two steps); then the step's own cut, unless
    ``cut_step`` is False (the caller adds values first, or registers the step's result in a later
    cut); ``low_bits``: the product modulo ``2**low_bits``; ``rows``: the two carry-save rows
    instead (``width`` twice the product's); ``row_levels``: the carry-save levels before the tile
    register (default the device's); ``one``: a pair ``(flag, at)``, ``b`` taken as ``2**at`` where
    ``flag`` is set (:class:`~hw.rtl.blocks.multiply.Product`: after the tiles where both inner
    registers are planned). Returns
    ``live``."""
    cut, split = st.inner_on(step)
    block = m.submodules[f"{name}_{step}_mul"] = MulShr(len(a), len(b), shift, width, cut=cut, square=a is b,
                                                      row_bits=row_bits, split=split, device=device,
                                                      low_bits=low_bits, rows=rows, row_levels=row_levels,
                                                      one_at=None if one is None else one[1])
    m.d.comb += [block.a.eq(a), block.b.eq(b), block.en.eq(en)]
    if one is not None:
        m.d.comb += block.one.eq(one[0])
    inner = st.inner(step)
    live = st.cut_each(inner[:1], live)
    if after_tiles is not None:
        live = after_tiles(live)
    live = st.cut_each(inner[1:], live)
    live[step] = block.p
    return st.cut(step, live) if cut_step else live


class AddOne(wiring.Component):
    """``u = 1 + t * 2**exp`` aligned: ``U = t + 2**(W - exp)`` for ``0 <= exp <= W``, ``U = t`` for
    ``exp > W``, ``U = 2**W + (t >> -exp)`` for ``exp < 0``; ``eu = max(exp, 0)``. Latency 0, or 1
    with ``cut`` (a register between the aligned addends and their sum).

    Ports: ``t`` (in, ``W + 3`` bits, value in ``[1, 8)``), ``exp`` (in, signed), ``en`` (in,
    pipeline advance); ``u`` (out, ``W + 4`` bits, value in ``[1, 9)``), ``eu`` (out, signed).
    """
    def __init__(self, work_bits, exp_width, cut=False):
        self.w, self.cut = work_bits, cut
        super().__init__({"t": In(work_bits + 3), "exp": In(signed(exp_width)), "en": In(1),
                          "u": Out(work_bits + 4), "eu": Out(signed(exp_width))})

    @property
    def latency(self):
        return int(self.cut)

    def elaborate(self, platform):
        m = Module()
        w = self.w
        shift_bits = (w + 3).bit_length()
        big, one, eu = Signal(w + 4), Signal(w + 4), Signal.like(self.eu)
        # The one at bit W - exp: each bit compares exp with a constant (no subtraction first);
        # the range tests as logic (at_least), not carry chains.
        m.d.comb += one.eq(Cat(*(self.exp == w - bit for bit in range(w)), ~at_least(self.exp, 1)))
        with m.If(at_least(self.exp, 0)):
            m.d.comb += [big.eq(self.t), eu.eq(self.exp)]
        with m.Else():
            # t >> -exp as (t >> 1) >> ~exp: no negation before the shifter.
            m.d.comb += big.eq(Mux(at_least(self.exp, -(w + 3)), (self.t >> 1) >> (~self.exp)[:shift_bits], 0))
        big, one = (register(m, self.en, value, name, self.cut) for value, name in ((big, "big"), (one, "one")))
        # A carry-select sum below the device's threshold too: the sum, then the normalization's
        # leading-one select, took 19.8 ns in FP32 ISRLU-grad (36 bits).
        m.d.comb += [self.u.eq(carry_select(m, big, one, w + 4, min_bits=0)),
                     self.eu.eq(register(m, self.en, eu, "eu", self.cut))]
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
        # Each possible exponent beside the detector, which then only selects one.
        exps = [self.eu + bit for bit in range(4)]
        m.d.comb += [self.sig.eq(self.u >> lead), self.exp.eq(Array(exps)[lead])]
        return m
