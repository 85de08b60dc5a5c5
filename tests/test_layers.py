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


def test_the_cli_imports_neither_torch_nor_transformers():
    """`python -m rlhfbook` answers in a second: the book layer defers torch to the functions that
    train (the reason some imports stay inside functions)."""
    code = "import sys, rlhfbook.book.cli; print(json.dumps([m in sys.modules for m in ('torch', 'transformers')]))"
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == [False, False]


def test_a_chapters_first_cell_loads_peft_and_tqdm_only_after_the_environment_is_prepared():
    """start_chapter's imports must not load peft: it imports tqdm.auto, which in a kernel without
    ipywidgets prints a TqdmWarning (with a machine path) into the chapter's first output, before
    core.environment.prepare has silenced it."""
    code = "import sys, rlhfbook.book.start; print(json.dumps([m in sys.modules for m in ('peft', 'tqdm.autonotebook')]))"
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == [False, False]
