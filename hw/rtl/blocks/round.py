"""Rounding and packing of the core's result (twins: golden.intmath.round_shift,
golden.blocks.round_pack_float, golden.blocks.round_pack_fixed).

Each packer is three steps with an optional register after each of the first two (the units call
them the ``normalize`` and ``shift`` cuts): the position of the leading one, the exponent and the
shift amount; the shift with its guard and sticky bits; the rounding increment and the packing.
The float packer may have one more before them (``pack_lead``), between the leading one's
detection and the choice of its exponent and shift. The registers change the latency, never a bit.
"""
import operator
from functools import reduce

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.spec.devices import DEFAULT_DEVICE
from hw.rtl.pipeline import register
from .leading import leading_one
from .select_sum import carry_select

__all__ = ["RoundShift", "RoundSelect", "RoundPackFloat", "RoundPackFixed", "PACK_CUTS"]

# The units' names of the packers' two optional registers, in order.
PACK_CUTS = ("normalize", "shift")
# RoundPackFloat works out the outcome of each leading-one position when there are at most this many.
SPECULATE_SPAN = 8
# RoundPackFloat shifts by the multiple of 2**COARSE_BITS before its first register where the shift
# spans more positions than that.
COARSE_BITS = 4


class RoundShift(wiring.Component):
    """``q = round(v / 2**(min_shift + d))``, round to nearest, ties to even. Combinational
    (latency 0).

    Ports: ``v`` (in, ``width`` bits), ``d`` (in, ``0..max_shift - min_shift``), with the
    ``ties_down`` option also the input ``ties_down`` (where set, a tie rounds down instead of to
    even); ``q`` (out, ``width + 1`` bits), and its parts ``kept = v >> (min_shift + d)`` and ``up``
    (the rounding increment): ``q = kept + up``; with the ``parts`` option also ``guard`` and
    ``sticky`` (out), of which ``up = guard & (sticky | kept[0])`` (without a tie rounding down).
    A caller whose shift is never below ``min_shift`` gets a shifter over that many fewer positions.
    """
    def __init__(self, width, max_shift, min_shift=0, ties_down=False, parts=False):
        self.width, self.min_shift, self.has_ties_down, self.has_parts = width, min_shift, ties_down, parts
        ports = {"v": In(width), "d": In(range(max_shift - min_shift + 1)), "q": Out(width + 1),
                 "kept": Out(width), "up": Out(1)}
        ports |= {"ties_down": In(1)} if ties_down else {}
        super().__init__(ports | ({"guard": Out(1), "sticky": Out(1)} if parts else {}))

    def elaborate(self, platform):
        m = Module()
        low, d, width = self.min_shift, self.d, self.width
        guard, sticky = Signal(), Signal()
        # Guard bit and sticky OR without carry chains: a bit select, and an OR through a mask of
        # ones made by a shifter.
        if low == 0:
            m.d.comb += [self.kept.eq(self.v >> d),
                         guard.eq(Mux(d == 0, 0, (self.v << 1).bit_select(d, 1)))]
            mask = Signal(width + 1)
            m.d.comb += mask.eq(Mux(d < 2, 0, ~(Const(-1, width + 1) << (d - 1).as_unsigned()[:len(d)])))
            m.d.comb += sticky.eq((self.v & mask[:width]).any())
        else:
            # x: v from its bit low - 1 up; its bit d is the guard bit, the bits of x below it and
            # those of v under low - 1 (sticky whatever d is) are the sticky ones.
            x = self.v[low - 1:]
            below = self.v[:low - 1].any() if low >= 2 else Const(0, 1)
            m.d.comb += [self.kept.eq(x[1:] >> d), guard.eq(x.bit_select(d, 1)),
                         sticky.eq(below | (x & ~(Const(-1, len(x)) << d)).any())]
        last = self.kept[0] & ~self.ties_down if self.has_ties_down else self.kept[0]
        m.d.comb += [self.up.eq(guard & (sticky | last)), self.q.eq(self.kept + self.up)]
        if self.has_parts:
            m.d.comb += [self.guard.eq(guard), self.sticky.eq(sticky)]
        return m


