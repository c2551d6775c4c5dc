"""Reports: one self-contained HTML page per run folder (:func:`write_report`)."""

from deepclust.reporting.html import build_report, write_report

__all__ = ["build_report", "write_report"]
