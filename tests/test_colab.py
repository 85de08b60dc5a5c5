"""The Colab path, tested as far as it can be offline.

A fresh virtual environment stands in for a Colab runtime: it already has torch, papermill
and ipykernel (Colab ships them), and a fake ``google.colab`` module. A chapter's Colab
install cell then installs this package from a freshly built wheel (``RLHFBOOK_PIP_SPEC``
points it there instead of the repository URL), and the chapter runs in the ``smoke``
profile from that environment, outside the repository. Colab's own torch must survive the
install: the package asks for version ranges, not exact pins of Colab's packages.
"""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.book


def _sh(*cmd, **kw):
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, **kw)
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_colab_install_cell_installs_the_wheel_and_a_chapter_runs(tmp_path):
    dist, venv, work = tmp_path / "dist", tmp_path / "colab", tmp_path / "content"
    work.mkdir()
    _sh(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-q",
        "-w",
        str(dist),
        str(ROOT),
    )
    (wheel,) = dist.glob("rlhfbook-*.whl")
    _sh(sys.executable, "-m", "venv", str(venv))
    py = str(venv / "bin" / "python")
    env = dict(
        os.environ, PIP_CONSTRAINT=str(ROOT / "constraints.txt")
    )  # the "Colab image" versions
    for var in (
        "RLHFBOOK_RESULTS_DIR",
        "RLHFBOOK_RUNTIMES",
        "VIRTUAL_ENV",
        "PYTHONPATH",
    ):
        env.pop(var, None)
    _sh(py, "-m", "pip", "install", "-q", "torch", "papermill", "ipykernel", env=env)
    torch_before = _sh(py, "-c", "import torch; print(torch.__version__)")

    fake = tmp_path / "fake_colab" / "google" / "colab"
    fake.mkdir(parents=True)
    (fake.parent / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    notebook = json.loads((ROOT / "notebooks" / "00_toy_world.ipynb").read_text())
    notebook["cells"].insert(
        0,
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "source": "import google.colab  # what Colab imports at start-up",
        },
    )
    (work / "chapter.ipynb").write_text(json.dumps(notebook))
    env.update(
        RLHFBOOK_PIP_SPEC=str(wheel),
        PYTHONPATH=str(tmp_path / "fake_colab"),
        RLHFBOOK_CACHE=str(work / "cache"),
        RLHFBOOK_RESULTS_DIR=str(work / "results"),
    )
    _sh(
        py,
        "-m",
        "papermill",
        "chapter.ipynb",
        "out.ipynb",
        "-p",
        "profile",
        "smoke",
        "-k",
        "python3",
        cwd=work,
        env=env,
    )

    shown = _sh(py, "-m", "pip", "show", "-f", "rlhfbook", env=env)
    assert (
        "Editable project location" not in shown
    )  # installed from the wheel, not the checkout
    assert _sh(py, "-c", "import torch; print(torch.__version__)") == torch_before
    record = json.loads((work / "results" / "smoke" / "00_toy_world.json").read_text())
    assert record["profile"] == "smoke" and record["checks"]
