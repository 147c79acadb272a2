"""Leading-one detection as a tree of two-way choices (depth ``log2(width)``, not a priority chain)."""
from amaranth.hdl import Cat, Const, Mux, Signal

__all__ = ["leading_one", "leading_zeros", "bit_length"]


def leading_one(m, value, name):
    """Index of the most significant one of ``value`` (0 when ``value`` is 0), as a tree of
    two-way choices (depth ``log2(len(value))``), not a priority chain."""
    levels = max(1, (len(value) - 1).bit_length())
    nodes = [(value[i] if i < len(value) else Const(0, 1), Const(0, 0)) for i in range(1 << levels)]
    for level in range(levels):
        merged = []
        for low, high in zip(nodes[0::2], nodes[1::2]):
            (any_low, pos_low), (any_high, pos_high) = low, high
            pos = Signal(level + 1, name=f"{name}_l{level}_{len(merged)}")
            m.d.comb += pos.eq(Cat(Mux(any_high, pos_high, pos_low), any_high))
            merged.append((any_low | any_high, pos))
        nodes = merged
    return nodes[0][1]


def leading_zeros(m, value, name):
    """Number of zeros above the most significant one of ``value``, whose width is a power of
    two (all ones, ``len(value) - 1``, when ``value`` is 0), as a tree of two-way choices."""
    levels = (len(value) - 1).bit_length()
    if len(value) != 1 << levels:
        raise ValueError(f"leading_zeros: width {len(value)} is not a power of two")
    nodes = [(value[i], Const(0, 0)) for i in range(len(value))]
    for level in range(levels):
        merged = []
        for low, high in zip(nodes[0::2], nodes[1::2]):
            (any_low, count_low), (any_high, count_high) = low, high
            count = Signal(level + 1, name=f"{name}_l{level}_{len(merged)}")
            m.d.comb += count.eq(Cat(Mux(any_high, count_high, count_low), ~any_high))
            merged.append((any_low | any_high, count))
        nodes = merged
    return nodes[0][1]


def bit_length(m, value, result, name):
    """Drive ``result`` with the bit length of ``value`` (index of its top one plus one; 0 for 0)."""
    m.d.comb += result.eq(Mux(value.any(), leading_one(m, value, name) + 1, 0))
