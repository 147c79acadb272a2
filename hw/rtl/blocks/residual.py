"""The exact last-bit decision of a correctly rounded inverse square root (twin:
golden.blocks.residual_round; widths: hw.spec.residual)."""
from amaranth.hdl import Cat, Const, Mux, Signal

from .arith import staged_product

__all__ = ["residual_round"]


def residual_round(m, en, st, name, res, device, r, live, candidates=None, finish=None):
    """Decide the correctly rounded significand ``T`` or ``T + 1`` (at the result's last place) of
    ``1/sqrt(MR)`` from ``r`` (``res.r_bits`` fraction bits, within half an ulp; ``MR`` in
    ``live["mr"]``): ``T = r`` truncated to ``precision`` bits and clamped to one binade, ``Y =
    2T + 1`` the midpoint above it, ``Y**2``, then ``Y**2 * MR`` modulo ``2**low_bits``, whose top
    bit ``up`` is set when the exact value lies above the midpoint.

    Cuts (:func:`hw.spec.plan.rsqrt_cuts`): ``residual_mid``, the square's and the product's tile
    and split registers and their own; the ``live`` side values are carried beside them; the
    products' tiles are ``device``'s. Returns ``(t, up, live)``; the caller adds ``up`` where it
    packs ``T`` (a carry out of ``T`` is the next binade's ``2**(precision - 1)``). With
    ``candidates``, a function of ``(t, live)`` returning the live values to carry instead (the
    caller's results for ``up`` 0 and 1, worked out beside the square's tiles), ``t`` is None and
    the caller only selects; ``finish``, a function of ``live`` returning the live values to carry
    on, completes them beside the product's tiles (a register later at least: the upper half of a
    long increment).
    """
    p, shift = res.precision, res.r_bits - res.precision
    top = r[shift:]
    t = Signal(p, name=f"{name}_residual_t")
    m.d.comb += t.eq(Mux(top < (1 << (p - 1)), 1 << (p - 1), Mux(top >= (1 << p), (1 << p) - 1, top)))
    live = st.cut("residual_mid", {**live, "t": t, "y": Cat(Const(1, 1), t)})
    y = live.pop("y")
    if candidates is not None:
        live = candidates(live.pop("t"), live)
    live = staged_product(m, st, en, name, "residual_square", live, y, y, 0, 2 * len(y), res.row_bits, device)
    square = live.pop("residual_square")
    if finish is not None:
        live = finish(live)
    live = staged_product(m, st, en, name, "residual_product", live, square, live["mr"], 0, res.low_bits,
                          res.row_bits, device, low_bits=res.low_bits)
    up = live.pop("residual_product")[-1]
    return live.pop("t", None), up, live
