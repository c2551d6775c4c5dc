"""Command line: parse, call the library, print. No logic of its own."""

from __future__ import annotations

import argparse
import logging
import os
import sys

_EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, as for every other bad input
        sys.stderr.write(f"deepclust: error: {message} (see 'deepclust {self.prog.split()[-1]} --help')\n")
        raise SystemExit(_EXIT_USAGE)


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _data_args(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--data", default=None if required else "digits", required=required, help="dataset name (see 'deepclust datasets') or a file: CSV, TSV, parquet, npy, npz (default: digits)")
    p.add_argument("--subset", default="all", choices=["all", "train", "test"], help="split of a benchmark dataset")
    p.add_argument("--data-dir", default=None, help="folder holding the benchmark files (default: $DEEPCLUST_DATA, else a cache folder)")
    p.add_argument("--label-column", default=None, help="column of a table holding reference labels (used only for scoring)")
    p.add_argument("--id-column", default=None, help="column of a table holding sample IDs")
    p.add_argument("--transpose", action="store_true", help="the table is features x samples (first column: feature names)")


def build_parser() -> argparse.ArgumentParser:
    from deepclust._version import __version__

    parser = _Parser(prog="deepclust", description="Deep clustering: data to labels, metrics, plot and a saved model.")
    parser.add_argument("--version", action="version", version=f"deepclust {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    fit = sub.add_parser("fit", help="cluster a dataset and write a run folder", description="Cluster a dataset; with no arguments, N2D on the bundled digits into a new folder under runs/.")
    _data_args(fit, required=False)
    fit.add_argument("--method", default="n2d", help="kmeans, gmm, gmm-diag, agglomerative, umap-gmm, ae-kmeans, ae-gmm, ae-agglomerative, n2d, dec, idec, dcn, vae-kmeans, vae-gmm, vade, simclr-kmeans, simclr-gmm, simclr-n2d, simclr-scan, simclr-leiden, leiden, mae-kmeans, mae-gmm, pca-kmeans, pca-gmm (default: n2d)")
    fit.add_argument("--n-clusters", type=_positive_int, default=None, help="number of clusters (default: number of reference classes)")
    fit.add_argument("--out", default=None, help="output folder (default: a new folder under runs/)")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing output folder once the new run is complete")
    fit.add_argument("--seed", type=int, default=0, help="random seed (default: 0); the same seed gives the same labels on CPU")
    fit.add_argument("--scale", default="auto", choices=["auto", "none", "standard", "minmax"], help="feature scaling before the model (auto: none for images, standard otherwise)")
    fit.add_argument("--epochs", type=_positive_int, default=None, help="autoencoder epochs; the pretraining for dec, idec, dcn and vade (default: 100)")
    fit.add_argument("--batch-size", type=_positive_int, default=None, help="autoencoder batch size (default: 256)")
    fit.add_argument("--latent-dim", type=_positive_int, default=None, help="autoencoder code size (default: 10; n2d: the number of clusters)")
    fit.add_argument("--network", default=None, help="network spec (JSON or YAML) for the autoencoder, e.g. examples/networks/conv_mnist.json")
    fit.add_argument("--lr", type=float, default=None, help="Adam learning rate (default: 1e-3)")
    fit.add_argument("--device", default=None, help="auto (CUDA when present), cpu, cuda or cuda:N (default: auto)")
    fit.add_argument("--precision", default=None, choices=["auto", "float32", "bf16"], help="training arithmetic (default: auto)")
    fit.add_argument("--quiet", action="store_true", help="no progress bars or log messages")

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
    bench.add_argument("--quiet", action="store_true")
    return parser


def _load(args):
    from deepclust.datasets import load_dataset

    table = {k: v for k, v in (("label_column", args.label_column), ("id_column", args.id_column)) if v is not None}
    if args.transpose:
        table["transpose"] = True
    return load_dataset(args.data, subset=args.subset, data_dir=args.data_dir, **table)


def _print_metrics(metrics: dict) -> None:
    width = max(len(k) for k in metrics)
    print(f"{'metric':<{width}}  value")
    for k, v in metrics.items():
        print(f"{k:<{width}}  {v:.4f}" if isinstance(v, float) else f"{k:<{width}}  {v}")


def _cmd_fit(args) -> int:
    from deepclust.runs import fit_run

    data = _load(args)
    options = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "latent_dim": args.latent_dim,
        "lr": args.lr,
        "network": args.network,
        "device": args.device,
        "precision": args.precision,
        "verbose": not args.quiet,
    }
    result = fit_run(
        data,
        method=args.method,
        n_clusters=args.n_clusters,
        out=args.out,
        seed=args.seed,
        scale=args.scale,
        overwrite=args.overwrite,
        autoencoder_options=options,
    )
    doc = result.metrics
    print(f"{doc['method']} on {doc['dataset']} ({doc['n_samples']} samples, {doc['n_features']} features): {doc['n_clusters']} clusters in {doc['fit_seconds']:.1f} s")
    _print_metrics(doc["metrics"])
    print(f"wrote {result.out_dir}")
    return 0


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
    from pathlib import Path

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
    from deepclust.bench import run

    df = run(args.config, dry_run=args.dry_run)
    if args.dry_run:
        print(df.to_string(index=False) if len(df) else "every cell is finished")
        return 0
    failed = int((df["status"] != "ok").sum()) if len(df) else 0
    print(f"{len(df)} rows in the results file, {failed} failed or timed out")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``deepclust`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return _EXIT_USAGE
    quiet = getattr(args, "quiet", False)
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="deepclust: %(message)s")
    if quiet:
        import warnings

        warnings.filterwarnings("ignore")
    handler = {"fit": _cmd_fit, "predict": _cmd_predict, "datasets": _cmd_datasets, "bench": _cmd_bench}[args.command]
    try:
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