class RoundSelect(wiring.Component):
    """:class:`RoundShift`'s ``kept`` and ``up`` with the shift given one-hot: ``sel`` (in,
    ``count`` bits; bit ``j``: shift by ``min_shift + j``) and its ``mask`` (in, ``count - 1``
    bits; ``mask[k] = sel[k + 1:].any()``, the bits below the guard bit), so that the kept bits
    and the guard bit are AND-OR selections and the sticky bit one OR through the mask, without a
    shifter. Ports as :class:`RoundShift` otherwise (``v`` in, ``kept`` and ``up`` out).
    Combinational (latency 0).
    """
    def __init__(self, width, count, min_shift=0):
        self.width, self.count, self.min_shift = width, count, min_shift
        super().__init__({"v": In(width), "sel": In(count), "mask": In(max(count - 1, 1)),
                          "kept": Out(width), "up": Out(1)})

    def elaborate(self, platform):
        m = Module()
        low, v = self.min_shift, self.v
        # x: v from its bit low - 1 up (a zero below v where low is 0); its bit j is the guard bit
        # of shift j, the bits of x below it and those of v under low - 1 the sticky ones.
        x = Cat(Const(0, 1), v) if low == 0 else v[low - 1:]
        below = v[:low - 1].any() if low >= 2 else Const(0, 1)
        sel = [self.sel[j] for j in range(self.count)]
        kept = reduce(operator.or_, (Mux(on, x[1 + j:], 0) for j, on in enumerate(sel)))
        guard = reduce(operator.or_, (on & x[j] for j, on in enumerate(sel)))
        sticky = reduce(operator.or_, (x[k] & self.mask[k] for k in range(self.count - 1)), below)
        m.d.comb += [self.kept.eq(kept), self.up.eq(guard & (sticky | self.kept[0]))]
        return m


