"""golden.exhaustive: recorded sweeps over every FP32 input apply only to the golden model they
measured (its fingerprint), and exported descriptors state them."""
import json

import numpy as np
import pytest

from golden import exhaustive
from golden.accuracy import fingerprint, grad_one, measure
from golden.eval import evaluate
from hw.emit.accuracy import core_accuracy
from hw.spec.config import Config

RECORDS = exhaustive.records()


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_record_is_for_the_current_golden_model(name):
    """Fails when a datapath changes without a new sweep: rerun the record's command and replace
    the record (or drop it; the descriptor then states a sampled figure)."""
    record = RECORDS[name]
    config = Config(**record["config"])
    assert config.name == name and config.format.width == 32
    assert exhaustive.recorded(config) is record, "the golden model's fingerprint changed"
    operands = {"x": np.array([int(record["worst_input"], 16)], dtype=np.uint64)}
    if config.is_backward:
        operands["grad"] = np.array([grad_one(config.format)], dtype=np.uint64)
    y, _ = evaluate(config, **operands)
    assert f"{int(y[0]):#010x}" == record["worst_output"]
    worst = measure(config, inputs=operands["x"], progress=False)
    assert worst["max_ulp"] == pytest.approx(record["max_ulp"], abs=1e-9)
    assert 0 <= record["not_correctly_rounded"] <= record["inputs"] == 1 << 32


def test_fingerprint_tells_models_apart():
    a, b = Config("fp32", function="isru", alpha=1.0), Config("fp32", function="isru", alpha=0.5)
    assert fingerprint(a) == fingerprint(a) != fingerprint(b)
    assert len(fingerprint(a)) == 16


def test_descriptor_states_the_recorded_sweep_beside_the_sampled_one():
    accuracy = core_accuracy(Config("fp32", function="isru", alpha=1.0))
    assert accuracy["exhaustive"] and accuracy["inputs"] == 1 << 32
    assert accuracy["max_ulp"] == 0.652959 and accuracy["not_correctly_rounded"] == 8_083_756
    assert accuracy["sampled"]["inputs"] == 100_000 and accuracy["sampled"]["max_ulp"] < 0.653
    assert "4,294,967,296 inputs" in accuracy["summary"] and "recorded sweep" in accuracy["summary"]


def test_a_changed_model_falls_back_to_the_sampled_figure(monkeypatch):
    config = Config("fp32", function="isru", alpha=1.0)
    stale = {**RECORDS[config.name], "fingerprint": "0" * 16}
    monkeypatch.setattr(exhaustive, "records", lambda: {config.name: stale})
    assert exhaustive.recorded(config) is None
    accuracy = core_accuracy(config)
    assert not accuracy["exhaustive"] and accuracy["inputs"] == 100_000 and "sampled" not in accuracy


def test_records_file_is_valid_json_with_unique_names():
    rows = json.loads(exhaustive.RECORDS.read_text())
    assert len({row["name"] for row in rows}) == len(rows) == len(RECORDS)
