"""PyTorch activations bit-exact with the hardware units.

    from golden.nn import HardwareActivation
    act = HardwareActivation("isrlu", format="bf16")            # any Config parameter: seed="magic", newton=1, ...
    y = act(x); y.sum().backward()

Forward: ``x`` (any float dtype, any shape, any device) is rounded once (nearest even) to the
unit's format, then the forward unit's result is returned exactly. Backward: ``grad_out`` is
rounded to the format and the backward unit's result ``grad_out * f'(x)`` (one rounding) is
returned. The arithmetic is the golden model's (:func:`golden.eval.evaluate`), not a copy: the
twins run on the tensor's values (on the CPU, in blocks on ``torch.get_num_threads()`` threads),
as the program :mod:`golden.compiled` records from them and compiles (checked against them on
first use; where no C compiler is found, the NumPy twins themselves), and for the 16-bit formats
the forward pass
looks its results up in a table of all 65,536 of them built from the same twins (on the tensor's
device); the backward pass too, from a table of the backward unit's results for every ``x`` and
every grad significand at one grad exponent (built from the twins on first use: BF16 0.6 s, FP16
3.3 s compiled; kept on disk, see :func:`_cache_dir`), scaled by the grad's power of two wherever the
result is normal (elsewhere the twins run); on the CPU that table is read in one compiled pass
(:mod:`golden.table_read`), elsewhere with torch's operations. ReLU has no
backward unit: its gradient is ``grad_out`` (rounded) where ``x > 0``, else
``+0``, which involves no rounding.

Results come back in ``x``'s dtype: bit-exact where that dtype holds every value of the format
(``float32``/``float64`` for BF16, FP16, FP32; ``bfloat16`` for BF16, ``float16`` for FP16),
else the exact result rounded to the dtype.

The operators are registered with ``torch.library.custom_op`` (``isrlu_ip::forward``,
``isrlu_ip::backward``, and for a learnable alpha ``isrlu_ip::forward_alpha``,
``isrlu_ip::backward_alpha``) and ``register_autograd``, with fake implementations, so they pass
``torch.library.opcheck`` and trace under ``torch.compile``; the configuration travels as its
JSON text.
"""
import functools
import json
import math
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

from hw.spec.config import Config
from hw.spec.formats import FloatFormat
from hw.spec.functions import REGISTRY, Family
from hw.spec.paths import cache_dir, source_digest
from .compiled import compiled_twin
from .eval import evaluate
from .reference import decode_float
from .reference_float64 import round_float64
from .table_read import table_reader

__all__ = ["HardwareActivation", "FUNCTIONS", "hardware_activation", "config_key", "inverse_softplus"]

# Every function with a forward unit that an activation can use: not the rsqrt, not the FMA.
FUNCTIONS = tuple(name for name, entry in REGISTRY.items()
                  if not entry.backward and entry.family not in (Family.RSQRT, Family.FMA))
_TORCH_FORMATS = {"bf16": torch.bfloat16, "fp16": torch.float16}    # 16-bit formats torch rounds to natively


def config_key(config: Config):
    """The JSON text that carries ``config`` through the operators (its request, so that the
    backward unit resolves its own defaults)."""
    request = {name: getattr(value, "name", value) for name, value in config.requested.as_dict().items()}
    return json.dumps(request, sort_keys=True)


@functools.lru_cache(maxsize=None)
def _config(key):
    return Config(**json.loads(key))


@functools.lru_cache(maxsize=None)
def _backward_config(key):
    config = _config(key)
    name = f"{config.function}-grad"
    return config.with_(function=name) if name in REGISTRY else None


def _evaluate(config, **operands):
    """The golden twins on raw operand arrays, on as many threads as torch uses: their compiled
    program (:mod:`golden.compiled`) where one can be built, else the NumPy twins themselves."""
    program = compiled_twin(config)
    if program is not None:
        return program(workers=torch.get_num_threads(), **operands)
    return evaluate(config, workers=torch.get_num_threads(), **operands)


def _is_binary32(fmt):
    return (fmt.exp_bits, fmt.man_bits) == (8, 23)


def _to_bits(fmt, t):
    """Raw bits (NumPy) of tensor ``t`` rounded once to float format ``fmt`` (a float32 tensor in
    FP32: its own bits, uint32, without a copy)."""
    if _is_binary32(fmt) and t.dtype == torch.float32:
        return t.detach().to("cpu").contiguous().numpy().view(np.uint32)
    return round_float64(fmt, t.detach().to("cpu", torch.float64).numpy())


