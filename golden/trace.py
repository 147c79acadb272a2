"""Recording a twin: its NumPy operations run on symbolic operands (:class:`Sym`), one element
standing for all, into a :class:`Graph` of typed operations (:mod:`golden.compiled` writes and
compiles it).

Each operation is typed by NumPy's own resolution (``ufunc.resolve_dtypes``; ``np.where``'s result
type from NumPy itself). Every integer value carries bounds that all inputs respect (interval
arithmetic over the recorded operations, a type's whole range where wrapping is possible): a
twin that chooses among equivalent algorithms by an operand's smallest or largest value (such as
:func:`golden.blocks.round_pack_float`) gets the bound, so the recorded choice is valid for every input. The helpers of :mod:`hw.spec.intmath` ask a
symbolic argument to record them whole, each as one operation: ``mul_shr`` (one exact 128-bit
product, without its overflow check: the twins never fail it on a valid configuration),
``bit_length``, ``round_shift`` and ``lookup`` (a table read). Anything else a twin might do with a symbolic
value (a Python branch on it, ``np.any`` of it, an operation not recorded here) raises
:class:`TraceError`.
"""
import threading

import numpy as np

__all__ = ["Graph", "Sym", "TraceError", "record", "COMPARE", "LOGICAL", "ARITHMETIC", "BITWISE"]


class TraceError(Exception):
    """The twin did something the tracer does not record (a Python branch on a traced value, an
    unsupported NumPy operation)."""


def _full(dtype):
    """The range of ``dtype``'s values, or None (floats)."""
    if dtype.kind == "b":
        return 0, 1
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return int(info.min), int(info.max)
    return None


def _fit(dtype, lo, hi):
    """``[lo, hi]`` if ``dtype`` holds it, else ``dtype``'s whole range (a wrap)."""
    full = _full(dtype)
    if full is None or lo is None or hi is None or lo < full[0] or hi > full[1]:
        return full
    return lo, hi


class _Const:
    """A constant operand: a Python number (weak, as NumPy types it) or a NumPy scalar."""

    def __init__(self, value):
        if isinstance(value, np.ndarray):
            value = value.reshape(-1)[0]
        if isinstance(value, (bool, np.bool_)):
            value = np.bool_(value)
        self.value = value
        self.token = type(value) if type(value) in (int, float) else np.asarray(value).dtype
        number = value.item() if isinstance(value, np.generic) else value
        self.bounds = (int(number), int(number)) if isinstance(number, (int, bool)) else None


class Sym:
    """A symbolic array in a traced twin: one element standing for all of them. Its ``dtype`` is
    NumPy's; ``max()`` and ``min()`` give bounds that every input respects."""

    __array_priority__ = 1000
    ndim, shape, size = 1, (1,), 1

    def __init__(self, graph, op, args, dtype, bounds, attr=None):
        self.graph, self.op, self.args, self.dtype, self.attr = graph, op, args, np.dtype(dtype), attr
        self.bounds = bounds if bounds is not None else _full(self.dtype)
        self.id = len(graph.nodes)
        graph.nodes.append(self)

    # --- what NumPy asks of an array-like
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs:
            raise TraceError(f"{ufunc.__name__}.{method} with {sorted(kwargs)}")
        return self.graph.ufunc(ufunc, inputs)

    def __array_function__(self, func, types, args, kwargs):
        handler = _FUNCTIONS.get(func.__name__)
        if handler is None:
            raise TraceError(f"np.{func.__name__} on a traced value")
        return handler(self.graph, *args, **kwargs)

    def __array__(self, *args, **kwargs):
        raise TraceError("a traced value converted to a concrete array")

    def __bool__(self):
        raise TraceError("a Python branch on a traced value")

    __int__ = __index__ = __float__ = __bool__

    def astype(self, dtype, copy=True):
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        return Sym(self.graph, "cast", (self,), dtype, _cast_bounds(self, dtype))

    def view(self, dtype):
        dtype = np.dtype(dtype)
        if dtype.itemsize != self.dtype.itemsize:
            raise TraceError(f"view of {self.dtype} as {dtype}")
        bounds = self.bounds if self.dtype.kind == "b" and dtype.kind in "iu" else None
        return Sym(self.graph, "view", (self,), dtype, bounds)

    def max(self):
        if self.bounds is None:
            raise TraceError("max() of a float")
        return self.bounds[1]

    def min(self):
        if self.bounds is None:
            raise TraceError("min() of a float")
        return self.bounds[0]

    def clip(self, lo, hi):
        return np.minimum(np.maximum(self, lo), hi)

    def reshape(self, *shape):
        return self

    def copy(self):
        return self

    def record_helper(self, helper, *args):
        """A :mod:`hw.spec.intmath` helper with a recorded argument, recorded whole as one
        operation (exact for every input, as the helper's NumPy paths are)."""
        graph = self.graph
        if helper == "mul_shr":                  # the exact 128-bit product, shifted
            a, b, shift = args
            ops = [graph.operand(_as(v, np.uint64)) for v in (a, b)]
            (alo, ahi), (blo, bhi) = (o.bounds for o in ops)
            return Sym(graph, "mul_shr", tuple(ops), np.uint64,
                       _fit(np.dtype(np.uint64), (alo * blo) >> shift, (ahi * bhi) >> shift), attr=shift)
        if helper == "bit_length":
            value = graph.operand(_as(args[0], np.uint64))
            lo, hi = value.bounds
            return Sym(graph, "bit_length", (value,), np.int64, (int(lo).bit_length(), int(hi).bit_length()))
        if helper == "round_shift":              # nearest even; shifts below 0 or of 64 or more give 0
            value, shift = graph.operand(_as(args[0], np.uint64)), graph.operand(_as(args[1], np.int64))
            top = value.bounds[1] if shift.bounds[0] <= 0 else (value.bounds[1] >> shift.bounds[0]) + 1
            return Sym(graph, "round_shift", (value, shift), np.uint64, _fit(np.dtype(np.uint64), 0, top))
        if helper == "lookup":
            table, index = args
            table = np.ascontiguousarray(table).reshape(-1)
            if table.dtype.kind not in "iu" or table.size == 0:
                raise TraceError(f"a table of {table.dtype}")
            bounds = (int(table.min()), int(table.max()))
            return Sym(graph, "take", (_as(index, np.int64),), table.dtype, bounds, attr=graph.table(table))
        raise TraceError(f"helper {helper}")


