"""Write tests/data/method_labels_digits.json: every registered method's labels on digits.

The redesign of issue 14 must not change any method's labels for a given seed. This script
records them with small pinned settings (float32, a small network, a few epochs) so that the
comparison in tests/test_same_labels.py is quick and does not depend on default values that
later work may change on purpose. Run it only when a change of labels is intended, and say
why in the commit:

    python tests/make_label_fingerprints.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "data" / "method_labels_digits.json"
SEED = 0
N_SAMPLES = 600  # the first rows of digits: enough for every method, seconds each


def pinned_options(name: str) -> dict:
    """Embedding options for method ``name``, restricted to those its embedding takes."""
    from deepclust.methods.registry import METHODS, _params_of

    spec = METHODS[name]
    if not spec.deep:
        return {}
    wanted = {"epochs": 3, "batch_size": 128, "hidden_dims": [64, 128], "precision": "float32", "device": "cpu", "projection_dims": [64, 32]}
    params = _params_of(spec.embedding)
    return {k: v for k, v in wanted.items() if k in params}


def method_labels(name: str, X: np.ndarray) -> np.ndarray:
    import torch
    from threadpoolctl import threadpool_limits

    from deepclust.methods.registry import build_method

    # One thread for torch, BLAS and OpenMP (k-means): the same arithmetic order whatever the
    # machine's core count or OMP_NUM_THREADS, so the record is comparable everywhere.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            est = build_method(name, 10, SEED, embedding=pinned_options(name))
            est.fit(X)
    finally:
        torch.set_num_threads(threads)
    return np.asarray(est.labels_)


def digits_rows() -> np.ndarray:
    from deepclust.datasets import load_dataset

    X = load_dataset("digits").X[:N_SAMPLES].astype(np.float64)
    X = X[:, X.std(0) > 0.2 * X.std(0).max()]  # near-constant pixels make a full-covariance GMM singular
    return X.astype(np.float32)  # in [0, 1], as VaDE's Bernoulli likelihood needs


def main() -> None:
    from deepclust.methods.registry import METHODS

    X = digits_rows()
    names = sys.argv[1:] or list(METHODS)
    doc = json.loads(OUT.read_text()) if OUT.exists() else {}
    for name in names:
        doc[name] = "".join(chr(48 + int(v)) for v in method_labels(name, X))  # "0".."9", then ":;<..." past 9
        print(name, "done", flush=True)
    OUT.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
