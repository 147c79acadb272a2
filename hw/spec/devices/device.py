"""The device model's shape: what the planner and the product tiling read of a target."""
from dataclasses import dataclass, field

__all__ = ["Device", "select_low_bits"]


def select_low_bits(bits):
    """The lower chain's width in a carry-select sum of ``bits`` (the upper one's is no wider)."""
    return (bits + 1) // 2


@dataclass(frozen=True)
class Device:
    """A target as the planner sees it.

    Parameters
    ----------
    name : str
        The model's name (``ice40up5k``).
    dsp_width : int
        Side of one DSP multiplier tile (unsigned operands).
    row_max_bits : int
        Default: a product tile with a side of at most this many bits is built from LUT rows.
    split_min_bits : int
        A product whose final carry chain has at least this many bits may hold a register before it.
    select_min_bits : int
        A sum of at least this many bits is two carry chains, the upper one for both carries into
        it, chosen by the lower one's carry out (carry select).
    late_round_max_bits : int
        A float result word of at most this many bits is rounded after the packer's last register,
        which holds the guard and sticky bits: the word and the word plus one are worked out beside
        that decision, which selects one (wider words register the decision and add it in one chain).
    row_levels : int
        Carry-save levels a product spends on its LUT rows before its tile register (beside its
        DSP tiles, if any); the rest follow that register.
    delays : dict
        Rough logic delays in ns by step kind (``seed``, ``multiply``, ``subtract``, ``add``,
        ``normalize``, ``shift``, ``round``, ``lut``, ``to_dsp``), and ``dsp_in``/``dsp_out``: into
        a DSP's internal register and from it back to the fabric; ``chain``/``chain_per_bit``,
        ``levels``, ``wide_shift``/``wide_shift_per_bit`` for the width-dependent steps. They only
        rank register placements; the reports measure the result.
    """
    name: str
    dsp_width: int
    row_max_bits: int
    split_min_bits: int
    select_min_bits: int
    late_round_max_bits: int
    row_levels: int
    delays: dict = field(compare=False, hash=False, repr=False)

    def ns(self, step):
        """The delay of one step kind (``Device.delays``)."""
        return self.delays[step]

    def chain_ns(self, bits):
        """A carry chain of ``bits``: a fixed cost to enter and leave it, then per bit."""
        return self.delays["chain"] + self.delays["chain_per_bit"] * bits

    def sum_ns(self, bits):
        """An addition of ``bits``: one carry chain, or from ``select_min_bits`` on two chains of
        half the width side by side and the selection of the upper one."""
        if bits >= self.select_min_bits:
            return self.chain_ns(select_low_bits(bits)) + self.delays["lut"]
        return self.chain_ns(bits)

    def rounds_late(self, word_bits):
        """Whether a float packer of ``word_bits``-bit words rounds after its last register
        (``late_round_max_bits``; :class:`hw.rtl.blocks.round.RoundPackFloat`'s ``late_round``)."""
        return word_bits <= self.late_round_max_bits

    def levels_ns(self, bits):
        """A shifter or leading-one tree over ``bits``: one LUT level and its routing per halving."""
        return self.delays["levels"] + self.delays["lut"] * (bits - 1).bit_length()

    def shift_ns(self, bits):
        """A wide shift by a variable amount with the rounding increment after it."""
        return self.delays["wide_shift"] + self.delays["wide_shift_per_bit"] * bits
