"""The seed tables' arithmetic: which entry an operand reads and what a polynomial entry gives.

The table contents come from :mod:`hw.spec.datapath`; their error is measured by evaluating them
here, exactly as the hardware does (:class:`hw.rtl.blocks.seed.PolySeed`; golden twin:
:func:`golden.blocks.seed_poly`, which calls :func:`poly_seed`).
"""
import functools

import numpy as np

from .intmath import lookup, mul_shr

__all__ = ["table_index", "poly_seed", "parabolas", "pack_parabolas", "fit_quad", "merge_quad", "quad_value", "fewest_quad"]

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
    c0, c1, c2 = _coefficients(fields.table, fields.slope_width, fields.curve_width if seed == "quad" else 0)
    index = table_index(table_bits, fields.frac_bits, parity, sig)
    u = sig & U((1 << fields.poly_u_bits) - 1)
    r0 = lookup(c0, index) - mul_shr(lookup(c1, index), u, fields.poly_u_bits)
    if seed == "quad":
        ut = u >> U(fields.poly_u_bits - fields.square_bits)
        r0 = r0 + mul_shr(lookup(c2, index), mul_shr(ut, ut, fields.square_bits), fields.square_bits)
    return r0


@functools.lru_cache(maxsize=64)
def _coefficients(table, slope_width, curve_width):
    """The packed entries ``table`` split into ``c0, c1, c2`` arrays (``c2`` is 0 for a line)."""
    layout = [(slope_width + curve_width, None), (curve_width, slope_width), (0, curve_width)]
    return tuple(np.array([(e >> shift) & ((1 << width) - 1) if width is not None else e >> shift
                           for e in table], dtype=np.uint64) for shift, width in layout)


def parabolas(function, start, width, value_bits):
    """``(c0, c1, c2)``, integer arrays: on each interval ``[start, start + width)`` the parabola
    ``c0 - c1*s + c2*s**2`` (``s`` in ``[0, 1)`` across the interval, units of ``2**-value_bits``)
    that interpolates ``function`` (float64, vectorized) at the interval's three Chebyshev nodes:
    within a few per cent of the minimax parabola. The function must fall and curve up."""
    start = np.asarray(start, dtype=np.float64)
    width = np.broadcast_to(np.asarray(width, dtype=np.float64), start.shape)
    nodes = (1 - np.cos((2 * np.arange(3) + 1) * np.pi / 6)) / 2          # in [0, 1]
    values = function(start[:, None] + nodes[None, :] * width[:, None])
    p0, p1, p2 = np.linalg.solve(np.vander(nodes, 3, increasing=True), values.T)
    scale = 2.0 ** value_bits
    c0, c1, c2 = (np.round(v * scale).astype(np.int64) for v in (p0, -p1, p2))
    if c1.min() < 0 or c2.min() < 0:
        raise ValueError("parabolas: the function must fall and curve up on every interval")
    return c0, c1, c2


def pack_parabolas(c0, c1, c2):
    """``(entries, slope_width, curve_width)``: each entry ``(c0 << slope_width | c1) << curve_width
    | c2``, the widths those of the largest ``c1`` and ``c2``."""
    slope_width, curve_width = int(c1.max()).bit_length(), int(c2.max()).bit_length()
    entries = tuple(((int(k0) << slope_width | int(k1)) << curve_width) | int(k2) for k0, k1, k2 in zip(c0, c1, c2))
    return entries, slope_width, curve_width


def fit_quad(function, index_bits, u_bits, value_bits):
    """A table of parabolas ``r = c0 - floor(c1*u / 2**U) + floor(c2*v / 2**D)`` (the layout
    :func:`poly_seed` evaluates with seed ``quad``) for a falling, convex ``function`` on
    ``[0, 1)``: entry ``j`` covers ``[j, j + 1) / 2**index_bits``, ``u`` the ``U = u_bits``
    operand bits below the index, values in units of ``2**-value_bits``. The parabola
    interpolates ``function`` (float64 in, float64 out, vectorized) at the interval's three
    Chebyshev nodes. Returns a namespace with the :func:`poly_seed` fields (``table``,
    ``frac_bits``, ``slope_width``, ``curve_width``, ``poly_u_bits``, ``square_bits``) and
    ``index_bits``."""
    from types import SimpleNamespace
    start = np.arange(1 << index_bits, dtype=np.float64) / 2 ** index_bits
    table, slope_width, curve_width = pack_parabolas(*parabolas(function, start, 2.0 ** -index_bits, value_bits))
    square_bits = min(u_bits, curve_width + 4)
    return SimpleNamespace(table=table, frac_bits=index_bits + u_bits, slope_width=slope_width,
                           curve_width=curve_width, poly_u_bits=u_bits, square_bits=square_bits,
                           index_bits=index_bits)


