"""Same seed, same labels: every method's labels on digits match the recorded ones.

The record (tests/data/method_labels_digits.json) was written by
tests/make_label_fingerprints.py before the redesign of issue 14; a refactoring that changes
any method's arithmetic fails here. An intended change re-records with that script.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
RECORD = json.loads((HERE / "data" / "method_labels_digits.json").read_text())
_spec = importlib.util.spec_from_file_location("make_label_fingerprints", HERE / "make_label_fingerprints.py")
fp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fp)


@pytest.fixture(scope="module")
def X():
    return fp.digits_rows()


@pytest.mark.parametrize("name", sorted(RECORD))
def test_labels_unchanged(name, X):
    expected = np.array([ord(c) - 48 for c in RECORD[name]])
    got = fp.method_labels(name, X)
    assert got.shape == expected.shape
    n_diff = int((got != expected).sum())
    assert n_diff == 0, f"{name}: {n_diff} of {len(got)} labels differ from the record"


def test_record_covers_every_method():
    from deepclust.methods.registry import METHODS

    assert set(METHODS) <= set(RECORD), f"methods without recorded labels: {sorted(set(METHODS) - set(RECORD))}"
