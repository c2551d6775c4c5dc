"""One self-contained HTML page per run folder: tables, plots, images and the training GIF.

Every image is embedded as a ``data:`` URI, so the page can be mailed or archived alone. Each
section appears only when the run folder holds what it needs (see :mod:`deepclust.runs`).
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from deepclust._io import atomic_write_text

logger = logging.getLogger(__name__)

__all__ = ["build_report", "write_report"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}th,td{border:1px solid #ccc;padding:.2em .5em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
img{max-width:100%;height:auto;margin:.3em 0}.row{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
.warn{background:#fff3cd;border:1px solid #e0c36c;padding:.5em .8em;border-radius:4px}.note{color:#666;font-size:.9em}
details{margin:.5em 0}summary{cursor:pointer;color:#245}
"""

# After load: every <img> that failed (naturalWidth 0) is listed on <body data-broken-images>,
# so a headless browser (and the test) can see whether all pictures rendered.
_CHECK = """
<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (im) { return !im.complete || im.naturalWidth === 0; });
  document.body.setAttribute('data-images', String(imgs.length));
  document.body.setAttribute('data-broken-images', String(broken.length));
  document.body.setAttribute('data-broken-names', broken.map(function (im) { return im.alt; }).join('|'));
});
</script>
"""


def _img(data: bytes, mime: str, alt: str, width: int | None = None) -> str:
    style = f' style="width:{width}px"' if width else ""
    return f'<img alt="{html.escape(alt)}" src="data:{mime};base64,{base64.b64encode(data).decode("ascii")}"{style}>'


def _fig(fig, alt: str, dpi: int = 90) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return _img(buf.getvalue(), "image/png", alt)


def _table(frame: pd.DataFrame, max_rows: int = 30, floatfmt: str = "{:.4g}") -> str:
    shown = frame.head(max_rows)
    out = shown.to_html(index=False, escape=True, border=0, na_rep="", float_format=lambda v: floatfmt.format(v))
    if len(frame) > max_rows:
        out += f'<p class="note">first {max_rows} of {len(frame)} rows</p>'
    return out


def _read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _section(title: str, body: str) -> str:
    return f"<h2>{html.escape(title)}</h2>\n{body}\n"


# -- sections ------------------------------------------------------------------------------
def _summary(run: Path, doc: dict) -> str:
    keys = ["dataset", "n_samples", "n_features", "method", "n_clusters", "seed", "scale", "fit_seconds", "deepclust_version"]
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(doc[k]))}</td></tr>" for k in keys if k in doc)
    metrics = doc.get("metrics", {})
    mrows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v:.4f}</td></tr>" if isinstance(v, float) else f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in metrics.items()
    )
    body = f'<div class="row"><table>{rows}</table><table><tr><th>metric</th><th>value</th></tr>{mrows}</table></div>'
    body += f'<p class="note">Internal metrics are computed in {html.escape(doc.get("internal_metrics_space", "the clustered representation"))}.</p>'
    return _section("Run and metrics", body)


def _embedding(run: Path, doc: dict) -> str:
    from deepclust.plotting import plot_contingency, plot_embedding

    path = run / "embedding_2d.npz"
    if not path.is_file():
        png = run / "embedding.png"
        return _section("Embedding", _img(png.read_bytes(), "image/png", "embedding")) if png.is_file() else ""
    with np.load(path, allow_pickle=False) as z:
        coords, cluster = z["coords"], z["cluster"]
        y_true = z["y_true"] if "y_true" in z.files else None
        projection = str(z["projection"]) if "projection" in z.files else "pca"
    axis = "first two principal components of the clustered representation" if projection == "pca" else "the 2-D clustered representation itself"
    parts = [_fig(plot_embedding(coords, cluster, title="coloured by cluster").figure, "embedding by cluster")]
    classes = doc.get("classes")
    if y_true is not None:
        names = np.asarray(classes, dtype=object)[y_true] if classes and len(classes) > int(y_true.max()) else y_true
        parts.append(_fig(plot_embedding(coords, names, title="coloured by reference label").figure, "embedding by reference label"))
    body = f'<p class="note">Axes: {axis}.</p><div class="row">{"".join(parts)}</div>'
    out = _section("Embedding", body)
    if y_true is not None:
        ax = plot_contingency(cluster, y_true, title="clusters against reference labels", class_names=classes)
        out += _section("Contingency with the reference labels", _fig(ax.figure, "contingency heatmap"))
    return out


def _voronoi(run: Path, doc: dict) -> str:
    path = run / "embedding_2d.npz"
    if not path.is_file():
        return ""
    with np.load(path, allow_pickle=False) as z:
        if "centers" not in z.files:
            return ""
        coords, centers = z["coords"], z["centers"]
        labels = z["model_cluster"] if "model_cluster" in z.files else z["cluster"]
    from deepclust.plotting import plot_voronoi

    ax = plot_voronoi(coords, labels, centers, title="nearest-centre regions (Voronoi cells) of the clusters")
    return _section("Voronoi regions of the 2-D embedding", _fig(ax.figure, "voronoi regions") + '<p class="note">As in Agarap &amp; Azcarraga (2018): each region is the set of points whose nearest centre is that cluster\'s.</p>')


