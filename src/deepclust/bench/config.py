"""Declarative benchmark configs (TOML): datasets x methods x seeds.

Example::

    name = "N2D Table II"
    results = "results/n2d_table2.csv"     # relative to this file
    seeds = "0-4"
    time_limit = 1800                      # seconds per cell

    [[datasets]]
    name = "mnist"                         # a registered name, or `path = "my.csv"`
    seeds = "0-4"                          # optional: this dataset's own seeds
    # optional, for tables: preprocessing steps (deepclust.preprocess.pipeline) before `scale`,
    # and metadata columns whose association with the clusters is recorded in a second CSV
    # beside the results (<results>_associations.csv)
    # preprocess = ["combat:batch=plate_batch", "select:mad=100"]
    # technical = ["plate_batch"]
    # biological = ["e3_sex"]

    [[methods]]
    name = "n2d"
    params = { epochs = 20 }               # one setting for every dataset ...
    [methods.per_dataset.usps]             # ... unless overridden here (the report shows it)
    epochs = 50

    [[methods]]
    name = "dec"
    pretrain = "shared"   # one pretrained autoencoder per (dataset, seed, autoencoder settings),
                          # reused by every method that asks for it; its time counts in each
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path


from deepclust.bench._results import parse_seeds

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_TOP = {"name", "description", "results", "seeds", "time_limit", "n_clusters", "datasets", "methods", "published", "internal_metrics"}
_DATASET = {"name", "path", "label", "subset", "scale", "label_column", "id_column", "transpose", "table", "n_clusters", "seeds", "preprocess", "technical", "biological"}
_METHOD = {"name", "label", "params", "per_dataset", "pretrain"}
_PUBLISHED = {"dataset", "method", "acc", "nmi", "ari", "source"}


@dataclass(frozen=True)
class DatasetSpec:
    key: str  # the name in result rows
    name: str | None
    path: str | None
    subset: str = "all"
    scale: str = "auto"
    options: dict = field(default_factory=dict)  # label_column, id_column, transpose, table
    n_clusters: int | None = None
    seeds: tuple[int, ...] | None = None  # overrides the config's seeds for this dataset
    preprocess: tuple[str, ...] = ()  # steps of deepclust.preprocess.pipeline, before `scale`
    technical: tuple[str, ...] = ()  # metadata columns tested against the clusters
    biological: tuple[str, ...] = ()


@dataclass(frozen=True)
class MethodSpec:
    key: str
    name: str
    params: dict
    per_dataset: dict  # dataset key -> parameter overrides
    pretrain: str = "own"  # "shared": reuse one pretrained autoencoder per (dataset, seed, settings)

    def params_for(self, dataset_key: str) -> dict:
        return {**self.params, **self.per_dataset.get(dataset_key, {})}


@dataclass(frozen=True)
class BenchConfig:
    name: str
    results: Path
    seeds: list[int]
    time_limit: float
    datasets: list[DatasetSpec]
    methods: list[MethodSpec]
    published: list[dict]
    description: str = ""
    source: Path | None = None
    internal_metrics: bool = False  # also record silhouette, DBI, CHS of each cell in <results>_internal.csv

    def cells(self):
        """Every (dataset, method, seed) in a stable order: seeds innermost per method."""
        for d in self.datasets:
            for m in self.methods:
                for s in d.seeds or self.seeds:
                    yield d, m, s


def _check_keys(table: dict, allowed: set, where: str) -> None:
    for key in table:
        if key not in allowed:
            hint = difflib.get_close_matches(key, sorted(allowed), n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ValueError(f"unknown key {key!r} in {where}{extra}; allowed: {', '.join(sorted(allowed))}")


def _check_method_options(i: int, spec: MethodSpec) -> None:
    """Refuse unknown method options now (with build_method's did-you-mean), not in every cell later."""
    from deepclust.methods import build_method

    for key in [None, *spec.per_dataset]:
        params = spec.params if key is None else spec.params_for(key)
        try:
            build_method(spec.name, 2, 0, **params)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"methods[{i}] ({spec.key}): {exc}") from None


def _read_config(config) -> tuple[dict, Path | None]:
    """(the config's table, its file or None)."""
    if isinstance(config, dict):
        return config, None
    if not isinstance(config, (str, Path)):
        raise ValueError(f"config must be a path or a dict, got {type(config).__name__}")
    source = Path(config)
    if not source.is_file():
        raise FileNotFoundError(f"benchmark config {str(source)!r} does not exist")
    try:
        return tomllib.loads(source.read_text(encoding="utf-8")), source
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"benchmark config {str(source)!r} is not valid TOML: {exc}") from None


