"""Summarise benchmarks/results/exposome_batch.csv and its associations file as Markdown tables.

    python examples/exposome_batch/summarize.py

For every (table, method): the number of seeds run, ARI and NMI against the cohort (mean ± sd),
and the association of the clusters with the measurement plate (Cramér's V, mean over seeds,
and the largest p-value) and with the time of blood sampling (eta, the square root of eta²).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def summarize(results: Path = ROOT / "exposome_batch.csv") -> str:
    res = pd.read_csv(results)
    res = res[res["status"] == "ok"]
    assoc_path = results.with_name(results.stem + "_associations.csv")
    assoc = pd.read_csv(assoc_path) if assoc_path.is_file() else pd.DataFrame(columns=["dataset", "method", "seed", "covariate"])
    order_d = list(dict.fromkeys(res["dataset"]))
    order_m = ["kmeans", "gmm", "ae-kmeans", "ae-kmeans+aug", "n2d", "dec", "vade"]
    lines = [
        "| table | method | seeds | ARI vs cohort | NMI vs cohort | plate: Cramér's V | plate: largest p | blood_sam4: eta |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for d in order_d:
        for m in [m for m in order_m if m in set(res["method"])] + sorted(set(res["method"]) - set(order_m)):
            r = res[(res["dataset"] == d) & (res["method"] == m)]
            if r.empty:
                continue
            a = assoc[(assoc["dataset"] == d) & (assoc["method"] == m)]
            plate = a[a["covariate"] == "plate_batch"]
            blood = a[a["covariate"] == "blood_sam4"]
            v = f"{plate['effect_size'].mean():.3f}" if len(plate) else "-"
            p = f"{plate['p_value'].max():.1e}" if len(plate) else "-"
            eta = f"{np.sqrt(blood['effect_size']).mean():.3f}" if len(blood) else "-"
            lines.append(
                f"| {d} | {m} | {len(r)} | {r['ari'].mean():.3f} ± {r['ari'].std(ddof=0):.3f} | "
                f"{r['nmi'].mean():.3f} ± {r['nmi'].std(ddof=0):.3f} | {v} | {p} | {eta} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarize())
