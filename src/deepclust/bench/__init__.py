"""Benchmark harness: declarative grids of datasets x methods x seeds, run and reported.

>>> from deepclust.bench import run, make_report        # doctest: +SKIP
>>> df = run("benchmarks/configs/n2d_table2.toml")      # doctest: +SKIP
"""

from deepclust.bench._results import COLUMNS, HARNESS_COLUMNS, append_rows, parse_seeds, read_rows
from deepclust.bench.config import BenchConfig, load_config
from deepclust.bench.published import PUBLISHED, published
from deepclust.bench.report import make_report, write_report
from deepclust.bench.runner import run

__all__ = [
    "COLUMNS", "HARNESS_COLUMNS", "PUBLISHED", "BenchConfig", "append_rows", "load_config",
    "make_report", "parse_seeds", "published", "read_rows", "run", "write_report",
]
