"""The networks :mod:`golden.train` trains, with the activation as a parameter.

* :class:`PaperCNN`: the paper's first architecture (its Table 4): convolutions 6x6 with 6 maps
  (stride 1), 5x5 with 12 (stride 2), 4x4 with 24 (stride 2), all 'same' padded (as TensorFlow pads), a dense hidden
  layer of 200 units with dropout, and a 10-way softmax output. 28x28 MNIST gives 7x7x24 = 1,176
  features before the dense layer (the paper's 1,176), the 8x8 digits 2x2x24 = 96. The activation
  follows every convolution and the dense hidden layer. Weights: truncated normal, sd 0.1; biases 0.1.
* :class:`RowGRU`: a GRU reading an image row by row (one step per row), its last state into a
  10-way output; the candidate's nonlinearity (tanh, or ISRU) and the gates' (the sigmoid, or the
  ISRU sigmoid) are parameters, as the paper proposes ISRU for recurrent networks.

Exact float activations (:data:`EXACT`) are plain torch expressions; hardware-exact ones are
:class:`golden.nn.HardwareActivation` modules. :data:`MENU` names what :mod:`golden.train`
compares per model.
"""
import torch
from torch import nn

from .nn import inverse_softplus

__all__ = ["PaperCNN", "RowGRU", "LearnableISRLU", "EXACT", "exact", "MENU", "QUICK"]

HIDDEN = 200
DROPOUT = 0.25          # the paper's pkeep 0.75
INIT_SD = 0.1


def _isru(alpha):
    return lambda x: x * torch.rsqrt(1 + alpha * x * x)


def _isrlu(alpha):
    return lambda x: torch.where(x >= 0, x, x * torch.rsqrt(1 + alpha * x * x))


EXACT = {
    "relu": torch.relu,
    "elu": nn.functional.elu,
    "isrlu": _isrlu(1.0),
    "isrlu-a3": _isrlu(3.0),
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "isru": _isru(1.0),
    "isru-sigmoid": lambda x: (1 + _isru(1.0)(x / 2)) / 2,
}


class LearnableISRLU(nn.Module):
    """Exact float ISRLU with ``alpha = softplus(alpha_raw)`` learned (one per layer)."""

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha_raw = nn.Parameter(torch.tensor([inverse_softplus(alpha)]))

    def forward(self, x):
        return _isrlu(nn.functional.softplus(self.alpha_raw))(x)


class _Lambda(nn.Module):
    def __init__(self, name, fn):
        super().__init__()
        self.name, self.fn = name, fn

    def forward(self, x):
        return self.fn(x)

    def extra_repr(self):
        return self.name


HARDWARE = {                        # menu key -> HardwareActivation parameters, beside the function
    "hw-bf16": dict(format="bf16"),
    "hw-fp16": dict(format="fp16"),
    "hw-fp32": dict(format="fp32"),
    "hw-magic0": dict(format="fp32", seed="magic", newton=0),
    "hw-magic1": dict(format="fp32", seed="magic", newton=1),
}


def _menu():
    """``{model: {key: (candidate spec, gate spec)}}``; a spec is an exact name of :data:`EXACT`
    or ``(function, parameters)`` of a hardware activation."""
    cnn = {name: (name, None) for name in ("relu", "elu", "isrlu", "isrlu-a3", "isrlu-learn")}
    cnn.update({key: (("isrlu", params), None) for key, params in HARDWARE.items()})
    cnn["hw-bf16-learn"] = (("isrlu", dict(format="bf16", learn_alpha=True)), None)
    cnn["hw-elu-bf16"] = (("elu", dict(format="bf16")), None)
    gru = {"tanh": ("tanh", "sigmoid"), "isru": ("isru", "isru-sigmoid")}
    gru.update({key: (("isru", params), ("isru-sigmoid", params)) for key, params in HARDWARE.items()})
    gru["hw-tanh-bf16"] = (("tanh", dict(format="bf16")), ("sigmoid", dict(format="bf16")))
    return {"cnn": cnn, "gru": gru}


MENU = _menu()
QUICK = {"cnn": ("relu", "elu", "isrlu", "hw-bf16", "hw-magic0"), "gru": ("tanh", "isru", "hw-bf16")}


def exact(name):
    """The exact float activation ``name`` of :data:`EXACT` (or ``isrlu-learn``) as a module."""
    return LearnableISRLU() if name == "isrlu-learn" else _Lambda(name, EXACT[name])


def _init(module):
    for p in module.parameters():
        if p.dim() > 1:
            nn.init.trunc_normal_(p, std=INIT_SD, a=-2 * INIT_SD, b=2 * INIT_SD)
        else:
            nn.init.constant_(p, INIT_SD)


class PaperCNN(nn.Module):
    """The paper's first CNN for ``side`` x ``side`` single-channel images; ``activation`` is a
    factory returning a fresh activation module."""

    def __init__(self, side, activation):
        super().__init__()
        out = -(-(-(-side // 2)) // 2)              # two stride-2 'same' convolutions
        self.features = nn.Sequential(
            nn.ZeroPad2d((2, 3, 2, 3)), nn.Conv2d(1, 6, 6), activation(),
            nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(6, 12, 5, stride=2), activation(),
            nn.ZeroPad2d((1, 1, 1, 1)), nn.Conv2d(12, 24, 4, stride=2), activation(),
            nn.Flatten(), nn.Linear(24 * out * out, HIDDEN), activation(), nn.Dropout(DROPOUT),
            nn.Linear(HIDDEN, 10))
        _init(self)

    def forward(self, x):
        return self.features(x)


class RowGRU(nn.Module):
    """A GRU over the rows of ``side`` x ``side`` images with ``hidden`` units; ``candidate`` and
    ``gate`` are activation modules (tanh and the sigmoid in a standard GRU)."""

    def __init__(self, side, candidate, gate, hidden=48):
        super().__init__()
        self.hidden = hidden
        self.inputs = nn.Linear(side, 3 * hidden)
        self.state = nn.Linear(hidden, 3 * hidden)
        self.candidate, self.gate = candidate, gate
        self.out = nn.Linear(hidden, 10)
        _init(self)

    def forward(self, x):
        rows = x[:, 0]                               # (N, side, side): one step per row
        h = rows.new_zeros(rows.shape[0], self.hidden)
        for t in range(rows.shape[1]):
            xi, xs = self.inputs(rows[:, t]), self.state(h)
            rz = self.gate(xi[:, :2 * self.hidden] + xs[:, :2 * self.hidden])
            r, z = rz[:, :self.hidden], rz[:, self.hidden:]
            n = self.candidate(xi[:, 2 * self.hidden:] + r * xs[:, 2 * self.hidden:])
            h = (1 - z) * n + z * h
        return self.out(h)
