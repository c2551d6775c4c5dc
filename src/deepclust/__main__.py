"""``python -m deepclust ...``: the same command line as the ``deepclust`` script, for environments
where the package is importable but its console script is not installed (e.g. ``PYTHONPATH=src``)."""

import sys

from deepclust.cli import main

if __name__ == "__main__":
    sys.exit(main())