def _to_tensor(fmt, bits, like):
    """Results ``bits`` of format ``fmt`` as a tensor shaped and typed like ``like``."""
    if _is_binary32(fmt) and like.dtype == torch.float32:
        values = torch.from_numpy(bits.astype(np.uint32, copy=False).view(np.float32))
    else:
        values = torch.from_numpy(decode_float(fmt, bits))
    return values.to(like.device, like.dtype).reshape(like.shape)


@functools.lru_cache(maxsize=None)
def _forward_table(key):
    """Values (float64) of the forward unit on every raw 16-bit input."""
    config = _config(key)
    y, _ = _evaluate(config, x=np.arange(1 << 16, dtype=np.uint64))
    return torch.from_numpy(decode_float(config.format, y))


@functools.lru_cache(maxsize=None)
def _forward_values(key, dtype, device):
    """:func:`_forward_table` in ``dtype`` on ``device`` (each value rounded once to ``dtype``)."""
    return _forward_table(key).to(device, dtype)


def _raw16_bits(t, dtype):
    """The raw bits (uint16, NumPy, flat) of tensor ``t`` rounded once to 16-bit ``dtype`` by torch."""
    return t.detach().to("cpu", dtype).contiguous().view(torch.int16).numpy().reshape(-1).view(np.uint16)


def _raw16(t):
    """The raw bits (int32, 0 to 65535) of a tensor of a 16-bit torch dtype."""
    return t.view(torch.int16).to(torch.int32) & 0xFFFF


def _cache_dir():
    """Where built backward tables are kept between runs: ``$ISRLU_IP_CACHE``, else
    ``$XDG_CACHE_HOME/isrlu-ip`` (``~/.cache/isrlu-ip``)."""
    return cache_dir()


@functools.lru_cache(maxsize=None)
def _source_digest():
    """A digest of the sources a table is derived from (the golden models and the specification):
    a cached table is used only if they are unchanged."""
    return source_digest(Path(__file__).resolve().parent.parent, ("golden", "hw/spec"))[:16]


@functools.lru_cache(maxsize=None)
def _backward_table(key):
    """The backward unit's results for every raw 16-bit ``x`` and every significand of a grad at
    the exponent :func:`_table_exponent`, indexed ``x << man_bits | significand``, as int16
    offsets: a result's raw bits less that exponent's field (``E0 << man_bits``), so that adding a
    grad's exponent field gives the result at that grad. Results that are not normal numbers at
    least one binade above the smallest (where rounding could have depended on the exponent) are
    ``-32768``, which no finite grad lifts into the range :func:`_backward_by_table` accepts.
    Built from the golden model on first use (BF16: 2**23 pairs, FP16: 2**26; 0.6 s and 3.3 s
    with the compiled twins) and kept in :func:`_cache_dir` as its distinct rows (a row: ``x``'s
    results for every significand; FP16 has 9,000 to 16,000 of 65,536, 19-32 MB instead of
    134 MB) and each ``x``'s row (:func:`_distinct_rows`). In memory it is whole: one read per
    element is faster than two (BF16: 15 % faster; FP16 the same)."""
    config = _backward_config(key)
    fmt, man = config.format, config.format.man_bits
    path = _cache_dir() / f"{config.name}-{_source_digest()}.npz"
    try:
        with np.load(path, allow_pickle=False) as data:
            return torch.from_numpy(data["entries"].reshape(-1, 1 << man)[data["rows"]].reshape(-1))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        pass
    grads = (np.uint64(_table_exponent(fmt)) << np.uint64(man)) | np.arange(1 << man, dtype=np.uint64)
    table = np.empty((1 << 16, 1 << man), dtype=np.int16)
    step = max(1, (1 << 20) >> man)                       # x values per block: 2**20 pairs
    for start in range(0, 1 << 16, step):
        x = np.repeat(np.arange(start, start + step, dtype=np.uint64), 1 << man)
        y, _ = _evaluate(config, x=x, grad=np.tile(grads, step))
        field = (y >> np.uint64(man)) & np.uint64((1 << fmt.exp_bits) - 1)
        usable = (field >= 2) & (field < (1 << fmt.exp_bits) - 1)
        offset = y.astype(np.int64) - (_table_exponent(fmt) << man)
        table[start:start + step] = np.where(usable, offset, -1 << 15).reshape(step, 1 << man)
    rows, entries = _distinct_rows(table)
    try:                                                   # atomically: a reader never sees half
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as handle:
            np.savez(handle, rows=rows, entries=entries)
        os.chmod(handle.name, 0o644)
        os.replace(handle.name, path)
    except OSError:
        pass                                               # no cache: the table lives in memory
    return torch.from_numpy(table.reshape(-1))


