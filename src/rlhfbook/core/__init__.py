"""Layer 1, the process: seeds, threads and dtypes (``runtime``), progress lines (``progress``),
deterministic parallel runs (``parallel``), hub access, the cache folder and quiet libraries
(``environment``), the one-line error (``errors``). Imports nothing else of the package; used by every chapter."""

__version__ = "0.1.0"  # part of every cache key: a new version retrains cached models
