"""How an exact unsigned product is cut into DSP tiles and LUT rows on a device.

The RTL's :class:`~hw.rtl.blocks.multiply.Product` builds exactly these tiles; the planner
(:mod:`hw.spec.plan`) reads their count and the adder levels after them. ``row_bits`` (default:
the device's ``row_max_bits``) is the widest side a tile may have and still be built from LUT
rows instead of a DSP.
"""
from .devices import DEFAULT_DEVICE

__all__ = ["ROWS_ONLY", "tile_slices", "tiles", "product_width", "row_reduction", "sum_levels", "dsp_tiles", "has_sum", "has_split", "inner_cuts", "table_split"]


# ``row_bits`` at least this: every tile is LUT rows, with no DSP at all (a product with a constant
# and a narrow operand, whose few rows are cheaper than an SB_MAC16).
ROWS_ONLY = 64


def tile_slices(width, device=DEFAULT_DEVICE):
    """``(start, stop)`` bit ranges of an operand cut into DSP-wide pieces, least significant first."""
    return [(start, min(start + device.dsp_width, width)) for start in range(0, width, device.dsp_width)]


def tiles(a_width, b_width, square=False, row_bits=None, device=DEFAULT_DEVICE, low_bits=None):
    """``(a_slice, b_slice, as_rows, weight)`` for every tile of an ``a_width`` x ``b_width``
    product: ``as_rows`` for a tile with a side of at most ``row_bits`` bits, built from LUT rows
    (except the largest tile of a product that would have no DSP and more than the device's
    ``row_max_bits`` rows a tile, unless ``row_bits`` is :data:`ROWS_ONLY` or more); ``weight`` 2 for the off-diagonal tiles of a square
    (``a[i]*a[j]`` and ``a[j]*a[i]`` computed once), else 1. With ``low_bits``, only the product
    modulo ``2**low_bits``: tiles at or above that weight are left out and the others narrowed to
    the operand bits that reach below it."""
    if square and a_width != b_width:
        raise ValueError(f"a square has equal widths, not {a_width} and {b_width}")
    row_bits = device.row_max_bits if row_bits is None else row_bits
    out = []
    for i, a in enumerate(tile_slices(a_width, device)):
        for j, b in enumerate(tile_slices(b_width, device)):
            if square and j < i:
                continue
            if low_bits is not None:
                reach = low_bits - a[0] - b[0]
                if reach <= 0:
                    continue
                a, b = (a[0], min(a[1], a[0] + reach)), (b[0], min(b[1], b[0] + reach))
            rows = min(a[1] - a[0], b[1] - b[0]) <= row_bits
            out.append((a, b, rows, 2 if square and i != j else 1))
    if all(rows for _, _, rows, _ in out) and min(a_width, b_width) > device.row_max_bits and row_bits < ROWS_ONLY:
        # More rows than reduce quickly and no DSP beside them: the largest tile takes one.
        largest = max(range(len(out)), key=lambda k: (out[k][0][1] - out[k][0][0]) * (out[k][1][1] - out[k][1][0]))
        out[largest] = out[largest][:2] + (False,) + out[largest][3:]
    return out


def _levels(rows):
    return row_reduction(rows)[0]


def row_reduction(rows, limit=None):
    """``(levels, rows left)``: 3:2 carry-save levels reducing ``rows`` rows to two, at most
    ``limit`` of them."""
    levels = 0
    while rows > 2 and (limit is None or levels < limit):
        rows, levels = rows - rows // 3, levels + 1
    return levels, rows


def sum_levels(a_width, b_width, square=False, row_bits=None, device=DEFAULT_DEVICE, low_bits=None,
               row_levels=None):
    """Carry-save (3:2) levels of a product or square: ``(rows, final)``, those reducing its LUT
    rows before the tile register (at most ``row_levels``, default the device's) and those reducing the DSP
    products and the partial sums left before the carry chain.
    Counts every tile product and LUT row as its own row (an upper bound: terms whose bits do not
    overlap share one)."""
    parts = tiles(a_width, b_width, square, row_bits, device, low_bits)
    rows = sum(min(a[1] - a[0], b[1] - b[0]) for a, b, as_rows, _ in parts if as_rows)
    dsp = sum(not as_rows for _, _, as_rows, _ in parts)
    levels, left = row_reduction(rows, device.row_levels if row_levels is None else row_levels)
    return levels, _levels(dsp + left)


def dsp_tiles(a_width, b_width, square=False, row_bits=None, device=DEFAULT_DEVICE, low_bits=None):
    """How many DSP tiles a product (or square) of these widths uses."""
    return sum(not rows for _, _, rows, _ in tiles(a_width, b_width, square, row_bits, device, low_bits))


def has_sum(a_width, b_width, square=False, row_bits=None, device=DEFAULT_DEVICE, low_bits=None):
    """Whether a product (or square) adds terms (several tiles, or LUT rows) after its DSP tiles
    and rows, where its optional register goes."""
    parts = tiles(a_width, b_width, square, row_bits, device, low_bits)
    return len(parts) > 1 or any(as_rows for _, _, as_rows, _ in parts)


def has_split(a_width, b_width, square=False, row_bits=None, device=DEFAULT_DEVICE, low_bits=None):
    """Whether a product (or square) may hold its ``split`` register: it adds terms and its carry
    chain has at least the device's ``split_min_bits``."""
    return (has_sum(a_width, b_width, square, row_bits, device, low_bits)
            and product_width(a_width, b_width, low_bits) >= device.split_min_bits)


def table_split(table, row_bits, device=DEFAULT_DEVICE):
    """Whether a table of parabolas (:func:`hw.spec.seeds.fit_quad` fields) evaluated as the quad
    seed has a split register before the carry chain of its ``c1*u``
    (:func:`hw.rtl.blocks.seed.quad_table`)."""
    return has_split(table.slope_width, table.poly_u_bits, False, row_bits, device)


def product_width(a_width, b_width, low_bits=None):
    """Bits of a product (modulo ``2**low_bits`` when given)."""
    return a_width + b_width if low_bits is None else min(low_bits, a_width + b_width)


def inner_cuts(step):
    """The names of the optional registers inside the product of a pipeline step ``step``, in a
    cut list (:mod:`hw.spec.plan`): after its DSP tiles (``cut``) and before its carry chain
    (``split``)."""
    return f"{step}_tiles", f"{step}_split"
