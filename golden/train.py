"""Train the paper's networks through exact and hardware-exact activations and compare them.

    python -m golden.train [--model cnn,gru] [--dataset digits,mnist] [--activations LIST]
                           [--seeds N] [--epochs N] [--quick] [--json FILE] [--plot FILE]

Does the hardware's arithmetic (:class:`golden.nn.HardwareActivation`, bit-exact with the units)
train as well as the exact functions? Every (model, data set, activation, seed) is one run:
Adam, learning rate 0.003 decaying exponentially to 0.0001 over the epochs, batches of 100,
cross-entropy loss, the paper's initialization (:mod:`golden.networks`); seeds 0..N-1 set the
initial weights, dropout and batch order. The test accuracy and loss after the last epoch are
reported per run (``--json`` rows: ``model``, ``dataset``, ``activation``, ``seed``, ``epochs``,
``test_accuracy``, ``test_loss``, ``seconds``, plus ``gate`` for the GRU and the per-epoch
``curve``), the mean and standard deviation over seeds in a table, and the mean test accuracy per
epoch as a plot (``--plot``, SVG or PNG by suffix).

Activations (``--activations``, default all of the model's): the CNN compares exact ``relu``,
``elu``, ``isrlu`` (alpha 1), ``isrlu-a3`` with hardware-exact ISRLU ``hw-bf16``, ``hw-fp16``,
``hw-fp32`` (the default configurations), ``hw-magic0``/``hw-magic1`` (FP32 magic-constant seed
with 0 or 1 Newton stage: the paper's fast approximation), hardware ELU ``hw-elu-bf16``, and a
learned alpha (one per layer, from 1): exact ``isrlu-learn`` and hardware ``hw-bf16-learn`` (the
runtime-alpha units and the alpha-gradient unit; rows carry ``learned_alpha``, per layer); the GRU
compares exact ``tanh`` (tanh candidate, sigmoid gates) and ``isru`` (ISRU candidate, ISRU-sigmoid
gates) with the same hardware configurations of ISRU and the ISRU sigmoid, and hardware tanh and
sigmoid ``hw-tanh-bf16``. A row's ``activation`` is the plain name for exact functions and the
unit's configuration name for hardware ones.

``--quick``: digits only, 6 epochs, 2 seeds, five CNN and three GRU activations (a few minutes).
``--json -`` writes the rows to stdout (the table then goes to stderr). Exit status
(:mod:`hw.spec.cli`): 0 done, 2 bad usage (checked before any training).
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

from hw.spec.cli import command_line
from .files import atomic_write, check_output, json_on_stdout, write_json
from .networks import MENU, QUICK

__all__ = ["train_run", "summarize", "format_table", "main"]

MODELS = ("cnn", "gru")
LEARNING_RATE = (0.003, 0.0001)
BATCH = 100
DEFAULT_SEEDS = 5
DEFAULT_EPOCHS = 17                 # the paper's, for its first CNN
QUICK_EPOCHS = 6


def _module(spec):
    from .networks import exact
    if isinstance(spec, str):
        return exact(spec)
    from .nn import HardwareActivation
    function, params = spec
    return HardwareActivation(function, **params)


def _name(spec):
    return spec if isinstance(spec, str) else _module(spec).config.name


def _build(model, side, key):
    from .networks import PaperCNN, RowGRU
    candidate, gate = MENU[model][key]
    if model == "cnn":
        return PaperCNN(side, lambda: _module(candidate))
    return RowGRU(side, _module(candidate), _module(gate))


def _evaluate(net, x, y):
    import torch
    net.eval()
    with torch.no_grad():
        logits = torch.cat([net(x[i:i + 500]) for i in range(0, len(x), 500)])
        loss = torch.nn.functional.cross_entropy(logits, y).item()
        accuracy = (logits.argmax(1) == y).float().mean().item()
    net.train()
    return accuracy, loss


def train_run(model, data, key, seed, epochs, progress=None):
    """One training run: the ``--json`` row (see the module)."""
    import torch
    torch.manual_seed(seed)
    start = time.perf_counter()
    net = _build(model, data.side, key)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    xt, yt = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE[0])
    gamma = (LEARNING_RATE[1] / LEARNING_RATE[0]) ** (1 / max(epochs - 1, 1))
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma)
    order = torch.Generator().manual_seed(seed)
    curve = {"train_loss": [], "test_accuracy": [], "test_loss": []}
    for _ in range(epochs):
        total = 0.0
        for batch in torch.randperm(len(x), generator=order).split(BATCH):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        schedule.step()
        accuracy, test_loss = _evaluate(net, xt, yt)
        curve["train_loss"].append(total / len(x))
        curve["test_accuracy"].append(accuracy)
        curve["test_loss"].append(test_loss)
        if progress is not None:
            progress.update(1)
            progress.set_postfix(test_accuracy=f"{accuracy:.4f}")
    candidate, gate = MENU[model][key]
    row = {"model": model, "dataset": data.name, "activation": _name(candidate), "key": key, "seed": seed,
           "epochs": epochs, "test_accuracy": curve["test_accuracy"][-1], "test_loss": curve["test_loss"][-1],
           "seconds": round(time.perf_counter() - start, 2), "curve": curve}
    if gate is not None:
        row["gate"] = _name(gate)
    alphas = [torch.nn.functional.softplus(m.alpha_raw).tolist() for m in net.modules()
              if getattr(m, "alpha_raw", None) is not None]
    if alphas:
        row["learned_alpha"] = alphas
    return row


def summarize(rows):
    """Rows grouped by (model, dataset, activation): mean and standard deviation over seeds."""
    groups = {}
    for row in rows:
        groups.setdefault((row["model"], row["dataset"], row["activation"]), []).append(row)
    out = []
    for (model, dataset, activation), members in groups.items():
        acc = np.array([m["test_accuracy"] for m in members])
        loss = np.array([m["test_loss"] for m in members])
        out.append({"model": model, "dataset": dataset, "activation": activation, "key": members[0]["key"],
                    "seeds": len(members), "accuracy_mean": acc.mean(), "accuracy_sd": acc.std(ddof=1) if len(acc) > 1 else 0.0,
                    "loss_mean": loss.mean(), "loss_sd": loss.std(ddof=1) if len(loss) > 1 else 0.0,
                    "seconds": float(np.mean([m["seconds"] for m in members]))})
    return out


def format_table(summary):
    lines = ["| model | data | activation | seeds | test accuracy % (mean ± sd) | test loss (mean ± sd) | s/run |",
             "|---|---|---|---|---|---|---|"]
    for s in summary:
        lines.append(f"| {s['model']} | {s['dataset']} | {s['activation']} | {s['seeds']} | "
                     f"{100 * s['accuracy_mean']:.2f} ± {100 * s['accuracy_sd']:.2f} | "
                     f"{s['loss_mean']:.4f} ± {s['loss_sd']:.4f} | {s['seconds']:.1f} |")
    return "\n".join(lines)


def _plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = sorted({(r["model"], r["dataset"]) for r in rows})
    fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels), 4.4), squeeze=False)
    for ax, (model, dataset) in zip(axes[0], panels):
        names = list(dict.fromkeys(r["activation"] for r in rows if (r["model"], r["dataset"]) == (model, dataset)))
        for name in names:
            curves = np.array([r["curve"]["test_accuracy"] for r in rows
                               if (r["model"], r["dataset"], r["activation"]) == (model, dataset, name)]) * 100
            epochs = np.arange(1, curves.shape[1] + 1)
            mean, sd = curves.mean(0), curves.std(0)
            ax.plot(epochs, mean, label=name, linestyle="-" if "_" not in name else "--")
            ax.fill_between(epochs, mean - sd, mean + sd, alpha=0.15)
        ax.set_title(f"{model.upper()} on {dataset}: test accuracy (mean ± sd over seeds)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy %")
        final = [np.mean([r["test_accuracy"] for r in rows if (r["model"], r["dataset"], r["activation"]) == (model, dataset, n)])
                 for n in names]
        ax.set_ylim(max(0, 100 * min(final) - 8), 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=Path(path).suffix.lstrip(".") or "svg"))
    plt.close(fig)


def _list(parser, text, choices, what):
    items = [item for item in text.split(",") if item]
    bad = [item for item in items if item not in choices]
    if bad or not items:
        parser.error(f"{what} must be a comma-separated list of {', '.join(choices)}; not {', '.join(bad) or repr(text)}")
    return items


def main(argv=None):
    parser = command_line("golden.train", __doc__.split("\n\n")[1],
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="cnn,gru", help="cnn, gru or both (default both)")
    parser.add_argument("--dataset", default="digits", help="digits, mnist or both (default digits)")
    parser.add_argument("--activations", help="menu keys (default all of each model's; see the module text)")
    parser.add_argument("--seeds", type=int, help=f"runs per activation, seeds 0..N-1 (default {DEFAULT_SEEDS})")
    parser.add_argument("--epochs", type=int, help=f"epochs per run (default {DEFAULT_EPOCHS})")
    parser.add_argument("--quick", action="store_true", help=f"digits, {QUICK_EPOCHS} epochs, 2 seeds, a reduced set of activations")
    parser.add_argument("--json", help="write every run's row (with its curve) to FILE (- for stdout)")
    parser.add_argument("--plot", help="write the test-accuracy curves to FILE (.svg or .png)")
    args = parser.parse_args(argv)
    models = _list(parser, args.model, MODELS, "--model")
    from .datasets import DATASETS
    datasets = _list(parser, "digits" if args.quick else args.dataset, DATASETS, "--dataset")
    seeds = args.seeds if args.seeds is not None else (2 if args.quick else DEFAULT_SEEDS)
    epochs = args.epochs if args.epochs is not None else (QUICK_EPOCHS if args.quick else DEFAULT_EPOCHS)
    for flag, value in (("--seeds", seeds), ("--epochs", epochs)):
        if value < 1:
            parser.error(f"{flag} must be at least 1, not {value}")
    keys = {}
    for model in models:
        if args.activations:
            keys[model] = [k for k in _list(parser, args.activations, sorted(set(MENU["cnn"]) | set(MENU["gru"])),
                                            "--activations") if k in MENU[model]]
        else:
            keys[model] = list(QUICK[model] if args.quick else MENU[model])
    if not any(keys.values()):
        parser.error(f"--activations: none of {args.activations} is an activation of {', '.join(models)}")
    json_path = check_output(parser, "--json", args.json, (".json",), stdout=True)
    plot_path = check_output(parser, "--plot", args.plot, (".svg", ".png"))

    from tqdm import tqdm
    from .datasets import load
    rows = []
    with json_on_stdout(json_path):
        for dataset in datasets:
            data = load(dataset)
            for model in models:
                for key in keys[model]:
                    for seed in range(seeds):
                        with tqdm(total=epochs, desc=f"{model} {dataset} {key} seed {seed}",
                                  leave=False, file=sys.stderr, disable=None) as bar:
                            rows.append(train_run(model, data, key, seed, epochs, bar))
        summary = summarize(rows)
        print(format_table(summary))
        if plot_path:
            _plot(rows, plot_path)
            print(f"wrote {plot_path}")
    if json_path:
        write_json(json_path, {"runs": rows, "summary": summary})
        if json_path != "-":
            print(f"wrote {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
