"""What the Colab install cell changed, and whether the runtime must restart.

A chapter's first code cell installs this package on Colab with pip. pip may upgrade packages
the Colab image preinstalled (transformers, datasets, pyarrow...); one that the runtime had
already imported keeps running its old version from memory, and mixing it with the new files
fails later in confusing ways. The install cell snapshots the installed versions before pip
runs and then calls :func:`report_install`, which prints what pip changed and, when an upgraded
package was already imported, stops the cell with one line asking for a runtime restart
(:class:`RestartRequired`), so that "Run all" does not go on with the stale modules.

This module imports nothing heavy: it runs in the install cell, before any chapter import.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping

RESTART_HINT = (
    "Restart the runtime (Runtime > Restart session), then run the notebook again: "
    "pip changed {names}, which this runtime had already imported."
)


class RestartRequired(RuntimeError):
    """pip replaced a package this runtime had already imported: restart before going on (one line)."""


def _norm(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed() -> dict[str, str]:
    """``{distribution: version}`` of everything installed now."""
    from importlib.metadata import distributions

    return {
        _norm(d.metadata["Name"]): d.version
        for d in distributions()
        if d.metadata["Name"]
    }


def changes(
    before: Mapping[str, str], after: Mapping[str, str]
) -> dict[str, tuple[str | None, str | None]]:
    """``{distribution: (old version or None, new version or None)}`` of what differs."""
    before = {
        _norm(k): v for k, v in before.items() if k
    }  # a broken install can lack a name
    after = {_norm(k): v for k, v in after.items() if k}
    return {
        name: (before.get(name), after.get(name))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def stale_imports(
    changed: Mapping[str, tuple[str | None, str | None]],
    modules: Iterable[str],
    top_level: Mapping[str, Iterable[str]],
) -> list[str]:
    """Distributions that pip replaced (an old version existed) while one of their top-level
    modules is imported. ``top_level`` maps a module name to the distributions that provide it
    (``importlib.metadata.packages_distributions()``); new installs never need a restart."""
    imported = {m.split(".")[0] for m in modules}
    stale = set()
    for module, dists in top_level.items():
        if module in imported:
            stale |= {
                _norm(d)
                for d in dists
                if changed.get(_norm(d), (None, None))[0] is not None
            }
    return sorted(stale)


def summary(changed: Mapping[str, tuple[str | None, str | None]]) -> str:
    """One line: ``pip changed: transformers 4.57.1 -> 5.24.0, trl new 1.16.0``."""
    if not changed:
        return "pip changed nothing that was installed."
    parts = [
        f"{name} {old} -> {new}"
        if old and new
        else f"{name} new {new}"
        if new
        else f"{name} removed {old}"
        for name, (old, new) in changed.items()
    ]
    return "pip changed: " + ", ".join(parts)


def report_install(
    before: Mapping[str, str], modules: Iterable[str] | None = None
) -> list[str]:
    """Print what pip changed since ``before`` (:func:`installed` before pip ran); raise
    :class:`RestartRequired` with the restart hint when a replaced package was already imported.
    Returns the stale distributions, i.e. none when it returns."""
    from importlib import invalidate_caches
    from importlib.metadata import packages_distributions

    invalidate_caches()
    changed = changes(before, installed())
    stale = stale_imports(
        changed,
        list(sys.modules) if modules is None else modules,
        packages_distributions(),
    )
    print(summary(changed))
    if stale:
        raise RestartRequired(RESTART_HINT.format(names=", ".join(stale)))
    return stale
