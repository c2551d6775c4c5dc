"""Write this CPU class's record of every registered method's labels on digits.

The redesign of issue 14 must not change any method's labels for a given seed. This script
records them with small pinned settings (float32, a small network, a few epochs) so that the
comparison in tests/test_same_labels.py is quick and does not depend on default values that
later work may change on purpose. Run it only when a change of labels is intended (then on
every CPU class that has a record), or to add the record of a new CPU class, and say why in the
commit:

    python tests/make_label_fingerprints.py          # every method
    python tests/make_label_fingerprints.py vade     # the methods a change meant to alter

Naming methods also marks them stale in the other CPU classes' records (``"_stale"``: their
labels there are no longer known), which tests/test_same_labels.py skips with that reason until
the script is run on such a CPU. When nothing changed on purpose and only this CPU class's
record is missing or stale (a new machine of a known class, or catching up after another
class's change), ``--this-class-only`` leaves the other records alone:

    python tests/make_label_fingerprints.py --this-class-only dec idec

The labels are the same run after run on one machine, but not across CPU classes: float32
kernels (oneDNN, MKL) and numba's compiled code (UMAP) take other arithmetic orders on AVX-512
than on AVX2 (measured at stop 25: a 2-core Intel Xeon with AVX-512 reproduced 15 of 25 methods'
AMD EPYC (AVX2) records exactly; the other 10 at ARI 0.61-0.998). So there is one record per
:func:`cpu_class`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"
STALE = "_stale"  # method -> why its recorded labels are no longer known on this CPU class
#: the first record (stops 14-24, the 2-core AMD EPYC) keeps its file name
NAMED = {"AuthenticAMD-AVX2": "method_labels_digits.json"}
SEED = 0
N_SAMPLES = 600  # the first rows of digits: enough for every method, seconds each


def cpu_class() -> str:
    """The CPU's vendor and the vector instruction set torch dispatches to, e.g. "GenuineIntel-AVX512"."""
    import platform

    import torch

    vendor = platform.machine() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as fh:
            vendor = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("vendor_id")), vendor)
    except OSError:
        pass
    return f"{vendor}-{torch.backends.cpu.get_cpu_capability()}"


def record_path(cls: str | None = None) -> Path:
    """The record file of CPU class ``cls`` (default: this machine's)."""
    cls = cls or cpu_class()
    return DATA / NAMED.get(cls, f"method_labels_digits_{cls}.json")


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

    args = sys.argv[1:]
    only_here = "--this-class-only" in args
    names = [a for a in args if a != "--this-class-only"]
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise SystemExit(f"unknown method(s): {', '.join(unknown)}")
    named = bool(names)
    X = digits_rows()
    names = names or list(METHODS)
    out = record_path()
    doc = json.loads(out.read_text()) if out.exists() else {}
    for name in names:
        doc[name] = "".join(chr(48 + int(v)) for v in method_labels(name, X))  # "0".."9", then ":;<..." past 9
        doc.get(STALE, {}).pop(name, None)
        print(name, "done", flush=True)
    if not doc.get(STALE, True):
        del doc[STALE]
    out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out} ({cpu_class()})")
    if named and not only_here:
        # An intended change to these methods makes their labels in the other CPU classes'
        # records unknown too, and those can only be recorded on such a CPU: mark them stale
        # there (the test skips them and says so) until someone re-records on that class.
        from deepclust.bench._results import git_commit

        commit = git_commit()
        for other in sorted(DATA.glob("method_labels_digits*.json")):
            if other == out:
                continue
            odoc = json.loads(other.read_text())
            odoc.setdefault(STALE, {}).update({n: f"labels changed on purpose; re-recorded at {commit} on {cpu_class()} only" for n in names if n in odoc})
            other.write_text(json.dumps(odoc, indent=1, sort_keys=True) + "\n")
            print(f"marked {names} stale in {other.name}")


if __name__ == "__main__":
    main()
