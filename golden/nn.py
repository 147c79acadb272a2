"""PyTorch activations bit-exact with the hardware units.

    from golden.nn import HardwareActivation
    act = HardwareActivation("isrlu", format="bf16")            # any Config parameter: seed="magic", newton=1, ...
    y = act(x); y.sum().backward()

Forward: ``x`` (any float dtype, any shape, any device) is rounded once (nearest even) to the
unit's format, then the forward unit's result is returned exactly. Backward: ``grad_out`` is
rounded to the format and the backward unit's result ``grad_out * f'(x)`` (one rounding) is
returned. The arithmetic is the golden model's (:func:`golden.eval.evaluate`), not a copy: the
NumPy twins run on the tensor's values (on the CPU), and for the 16-bit formats the forward pass
looks its results up in a table of all 65,536 of them built from the same twins (on the tensor's
device). ReLU has no backward unit: its gradient is ``grad_out`` (rounded) where ``x > 0``, else
``+0``, which involves no rounding.

Results come back in ``x``'s dtype: bit-exact where that dtype holds every value of the format
(``float32``/``float64`` for BF16, FP16, FP32; ``bfloat16`` for BF16, ``float16`` for FP16),
else the exact result rounded to the dtype.

The operators are registered with ``torch.library.custom_op`` (``isrlu_ip::forward``,
``isrlu_ip::backward``) and ``register_autograd``, with fake implementations, so they pass
``torch.library.opcheck`` and trace under ``torch.compile``; the configuration travels as its
JSON text.
"""
import functools
import json

import numpy as np
import torch

from hw.spec.config import Config
from hw.spec.formats import FloatFormat
from hw.spec.functions import REGISTRY, Family
from .eval import evaluate
from .reference import decode_float
from .reference_float64 import round_float64

__all__ = ["HardwareActivation", "FUNCTIONS", "hardware_activation", "config_key"]

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


def _to_bits(fmt, t):
    """Raw bits (uint64, NumPy) of tensor ``t`` rounded once to float format ``fmt``."""
    return round_float64(fmt, t.detach().to("cpu", torch.float64).numpy())


def _to_tensor(fmt, bits, like):
    return torch.from_numpy(decode_float(fmt, bits)).to(like.device, like.dtype).reshape(like.shape)


@functools.lru_cache(maxsize=None)
def _forward_table(key):
    """Values (float64) of the forward unit on every raw 16-bit input."""
    config = _config(key)
    y, _ = evaluate(config, x=np.arange(1 << 16, dtype=np.uint64))
    return torch.from_numpy(decode_float(config.format, y))


def _native_bits(fmt, x):
    """Raw bits as int64 of ``x`` rounded to a 16-bit format torch rounds to in one step, or None."""
    dtype = _TORCH_FORMATS.get(fmt.name)
    if dtype is None or x.dtype not in (torch.float32, dtype):
        return None                                        # float64 -> bf16 would round twice
    return x.detach().to(dtype).view(torch.int16).to(torch.int64) & 0xFFFF


@torch.library.custom_op("isrlu_ip::forward", mutates_args=())
def _forward(x: torch.Tensor, key: str) -> torch.Tensor:
    config = _config(key)
    fmt = config.format
    bits = _native_bits(fmt, x)
    if bits is not None:
        return _forward_table(key).to(x.device)[bits].to(x.dtype)
    y, _ = evaluate(config, x=_to_bits(fmt, x).reshape(-1))
    return _to_tensor(fmt, y, x)


@_forward.register_fake
def _(x, key):
    return torch.empty_like(x)


@torch.library.custom_op("isrlu_ip::backward", mutates_args=())
def _backward(grad: torch.Tensor, x: torch.Tensor, key: str) -> torch.Tensor:
    config = _config(key)
    fmt = config.format
    xb = _to_bits(fmt, x).reshape(-1)
    gb = _to_bits(fmt, torch.broadcast_to(grad, x.shape)).reshape(-1)
    backward = _backward_config(key)
    if backward is None:                                   # ReLU: grad where x > 0, else +0
        y = np.where(decode_float(fmt, xb) > 0, gb, np.uint64(0))
    else:
        y, _ = evaluate(backward, x=xb, grad=gb)
    return _to_tensor(fmt, y, x)


@_backward.register_fake
def _(grad, x, key):
    return torch.empty_like(x)


def _setup_context(ctx, inputs, output):
    x, key = inputs
    ctx.save_for_backward(x)
    ctx.key = key


def _autograd(ctx, grad):
    x, = ctx.saved_tensors
    return _backward(grad, x, ctx.key), None


_forward.register_autograd(_autograd, setup_context=_setup_context)


def hardware_activation(x, config: Config):
    """The forward unit of ``config`` applied to tensor ``x``, differentiable through its backward
    unit (see the module)."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, not {getattr(x, 'dtype', type(x).__name__)}")
    return _forward(x, config_key(config))


class HardwareActivation(torch.nn.Module):
    """An activation function of the library, bit-exact with its hardware units.

    Parameters
    ----------
    function : str
        One of :data:`FUNCTIONS` (ISRLU, ISRU, ELU, ReLU, the ISRU sigmoid, tanh, the sigmoid).
    format : str
        A float format of :class:`hw.spec.config.Config`: ``bf16``, ``fp16``, ``fp32`` or ``eXmY``.
    alpha : float | None
        The hyperparameter of ISRLU, ISRU, ELU and the ISRU sigmoid (default 1), a constant.
    **config
        Any other :class:`~hw.spec.config.Config` parameter (``seed``, ``table_bits``,
        ``newton``, ``magic``); the backward unit takes the same ones.

    Shape: any; the result has ``x``'s shape and dtype (module docstring). Numeric contract:
    that of the units named by :attr:`config` and :attr:`backward_config`.
    """

    def __init__(self, function, format="bf16", alpha=None, **config):
        super().__init__()
        if function not in FUNCTIONS:
            raise ValueError(f"function must be one of {', '.join(FUNCTIONS)}, not {function!r}")
        params = dict(config, **({} if alpha is None else {"alpha": alpha}))
        self.config = Config(format, function=function, **params)
        if not isinstance(self.config.format, FloatFormat):
            raise ValueError(f"format must be a float format (bf16, fp16, fp32, eXmY), not fixed point "
                             f"{self.config.format.name!r}")
        self.key = config_key(self.config)
        self.backward_config = _backward_config(self.key)

    def forward(self, x):
        return hardware_activation(x, self.config)

    def extra_repr(self):
        return self.config.name
