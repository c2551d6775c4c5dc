"""Command line: parse, call the library, print. No logic of its own."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

_EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, as for every other bad input
        sys.stderr.write(f"deepclust: error: {message} (see 'deepclust {self.prog.split()[-1]} --help')\n")
        raise SystemExit(_EXIT_USAGE)

    def format_help(self) -> str:
        # Help texts generated from the method registry are made only when help is shown:
        # importing the registry imports torch, which every other command line would pay for.
        for action in self._actions:
            lazy = getattr(action, "lazy_help", None)
            if lazy is not None:
                action.help, action.lazy_help = lazy(), None
        return super().format_help()


def _method_arg(p: argparse.ArgumentParser, what: str) -> None:
    """``--method``, its help listing the registry's methods (see README: the method table)."""

    def listing() -> str:
        from deepclust.methods.registry import METHODS

        return f"{what}: {', '.join(METHODS)} (default: n2d)"

    action = p.add_argument("--method", default="n2d", help=f"{what} (default: n2d)")
    action.lazy_help = listing


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _n_clusters_arg(text: str):
    return "auto" if text.strip().lower() == "auto" else _positive_int(text)


def _k_range_arg(text: str) -> list[int]:
    from deepclust.model_selection import parse_k_range

    try:
        return parse_k_range(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seeds_arg(text: str) -> list[int]:
    from deepclust.model_selection import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _names_arg(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _data_args(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--data", default=None if required else "digits", required=required, help="dataset name (see 'deepclust datasets'), a file (CSV, TSV, parquet, npy, npz, h5ad; image stacks in npy/npz) or a folder of PNG/JPEG images (default: digits)")
    p.add_argument("--subset", default="all", choices=["all", "train", "test"], help="split of a benchmark dataset")
    p.add_argument("--table", default=None, help="exposome: which table (serum, the default; urine, proteome, exposures, serum+urine)")
    p.add_argument("--data-dir", default=None, help="folder holding the benchmark files (default: $DEEPCLUST_DATA, else a cache folder)")
    p.add_argument("--label-column", default=None, help="column of a table holding reference labels (used only for scoring)")
    p.add_argument("--id-column", default=None, help="column of a table holding sample IDs")
    p.add_argument("--transpose", action="store_true", help="the table is features x samples (first column: feature names)")
    p.add_argument("--layer", default=None, help=".h5ad input: cluster this layer instead of .X")
    p.add_argument("--obsm", default=None, help=".h5ad input: cluster this .obsm entry (e.g. X_pca) instead of .X")
    p.add_argument("--covariates", default=None, help="CSV of per-sample covariates (batch, plate, sex, ...), first column the sample ID; joined onto the data's metadata")


def _model_args(p: argparse.ArgumentParser, *, what: str) -> None:
    """The options ``fit`` and ``select-k`` share: the method, its data preparation, its training and the k sweep."""
    _method_arg(p, what)
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0); the same seed gives the same labels on CPU")
    p.add_argument("--scale", default="auto", choices=["auto", "none", "standard", "minmax"], help="feature scaling before the model (auto: chosen from the data; metrics.json says what and why)")
    p.add_argument("--preprocess", default=None, help="preprocessing steps before --scale, e.g. 'log1p,combat:batch=plate_batch,select:mad=100' (see README: Omics preprocessing)")
    p.add_argument("--epochs", type=_positive_int, default=None, help="autoencoder epochs; the pretraining for dec, idec, dcn and vade (default: a budget of 11,000 optimiser steps within 2-2000 epochs)")
    p.add_argument("--steps", type=_positive_int, default=None, help="autoencoder optimiser steps, instead of --epochs")
    p.add_argument("--batch-size", type=_positive_int, default=None, help="autoencoder batch size (default: 256)")
    p.add_argument("--latent-dim", type=_positive_int, default=None, help="autoencoder code size (default: 10; n2d: the number of clusters)")
    p.add_argument("--network", default=None, help="network spec (JSON or YAML) for the autoencoder, e.g. examples/networks/conv_mnist.json")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default: 1e-3)")
    p.add_argument("--device", default=None, help="auto (CUDA when present), cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--precision", default=None, choices=["auto", "float32", "bf16"], help="training arithmetic (default: auto)")
    p.add_argument("--augment", default=None, help="training-time augmentation of the autoencoder for small cohorts, e.g. 'noise=0.1,mixup=0.2,marginal=0.1'; "
                   "for the simclr-* methods the options of their views, e.g. 'flip=1,brightness=0.4,contrast=0.4,crop_scale=0.2:1' on images")
    p.add_argument("--quiet", action="store_true", help="no progress bars or log messages")
    p.add_argument("--k-range", type=_k_range_arg, default=None, help="k swept by --n-clusters auto / select-k, e.g. 2-12 or 2,4,8 (default: 2-12)")
    p.add_argument("--bootstrap", type=int, default=10, help="bootstrap resamples per k for the stability criterion of the sweep (default: 10)")


def _add_fit(sub) -> None:
    fit = sub.add_parser("fit", help="cluster a dataset and write a run folder", description="Cluster a dataset; with no arguments, N2D on the bundled digits into a new folder under runs/.")
    _data_args(fit, required=False)
    _model_args(fit, what="method")
    fit.add_argument("--n-clusters", type=_n_clusters_arg, default=None, help="number of clusters, or 'auto' to choose it by a k sweep (see --k-range); default: number of reference classes")
    fit.add_argument("--out", default=None, help="output folder (default: a new folder under runs/)")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing output folder once the new run is complete")
    fit.add_argument("--seeds", type=_seeds_arg, default=None, help="fit once per seed, e.g. 0-9: stability.json, consensus labels, unstable clusters flagged")
    fit.add_argument("--explain", action="store_true", help="also explain the clusters (explain/: feature tests, covariates, heatmap)")
    fit.add_argument("--report", action="store_true", help="also write report.html into the run folder")
    fit.add_argument("--write-h5ad", default=None, metavar="PATH", help=".h5ad input: write a copy with obs['deepclust'], obsm['X_deepclust'] and uns['deepclust'] to PATH")
    fit.add_argument("--checkpoint-every", type=_positive_int, default=None, metavar="N", help="write training checkpoints every N epochs to OUT.partial-checkpoints/ (removed when the run succeeds)")
    fit.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoints: repeat its command (same --out) with --resume")
    fit.add_argument("--technical", default=None, help="metadata columns of technical covariates to test the clusters against, e.g. plate_batch,run_order2 (or 'auto')")
    fit.add_argument("--biological", default=None, help="metadata columns of biological covariates to compare with, e.g. h_cohort,e3_sex (or 'auto')")
    fit.add_argument("--confounders", default=None, choices=["auto"], help="'auto': test the dataset's own technical and biological covariates (the exposome has defaults)")


def _add_select_k(sub) -> None:
    sk = sub.add_parser(
        "select-k", help="sweep the number of clusters on a method's embedding and choose one",
        description="Prepare the data as 'fit' does (--preprocess, then --scale), learn the method's embedding once (raw methods: "
        "the prepared features), cluster it for every k in --k-range, score silhouette, Davies-Bouldin, Calinski-Harabasz, GMM BIC and "
        "bootstrap stability (mean ARI), and choose k: the highest silhouette among k with stability >= 0.8, the smallest k within "
        "0.01 of it; if no k is that stable, the most stable k. 'fit --n-clusters auto' chooses k by the same step.",
    )
    _data_args(sk, required=False)
    _model_args(sk, what="method whose embedding and clusterer are swept")
    sk.add_argument("--out", default=None, help="folder for select_k.csv, select_k.png and select_k.json (default: a new folder under runs/)")
    sk.add_argument("--overwrite", action="store_true")


def _add_explain(sub) -> None:
    ex = sub.add_parser(
        "explain", help="explain the clusters of a run: feature tests, covariate associations, heatmap",
        description="Per cluster, rank the features by a one-vs-rest Mann-Whitney U test (BH q-values, Cliff's delta, log2 fold change "
        "for positive data), a Kruskal-Wallis test across clusters, and test covariates (chi-square + Cramer's V, Kruskal-Wallis + eta^2). "
        "Writes RUN_DIR/explain/: features.csv, kruskal.csv, covariates.csv, covariate_profiles.csv, heatmap.png.",
    )
    ex.add_argument("run", help="a run folder written by 'deepclust fit'")
    ex.add_argument("--data", default=None, help="the data the run clustered (default: as recorded in the run's metrics.json)")
    ex.add_argument("--subset", default=None, choices=["all", "train", "test"])
    ex.add_argument("--data-dir", default=None)
    ex.add_argument("--label-column", default=None)
    ex.add_argument("--id-column", default=None)
    ex.add_argument("--transpose", action="store_true")
    ex.add_argument("--layer", default=None)
    ex.add_argument("--obsm", default=None)
    ex.add_argument("--table", default=None, help="exposome: which table (default: as recorded in the run's metrics.json)")
    ex.add_argument("--covariates", action="append", default=[], metavar="FILE", help="extra covariate table (CSV/TSV, samples in rows), joined on sample ID; repeatable")
    ex.add_argument("--covariate-id-column", default=None, help="ID column of the covariate tables (default: 'ID' if present, else the first column)")
    ex.add_argument("--drop-covariates", type=_names_arg, default=[], help="comma-separated covariates to leave out")
    ex.add_argument("--categorical", type=_names_arg, default=[], help="comma-separated covariates to treat as categorical")
    ex.add_argument("--numeric", type=_names_arg, default=[], help="comma-separated covariates to treat as numeric")
    ex.add_argument("--top", type=_positive_int, default=5, help="features per cluster in the heatmap (default: 5)")
    ex.add_argument("--out", default=None, help="output folder (default: RUN_DIR/explain, replaced)")
    ex.add_argument("--quiet", action="store_true")


def _add_others(sub) -> None:
    """predict, datasets and bench."""
    pred = sub.add_parser("predict", help="label new data with a saved model", description="Label new data with a saved model (a run folder or its model/ folder).")
    pred.add_argument("--model", required=True, help="a run folder written by 'deepclust fit', or its model/ folder")
    _data_args(pred, required=True)
    pred.add_argument("--out", default="predictions.csv", help="CSV to write: sample_id, cluster (default: predictions.csv)")
    pred.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    pred.add_argument("--quiet", action="store_true")

    ds = sub.add_parser("datasets", help="list the datasets and whether each is available locally")
    ds.add_argument("--data-dir", default=None)

    bench = sub.add_parser(
        "bench", help="run a benchmark grid (datasets x methods x seeds) or report results",
        description="Run the cells of a benchmark config that are not finished yet (each in its own process), "
        "or with --report aggregate results files into report.md and report.html.",
    )
    bench.add_argument("config", nargs="?", help="benchmark config (TOML)")
    bench.add_argument("--report", nargs="+", metavar="RESULTS", help="results CSV files to aggregate instead of running")
    bench.add_argument("--out", default=None, help="folder for report.md and report.html (default: beside the first results file)")
    bench.add_argument("--title", default=None, help="report title")
    bench.add_argument("--dry-run", action="store_true", help="list the cells that would run")
    bench.add_argument("--datasets", nargs="+", metavar="KEY", help="run only these datasets of the config (their labels where given)")
    bench.add_argument("--methods", nargs="+", metavar="KEY", help="run only these methods of the config")
    bench.add_argument("--seeds", default=None, help="run only these of the configured seeds, e.g. 0 or 0-1")
    bench.add_argument("--pretrain-dir", default=None, metavar="DIR", help="folder of the shared pretrainings (default: _pretrained beside the results file); a new empty folder times every pretraining inside this run")
    bench.add_argument("--quiet", action="store_true")


def _add_report(sub) -> None:
    rep = sub.add_parser("report", help="write one self-contained HTML report of a run folder", description="Write RUN_DIR/report.html: metrics, embeddings, contingency, training curves, k sweep, stability, explanation, images, training animation; images embedded.")
    rep.add_argument("run", help="a run folder written by 'deepclust fit'")
    rep.add_argument("--out", default=None, help="HTML file to write (default: RUN_DIR/report.html)")
    rep.add_argument("--quiet", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    from deepclust._version import __version__

    parser = _Parser(prog="deepclust", description="Deep clustering: data to labels, metrics, plot and a saved model.")
    parser.add_argument("--version", action="version", version=f"deepclust {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    _add_fit(sub)
    _add_others(sub)
    _add_select_k(sub)
    _add_explain(sub)
    _add_report(sub)
    return parser


def _load(args):
    from deepclust.datasets import load_dataset

    table = _source_options(args)
    if _reads_missing(args) and Path(args.data).suffix:
        table["allow_missing"] = True  # a file whose holes the preprocessing fills
    data = load_dataset(args.data, subset=args.subset, data_dir=args.data_dir, **table)
    if args.covariates:
        from deepclust.datasets import attach_covariates

        data = attach_covariates(data, args.covariates)
    return data


def _reads_missing(args) -> bool:
    from deepclust.preprocess import split_steps

    steps = [s.split(":")[0].strip().lower() for s in split_steps(getattr(args, "preprocess", None))]
    if getattr(args, "model", None):  # predict: the run's saved steps
        from deepclust.runs import saved_preprocess_steps

        steps = [s.split(":")[0] for s in saved_preprocess_steps(args.model)]
    return "impute" in steps


def _data_source(args) -> dict:
    """How the data were loaded, for metrics.json: 'deepclust explain' and 'report' reload them."""
    data = args.data
    if os.path.exists(str(data)):
        data = os.path.abspath(str(data))
    return {"data": data, "subset": args.subset, "data_dir": args.data_dir, "options": _source_options(args)}


def _source_options(args) -> dict:
    """The loader options given on the command line (label/ID columns, .h5ad layer or obsm,
    exposome table, transpose): for loading, for metrics.json, and for explain's reload."""
    opts = {k: getattr(args, k, None) for k in ("label_column", "id_column", "layer", "obsm", "table")}
    if getattr(args, "transpose", False):
        opts["transpose"] = True
    return {k: v for k, v in opts.items() if v is not None}


def _print_metrics(metrics: dict) -> None:
    width = max(len(k) for k in metrics)
    print(f"{'metric':<{width}}  value")
    for k, v in metrics.items():
        print(f"{k:<{width}}  {v:.4f}" if isinstance(v, float) else f"{k:<{width}}  {v}")


def _run_config(args, **settings):
    """The run configuration of ``fit`` / ``select-k`` from their shared options, plus ``settings``."""
    from deepclust.runs import RunConfig

    options = {
        "epochs": args.epochs,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "latent_dim": args.latent_dim,
        "lr": args.lr,
        "network": args.network,
        "device": args.device,
        "precision": args.precision,
        "verbose": not args.quiet,
        "augment": _augment(args.augment, args.method),
    }
    return RunConfig(method=args.method, seed=args.seed, scale=args.scale, preprocess=args.preprocess, autoencoder_options=options,
                     k_range=args.k_range, n_bootstrap=args.bootstrap, progress=not args.quiet, out=args.out, overwrite=args.overwrite,
                     **settings)


def _cmd_fit(args) -> int:
    import warnings

    from deepclust.explain.confounders import ConfounderWarning
    from deepclust.runs import fit_run
    from deepclust.train import distributed

    warnings.filterwarnings("ignore", category=ConfounderWarning)  # printed below, with its table
    distributed.init_from_env(args.device)  # under torchrun: join the process group (no-op otherwise)
    main = distributed.is_main_process()
    t0 = time.perf_counter()
    data = _load(args)
    load_seconds = time.perf_counter() - t0
    if args.write_h5ad is not None and not str(args.data).lower().endswith(".h5ad"):
        raise ValueError(f"--write-h5ad needs .h5ad input data, got --data {args.data!r}")
    cfg = _run_config(
        args, n_clusters=args.n_clusters, checkpoint_every=args.checkpoint_every, resume=args.resume, seeds=args.seeds,
        explain=args.explain, data_source=_data_source(args), load_seconds=load_seconds,
        technical=args.technical or args.confounders, biological=args.biological or args.confounders,
    )
    try:
        result = fit_run(data, cfg)
    except KeyboardInterrupt:
        if args.out is None or not (args.checkpoint_every or args.resume):
            raise
        from deepclust.runs import checkpoint_folder

        sys.stderr.write(f"deepclust: interrupted; checkpoints are kept in {checkpoint_folder(args.out)}: repeat the command with --resume to continue\n")
        return 130
    finally:
        distributed.shutdown()
    if not main:  # rank 0 prints and writes
        return 0
    _print_fit(result)
    if args.report:
        from deepclust.reporting import write_report

        print(f"wrote {write_report(result.out_dir, progress=not args.quiet)}")
    if args.write_h5ad is not None:
        _write_h5ad(args, result)
    print(f"wrote {result.out_dir}")
    return 0


def _print_fit(result) -> None:
    if result.resumed_phases:
        print(f"resumed from checkpoints ({len(result.resumed_phases)} training phase(s) restored)")
    doc = result.metrics
    print(f"{doc['method']} on {doc['dataset']} ({doc['n_samples']} samples, {doc['n_features']} features): {doc['n_clusters']} clusters in {doc['fit_seconds']:.1f} s")
    _print_metrics(doc["metrics"])
    if "confounders" in doc:
        _print_confounders(doc["confounders"])
    if "select_k" in doc:
        print(f"k chosen by the sweep: {doc['select_k']['reason']}")
    if "stability" in doc:
        st = doc["stability"]
        unstable = ", ".join(map(str, st["unstable_clusters"])) or "none"
        print(f"seeds {st['seeds']}: mean pairwise ARI {st['mean_pairwise_ari']:.3f}; labels are the consensus; model from seed {st['model_seed']}; unstable clusters: {unstable}")


def _write_h5ad(args, result) -> None:
    from deepclust.datasets import write_h5ad_result

    doc = result.metrics
    params = {k: doc[k] for k in ("method", "n_clusters", "seed", "scale", "deepclust_version") if k in doc}
    params["run_folder"] = str(result.out_dir)
    params["source"] = {k: v for k, v in {"layer": args.layer, "obsm": args.obsm}.items() if v is not None}
    write_h5ad_result(args.data, args.write_h5ad, labels=result.labels, embedding=result.embedding, params=params, metrics=doc["metrics"], overwrite=args.overwrite)
    print(f"wrote {args.write_h5ad}")


def _cmd_select_k(args) -> int:
    from deepclust.runs import select_k_run

    data = _load(args)
    run = select_k_run(data, _run_config(args))
    result = run.result
    import pandas as pd

    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(result.table.round(4).to_string(index=False))
    print(f"chosen k = {result.k}: {result.reason}")
    print(f"rule: {result.rule}")
    print(f"wrote {run.out_dir}")
    return 0


def _cmd_explain(args) -> int:
    from deepclust.explain.run import explain_run

    ex, folder = explain_run(
        args.run, data=args.data, subset=args.subset, data_dir=args.data_dir,
        options=_source_options(args),
        covariate_files=args.covariates, covariate_id_column=args.covariate_id_column, drop=args.drop_covariates,
        categorical=args.categorical, numeric=args.numeric, n_top=args.top, out=args.out,
    )
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_colwidth", 90):
        print(ex.summary().to_string(index=False))
        if ex.covariates is not None and len(ex.covariates):
            cov = ex.covariates[ex.covariates["test"] != "skipped"][["covariate", "test", "effect", "effect_size", "q_value"]]
            print()
            print(cov.head(15).to_string(index=False))
    print(f"wrote {folder}")
    return 0


def _cmd_report(args) -> int:
    from deepclust.reporting import write_report

    print(f"wrote {write_report(args.run, args.out, progress=not args.quiet)}")
    return 0


def _augment(text, method):
    """``--augment``: the autoencoders' cohort augmentation (checked here), or for the
    contrastive methods the options of their views (checked by the estimator, which knows
    whether the data are images or a table)."""
    if text is None:
        return None
    from deepclust.methods import METHODS, ContrastiveEmbedding
    from deepclust.preprocess.augment_text import check_augment, parse_augment

    spec = parse_augment(text)
    if method in METHODS and METHODS[method].embedding is ContrastiveEmbedding:
        return spec
    return check_augment(spec)


def _print_confounders(check: dict) -> None:
    rows = check["associations"]
    if rows:
        width = max(len(r["covariate"]) for r in rows)
        print(f"\n{'covariate':<{width}}  role        test            p-value   effect")
        for r in rows:
            print(f"{r['covariate']:<{width}}  {r['role']:<10}  {r['test']:<14}  {r['p_value']:8.1e}  {r['measure']} {r['effect_size']:.3f}")
    if check.get("warning"):
        print(f"\nWARNING: {check['warning']}")


def _cmd_predict(args) -> int:
    from deepclust.runs import predict_run

    data = _load(args)
    labels, metrics = predict_run(args.model, data, out=args.out, overwrite=args.overwrite)
    print(f"labelled {len(labels)} samples of {data.name} into {len(set(labels.tolist()))} clusters")
    if metrics:
        _print_metrics(metrics)
    print(f"wrote {args.out}")
    return 0


def _cmd_datasets(args) -> int:
    from deepclust.datasets import data_home, list_datasets

    rows = list_datasets(args.data_dir)
    print(f"data folder: {data_home(args.data_dir)}")
    print(f"{'name':<14} {'samples':>8}  {'local':<5}  description")
    for r in rows:
        print(f"{r['name']:<14} {r['n_samples']:>8}  {'yes' if r['available'] else 'no':<5}  {r['description']}")
    return 0


def _cmd_bench(args) -> int:
    if args.report:
        from deepclust.bench import load_config, write_report

        extra = load_config(args.config).published if args.config else None
        out = args.out or Path(args.report[0]).parent
        md, page = write_report(args.report, out, title=args.title or "deepclust benchmark", extra_published=extra)
        print(md.read_text(encoding="utf-8"))
        print(f"wrote {md} and {page}")
        return 0
    if not args.config:
        raise ValueError("give a benchmark config to run, or --report RESULTS... to aggregate results")
    from deepclust.bench import parse_seeds, run

    df = run(args.config, dry_run=args.dry_run, datasets=args.datasets, methods=args.methods,
             seeds=None if args.seeds is None else parse_seeds(args.seeds), pretrain_dir=args.pretrain_dir)
    if args.dry_run:
        print(df.to_string(index=False) if len(df) else "every cell is finished")
        return 0
    failed = int((df["status"] != "ok").sum()) if len(df) else 0
    print(f"{len(df)} rows in the results file, {failed} failed or timed out")
    return 0


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line each, like the errors (no source path, no code line)."""
    sys.stderr.write(f"deepclust: warning: {str(message).strip().splitlines()[0] if str(message).strip() else category.__name__}\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``deepclust`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return _EXIT_USAGE
    quiet = getattr(args, "quiet", False)
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="deepclust: %(message)s")
    import warnings

    handler = {"fit": _cmd_fit, "predict": _cmd_predict, "datasets": _cmd_datasets, "bench": _cmd_bench,
               "select-k": _cmd_select_k, "explain": _cmd_explain, "report": _cmd_report}[args.command]
    try:
        with warnings.catch_warnings():  # restores the caller's filters and display (main() may run in-process)
            if quiet:
                warnings.filterwarnings("ignore")
            warnings.showwarning = _show_warning
            return handler(args)
    except KeyboardInterrupt:
        sys.stderr.write("deepclust: interrupted; no output was written\n")
        return 130
    except (ValueError, OSError, KeyError, FloatingPointError) as exc:  # user-facing problems: one line, exit 2
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, KeyError):
            msg = f"missing key {msg}"
        sys.stderr.write(f"deepclust: error: {msg}\n")
        if os.environ.get("DEEPCLUST_DEBUG"):
            raise
        return _EXIT_USAGE
    except Exception as exc:  # a bug of ours: still one line, but say how to get the traceback
        if os.environ.get("DEEPCLUST_DEBUG"):
            raise
        sys.stderr.write(f"deepclust: internal error: {type(exc).__name__}: {exc} (set DEEPCLUST_DEBUG=1 for the traceback)\n")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
