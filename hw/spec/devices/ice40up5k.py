"""The Lattice iCE40UP5K: 16x16 SB_MAC16 tiles and rough delays, from the critical paths of our
builds (``../reference``: the UP5K's timing; a 16x16 product between fabric registers runs at
about 50-55 MHz, faster only through the DSP's internal registers).

* DSP tiles: 16x16 unsigned (SB_MAC16). A tile with a side of at most 6 bits is cheaper as LUT
  rows (AND gates into a carry-save sum: a 16x6 tile costs about 100 LUTs where a DSP would be
  mostly wasted on it); units short of DSPs raise that per product.
* A product reduces its LUT rows by at most three carry-save levels (six rows) before its tile
  register and the rest after it, beside the DSPs' return: eight rows of AND gates reduced to two
  before that register took 22 ns (the 16-bit alpha gradients' significand products), and FP32's
  16 rows beside a DSP tile 24-26 ns.
* A product whose final carry chain has at least 40 bits (FP32-sized: the DSPs' return, the last
  compressors and such a chain exceed a 25 ns, 40 MHz, stage) may hold a second register before
  that chain. (From 39 bits, FP32 ISRLU's ``c1*u`` would take one: a cycle more, no faster.)
* A sum of at least 56 bits (about 21 ns as one chain with its entry and exit) is two chains of
  half its width side by side, the upper one for both carries into it, chosen by the lower
  one's carry out (one LUT level more).
* A float packer of a 16-bit word rounds after its last register (which holds the guard and sticky
  bits) by selecting the word or the word plus one, both worked out beside the decision: the
  16-bit alpha gradients went from 49.9 and 48.1 MHz to 52.5 and 51.8 with it. FP32's 31-bit
  increment and the selects after it made that stage the slower one (FP32 ISRLU-grad 48.9 to
  46.5 MHz), so wider words register the decision and add it.
* Delays in ns: a table read, a product on one SB_MAC16 between fabric registers (~9 ns in the
  DSP plus ~8 ns of routing to and from the die edge), a subtraction, an addition, leading-one
  detection with the shifters around it, rounding, one LUT level with its routing, the route from
  the fabric to the DSPs at the die edge. A product's DSP tiles with the register after them
  packed into the SB_MAC16: from a fabric register to that register (route to the die edge, setup
  of A/B into the DSP's internal register, 6.5 ns in IceStorm's database: ``dsp_in``), and from it
  back to the fabric (clock-to-out 2.01 ns, route: ``dsp_out``). Carry chains ~5 ns to enter and
  leave plus 0.28 ns per bit; shifter trees 4 ns plus a LUT level per halving; a wide shift with
  the rounding increment after it about 8 ns plus 0.45 ns per bit (measured on the FMA's window
  and the FP32 activations' packer).
"""
from .device import Device

__all__ = ["ICE40UP5K"]

ICE40UP5K = Device("ice40up5k", dsp_width=16, row_max_bits=6, split_min_bits=40, select_min_bits=56,
                   late_round_max_bits=16, row_levels=3,
                   delays={
    "seed": 6, "multiply": 18, "subtract": 10, "add": 14, "normalize": 14, "shift": 14, "round": 10,
    "lut": 2.6, "to_dsp": 4.6, "dsp_in": 12.5, "dsp_out": 6.0,
    "chain": 5, "chain_per_bit": 0.28, "levels": 4, "wide_shift": 8, "wide_shift_per_bit": 0.45,
})