def _distinct_rows(table):
    """``(rows, entries)`` of a 2-D ``table``: ``entries`` its distinct rows (first occurrences, in
    order), flattened, and ``rows`` (int32) the index of each row of ``table`` among them."""
    index, keep, rows = {}, [], np.empty(len(table), dtype=np.int32)
    for i, row in enumerate(table):
        key = row.tobytes()
        if key not in index:
            index[key] = len(keep)
            keep.append(i)
        rows[i] = index[key]
    return rows, np.ascontiguousarray(table[keep]).reshape(-1)


@functools.lru_cache(maxsize=None)
def _backward_entries(key, device):
    return _backward_table(key).to(device)


def _table_exponent(fmt):
    """The grad exponent field the backward table is built at: near the top, so that small
    derivatives still give normal results (only ``f' >= 2`` overflows there)."""
    return (1 << fmt.exp_bits) - 3


def _backward_by_table(key, x, grad):
    """Raw backward results (int16) of ``x``, ``grad`` (1-D tensors of the format's torch dtype)
    through the table, and the indices of the elements it does not decide (None if it decides
    all). A table entry plus grad's exponent field, with grad's sign, is the result wherever grad
    is finite and that sum's exponent field lies between 2 and the largest finite one: there
    rounding depends on the significands alone (for a finite grad the sum cannot leave int16). On
    the CPU the table is read in one compiled pass (:mod:`golden.table_read`); elsewhere, or
    without a C compiler, with torch's operations, where whether every element qualifies is known
    from three reductions and a mask is formed only where some do not."""
    fmt = _config(key).format
    man, top = fmt.man_bits, ((1 << fmt.exp_bits) - 1) << fmt.man_bits
    entries = _backward_entries(key, x.device)
    reader = table_reader() if x.device.type == "cpu" else None
    if reader is not None:
        y, rest = reader(entries.numpy(), _raw16_bits(x, x.dtype), _raw16_bits(grad, grad.dtype),
                         man, fmt.exp_bits, workers=torch.get_num_threads())
        return torch.from_numpy(y.view(np.int16)), (torch.from_numpy(rest) if len(rest) else None)
    gb = grad.view(torch.int16)
    index = ((x.view(torch.int16).to(torch.int32) << man) & ((1 << (16 + man)) - 1)) | (gb & ((1 << man) - 1))
    exponent = gb & top
    magnitude = torch.index_select(entries, 0, index) + exponent
    y = magnitude | (gb & -(1 << 15))
    if magnitude.numel() == 0:
        return y, None
    low, high = torch.aminmax(magnitude)
    if int(low) >= 2 << man and int(high) < top and int(exponent.max()) < top:
        return y, None
    return y, torch.nonzero(~((magnitude >= 2 << man) & (magnitude < top) & (exponent < top))).reshape(-1)


def _native(fmt, *tensors):
    """The torch dtype of 16-bit format ``fmt`` if torch rounds every tensor to it in one step
    (from float32 or from that dtype), else None (float64 -> bf16 would round twice)."""
    dtype = _TORCH_FORMATS.get(fmt.name)
    if dtype is None or any(t.dtype not in (torch.float32, dtype) for t in tensors):
        return None
    return dtype


@torch.library.custom_op("isrlu_ip::forward", mutates_args=())
def _forward(x: torch.Tensor, key: str) -> torch.Tensor:
    config = _config(key)
    fmt = config.format
    dtype = _native(fmt, x)
    if dtype is not None:
        return torch.index_select(_forward_values(key, x.dtype, x.device), 0,
                                  _raw16(x.detach().to(dtype)).reshape(-1)).reshape(x.shape)
    y, _ = _evaluate(config, x=_to_bits(fmt, x).reshape(-1))
    return _to_tensor(fmt, y, x)


@_forward.register_fake
def _(x, key):
    return torch.empty_like(x)


