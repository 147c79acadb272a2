"""Recorded exhaustive accuracy sweeps of wide formats, and the fingerprint that ties a record to
the golden model it measured.

A sweep over all 2^32 FP32 inputs (``python -m golden.accuracy --format fp32 --exhaustive``) takes
15 to 90 minutes here, too long to rerun on every export; its result is recorded in
``golden/data/exhaustive_records.json`` (package data) with the *fingerprint* of the golden model
it measured (:func:`golden.accuracy.fingerprint`: a digest of the model's raw results on fixed
random inputs). A record applies to a configuration only while the current model
gives the same fingerprint, so a changed datapath falls back to a sampled measurement instead of
inheriting a stale figure. ``measured`` says what the sweep covered (all inputs, or one half and
the function's symmetry).
"""
import json
from functools import lru_cache
from pathlib import Path

from hw.spec.config import Config
from .accuracy import fingerprint

__all__ = ["recorded", "records", "RECORDS"]

RECORDS = Path(__file__).resolve().parent / "data" / "exhaustive_records.json"


@lru_cache(maxsize=None)
def records():
    """Every recorded sweep, by configuration name."""
    return {record["name"]: record for record in json.loads(RECORDS.read_text())}


def recorded(config: Config):
    """The recorded sweep of ``config`` if its golden model still gives the record's fingerprint,
    else None."""
    record = records().get(config.name)
    if record is None or record["config"] != config.to_dict() or record["fingerprint"] != fingerprint(config):
        return None
    return record
