"""golden.train: one short run per model through exact and hardware activations writes the
documented rows and a plot; runs are reproducible from their seed; bad usage exits 2 before any
training and leaves no file."""
import json

import pytest

pytest.importorskip("torch")

from golden import train                                          # noqa: E402
from golden.datasets import load                                  # noqa: E402


def test_short_run_writes_rows_and_plot(tmp_path, capsys):
    out, plot = tmp_path / "runs.json", tmp_path / "curves.svg"
    assert train.main(["--activations", "isrlu,hw-bf16,isru", "--seeds", "2", "--epochs", "1",
                       "--json", str(out), "--plot", str(plot)]) == 0
    data = json.loads(out.read_text())
    rows = {(r["model"], r["activation"], r["seed"]): r for r in data["runs"]}
    assert set(rows) == {("cnn", "isrlu", 0), ("cnn", "isrlu", 1), ("cnn", "isrlu_bf16_a1_pwl11_n0", 0),
                         ("cnn", "isrlu_bf16_a1_pwl11_n0", 1), ("gru", "isru", 0), ("gru", "isru", 1),
                         ("gru", "isru_bf16_a1_pwl11_n0", 0), ("gru", "isru_bf16_a1_pwl11_n0", 1)}
    for row in data["runs"]:
        assert {"activation", "dataset", "seed", "epochs", "test_accuracy", "test_loss", "seconds"} <= set(row)
        assert row["dataset"] == "digits" and row["epochs"] == 1 and 0.1 < row["test_accuracy"] <= 1
    assert rows[("gru", "isru", 0)]["gate"] == "isru-sigmoid"
    assert rows[("gru", "isru_bf16_a1_pwl11_n0", 0)]["gate"] == "isru_sigmoid_bf16_a1_pwl11_n0"
    assert len(data["summary"]) == 4 and all(s["seeds"] == 2 for s in data["summary"])
    assert plot.read_text().lstrip().startswith("<?xml")
    assert "isrlu_bf16_a1_pwl11_n0 | 2 |" in capsys.readouterr().out


def test_a_run_is_reproducible_from_its_seed():
    data = load("digits")
    first, second = (train.train_run("cnn", data, "hw-bf16", 3, 1) for _ in range(2))
    assert first["curve"] == second["curve"]


@pytest.mark.parametrize("args", [["--activations", "swish"], ["--model", "mlp"], ["--seeds", "0"],
                                  ["--json", "missing/runs.json"], ["--plot", "curves.pdf"]])
def test_bad_usage_exits_2_and_writes_nothing(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        train.main(args)
    assert exit_.value.code == 2
    assert list(tmp_path.iterdir()) == []