def _training_note(doc: dict) -> str:
    """How long the network trained and why it stopped (``metrics.json`` ``"training"``)."""
    t = doc.get("training")
    if not isinstance(t, dict):
        return ""
    ran = f"{t.get('steps', '?')} optimiser steps in {t.get('epochs', '?')} epochs"
    return (f'<p class="note">Training: {html.escape(ran)}; stopped: {html.escape(str(t.get("stop_reason", "unknown")))}. '
            f'Budget: {html.escape(str(t.get("budget", "unknown")))}.</p>')


def _history(run: Path, doc: dict) -> str:
    note = _training_note(doc)
    history = _read_json(run / "history.json")
    fig = None
    if history:
        from deepclust.plotting import plot_history

        try:
            fig = plot_history(history)
        except ValueError:
            fig = None
    if fig is None and not note:
        return ""
    return _section("Training curves", note + (_fig(fig, "training curves") if fig is not None else ""))


def _animation(run: Path, doc: dict) -> str:
    path = run / "snapshots.npz"
    if not path.is_file():
        return ""
    from deepclust.plotting import embedding_animation

    with np.load(path, allow_pickle=False) as z:
        coords, epochs, phases, index = z["coords"], z["epoch"], z["phase"], z["index"]
    if coords.shape[0] < 2:
        return ""
    labels = pd.read_csv(run / "labels.csv")["cluster"].to_numpy()[index]
    n_phases = int(phases.max()) + 1
    names = ["pretraining", "clustering"] if n_phases == 2 else [f"phase {i + 1}" for i in range(n_phases)]
    titles = [("before training" if e < 0 else f"{names[p]}: epoch {e + 1}") if n_phases > 1 else ("before training" if e < 0 else f"epoch {e + 1}") for e, p in zip(epochs, phases)]
    gif = embedding_animation(coords, labels, titles=titles)
    note = f'<p class="note">{coords.shape[1]} samples, {coords.shape[0]} recorded frames, coloured by their final cluster; each frame is the first two principal components of the codes, rotated onto the previous frame.</p>'
    return _section("Embedding during training", _img(gif, "image/gif", "embedding animation") + note)


def _select_k(run: Path, doc: dict) -> str:
    path = run / "select_k.csv"
    if not path.is_file():
        return ""
    table = pd.read_csv(path)
    info = doc.get("select_k", {})
    from deepclust.plotting import plot_k_sweep

    fig = plot_k_sweep(table, chosen=info.get("chosen_k"), threshold=info.get("threshold"))
    body = f"<p>Rule: {html.escape(info.get('rule', ''))}.<br>Chosen: {html.escape(info.get('reason', ''))}.</p>" + _fig(fig, "k sweep") + _table(table)
    return _section("Choosing k", body)


def _stability(run: Path, doc: dict) -> str:
    info = _read_json(run / "stability.json")
    if not info:
        return ""
    from deepclust.plotting import plot_ari_matrix

    ax = plot_ari_matrix(info["pairwise_ari"], names=info["runs"], title="pairwise ARI between seeds")
    clusters = pd.DataFrame(info["clusters"])
    body = (
        f"<p>Mean pairwise ARI {info['mean_pairwise_ari']:.3f} (min {info['min_pairwise_ari']:.3f}). "
        f"Labels are the consensus of the seeds; the saved model is seed {html.escape(str(info.get('model_seed', info.get('best_run'))))}, "
        "the fit that agrees best with the consensus.</p>"
    )
    if info.get("unstable_clusters"):
        body += f'<p class="warn">Unstable clusters (stability below {info["unstable_threshold"]}): {", ".join(map(str, info["unstable_clusters"]))}. Their membership changes from seed to seed; do not over-interpret them.</p>'
    body += f'<div class="row">{_fig(ax.figure, "ARI matrix")}<div>{_table(clusters)}<p class="note">{html.escape(info["per_cluster_stability_definition"])}.</p></div></div>'
    if info.get("per_seed"):
        body += "<details><summary>per seed</summary>" + _table(pd.DataFrame(info["per_seed"])) + "</details>"
    return _section("Stability across seeds", body)