def _as(value, dtype):
    return value.astype(dtype) if isinstance(value, Sym) else np.asarray(value).astype(dtype)


def _binary(name):
    def forward(self, other):
        return getattr(np, name)(self, other)

    def reverse(self, other):
        return getattr(np, name)(other, self)
    return forward, reverse


for _dunder, _ufunc in (("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("lshift", "left_shift"),
                        ("rshift", "right_shift"), ("and", "bitwise_and"), ("or", "bitwise_or"),
                        ("xor", "bitwise_xor")):
    _f, _r = _binary(_ufunc)
    setattr(Sym, f"__{_dunder}__", _f)
    setattr(Sym, f"__r{_dunder}__", _r)
for _dunder, _ufunc in (("lt", "less"), ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal"),
                        ("eq", "equal"), ("ne", "not_equal")):
    setattr(Sym, f"__{_dunder}__", _binary(_ufunc)[0])
Sym.__hash__ = object.__hash__
Sym.__invert__ = lambda self: np.invert(self)
Sym.__neg__ = lambda self: np.negative(self)
Sym.__abs__ = lambda self: np.absolute(self)


def _cast_bounds(sym, dtype):
    if dtype.kind == "b":
        return 0, 1
    if sym.bounds is None or dtype.kind not in "iu":
        return None if dtype.kind not in "iu" else _full(dtype)
    return _fit(dtype, *sym.bounds)


def _bits_bound(hi):
    return (1 << max(int(hi), 0).bit_length()) - 1


def _ufunc_bounds(name, bounds, dtype):
    """Bounds of ``name`` over operand bounds (None where unknown), in result ``dtype``."""
    if dtype.kind == "b":
        return 0, 1
    if dtype.kind not in "iu" or any(b is None for b in bounds):
        return None
    if len(bounds) == 1:
        (lo, hi), = bounds
        if name == "negative":
            return _fit(dtype, -hi, -lo)
        if name == "invert":
            return _fit(dtype, ~hi, ~lo) if dtype.kind == "i" else _fit(dtype, (1 << 64) - 1 - hi, (1 << 64) - 1 - lo) \
                if dtype.itemsize == 8 else _full(dtype)
        if name == "absolute":
            return _fit(dtype, 0 if lo <= 0 <= hi else min(abs(lo), abs(hi)), max(abs(lo), abs(hi)))
        return _full(dtype)
    (alo, ahi), (blo, bhi) = bounds
    width = dtype.itemsize * 8
    if name == "add":
        return _fit(dtype, alo + blo, ahi + bhi)
    if name == "subtract":
        return _fit(dtype, alo - bhi, ahi - blo)
    if name == "multiply":
        corners = [alo * blo, alo * bhi, ahi * blo, ahi * bhi]
        return _fit(dtype, min(corners), max(corners))
    if name in ("maximum", "minimum"):
        pick = max if name == "maximum" else min
        return _fit(dtype, pick(alo, blo), pick(ahi, bhi))
    nonneg = alo >= 0 and blo >= 0
    if name == "bitwise_and" and nonneg:
        return 0, min(ahi, bhi)
    if name in ("bitwise_or", "bitwise_xor") and nonneg:
        return (max(alo, blo) if name == "bitwise_or" else 0), _bits_bound(max(ahi, bhi))
    if name == "left_shift" and alo >= 0 and blo >= 0:
        lo = alo << blo if bhi < width else 0
        return _fit(dtype, lo, ahi << min(bhi, width))
    if name == "right_shift" and alo >= 0 and blo >= 0:
        lo = alo >> bhi if bhi < width else 0
        return _fit(dtype, lo, ahi >> blo if blo < width else 0)
    return _full(dtype)



ARITHMETIC = {"add": "+", "subtract": "-", "multiply": "*"}
BITWISE = {"bitwise_and": "&", "bitwise_or": "|", "bitwise_xor": "^"}
COMPARE = {"less": "<", "less_equal": "<=", "greater": ">", "greater_equal": ">=", "equal": "==",
           "not_equal": "!="}
LOGICAL = {"logical_and": "&&", "logical_or": "||"}
OTHER = ("left_shift", "right_shift", "invert", "negative", "absolute", "maximum", "minimum", "logical_not")
RECORDED = (*ARITHMETIC, *BITWISE, *COMPARE, *LOGICAL, *OTHER)


class Graph:
    """The recorded program: nodes in the order they were computed, tables, inputs, outputs."""

    def __init__(self):
        self.nodes, self.tables, self.inputs = [], [], []

    def input(self, name):
        node = Sym(self, "input", (), np.uint64, None, attr=name)
        self.inputs.append(node)
        return node

    def table(self, array):
        for index, existing in enumerate(self.tables):
            if existing.dtype == array.dtype and np.array_equal(existing, array):
                return index
        self.tables.append(array)
        return len(self.tables) - 1

    def operand(self, value):
        if isinstance(value, Sym):
            return value
        if isinstance(value, np.ndarray) and value.size != 1:
            raise TraceError(f"a constant array of shape {value.shape} beside a traced value")
        return _Const(value)

    def ufunc(self, ufunc, inputs):
        name = ufunc.__name__
        if name not in RECORDED:
            raise TraceError(f"ufunc {name}")
        operands = [self.operand(i) for i in inputs]
        tokens = tuple(o.dtype if isinstance(o, Sym) else o.token for o in operands)
        try:
            loop = ufunc.resolve_dtypes(tokens + (None,) * ufunc.nout)
        except (TypeError, ValueError) as error:
            raise TraceError(f"{name}{tokens}: {error}") from None
        if ufunc.nout != 1:
            raise TraceError(f"ufunc {name} with {ufunc.nout} outputs")
        out = loop[ufunc.nin]
        cast = [_cast_range(o, t) for o, t in zip(operands, loop[:ufunc.nin])]
        return Sym(self, name, tuple(operands), out, _ufunc_bounds(name, cast, out), attr=loop[:ufunc.nin])


def _cast_range(operand, dtype):
    """``operand``'s bounds once cast to ``dtype`` (a constant keeps its value), None if unknown."""
    if operand.bounds is None or np.dtype(dtype).kind not in "iub":
        return None
    if isinstance(operand, Sym):
        return _fit(np.dtype(dtype), *operand.bounds)
    return operand.bounds


def _where(graph, condition, a, b):
    operands = [graph.operand(v) for v in (condition, a, b)]
    dummies = [np.zeros(1, o.dtype) if isinstance(o, Sym) else o.value for o in operands[1:]]
    dtype = np.where(np.zeros(1, bool), *dummies).dtype
    bounds = [_cast_range(o, dtype) for o in operands[1:]]
    merged = None if None in bounds or dtype.kind not in "iu" else (min(bounds[0][0], bounds[1][0]),
                                                                      max(bounds[0][1], bounds[1][1]))
    cond = operands[0] if isinstance(operands[0], Sym) else None
    if cond is None:                        # a constant condition: one of the branches
        chosen = operands[1] if operands[0].value else operands[2]
        return chosen if isinstance(chosen, Sym) else np.asarray(chosen.value).astype(dtype)
    return Sym(graph, "where", (cond.astype(bool), *operands[1:]), dtype, merged)


def _broadcast_to(graph, array, shape, subok=False):
    return array


def _clip(graph, a, lo, hi, out=None, **kwargs):
    return np.minimum(np.maximum(a, lo), hi)


def _shape(graph, a):
    return (1,)


_FUNCTIONS = {"where": _where, "broadcast_to": _broadcast_to, "clip": _clip, "shape": _shape}


_TRACE_LOCK = threading.Lock()


def record(function, names):
    """``function(**operands)`` recorded on symbolic uint64 operands ``names``: ``(graph,
    outputs)``, ``outputs`` a list of ``(value, dtype)`` (a :class:`Sym` or a constant; integer
    outputs as uint64, NumPy's cast of them, others in their own dtype)."""
    graph = Graph()
    operands = {name: graph.input(name) for name in names}
    asarray = np.asarray

    def symbolic_asarray(a, dtype=None, **kwargs):
        if isinstance(a, Sym):
            return a if dtype is None else a.astype(dtype)
        return asarray(a, dtype=dtype, **kwargs)

    with _TRACE_LOCK:
        np.asarray = symbolic_asarray
        try:
            result = function(**operands)
        finally:
            np.asarray = asarray
    outputs = []
    for value in result if isinstance(result, tuple) else (result,):
        value = value if isinstance(value, Sym) else graph.operand(np.asarray(value))
        dtype = value.dtype if isinstance(value, Sym) else np.asarray(value.value).dtype
        outputs.append((value, np.dtype(np.uint64) if dtype.kind in "iu" else dtype))
    return graph, outputs


