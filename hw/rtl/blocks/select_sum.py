"""Carry-select sums (twin: the plain integer sum): an addition cut into chunks, each chunk summed
for each carry into it beside the others, the carry out below choosing. One chain of a chunk's
length then bounds the sum's delay instead of the whole width's."""
from amaranth.hdl import Cat, Const, Mux, Signal

from hw.spec.devices import DEFAULT_DEVICE
from hw.spec.devices.device import select_low_bits

__all__ = ["chunk_sums", "select_chunks", "carry_select"]


def chunk_sums(m, x, y, chunks, name, first_carries=(0, 1)):
    """The signals ``{name}{i}_{c}``: ``x[lo:hi] + y[lo:hi] + c`` for the ``i``-th chunk ``(lo,
    hi)`` of ``chunks`` and both carries ``c`` into it (into the first chunk: ``first_carries``),
    each one carry chain with its carry out in its top bit. Combinational; the caller may
    register them before :func:`select_chunks`."""
    sums = {}
    for index, (lo, hi) in enumerate(chunks):
        for carry in first_carries if index == 0 else (0, 1):
            key = f"{name}{index}_{carry}"
            part = sums[key] = Signal(hi - lo + 1, name=key)
            bit = Const(carry, 1)
            m.d.comb += part.eq((Cat(bit, x[lo:hi]) + Cat(bit, y[lo:hi]))[1:])
    return sums


def select_chunks(sums, chunks, name, carry):
    """The sum of :func:`chunk_sums`'s chunks with a carry in of ``carry`` (one of its
    ``first_carries``), without the carry out: each chunk's carry in picks its version."""
    parts = []
    for index, (lo, hi) in enumerate(chunks):
        part = sums[f"{name}0_{carry}"] if index == 0 else Mux(carry, sums[f"{name}{index}_1"], sums[f"{name}{index}_0"])
        parts.append(part[:hi - lo])
        carry = part[-1]
    return Cat(*parts)


def carry_select(m, a, b, width, device=DEFAULT_DEVICE, min_bits=None, low=None):
    """``(a + b) mod 2**width``: one carry chain, or from ``min_bits`` (default the device's
    ``select_min_bits``) two chunks, the lower ``low`` bits (default ``select_low_bits(width)``)
    and the rest. The
    upper chunk's version for a carry in of 1 is its sum plus one, not :func:`chunk_sums`' second
    chain: with the flow's
    ``synth_ice40`` (no ``-device u``) the chunk_sums form made the 16-bit alpha gradients and BF16
    tanh/sigmoid 1-7 MHz slower at 50 MHz (ABC deepened their packers' cones). Combinational."""
    if width < (device.select_min_bits if min_bits is None else min_bits):
        return a + b
    low = select_low_bits(width) if low is None else low
    a, b = a.as_unsigned(), b.as_unsigned()
    lower, upper, upper_carried = Signal(low + 1), Signal(width - low), Signal(width - low)
    m.d.comb += [lower.eq(a[:low] + b[:low]), upper.eq(a[low:width] + b[low:width]),
                 upper_carried.eq(a[low:width] + b[low:width] + 1)]
    return Cat(lower[:low], Mux(lower[low], upper_carried, upper))