def _dataset_spec(i: int, d: dict, source: Path | None) -> DatasetSpec:
    """``datasets[i]`` validated; a relative path is relative to the config file."""
    _check_keys(d, _DATASET, f"datasets[{i}]")
    if "name" not in d and "path" not in d:
        raise ValueError(f"datasets[{i}] needs a `name` (registered dataset) or a `path` (file)")
    key = d.get("label") or d.get("name") or Path(d["path"]).stem
    opts = {k: d[k] for k in ("label_column", "id_column", "transpose", "table") if k in d}
    path = d.get("path")
    if path is not None and source is not None and not Path(path).is_absolute():
        path = str((source.parent / path).resolve())
    ds_seeds = d.get("seeds")
    if ds_seeds is not None:
        ds_seeds = tuple(parse_seeds(ds_seeds) if isinstance(ds_seeds, str) else [int(x) for x in ds_seeds])
    extra = {}
    if "preprocess" in d:
        from deepclust.preprocess import Preprocessor

        extra["preprocess"] = tuple(Preprocessor(d["preprocess"]).specs)  # a bad step fails here, not in every cell
    for role in ("technical", "biological"):
        if role in d:
            value = d[role]
            extra[role] = tuple(value.split(",") if isinstance(value, str) else (str(v) for v in value))
    return DatasetSpec(key, d.get("name") if path is None else None, path, d.get("subset", "all"), d.get("scale", "auto"), opts, d.get("n_clusters"), ds_seeds, **extra)


def _method_spec(i: int, m: dict, datasets: list[DatasetSpec]) -> MethodSpec:
    """``methods[i]`` validated against the registry and the grid's datasets."""
    from deepclust.methods import METHODS

    _check_keys(m, _METHOD, f"methods[{i}]")
    if "name" not in m:
        raise ValueError(f"methods[{i}] needs a `name`")
    if m["name"] not in METHODS:
        hint = difflib.get_close_matches(m["name"], list(METHODS), n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(f"methods[{i}]: unknown method {m['name']!r}{extra}; known methods: {', '.join(METHODS)}")
    per = m.get("per_dataset", {})
    keys = {d.key for d in datasets}
    for dk in per:
        if dk not in keys:
            raise ValueError(f"methods[{i}].per_dataset names dataset {dk!r}, which is not in the grid ({', '.join(sorted(keys))})")
    pretrain = m.get("pretrain", "own")
    if pretrain not in ("own", "shared"):
        raise ValueError(f"methods[{i}].pretrain must be 'own' or 'shared', got {pretrain!r}")
    if pretrain == "shared" and not METHODS[m["name"]].deep:
        raise ValueError(f"methods[{i}]: {m['name']!r} has no autoencoder to pretrain, so pretrain = 'shared' does not apply")
    spec = MethodSpec(m.get("label") or m["name"], m["name"], dict(m.get("params", {})), {k: dict(v) for k, v in per.items()}, pretrain)
    _check_method_options(i, spec)
    return spec


def load_config(config: str | Path | dict) -> BenchConfig:
    """Parse and validate a benchmark config from a TOML file or a dict.

    Raises
    ------
    ValueError
        Unknown keys (with a did-you-mean), missing datasets or methods, duplicate names,
        per-dataset overrides for a dataset that is not in the grid.
    """
    raw, source = _read_config(config)
    _check_keys(raw, _TOP, "the benchmark config")
    if not raw.get("datasets"):
        raise ValueError("the benchmark config has no [[datasets]]")
    if not raw.get("methods"):
        raise ValueError("the benchmark config has no [[methods]]")
    datasets = [_dataset_spec(i, d, source) for i, d in enumerate(raw["datasets"])]
    methods = [_method_spec(i, m, datasets) for i, m in enumerate(raw["methods"])]

    for what, items in (("dataset", [d.key for d in datasets]), ("method", [m.key for m in methods])):
        dup = {x for x in items if items.count(x) > 1}
        if dup:
            raise ValueError(f"duplicate {what} names {sorted(dup)}; give each a distinct `label`")

    published = []
    for i, p in enumerate(raw.get("published", [])):
        _check_keys(p, _PUBLISHED, f"published[{i}]")
        published.append(dict(p))

    seeds = raw.get("seeds", [0, 1, 2])
    seeds = parse_seeds(seeds) if isinstance(seeds, str) else [int(s) for s in seeds]
    results = Path(raw.get("results", "results.csv"))
    if source is not None and not results.is_absolute():
        results = source.parent / results
    time_limit = float(raw.get("time_limit", 3600))
    if time_limit <= 0:
        raise ValueError(f"time_limit must be positive, got {time_limit}")
    return BenchConfig(raw.get("name", source.stem if source else "benchmark"), results, seeds, time_limit, datasets, methods, published, raw.get("description", ""), source, bool(raw.get("internal_metrics", False)))