def merge_quad(first, second):
    """Two tables of :func:`fit_quad` over operands of the same width as one table of twice the
    entries, the second's behind the first's (``parity`` 1 of :func:`quad_value` selects it), with
    the wider of each coefficient's widths."""
    if (first.index_bits, first.poly_u_bits) != (second.index_bits, second.poly_u_bits):
        raise ValueError("merge_quad: the tables must have the same index and operand bits")
    from types import SimpleNamespace
    slope, curve = max(first.slope_width, second.slope_width), max(first.curve_width, second.curve_width)
    entries = []
    for fields in (first, second):
        for e in fields.table:
            c2 = e & ((1 << fields.curve_width) - 1)
            c1 = (e >> fields.curve_width) & ((1 << fields.slope_width) - 1)
            c0 = e >> (fields.curve_width + fields.slope_width)
            entries.append(((c0 << slope | c1) << curve) | c2)
    return SimpleNamespace(table=tuple(entries), frac_bits=first.frac_bits, slope_width=slope,
                           curve_width=curve, poly_u_bits=first.poly_u_bits,
                           square_bits=min(first.poly_u_bits, curve + 4), index_bits=first.index_bits)


def quad_value(fields, operand, parity=0):
    """The table's parabola at ``operand`` (an integer array of ``fields.frac_bits`` fraction bits
    in ``[0, 1)``), in units of ``2**-value_bits``: :func:`poly_seed` with the operand's index
    bits on top (a leading one stands in for the seeds' hidden bit) and ``parity`` (0 or 1, array
    or scalar) above them, selecting the half of a :func:`merge_quad` table."""
    operand = np.asarray(operand).astype(U)
    parity = np.broadcast_to(np.asarray(parity, dtype=np.int64), operand.shape)
    return poly_seed("quad", fields.index_bits + 1, fields, parity, operand | U(1 << fields.frac_bits))


def _fits(functions, index_bits, operand_bits, value_bits, error_lsb):
    """The tables of ``functions`` with ``index_bits``, or None if one of them strays more than
    ``error_lsb`` units of ``2**-value_bits`` (measured on 4097 points of every interval's operand
    grid)."""
    tables = []
    for function in functions:
        fields = fit_quad(function, index_bits, operand_bits - index_bits, value_bits)
        step = max(1, (1 << operand_bits) // (4096 << index_bits))
        operand = np.arange(0, 1 << operand_bits, step, dtype=np.uint64)
        got = quad_value(fields, operand).astype(np.float64)
        exact = function(operand.astype(np.float64) / 2.0 ** operand_bits) * 2.0 ** value_bits
        if np.abs(got - exact).max() > error_lsb:
            return None
        tables.append(fields)
    return tables


def fewest_quad(functions, operand_bits, value_bits, index_bits_tried, error_lsb):
    """Tables of parabolas (:func:`fit_quad`) of one or two ``functions`` on ``[0, 1)`` over an
    operand of ``operand_bits`` fraction bits: the fewest index bits of ``index_bits_tried`` whose
    error stays within ``error_lsb`` units of ``2**-value_bits`` (else the most tried), as one
    table (:func:`merge_quad` for two: the second is parity 1)."""
    for index_bits in index_bits_tried:
        tables = _fits(functions, index_bits, operand_bits, value_bits, error_lsb)
        if tables is not None or index_bits == index_bits_tried[-1]:
            tables = tables or [fit_quad(f, index_bits, operand_bits - index_bits, value_bits) for f in functions]
            return tables[0] if len(tables) == 1 else merge_quad(*tables)
    raise ValueError("fewest_quad: no index bits tried")
