"""Same seed, same labels: every method's labels on digits match the recorded ones.

The records (tests/data/method_labels_digits*.json, one per CPU class: float32 kernels and
numba's code differ between AVX2 and AVX-512) are written by tests/make_label_fingerprints.py;
the first before the redesign of issue 14. A refactoring that changes any method's arithmetic
fails here. An intended change re-records with that script; a CPU class without a record skips
the comparison and says how to record one.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location("make_label_fingerprints", HERE / "make_label_fingerprints.py")
fp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fp)
RECORDS = {p.name: json.loads(p.read_text()) for p in sorted((HERE / "data").glob("method_labels_digits*.json"))}
RECORD = RECORDS.get(fp.record_path().name)  # this CPU class's record, None where it has none


@pytest.fixture(scope="module")
def X():
    return fp.digits_rows()


@pytest.mark.parametrize("name", sorted(set(RECORDS["method_labels_digits.json"]) - {fp.STALE}))
def test_labels_unchanged(name, X):
    if RECORD is None:
        pytest.skip(f"no label record for this CPU class ({fp.cpu_class()}); write one with python tests/make_label_fingerprints.py")
    if name in RECORD.get(fp.STALE, {}):
        pytest.skip(f"{name}'s record for this CPU class ({fp.cpu_class()}) is stale ({RECORD[fp.STALE][name]}); re-record with python tests/make_label_fingerprints.py {name}")
    expected = np.array([ord(c) - 48 for c in RECORD[name]])
    got = fp.method_labels(name, X)
    assert got.shape == expected.shape
    n_diff = int((got != expected).sum())
    assert n_diff == 0, f"{name}: {n_diff} of {len(got)} labels differ from the record"


@pytest.mark.parametrize("record", sorted(RECORDS))
def test_record_covers_every_method(record):
    from deepclust.methods.registry import METHODS

    missing = sorted(set(METHODS) - set(RECORDS[record]))
    assert not missing, f"{record}: methods without recorded labels: {missing}"
    unknown = sorted(set(RECORDS[record].get(fp.STALE, {})) - set(METHODS))
    assert not unknown, f"{record}: stale entries for methods that do not exist: {unknown}"


def test_a_stale_mark_is_only_where_the_labels_cannot_be_recorded():
    """This CPU class's own record never carries a stale mark: re-recording here clears it."""
    if RECORD is not None:
        assert not RECORD.get(fp.STALE), f"stale entries in this CPU class's record: {sorted(RECORD[fp.STALE])}; run python tests/make_label_fingerprints.py {' '.join(sorted(RECORD[fp.STALE]))}"


def test_cpu_class_names_vendor_and_instruction_set():
    vendor, _, isa = fp.cpu_class().rpartition("-")
    assert vendor and isa
    assert fp.record_path("AuthenticAMD-AVX2").name == "method_labels_digits.json"
    assert fp.record_path("GenuineIntel-AVX512").name == "method_labels_digits_GenuineIntel-AVX512.json"
