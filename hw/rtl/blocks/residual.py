"""The exact last-bit decision of a correctly rounded inverse square root (twin:
golden.blocks.residual_round; widths: hw.spec.residual)."""
from amaranth.hdl import Cat, Const, Mux, Signal

from .arith import staged_product
from .select_sum import chunk_sums

__all__ = ["residual_round"]


def residual_round(m, en, st, name, res, device, r, live, candidates, finish):
    """Decide the correctly rounded significand ``T`` or ``T + 1`` (at the result's last place) of
    ``1/sqrt(MR)`` from ``r`` (``res.r_bits`` fraction bits, within half an ulp; ``MR`` in
    ``live["mr"]``): ``T = r`` truncated to ``precision`` fraction bits (``precision + 1`` bits: in
    ``[2**(p-1) - 1, 2**p]``, :mod:`hw.spec.residual`), ``Y = 2T + 1`` the midpoint above it,
    ``Y**2``, then ``Y**2 * MR`` modulo ``2**low_bits``, whose top bit ``up`` is set when the exact
    value lies above the midpoint: the sign of the sum of the product's two carry-save rows from
    bit ``res.sign_from`` up (:mod:`hw.spec.residual`), a carry-select sum whose lower chain's carry
    picks the upper chunk's top bit for a carry in of 0 or 1. ``T = 2**p`` always rounds down:
    there ``Y`` is not formed (its ``p`` low bits and a one) and the caller's candidates must both
    be ``T``'s (``live["over"]``).

    ``candidates``, a function of ``(T, live)``, returns the live values to carry instead of
    ``T``: the caller's results for ``up`` 0 and 1, worked out beside the square's tiles;
    ``finish``, a function of ``live`` (with ``over``), completes them beside the product's tiles.
    Cuts (:func:`hw.spec.plan.rsqrt_cuts`): the square's tile and split registers and its own, the
    product's tile and split registers; ``r``'s register is ``Y``'s. The decision is left
    combinational after the product's split register, for the caller's next register: returns
    ``(pick, live)``, ``pick(low, high)`` the value (of equal widths) ``up`` chooses. It chooses each
    for both of the upper chunk's top bits beside the lower chain (kept signals, so that synthesis
    does not fold them back behind a single ``up``), and the lower chain's carry picks one: one LUT
    level and its fan-out after the carry instead of two.
    """
    p, shift = res.precision, res.r_bits - res.precision
    t = r[shift:shift + p + 1]
    y = Cat(Const(1, 1), t[:p])
    live = candidates(t, {**live, "over": t[p]})
    live = staged_product(m, st, en, name, "residual_square", live, y, y, 0, 2 * len(y), res.row_bits, device,
                          row_levels=res.square_row_levels(device))
    square = live.pop("residual_square")
    live = finish(live)
    width = res.low_bits
    live = staged_product(m, st, en, name, "residual_product", live, square, live["mr"], 0, 2 * width,
                          res.row_bits, device, cut_step=False, low_bits=width, rows=True)
    rows = live.pop("residual_product")
    a, b = rows[res.sign_from:width], rows[width + res.sign_from:]
    chunks = ((0, res.select_bits), (res.select_bits, width - res.sign_from))
    sums = chunk_sums(m, a, b, chunks, f"{name}_residual_sign", first_carries=(0,))
    carry, top = sums[f"{name}_residual_sign0_0"][-1], chunks[1][1] - chunks[1][0] - 1

    def pick(low, high):
        versions = []
        for carry_in in (0, 1):
            version = Signal(len(low), name=f"{name}_residual_pick{carry_in}", attrs={"keep": 1})
            m.d.comb += version.eq(Mux(sums[f"{name}_residual_sign1_{carry_in}"][top], high, low))
            versions.append(version)
        return Mux(carry, versions[1], versions[0])
    return pick, live
