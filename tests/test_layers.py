"""The package's import-time behaviour: importing it changes nothing, and the CLI stays light.

(The layers themselves are checked by ``lint-imports`` in ``make lint``, on the contracts in
pyproject.toml.)"""

import json
import subprocess
import sys

_IMPORT_ALL = """
import json, os, pkgutil, importlib, sys
before = dict(os.environ)
import rlhfbook
names = [m.name for m in pkgutil.walk_packages(rlhfbook.__path__, "rlhfbook.")
         if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
changed = sorted(
    k for k in set(before) | set(os.environ)
    if before.get(k) != os.environ.get(k) and not k.startswith("TORCH")  # torch's own (inductor's cache)
)
print(json.dumps({"modules": len(names), "changed": changed}))
"""


def test_importing_every_module_changes_no_environment_variable():
    """Before, importing rlhfbook switched the hub offline and silenced libraries; now only
    start_chapter and the CLI set the environment (rlhfbook.core.environment.prepare)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["modules"] > 60 and result["changed"] == []


def _loaded_by(module: str, names: tuple[str, ...]) -> list[bool]:
    """Which of ``names`` a fresh interpreter has loaded after ``import module``."""
    code = f"import json, sys, {module}; print(json.dumps([m in sys.modules for m in {names!r}]))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_the_cli_imports_neither_torch_nor_transformers():
    """`python -m rlhfbook` answers in a second: the book layer defers torch to the functions that
    train (the reason some imports stay inside functions)."""
    assert _loaded_by("rlhfbook.book.cli", ("torch", "transformers")) == [False, False]


def test_a_chapters_first_cell_loads_peft_and_tqdm_only_after_the_environment_is_prepared():
    """start_chapter's imports must not load peft: it imports tqdm.auto, which in a kernel without
    ipywidgets prints a TqdmWarning (with a machine path) into the chapter's first output, before
    core.environment.prepare has silenced it."""
    assert _loaded_by("rlhfbook.book.start", ("peft", "tqdm.autonotebook")) == [
        False,
        False,
    ]
