"""Import umap-learn with numba's on-disk cache switched on for its compiled functions.

umap-learn 0.5 compiles its layout optimiser and fuzzy-set functions with ``numba.njit`` but,
unlike pynndescent, without ``cache=True``, so every fresh process compiles them again at its
first ``fit``: on this 2-core CPU that is tens of seconds of each N2D run, spent before any
data is touched (benchmarks/PERFORMANCE.md, "N2D and DEC: where the time goes"). Numba's
dispatchers can be told to cache after they were made (``Dispatcher.enable_caching``, what the
``cache=True`` decorator itself calls), so we do that once per process for umap's own modules.
The cached machine code is what a fresh compile produces, so results are unchanged; numba keeps
the cache beside the source when it may write there, else in its per-user cache folder, and
recompiles when umap's source changes. Functions numba cannot cache (closures over dynamic
globals) stay as they were.
"""

from __future__ import annotations

import warnings

_DONE = False
_MODULES = ("umap.umap_", "umap.layouts", "umap.utils", "umap.distances", "umap.sparse", "umap.spectral")


def enable_umap_jit_cache() -> int:
    """Switch on numba's cache for umap's compiled functions; returns how many were switched on."""
    global _DONE
    if _DONE:
        return 0
    _DONE = True
    import importlib

    try:
        from numba.core.registry import CPUDispatcher
    except ImportError:  # pragma: no cover - numba always comes with umap-learn
        return 0
    n = 0
    for name in _MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:  # pragma: no cover - a umap version without this module
            continue
        for obj in list(vars(module).values()):
            if isinstance(obj, CPUDispatcher) and getattr(obj, "_cache", None) is not None and type(obj._cache).__name__ == "NullCache":
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        obj.enable_caching()
                    n += 1
                except Exception:  # noqa: BLE001 - a function numba cannot cache keeps compiling in memory
                    continue
    return n


def import_umap():
    """``import umap`` with the compile cache switched on (see the module docstring)."""
    import umap

    enable_umap_jit_cache()
    return umap