def _explain(run: Path, doc: dict) -> str:
    folder = run / "explain"
    if not folder.is_dir():
        return ""
    body = ""
    if (folder / "heatmap.png").is_file():
        body += _img((folder / "heatmap.png").read_bytes(), "image/png", "top features heatmap")
    if (folder / "kruskal.csv").is_file():
        body += "<h3>Features across all clusters (Kruskal-Wallis, BH q-values)</h3>" + _table(pd.read_csv(folder / "kruskal.csv"), 15)
    if (folder / "features.csv").is_file():
        feats = pd.read_csv(folder / "features.csv")
        top = feats[feats["rank"] <= 5]
        cols = [c for c in ["cluster", "rank", "feature", "n_in", "mean_in", "mean_out", "log2_fold_change", "cliffs_delta", "q_value"] if c in top.columns]
        body += "<h3>Top features of each cluster (one-vs-rest Mann-Whitney U)</h3>" + _table(top[cols].dropna(axis=1, how="all"), 200)
    if (folder / "covariates.csv").is_file():
        body += "<h3>Covariates</h3>" + _table(pd.read_csv(folder / "covariates.csv"), 50)
    return _section("What distinguishes the clusters", body) if body else ""


def _confounders(run: Path, doc: dict) -> str:
    info = doc.get("confounders")
    if not isinstance(info, dict):
        return ""
    body = ""
    if info.get("warning"):
        body += f'<p class="warn">{html.escape(str(info["warning"]))}</p>'
    rows = info.get("associations")
    if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
        body += _table(pd.DataFrame(rows), 50)
    return _section("Confounders", body) if body else ""


def _images(run: Path, doc: dict) -> str:
    path = run / "images.npz"
    if not path.is_file():
        return ""
    from deepclust.plotting import plot_image_grid

    out = ""
    with np.load(path, allow_pickle=False) as z:
        shape = tuple(int(s) for s in z["image_shape"])
        if "originals" in z.files:
            orig, rec = z["originals"], z["reconstructions"]
            half = max(1, orig.shape[0] // 2)
            grid = np.stack([orig[:half], rec[:half], orig[half : 2 * half], rec[half : 2 * half]]) if orig.shape[0] >= 2 * half and half > 0 and orig.shape[0] > 1 else np.stack([orig, rec])
            labels = ["data", "reconstruction"] * (grid.shape[0] // 2)
            out += _section("Reconstructions", _fig(plot_image_grid(grid, shape, row_labels=labels), "reconstructions"))
        clusters = z["clusters"] if "clusters" in z.files else np.arange(z["nearest"].shape[0])
        out += _section("Samples nearest each cluster centre", _fig(plot_image_grid(z["nearest"], shape, row_labels=[f"cluster {c}" for c in clusters]), "nearest samples"))
        if "generated" in z.files:
            gen = z["generated"]
            out += _section("Generated samples per cluster (VaDE)", _fig(plot_image_grid(gen, shape, row_labels=[f"cluster {c}" for c in range(gen.shape[0])]), "generated samples"))
    return out


_SECTIONS: list[Callable[[Path, dict], str]] = [_summary, _embedding, _voronoi, _history, _animation, _select_k, _stability, _explain, _confounders, _images]


def build_report(run_dir: str | Path, *, progress: bool = False) -> str:
    """The HTML text of the report of a run folder written by ``deepclust fit``.

    Parameters
    ----------
    run_dir : path
        A run folder (it must hold ``metrics.json`` and ``labels.csv``).
    progress : bool, default=False
        A progress bar over the sections.

    Returns
    -------
    str
        A complete HTML document; images are ``data:`` URIs.
    """
    run = Path(run_dir)
    if not (run / "metrics.json").is_file() or not (run / "labels.csv").is_file():
        raise FileNotFoundError(f"{str(run)!r} is not a run folder: it lacks metrics.json or labels.csv (write one with 'deepclust fit')")
    doc = _read_json(run / "metrics.json")
    sections = _SECTIONS
    if progress:
        from tqdm.auto import tqdm

        sections = tqdm(_SECTIONS, desc="report", unit="section", leave=False)
    body = []
    for section in sections:
        try:
            body.append(section(run, doc))
        except (OSError, ValueError, KeyError) as exc:  # one damaged file must not lose the whole page
            logger.warning("report: section %s skipped: %s", section.__name__.strip("_"), exc)
            body.append(f'<p class="warn">Section {html.escape(section.__name__.strip("_"))} could not be drawn: {html.escape(str(exc))}</p>')
    title = f"deepclust: {doc.get('method', '?')} on {doc.get('dataset', '?')}"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_CSS}</style></head><body>\n<h1>{html.escape(title)}</h1>\n<p class=\"note\">Run folder: {html.escape(str(run))}</p>\n"
        + "".join(body)
        + _CHECK
        + "</body></html>\n"
    )


def write_report(run_dir: str | Path, out: str | Path | None = None, *, progress: bool = False) -> Path:
    """Write :func:`build_report` to ``out`` (default ``RUN_DIR/report.html``) atomically; return the path."""
    out = Path(out) if out is not None else Path(run_dir) / "report.html"
    text = build_report(run_dir, progress=progress)
    atomic_write_text(out, text)
    return out
