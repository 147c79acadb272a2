"""The seed tables' arithmetic: which entry an operand reads and what a polynomial entry gives.

The table contents come from :mod:`hw.spec.datapath`; their error is measured by evaluating them
here, exactly as the hardware does (:class:`hw.rtl.blocks.seed.PolySeed`; golden twin:
:func:`golden.blocks.seed_poly`, which calls :func:`poly_seed`).
"""
import numpy as np

from .intmath import mul_shr

__all__ = ["table_index", "poly_seed"]

U = np.uint64


def table_index(table_bits, frac_bits, parity, sig):
    """The seed table's index: the parity and the top ``table_bits - 1`` fraction bits of ``sig``
    (``frac_bits`` fraction bits)."""
    top = table_bits - 1
    return (parity << top) | ((sig >> U(frac_bits - top)) & U((1 << top) - 1)).astype(np.int64)


def poly_seed(seed, table_bits, fields, parity, sig):
    """Polynomial seed ``R0`` (``seed_bits`` fraction bits) of the interval indexed by
    :func:`table_index`, ``u`` the ``U`` fraction bits below the index: a line (``pwl``)
    ``c0 - floor(c1*u / 2**U)``, or a parabola (``quad``) with ``+ floor(c2*v / 2**D)`` where
    ``v = floor(ut**2 / 2**D)``, ``ut`` the top ``D`` bits of ``u``. ``fields`` has the
    :class:`~hw.spec.datapath.Datapath` attributes the seed reads (``table``, ``frac_bits``,
    ``slope_width``, ``curve_width``, ``poly_u_bits``, ``square_bits``). Entries may be wider than
    64 bits; each coefficient is not."""
    curve = fields.curve_width if seed == "quad" else 0
    layout = [(fields.slope_width + curve, None), (curve, fields.slope_width), (0, curve)]
    c0, c1, c2 = (np.array([(e >> shift) & ((1 << width) - 1) if width is not None else e >> shift
                            for e in fields.table], dtype=np.uint64) for shift, width in layout)
    index = table_index(table_bits, fields.frac_bits, parity, sig)
    u = sig & U((1 << fields.poly_u_bits) - 1)
    r0 = c0[index] - mul_shr(c1[index], u, fields.poly_u_bits)
    if seed == "quad":
        ut = u >> U(fields.poly_u_bits - fields.square_bits)
        r0 = r0 + mul_shr(c2[index], mul_shr(ut, ut, fields.square_bits), fields.square_bits)
    return r0
