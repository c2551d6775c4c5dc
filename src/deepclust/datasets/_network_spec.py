"""Network specs read from files: the data layer reads, :mod:`deepclust.nn.spec` parses the dict."""

from __future__ import annotations

import os
from collections.abc import Mapping

from deepclust._io import MAPPING_SUFFIXES, read_mapping_file


def load_network_spec(spec) -> dict:
    """Read (when a path) and validate a network spec; return it in canonical form.

    Parameters
    ----------
    spec : dict, str or os.PathLike
        The spec itself, or the path of a ``.json``, ``.yaml`` or ``.yml`` file holding one
        (see :mod:`deepclust.nn.spec` for the format). YAML needs PyYAML.

    Returns
    -------
    dict
        What :func:`deepclust.nn.spec.normalize_spec` returns for the mapping.

    Raises
    ------
    ValueError
        A file that does not parse or holds no single mapping, or an invalid spec; the
        message names the file.
    FileNotFoundError
        The file does not exist.

    Examples
    --------
    >>> load_network_spec({"type": "mlp", "hidden_dims": [8], "latent_dim": 2})["latent_dim"]
    2
    """
    from deepclust.nn.spec import normalize_spec  # here, so that importing the loaders does not import torch

    if isinstance(spec, Mapping):
        return normalize_spec(spec)
    if isinstance(spec, (str, os.PathLike)):
        return normalize_spec(read_mapping_file(spec, "network spec"), str(spec))
    raise ValueError(
        f"a network spec must be a dict or the path of a {'/'.join(MAPPING_SUFFIXES)} file, got {type(spec).__name__}"
    )