@torch.library.custom_op("isrlu_ip::backward", mutates_args=())
def _backward(grad: torch.Tensor, x: torch.Tensor, key: str) -> torch.Tensor:
    config = _config(key)
    fmt = config.format
    grad = torch.broadcast_to(grad, x.shape)
    backward = _backward_config(key)
    dtype = _native(fmt, x, grad)
    if backward is None and _is_binary32(fmt) and x.dtype == grad.dtype == torch.float32:
        dtype = torch.float32                               # FP32 from float32: nothing to round
    if backward is None and dtype is not None:             # ReLU, no rounding but grad's
        g = grad.detach().to(dtype)
        return torch.where(x.detach().to(dtype) > 0, g, torch.zeros_like(g)).to(x.dtype)
    if dtype is not None:
        x16, g16 = (t.detach().to(dtype).reshape(-1) for t in (x, grad))
        out, rest = _backward_by_table(key, x16, g16)
        if rest is not None:                               # the twins decide the rest
            y, _ = _evaluate(backward, x=_raw16_bits(x16[rest], dtype), grad=_raw16_bits(g16[rest], dtype))
            out[rest] = torch.from_numpy(y.astype(np.uint16).view(np.int16)).to(out.device)
        return out.view(dtype).to(x.dtype).reshape(x.shape)
    xb, gb = _to_bits(fmt, x).reshape(-1), _to_bits(fmt, grad).reshape(-1)
    if backward is None:                                   # ReLU: grad where x > 0, else +0
        y = np.where(decode_float(fmt, xb) > 0, gb, np.uint64(0))
    else:
        y, _ = _evaluate(backward, x=xb, grad=gb)
    return _to_tensor(fmt, y, x)


@_backward.register_fake
def _(grad, x, key):
    return torch.empty_like(x)


@torch.library.custom_op("isrlu_ip::forward_alpha", mutates_args=())
def _forward_alpha(x: torch.Tensor, alpha: torch.Tensor, key: str) -> torch.Tensor:
    config = _config(key)
    fmt = config.format
    a = torch.broadcast_to(alpha, x.shape)
    y, _ = _evaluate(config, x=_to_bits(fmt, x).reshape(-1), alpha=_to_bits(fmt, a).reshape(-1))
    return _to_tensor(fmt, y, x)


@_forward_alpha.register_fake
def _(x, alpha, key):
    return torch.empty_like(x)


