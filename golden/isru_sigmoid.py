"""Golden model of the ISRU sigmoid's tail (:mod:`hw.spec.isru_sigmoid`), after the activation
core: ``(2 + |v|)/4`` for ``x >= 0``, ``N * r**2 * (2/D) / 2`` below, in exact integer arithmetic
as :class:`hw.rtl.units.activation.ActivationUnit` computes it."""
import numpy as np

from hw.spec.intmath import mul_shr
from hw.spec.isru_sigmoid import isru_sigmoid_tail
from hw.spec.seeds import quad_value
from . import blocks

__all__ = ["isru_sigmoid_tail_model"]

U = np.uint64


def _align(v, exp, w, v_bits):
    """``|v| = v * 2**exp`` (``w`` fraction bits) in fixed point with ``w`` fraction bits, clamped
    below ``2**v_bits``, and whether bits were shifted out (``exp`` is at most ``v_bits``)."""
    exp = np.asarray(exp, dtype=np.int64)
    right = np.clip(-exp, 0, 63).astype(U)
    fixed = np.where(exp >= 0, v << np.clip(exp, 0, 63).astype(U), v >> right)
    fixed = np.where(exp <= -64, U(0), fixed)
    lost = np.where(exp >= 0, False, (v & ((U(1) << right) - U(1))) != 0) | ((exp <= -64) & (v != 0))
    top = U((1 << (v_bits + w)) - 1)
    return np.minimum(fixed, top), lost


def isru_sigmoid_tail_model(config, dp, negative, ex, q, r, k, v):
    """``(v, frac, exp)`` of ``isru-sigmoid``'s result before the packer (``v / 2**frac *
    2**exp``) from the core's values: ``ex`` the input's exponent, ``q`` its square's significand
    (``work_bits`` fraction bits), ``r`` and ``k`` the core's ``U**-0.5 = r * 2**-k``, ``v = |x| *
    r`` (``work_bits`` fraction bits, exponent ``ex - k``); ``negative``: ``x < 0``."""
    tail, w = isru_sigmoid_tail(config), dp.work_bits
    fixed, lost = _align(v, ex - k, w, tail.v_bits)
    # x >= 0: (2 + |v|)/4, one more bit for what the alignment shifted out (strictly above).
    up = (((U(2) << U(w)) + fixed) << U(1)) | lost.astype(U)
    # x < 0: N * r**2 * (2/D) / 2 * 2**(-2k), each product truncated, then strictly above.
    p = mul_shr(mul_shr(r, r, w) & U((1 << (w + 1)) - 1), quad_value(tail.table, fixed), w)
    exp = -2 * k - 1
    if tail.n_sig:
        t = mul_shr(U(tail.n_sig), q, w)
        u, eu = blocks.add_one(dp, t, 2 * ex + tail.n_exp)
        en, sig_n = blocks.normalize_sum(dp, u, eu)
        p, exp = mul_shr(p, sig_n, w), exp + en
    return np.where(negative, (p << U(1)) | U(1), up), w + 1, np.where(negative, exp, -2)
