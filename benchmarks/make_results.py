"""Generate ``benchmarks/RESULTS.md`` from the committed results files.

    python benchmarks/make_results.py            # rewrites benchmarks/RESULTS.md

Every table is computed from the rows in ``benchmarks/results/`` (mean ± standard deviation over
seeds, the published number beside ours); nothing here is typed in by hand except the section
texts. A section whose results file does not exist yet says so instead of a table.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from deepclust._io import atomic_write_text
from deepclust.bench import load_config, make_report, read_rows

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


@dataclass(frozen=True)
class Section:
    title: str
    text: str
    command: str
    config: str | None = None  # a harness config: the report of its results file
    render: object = None  # or a function(Path) -> markdown


def _pm(v: pd.Series, digits: int = 3) -> str:
    v = pd.to_numeric(v, errors="coerce").dropna()
    if v.empty:
        return "-"
    return f"{v.mean():.{digits}f}" if len(v) == 1 else f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"


# Agarap & Azcarraga (2019), DBI / silhouette / CH (REFERENCE_RESULTS.md).
_AGARAP = {
    ("mnist", "original"): (2.857, 0.061, 391.2), ("mnist", "reconstructed"): (2.300, 0.099, 563.4), ("mnist", "latent"): (1.557, 0.186, 1497.3),
    ("fashion-mnist", "original"): (1.811, 0.155, 1269.6), ("fashion-mnist", "reconstructed"): (1.419, 0.216, 2010.8), ("fashion-mnist", "latent"): (1.328, 0.238, 3609.2),
}


def render_vae_latent(path: Path) -> str:
    df = pd.DataFrame(read_rows(path))
    lines = ["| dataset | data | seeds | Davies-Bouldin ↓ | silhouette ↑ | Calinski-Harabasz ↑ | ACC | published DBI / sil / CH | VAE s |", "|---|---|---|---|---|---|---|---|---|"]
    for (ds, rep), g in df.groupby(["dataset", "representation"], sort=False):
        pub = _AGARAP.get((ds, rep))
        pub_s = f"{pub[0]:.3f} / {pub[1]:.3f} / {pub[2]:.1f}" if pub else "-"
        lines.append(f"| {ds} | {rep} | {len(g)} | {_pm(g['davies_bouldin'])} | {_pm(g['silhouette'])} | {_pm(g['calinski_harabasz'], 1)} | {_pm(g['acc'])} | {pub_s} | {_pm(g['vae_seconds'], 0)} |")
    prov = sorted(set(df["commit"])), sorted(set(df["device"])), sorted(set(df["noise"]))
    return "\n".join(lines) + f"\n\n- commit: {', '.join(prov[0])}\n- device: {', '.join(prov[1])}\n- test noise std: {', '.join(prov[2])}\n"


def render_csv_table(columns: list[str], group: list[str]):
    """A generic mean ± sd table of ``columns`` grouped by ``group`` (for the speed benchmarks)."""

    def render(path: Path) -> str:
        df = pd.DataFrame(read_rows(path))
        head = "| " + " | ".join(group + ["runs"] + columns) + " |"
        lines = [head, "|" + "---|" * (len(group) + 1 + len(columns))]
        for key, g in df.groupby(group, sort=False):
            key = key if isinstance(key, tuple) else (key,)
            lines.append("| " + " | ".join([*map(str, key), str(len(g))] + [_pm(g[c]) for c in columns]) + " |")
        prov = [f"- {c}: " + ", ".join(f"`{v}`" for v in sorted(set(df[c].astype(str)))) for c in ("commit", "device", "command") if c in df]
        return "\n".join(lines) + "\n\n" + "\n".join(prov) + "\n"

    return render


SECTIONS = [
    Section(
        "N2D on MNIST-70k (issue 2)",
        "N2D (autoencoder d-500-500-2000-10, UMAP `n_neighbors=20, min_dist=0` to 10 dims, full GMM) on all 70,000 images, beside UMAP + GMM, k-means and a diagonal GMM on the raw pixels. Seconds are the whole fit (pretraining, UMAP, GMM; data loading excluded).",
        "DEEPCLUST_DATA=../shared/data deepclust bench benchmarks/configs/mnist_n2d.toml",
        config="configs/mnist_n2d.toml",
    ),
    Section(
        "The N2D paper's Table II (issues 3 and 5)",
        "Every method deepclust has on the four columns of McConville et al. (2020), Table II, with one setting per method across datasets. The deep methods share one pretrained autoencoder per (dataset, seed) (`pretrain = \"shared\"`), as the DEC-family papers do; each row's seconds include that pretraining. `gmm-diag` stands in for the paper's raw-pixel GMM (a full-covariance GMM on 784 dimensions is impractical).",
        "DEEPCLUST_DATA=../shared/data deepclust bench benchmarks/configs/n2d_table2.toml",
        config="configs/n2d_table2.toml",
    ),
    Section(
        "VAE latent code vs original and reconstructed data (issues 3 and 5)",
        "Agarap & Azcarraga (2019): k-means (k=10) fitted on the 60k training images in each representation, labelling the 10k test images with Gaussian noise added; internal metrics on the noisy test set.",
        "DEEPCLUST_DATA=../shared/data python benchmarks/vae_latent.py --datasets mnist fashion-mnist --seeds 0-2",
        render=lambda: _maybe(RESULTS / "vae_latent.csv", render_vae_latent),
    ),
]


def _maybe(path: Path, fn) -> str:
    return fn(path) if path.is_file() and read_rows(path) else f"_No results yet: `{path.relative_to(HERE.parent)}` does not exist._\n"


def build() -> str:
    out = ["# Benchmark results", "", "Generated by `python benchmarks/make_results.py` from the files in `benchmarks/results/`; do not edit by hand. "
           "Mean ± standard deviation over seeds. Labels are used only for scoring. Every row of the results files records its command, commit, seed and machine.", ""]
    for s in SECTIONS:
        out += [f"## {s.title}", "", s.text, "", f"```bash\n{s.command}\n```", ""]
        if s.config:
            cfg = load_config(HERE / s.config)
            if cfg.results.is_file() and read_rows(cfg.results):
                md = make_report([cfg.results], title=s.title, extra_published=cfg.published).markdown
                out.append(md.split("\n", 2)[2] if md.startswith("## ") else md)  # drop the report's own title
            else:
                out.append(f"_No results yet: `{cfg.results.relative_to(HERE.parent)}` does not exist._\n")
        else:
            out.append(s.render())
    return "\n".join(out)


def main() -> int:
    atomic_write_text(HERE / "RESULTS.md", build())
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
