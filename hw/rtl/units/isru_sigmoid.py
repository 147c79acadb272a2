"""The ISRU sigmoid's steps inside :class:`~hw.rtl.units.activation.ActivationUnit` (golden twin:
golden.isru_sigmoid): ``N = 1 + ((alpha - 1)/4)*x**2`` beside the core's ``1 + (alpha/4)*x**2``,
and the tail after the product ``v = |x|*r`` (:mod:`hw.spec.isru_sigmoid`)."""

from amaranth.hdl import Cat, Const, Mux, Signal

from hw.rtl.blocks.arith import AddOne, MulShr, NormalizeSum, staged_product
from hw.rtl.blocks.multiply import multiply
from hw.rtl.blocks.seed import quad_table
from hw.spec.isru_sigmoid import isru_sigmoid_tail

__all__ = ["n_product", "n_sum", "n_normalize", "tail_shifts", "sigmoid_tail"]


def n_product(m, st, en, config, dp, name, live):
    """``T = ((alpha - 1)/4) * x**2`` (``live["square"]``: ``x**2``'s significand) beside the
    ``alpha`` step's product: a power of two goes into ``live`` as ``n_t`` at once (returns None);
    else a product with the ``alpha`` step's inner registers, returned (the caller adds it to
    ``live`` before the step's cut). Alpha 1 has no N (returns None)."""
    tail, w = isru_sigmoid_tail(config), dp.work_bits
    if tail.n_sig == 1 << w:
        live["n_t"] = live["square"]
    if not tail.n_product:
        return None
    cut, split = (False, False) if dp.alpha_shift else st.inner_on("alpha")
    block = m.submodules[f"{name}_n_mul"] = MulShr(w + 1, len(live["square"]), w, w + 3, cut=cut, split=split,
                                                 row_bits=dp.row_bits, device=dp.device)
    m.d.comb += [block.a.eq(Const(tail.n_sig, w + 1)), block.b.eq(live["square"]), block.en.eq(en)]
    return block.p


def n_sum(m, st, en, config, dp, name, t, ex):
    """``1 + T * 2**(2*ex + n_exp)`` aligned (an :class:`AddOne` with the ``sum_align`` register)."""
    add = m.submodules[f"{name}_n_add"] = AddOne(dp.work_bits, dp.exp_width, cut=st.on("sum_align"))
    m.d.comb += [add.t.eq(t), add.exp.eq(2 * ex + isru_sigmoid_tail(config).n_exp), add.en.eq(en)]
    return add


def n_normalize(m, dp, name, u, eu):
    """``N`` normalized: ``(sig, exp)``."""
    norm = m.submodules[f"{name}_n_norm"] = NormalizeSum(dp.work_bits, dp.exp_width)
    m.d.comb += [norm.u.eq(u), norm.eu.eq(eu)]
    return norm.sig, norm.exp


def tail_shifts(m, config, dp, name):
    """The tail's shifts of ``|v| = v * 2**exp`` (``exp = ex - k``), worked out from ``exp``
    alone beside the product ``v = |x|*r``, after its tile register (so that no carry chain
    follows ``exp``'s subtraction): a function of ``live`` for
    :func:`~hw.rtl.blocks.arith.staged_product`'s ``after_tiles``. It takes ``exp`` and adds
    ``negative`` (``exp < 0``), ``left`` (``exp`` for ``exp >= 0``, at most ``v_bits + 2``),
    ``inv`` (``-exp - 1`` for ``exp < 0``, at most ``w + 1``: ``v >> -exp`` is
    ``(v >> 1) >> inv``) and ``dropped`` (the mask of the bits ``v >> -exp`` drops; bit ``i``:
    ``exp < -i``, a compare with a constant)."""
    tail, w = isru_sigmoid_tail(config), dp.work_bits

    def after_tiles(live):
        exp = live.pop("exp")
        left = Signal(range(tail.v_bits + 3), name=f"{name}_v_shift")
        m.d.comb += left.eq(Mux(exp[-1], 0, Mux(exp > tail.v_bits + 2, tail.v_bits + 2, exp)))
        inv = Signal(range(w + 2), name=f"{name}_v_right")
        m.d.comb += inv.eq(Mux(exp < -(w + 2), w + 1, Mux(exp[-1], ~exp, 0)))
        live.update(negative=exp[-1], left=left, inv=inv, dropped=Cat(*(exp < -i for i in range(w + 2))))
        return live
    return after_tiles


def sigmoid_tail(m, st, en, config, dp, name, live):
    """From ``live`` after the ``product`` cut (``v``, the shifts of ``exp = ex - k`` from
    :func:`tail_shifts`, ``r``, ``k``, ``sign`` and, for alpha other than 1, ``sig_n``,
    ``exp_n``) to the packer's ``v`` (``w + 3`` bits, ``w + 1`` fraction bits) and ``exp``:
    ``2 + |v|`` at exponent -2 (``x >= 0``) or ``N * r**2 * (2/D)`` at ``-2k - 1 [+ exp_n]``
    (``x < 0``), each with a last bit that places it strictly above what was truncated."""
    tail, w = isru_sigmoid_tail(config), dp.work_bits
    top = tail.v_bits + w
    # |v| in fixed point (w fraction bits): v << exp for exp >= 0 (at most v_bits), else v >> -exp.
    v = live.pop("v")
    wide = Signal(w + 4 + tail.v_bits, name=f"{name}_v_left")
    m.d.comb += wide.eq(v << live.pop("left"))
    shifted = (v >> 1) >> live.pop("inv")
    lost = (v & live.pop("dropped")).any()
    aligned = Mux(live.pop("negative"), shifted, wide)
    fixed = Signal(top, name=f"{name}_v_fixed")
    m.d.comb += fixed.eq(Mux(aligned >= (1 << top), (1 << top) - 1, aligned))
    live["fixed"], live["lost"] = fixed, lost
    live = st.cut("tail_operand", live)
    r_table = quad_table(m, st, en, f"{name}_tail_table", tail.table, w, dp.row_bits, dp.device, "tail_seed", 0,
                         live["fixed"])
    live = st.cut("tail_seed", live)
    # r**2 beside the table's first products, with their tile register.
    r = live.pop("r")
    r2 = multiply(m, f"{name}_r2", r, r, en, st.on("tail_seed_products_tiles"), dp.row_bits, device=dp.device)
    live = st.cut("tail_seed_products_tiles", live)
    live["r2"] = (r2 >> w)[:w + 1]
    live = st.cut_each(("tail_seed_products", "tail_seed_curve", "tail_seed_sum"), live)
    live = staged_product(m, st, en, name, "tail_p", live, live.pop("r2"), r_table, w, w + 1,
                          row_bits=dp.row_bits, device=dp.device)
    if tail.n_sig:
        live = staged_product(m, st, en, name, "tail_n", live, live.pop("tail_p"), live.pop("sig_n"), w, w + 2,
                              row_bits=dp.row_bits, device=dp.device)
        product, below_exp = live.pop("tail_n"), live.pop("exp_n") - (live.pop("k") << 1) - 1
    else:
        product, below_exp = live.pop("tail_p"), -(live.pop("k") << 1) - 1
    above = Cat(live.pop("lost"), live.pop("fixed") + (2 << w))
    below = Cat(Const(1, 1), product)
    live["v"] = Mux(live["sign"], below, above)
    live["exp"] = Mux(live["sign"], below_exp, -2)
    return live
