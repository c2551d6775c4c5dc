"""Shared test set-up: point the loaders at the local benchmark copies when they exist."""

import os
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

if "DEEPCLUST_DATA" not in os.environ and SHARED_DATA.is_dir():
    os.environ["DEEPCLUST_DATA"] = str(SHARED_DATA)
