"""Aggregate results files into a markdown table and a self-contained HTML page."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from deepclust._io import atomic_write_text
from deepclust.bench._results import read_rows
from deepclust.bench.published import published


@dataclass(frozen=True)
class Report:
    table: pd.DataFrame  # one row per dataset x method
    markdown: str
    html: str


def load_results(paths) -> pd.DataFrame:
    """Read results CSVs; the latest row of each (dataset, method, seed) cell wins."""
    frames = []
    for p in paths:
        rows = read_rows(p)
        if not rows and not Path(p).exists():
            raise FileNotFoundError(f"results file {str(p)!r} does not exist")
        frames.append(pd.DataFrame(rows))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if df.empty:
        raise ValueError("no result rows to report")
    for col in ("status", "error", "params"):
        if col not in df:
            df[col] = "ok" if col == "status" else ""
    df["status"] = df["status"].fillna("ok").replace("", "ok")
    for col in ("seed", "n_samples", "acc", "nmi", "ari", "seconds", "peak_rss_mb"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    return df.drop_duplicates(["dataset", "method", "seed"], keep="last").reset_index(drop=True)


def _pm(values: pd.Series, digits: int) -> str:
    v = values.dropna()
    if v.empty:
        return "-"
    if len(v) == 1:
        return f"{v.iloc[0]:.{digits}f}"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"


def aggregate(df: pd.DataFrame, extra_published: list[dict] | None = None) -> pd.DataFrame:
    """Mean ± sd per dataset x method, the published numbers beside them, and the gap."""
    out = []
    settings_by_method = {m: g.groupby("dataset")["params"].first().to_dict() for m, g in df.groupby("method", sort=False)}
    for (ds, method), g in df.groupby(["dataset", "method"], sort=False):
        ok = g[g["status"] == "ok"]
        pub = published(ds, method, extra_published) or {}
        acc_mean = ok["acc"].mean() if len(ok) else np.nan
        params = settings_by_method[method]
        per_dataset = len(set(params.values())) > 1
        out.append({
            "dataset": ds, "method": method,
            "runs": f"{len(ok)}/{len(g)}",
            "ACC": _pm(ok["acc"], 3), "NMI": _pm(ok["nmi"], 3), "ARI": _pm(ok["ari"], 3),
            "seconds": _pm(ok["seconds"], 0), "peak MiB": _pm(ok["peak_rss_mb"], 0),
            "published ACC / NMI": " / ".join(f"{pub[k]:.3f}" if pub.get(k) is not None else "-" for k in ("acc", "nmi")) if pub else "-",
            "ACC gap": f"{acc_mean - pub['acc']:+.3f}" if pub.get("acc") is not None and not np.isnan(acc_mean) else "-",
            "settings": (params[ds] if per_dataset else "same for all datasets"),
            "_acc": acc_mean, "_seconds": ok["seconds"].mean() if len(ok) else np.nan,
            "_errors": "; ".join(sorted(set(g.loc[g["status"] != "ok", "error"].astype(str)))),
        })
    return pd.DataFrame(out)


def _markdown_table(t: pd.DataFrame) -> str:
    cols = [c for c in t.columns if not c.startswith("_")]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in t.iterrows():
        lines.append("| " + " | ".join(str(r[c]).replace("|", "\\|") for c in cols) + " |")
    return "\n".join(lines)


def _plot_png(t: pd.DataFrame) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 4.2))
    ax = fig.subplots()
    for ds, g in t.groupby("dataset", sort=False):
        ax.scatter(g["_seconds"], g["_acc"], label=ds, s=30)
        for _, r in g.iterrows():
            if not np.isnan(r["_acc"]):
                ax.annotate(r["method"], (r["_seconds"], r["_acc"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("wall time per run (s, log scale)")
    ax.set_ylabel("mean ACC")
    ax.set_title("Accuracy against wall time")
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def make_report(paths, *, title: str = "deepclust benchmark", extra_published: list[dict] | None = None) -> Report:
    """Build the report of one or more results files."""
    df = load_results(paths)
    t = aggregate(df, extra_published)
    prov = []
    for col in ("commit", "device", "command"):
        vals = sorted(set(df[col].dropna().astype(str))) if col in df else []
        prov.append(f"- {col}: " + "; ".join(f"`{v}`" for v in vals))
    prov.append(f"- seeds: {', '.join(str(int(s)) for s in sorted(df['seed'].dropna().unique()))}")
    failures = t[t["_errors"] != ""]
    fail_md = "".join(f"\n- {r['dataset']} / {r['method']}: {r['_errors']}" for _, r in failures.iterrows())
    md = f"## {title}\n\n{_markdown_table(t)}\n\nMean ± standard deviation over seeds; `runs` = finished / attempted. Labels are used only for scoring.\n\n" + "\n".join(prov) + "\n"
    if fail_md:
        md += "\nFailed or timed-out cells:" + fail_md + "\n"
    png = base64.b64encode(_plot_png(t)).decode("ascii")
    cols = [c for c in t.columns if not c.startswith("_")]
    rows_html = "".join("<tr>" + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in cols) + "</tr>" for _, r in t.iterrows())
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>" + html.escape(title) + "</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}th{background:#f3f3f3}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cols) + f"</tr>{rows_html}</table>"
        f"<p>Mean ± standard deviation over seeds. Labels are used only for scoring.</p><img alt='ACC against wall time' src='data:image/png;base64,{png}'>"
        "<h2>Provenance</h2><ul>" + "".join(f"<li>{html.escape(p[2:])}</li>" for p in prov) + "</ul>"
        + (("<h2>Failed cells</h2><pre>" + html.escape(fail_md) + "</pre>") if fail_md else "")
        + "</body></html>"
    )
    return Report(t, md, page)


def write_report(paths, out_dir: str | Path, *, title: str = "deepclust benchmark", extra_published=None) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` (images embedded) into ``out_dir``."""
    rep = make_report(paths, title=title, extra_published=extra_published)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, page = out_dir / "report.md", out_dir / "report.html"
    atomic_write_text(md, rep.markdown)
    atomic_write_text(page, rep.html)
    return md, page