class RoundPackFloat(wiring.Component):
    """Round ``v / 2**frac * 2**exp`` to the float format and pack it (sign 0).

    Ports: ``v`` (in, ``width`` bits, non-zero, leading one at a bit in ``lead_min..lead_max``),
    ``exp`` (in, signed ``exp_width``), with ``strict`` also ``below`` (in: the value lies strictly
    between ``v - 1`` and ``v`` in units of ``v``'s last bit, which the rounding never keeps),
    ``en`` (in, pipeline advance); ``bits`` (out). Round to nearest even once (a value ``below`` is
    never a tie: where ``v`` is one it rounds down, elsewhere as ``v``, so no subtraction is needed
    to form the value), at the subnormal position when the result is below ``emin`` and
    ``subnormals`` (else such results must not occur); overflow gives +inf. ``below_max``: a
    caller whose results lie at most that many binades below ``emin`` gets a shifter that much
    wider than the normal range instead of one across the word (a result further below is rounded
    ``below_max`` bits below its normal position, as :func:`golden.blocks.round_pack_float`
    does). The word is
    ``(top << man_bits | kept[:man_bits]) + up`` with ``top`` the biased exponent (0 for a
    subnormal), so a carry out of the significand needs no special case and lands exactly on +inf
    at the top. ``cuts``: registers after the exponent and shift amount, and after the shift;
    ``lead_cut``: a register before them, after the leading one's detection (and the outcome of
    each of a few positions) and before their selection; the latency is their number. With
    ``exp_cut``, ``exp`` arrives one cycle before ``v`` (the caller's last register before the
    packer holds ``v`` but not ``exp``): where the packer works out each position's outcome, which
    needs only ``exp``, it does so before a register of its own, beside the caller's last step
    (else ``exp`` itself is registered). Where ``device`` rounds ``fmt``'s words late
    (``Device.rounds_late``: short words), the register after the shift holds the guard and sticky
    bits instead of the rounding decision, which follows it and selects the word or the word plus
    one, worked out beside it. Where the packer works out each position's outcome and a result
    lies at most one bit below ``emin`` (``below_max`` 1, not ``strict``, rounding early), the
    register after the exponent holds the shift one-hot (:class:`RoundSelect`) instead of the
    amount, and the one after the shift the decision and the lower half of the word plus one,
    whose upper half follows it with that half's carry. Where the shift spans more than 16
    positions (:attr:`coarse`: results any depth below ``emin``), the register after the exponent
    holds ``v`` already shifted by the amount's multiple of 16, the bits that drops ORed into its
    bit 0 (a sticky bit for every shift), and the rest of the amount.
    """
    def __init__(self, fmt, width, frac, lead_min, lead_max, exp_width, subnormals, cuts=(False, False),
                 below_max=None, lead_cut=False, exp_cut=False, strict=False, device=DEFAULT_DEVICE):
        if below_max is not None and not (subnormals and below_max >= 1):
            raise ValueError(f"below_max must be at least 1 and needs subnormals, not {below_max!r}")
        self.fmt, self.frac, self.subnormals, self.below_max = fmt, frac, subnormals, below_max
        self.lead_min, self.lead_max = lead_min, lead_max
        self.exp_width, self.cuts, self.lead_cut, self.exp_cut = exp_width, tuple(cuts), lead_cut, exp_cut
        ports = {"v": In(width), "exp": In(signed(exp_width)), "en": In(1), "bits": Out(fmt.width)}
        self.strict, self.late_round = strict, device.rounds_late(fmt.width)
        super().__init__(ports | ({"below": In(1)} if strict else {}))

    @property
    def latency(self):
        return sum(self.cuts) + int(self.lead_cut)

    def _outcome_at(self, m, lead, max_shift, low, onehot):
        """Shift amount, biased exponent field, overflow flag and (``onehot``) whether the result
        lies below ``emin`` for a leading one at the constant
        ``lead``: every test is a compare of ``exp`` with a constant, so that the outcomes of a
        few candidates are worked out beside the leading-one detector, which then only selects."""
        fmt, man, pad = self.fmt, self.fmt.man_bits, max(0, self.fmt.man_bits - self.lead_min)
        edge = 1 - (fmt.bias - self.frac + lead)            # the least exp that is not below emin
        d = Signal(range(max_shift - low + 1), name=f"d_at_{lead}")
        top = Signal(fmt.exp_bits, name=f"top_at_{lead}")
        m.d.comb += [d.eq(lead + pad - man - low), top.eq(self.exp + (1 - edge))]
        if self.subnormals:
            with m.If(self.exp < edge):
                m.d.comb += top.eq(0)
                if self.below_max is None:                   # at the subnormal position
                    shift = lead + pad - man - low + edge - self.exp
                    m.d.comb += d.eq(Mux(self.exp < lead + pad - man + edge - max_shift, max_shift - low, shift))
                else:                                        # at most below_max bits further
                    # (one binade below: always one bit, with no subtraction from exp)
                    excess = 1 if self.below_max == 1 else Mux(self.exp < edge - self.below_max,
                                                               self.below_max, edge - self.exp)
                    m.d.comb += d.eq(lead + pad - man - low + excess)
        overflow = Signal(name=f"overflow_at_{lead}")
        m.d.comb += overflow.eq(self.exp >= fmt.exp_max_field - 1 + edge)
        if not onehot:
            return d, top, overflow
        sub = Signal(name=f"sub_at_{lead}")
        m.d.comb += sub.eq(self.exp < edge)
        return d, top, overflow, sub

    @property
    def _shape(self):
        """``pad, width, low, max_shift``: the zero bits below ``v``, the shifter's width, and
        the least and greatest shift."""
        man, lead_min, lead_max = self.fmt.man_bits, self.lead_min, self.lead_max
        pad = max(0, man - lead_min)
        width = lead_max + 1 + pad
        max_shift = lead_max + pad - man
        if self.subnormals:
            max_shift = width + 1 if self.below_max is None else max_shift + self.below_max
        return pad, width, lead_min + pad - man, max_shift

    @property
    def onehot(self):
        """Whether the shift is one-hot: a result at most one bit below ``emin`` leaves two
        shifts per leading-one position."""
        return (self.lead_max - self.lead_min < SPECULATE_SPAN and self.below_max == 1
                and not (self.late_round or self.strict))

    @property
    def coarse(self):
        """Whether the shift by its multiple of ``2**COARSE_BITS`` comes before the first
        register: where it spans more positions than that (the bits it drops lie below every
        guard bit, since the least shift is at least 2)."""
        _, _, low, max_shift = self._shape
        return not self.onehot and max_shift - low >= 1 << COARSE_BITS and low >= 2

    def elaborate(self, platform):
        m = Module()
        fmt, man = self.fmt, self.fmt.man_bits
        lead_min, lead_max = self.lead_min, self.lead_max
        pad, width, low, max_shift = self._shape
        d = Signal(range(max_shift - low + 1))              # the shift beyond low
        top = Signal(signed(self.exp_width + 2))
        overflow = Signal()
        window = self.v[lead_min:lead_max + 1]
        v = register(m, self.en, self.v, "v_lead", self.lead_cut)
        onehot, coarse = self.onehot, self.coarse
        if onehot:
            sel, mask = Signal(max_shift - low + 1), Signal(max_shift - low)
        if len(window) <= SPECULATE_SPAN:
            # The outcome of each position, selected by a one-hot leading one (AND-OR, no tree).
            outcomes = [[register(m, self.en, register(m, self.en, value, f"{value.name}_e", self.exp_cut),
                                  f"{value.name}_r", self.lead_cut)
                         for value in self._outcome_at(m, lead, max_shift, low, onehot)]
                        for lead in range(lead_min, lead_max + 1)]
            leads = [register(m, self.en, window[i] & ~window[i + 1:].any() if i + 1 < len(window) else window[i],
                              f"lead_{i}", self.lead_cut) for i in range(len(window))]
            for target, values in zip((d, top, overflow), zip(*outcomes)):
                m.d.comb += target.eq(reduce(operator.or_, (Mux(lead, value, 0) for lead, value in zip(leads, values))))
            if onehot:          # each position: its shift, or one more below emin
                terms = [[] for _ in range(len(sel))]
                for lead, on, (*_, sub) in zip(range(lead_min, lead_max + 1), leads, outcomes):
                    at = lead + pad - man - low
                    terms[at].append(on & ~sub)
                    terms[at + 1].append(on & sub)
                m.d.comb += sel.eq(Cat(*(reduce(operator.or_, t, Const(0, 1)) for t in terms)))
                m.d.comb += mask.eq(Cat(*(sel[k + 1:].any() for k in range(len(sel) - 1))))
        else:
            index = register(m, self.en, leading_one(m, window, "lead"), "index", self.lead_cut)
            exp = register(m, self.en, register(m, self.en, self.exp, "exp_early", self.exp_cut), "exp_lead",
                           self.lead_cut)
            shift = Signal(range(max(max_shift, width + 1) + 1))
            self._outcome_any(m, exp, lead_min + index, shift, top, overflow, max_shift)
            m.d.comb += d.eq(shift - low if low else shift)

        first, second = self.cuts
        if onehot:
            m.submodules.rnd = rnd = RoundSelect(width, len(sel), low)
            m.d.comb += [rnd.v.eq(register(m, self.en, v << pad, "v", first)),
                         rnd.sel.eq(register(m, self.en, sel, "sel", first)),
                         rnd.mask.eq(register(m, self.en, mask, "mask", first))]
        elif coarse:            # v shifted by d's multiple of 16 (the dropped bits ORed into its bit 0)
            step = d[COARSE_BITS:] << COARSE_BITS
            wide = v << pad
            dropped = (wide & ~(Const(-1, width) << step)[:width]).any()
            ahead = Signal(width)
            m.d.comb += ahead.eq(wide >> step)
            m.submodules.rnd = rnd = RoundShift(width, low + (1 << COARSE_BITS) - 1, low, ties_down=self.strict,
                                                parts=self.late_round)
            m.d.comb += [rnd.v.eq(register(m, self.en, Cat(ahead[0] | dropped, ahead[1:]), "v", first)),
                         rnd.d.eq(register(m, self.en, d[:COARSE_BITS], "d", first))]
        else:
            m.submodules.rnd = rnd = RoundShift(width, max_shift, low, ties_down=self.strict, parts=self.late_round)
            m.d.comb += [rnd.v.eq(register(m, self.en, v << pad, "v", first)),
                         rnd.d.eq(register(m, self.en, d, "d", first))]
        if self.strict:
            below = register(m, self.en, self.below, "below_lead", self.lead_cut)
            below = register(m, self.en, below, "below", first)
            m.d.comb += rnd.ties_down.eq(below)
        top = register(m, self.en, top[:fmt.exp_bits], "top", first)
        overflow = register(m, self.en, overflow, "overflow", first)
        early_plus = second and onehot
        kept = register(m, self.en, rnd.kept[:man], "kept", second)
        if self.late_round:     # the decision after the register, selecting one of two sums
            guard, sticky = (register(m, self.en, part, part.name, second) for part in (rnd.guard, rnd.sticky))
            last = kept[0] & ~register(m, self.en, below, "below_s", second) if self.strict else kept[0]
            up = guard & (sticky | last)
        else:
            up = register(m, self.en, rnd.up, "up", second)
            if early_plus:      # the lower half of the word plus one beside the decision
                half = man // 2
                low_plus = register(m, self.en, rnd.kept[:half] + 1, "low_plus", second)
        top = register(m, self.en, top, "top_s", second)
        overflow = register(m, self.en, overflow, "overflow_s", second)
        word = Signal(fmt.exp_bits + man)
        base = Cat(kept, top)
        if self.late_round:
            m.d.comb += word.eq(Mux(up, base + 1, base))
        elif early_plus:        # its upper half after the register, with the lower half's carry
            m.d.comb += word.eq(Mux(up, Cat(low_plus[:half], base[half:] + low_plus[half]), base))
        else:
            # Carry-selected: the upper part plus one from the register on, beside the decision's
            # route and the lower part's chain, which is the shorter one (the decision arrives late).
            m.d.comb += word.eq(carry_select(m, base, Cat(up, Const(0, len(word) - 1)), len(word), min_bits=0,
                                             low=len(word) // 3))
        m.d.comb += self.bits.eq(Mux(overflow, fmt.inf, word))
        return m

    def _outcome_any(self, m, exp, lead_value, d, top, overflow, max_shift):
        """The same outcome for the detector's position: everything that needs only ``exp`` is
        computed beside the detector, so that one carry chain (or compare) follows it."""
        fmt, man, pad = self.fmt, self.fmt.man_bits, max(0, self.fmt.man_bits - self.lead_min)
        lead = Signal(range(self.lead_max + 1))
        m.d.comb += lead.eq(lead_value)
        ew = self.exp_width + 2
        e0 = Signal(signed(ew))
        biased = Signal(signed(ew))
        m.d.comb += [e0.eq(exp + (fmt.bias - self.frac)), biased.eq(e0 + lead)]
        overflow_at = Signal(signed(ew))
        m.d.comb += overflow_at.eq(fmt.exp_max_field - e0)
        m.d.comb += [overflow.eq(lead >= overflow_at), d.eq(lead + pad - man), top.eq(biased)]
        if self.subnormals and self.below_max is not None:
            below_at = Signal(signed(ew))
            m.d.comb += below_at.eq(1 - e0)
            with m.If(lead < below_at):         # lead + extra, extra = below_at - lead at most below_max
                below = Mux(lead + self.below_max < below_at, self.below_max, below_at - lead)
                m.d.comb += [d.eq(lead + pad - man + below), top.eq(0)]
        elif self.subnormals:
            below_at = Signal(signed(ew))
            sub_shift = Signal(signed(ew))
            m.d.comb += [below_at.eq(1 - e0), sub_shift.eq(pad - man + 1 - e0)]
            with m.If(lead < below_at):
                m.d.comb += [d.eq(Mux(sub_shift > max_shift, max_shift, sub_shift)), top.eq(0)]


class RoundPackFixed(wiring.Component):
    """Magnitude ``v / 2**frac * 2**exp`` rounded (nearest even) to the output grid, saturating at
    ``max_int`` (``max_int + 1`` when ``negative``).

    Ports: ``v`` (in, ``width`` bits), ``exp`` (in, signed, at most ``exp_max``; below ``exp_min``
    the shifter saturates, which only matters where the result rounds to 0 anyway), ``negative``
    (in), ``en`` (in, pipeline advance); ``y`` (out, magnitude, ``out_fmt.width`` bits), ``sat``
    (out, clamped). ``cuts``: registers after the shift amount and after the rounded shift; the
    latency is their number.
    """
    def __init__(self, out_fmt, width, frac, exp_min, exp_max, exp_width, cuts=(False, False)):
        self.out_fmt, self.frac, self.exp_min, self.exp_max = out_fmt, frac, exp_min, exp_max
        self.width, self.cuts = width, tuple(cuts)
        super().__init__({"v": In(width), "exp": In(signed(exp_width)), "negative": In(1),
                          "en": In(1), "y": Out(out_fmt.width), "sat": Out(1)})

    @property
    def latency(self):
        return sum(self.cuts)

    def elaborate(self, platform):
        m = Module()
        out = self.out_fmt
        base = self.frac - out.frac_bits           # shift = base - exp
        pad = max(0, self.exp_max - base)
        width = self.width + pad
        # Shifts beyond width + 1 all give 0, so exponents below exp_min are handled too.
        max_shift = max(base - self.exp_min + pad, width + 1)
        shift = Signal(signed(len(self.exp) + 2))
        d = Signal(range(max_shift + 1))
        m.d.comb += [shift.eq(base + pad - self.exp),
                     d.eq(Mux(shift < 0, 0, Mux(shift > max_shift, max_shift, shift)))]

        first, second = self.cuts
        m.submodules.rnd = rnd = RoundShift(width, max_shift)
        m.d.comb += [rnd.v.eq(register(m, self.en, self.v << pad, "v", first)),
                     rnd.d.eq(register(m, self.en, d, "d", first))]
        negative = register(m, self.en, register(m, self.en, self.negative, "negative", first),
                            "negative_s", second)
        q = register(m, self.en, rnd.q, "q", second)
        limit = Signal(out.width)
        m.d.comb += limit.eq(out.max_int + negative)
        saturated = q > limit
        m.d.comb += [self.sat.eq(saturated), self.y.eq(Mux(saturated, limit, q))]
        return m