@torch.library.custom_op("isrlu_ip::backward_alpha", mutates_args=())
def _backward_alpha(grad: torch.Tensor, x: torch.Tensor, alpha: torch.Tensor,
                    key: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(grad * f'(x), grad * df/dalpha)`` per element, from the backward and alpha-gradient
    units with alpha as an operand."""
    config = _config(key)
    fmt = config.format
    ops = {"x": _to_bits(fmt, x).reshape(-1),
           "grad": _to_bits(fmt, torch.broadcast_to(grad, x.shape)).reshape(-1),
           "alpha": _to_bits(fmt, torch.broadcast_to(alpha, x.shape)).reshape(-1)}
    gx, _ = _evaluate(config.with_(function=f"{config.function}-grad"), **ops)
    ga, _ = _evaluate(config.with_(function=f"{config.function}-alpha-grad"), **ops)
    return _to_tensor(fmt, gx, x), _to_tensor(fmt, ga, x)


@_backward_alpha.register_fake
def _(grad, x, alpha, key):
    return torch.empty_like(x), torch.empty_like(x)


def _sum_to(t, shape):
    """``t`` summed over the dimensions a tensor of ``shape`` was broadcast along."""
    lead = t.dim() - len(shape)
    dims = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and t.shape[lead + i] != 1)
    return t.sum(dims, keepdim=True).reshape(shape) if dims else t


def _setup_alpha_context(ctx, inputs, output):
    x, alpha, key = inputs
    ctx.save_for_backward(x, alpha)
    ctx.key = key


def _autograd_alpha(ctx, grad):
    x, alpha = ctx.saved_tensors
    gx, ga = _backward_alpha(grad, x, alpha, ctx.key)
    return gx, _sum_to(ga, alpha.shape).to(alpha.dtype), None


_forward_alpha.register_autograd(_autograd_alpha, setup_context=_setup_alpha_context)


def _setup_context(ctx, inputs, output):
    x, key = inputs
    ctx.save_for_backward(x)
    ctx.key = key


def _autograd(ctx, grad):
    x, = ctx.saved_tensors
    return _backward(grad, x, ctx.key), None


_forward.register_autograd(_autograd, setup_context=_setup_context)


def _check_float(x):
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, not {getattr(x, 'dtype', type(x).__name__)}")


def hardware_activation(x, config: Config):
    """The forward unit of ``config`` applied to tensor ``x``, differentiable through its backward
    unit (see the module)."""
    _check_float(x)
    return _forward(x, config_key(config))


def inverse_softplus(a):
    """The ``r`` with ``softplus(r) = a`` (a float, ``a > 0``)."""
    return a + math.log(-math.expm1(-a))


class HardwareActivation(torch.nn.Module):
    """An activation function of the library, bit-exact with its hardware units.

    Parameters
    ----------
    function : str
        One of :data:`FUNCTIONS` (ISRLU, ISRU, ELU, ReLU, the ISRU sigmoid, tanh, the sigmoid).
    format : str
        A float format of :class:`hw.spec.config.Config`: ``bf16``, ``fp16``, ``fp32`` or ``eXmY``.
    alpha : float | None
        The hyperparameter of ISRLU, ISRU, ELU and the ISRU sigmoid (default 1): a constant, or
        with ``learn_alpha`` the initial value.
    learn_alpha : bool
        ISRLU and ISRU: alpha is a parameter, ``alpha = softplus(alpha_raw)`` (so it stays
        positive; leave ``alpha_raw`` out of weight decay, which would pull alpha towards
        ``log 2``). The forward pass runs the runtime-alpha unit (alpha rounded to the format, as
        the hardware sees it); ``x``'s gradient comes from the runtime-alpha backward unit and
        alpha's from the alpha-gradient unit (``grad * df/dalpha`` per element, one rounding),
        summed by torch.
    channels : int | None
        With ``learn_alpha``: one alpha per channel (dimension 1 of ``x``) instead of one per layer.
    **config
        Any other :class:`~hw.spec.config.Config` parameter (``seed``, ``table_bits``,
        ``newton``, ``magic``); the backward unit takes the same ones.

    Shape: any; the result has ``x``'s shape and dtype (module docstring). Numeric contract:
    that of the units named by :attr:`config` and :attr:`backward_config`.
    """

    def __init__(self, function, format="bf16", alpha=None, learn_alpha=False, channels=None, **config):
        super().__init__()
        if function not in FUNCTIONS:
            raise ValueError(f"function must be one of {', '.join(FUNCTIONS)}, not {function!r}")
        if learn_alpha:
            learnable = [name for name in FUNCTIONS if f"{name}-alpha-grad" in REGISTRY]
            if function not in learnable:
                raise ValueError(f"learn_alpha: only {', '.join(learnable)} have an alpha-gradient unit, "
                                 f"not {function!r}")
            if "runtime_alpha" in config:
                raise ValueError("runtime_alpha: learn_alpha sets it (alpha is then an operand of the units)")
            if channels is not None and (not isinstance(channels, int) or channels < 1):
                raise ValueError(f"channels must be a positive integer, not {channels!r}")
            start = 1.0 if alpha is None else alpha
            if not (isinstance(start, (int, float)) and math.isfinite(start) and start > 0):
                raise ValueError(f"alpha must be a positive number, not {alpha!r}")
            self.config = Config(format, function=function, runtime_alpha=True, **config)
            raw = torch.full((channels or 1,), inverse_softplus(float(start)), dtype=torch.float64)
            self.alpha_raw = torch.nn.Parameter(raw)
        else:
            if channels is not None:
                raise ValueError("channels: only with learn_alpha")
            params = dict(config, **({} if alpha is None else {"alpha": alpha}))
            self.config = Config(format, function=function, **params)
            self.alpha_raw = None
        if not isinstance(self.config.format, FloatFormat):
            raise ValueError(f"format must be a float format (bf16, fp16, fp32, eXmY), not fixed point "
                             f"{self.config.format.name!r}")
        self.key = config_key(self.config)
        self.backward_config = None if learn_alpha else _backward_config(self.key)

    @property
    def alpha(self):
        """The current alpha: a float, or with ``learn_alpha`` a tensor (one per channel) before
        rounding to the format."""
        if self.alpha_raw is None:
            return self.config.alpha
        return torch.nn.functional.softplus(self.alpha_raw)

    def forward(self, x):
        if self.alpha_raw is None:
            return hardware_activation(x, self.config)
        _check_float(x)
        alpha = self.alpha.to(x.dtype)
        if len(alpha) > 1:
            if x.dim() < 2 or x.shape[1] != len(alpha):
                raise ValueError(f"x must have {len(alpha)} channels in dimension 1, not shape {tuple(x.shape)}")
            alpha = alpha.reshape((1, -1) + (1,) * (x.dim() - 2))
        return _forward_alpha(x, alpha, self.key)

    def extra_repr(self):
        if self.alpha_raw is None:
            return self.config.name
        return f"{self.config.name}, learnable alpha x{len(self.alpha_raw)}"
