"""The command line: clear errors, cache keys, and the Colab cell."""

import shutil
import subprocess
import sys
import types

import pytest

from conftest import rlhfbook_cli
from rlhfbook import chapters, cli


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "99_nope"], "error: unknown chapter '99_nope'; valid chapters: 00_toy_world"),
        (["run", "00", "--profile", "big"], "error: unknown profile 'big'; valid profiles: smoke, cpu, gpu"),
        (["build", "--profile", "big"], "error: unknown profile 'big'"),
    ],
)
def test_bad_input_is_one_clear_line_without_traceback(args, message):
    done = rlhfbook_cli(*args, timeout=120)
    assert done.returncode == cli.EXIT_USAGE
    assert done.stderr.strip().startswith(message) and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_outside_the_repository_is_a_clear_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "rlhfbook", "check"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == cli.EXIT_USAGE and "not inside the book's repository" in done.stderr


def test_chapters_resolve_by_full_name_or_number(root):
    assert chapters.resolve_chapters(root, ["00"]) == ["00_toy_world"]
    assert chapters.resolve_chapters(root, []) == chapters.toc_chapters(root)


def _fake_repo(root, tmp_path):
    fake = tmp_path / "repo"
    for name in ("book", "notebooks", "src"):
        shutil.copytree(root / name, fake / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("_config.yml", "constraints.txt"):
        shutil.copy(root / name, fake / name)
    return fake


def test_cache_key_changes_with_notebook_src_and_pins_only(root, tmp_path):
    fake = _fake_repo(root, tmp_path)
    key = cli.cache_key(fake, "00_toy_world", "cpu")
    assert cli.cache_key(fake, "00_toy_world", "cpu") == key
    assert cli.cache_key(fake, "00_toy_world", "smoke") != key
    (fake / "book" / "intro.md").write_text("edited prose")  # prose outside the chapter: no re-run
    assert cli.cache_key(fake, "00_toy_world", "cpu") == key
    for path in (fake / "src/rlhfbook/ranking_helper.py", fake / "constraints.txt", fake / "notebooks/00_toy_world.ipynb"):
        before = cli.cache_key(fake, "00_toy_world", "cpu")
        path.write_text((path.read_text() if path.exists() else "") + "\n# changed\n")
        assert cli.cache_key(fake, "00_toy_world", "cpu") != before, path


def _exec_colab_cell(root, monkeypatch, on_colab):
    calls = []
    monkeypatch.setattr(subprocess, "check_call", lambda cmd, **kw: calls.append(cmd))
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(chapters.colab_cell_source(root, "00_toy_world"), {})
    return calls


def test_colab_cell_is_inert_off_colab(root, monkeypatch):
    assert _exec_colab_cell(root, monkeypatch, on_colab=False) == []


def test_colab_cell_installs_the_repository_on_colab(root, monkeypatch):
    monkeypatch.delenv("RLHFBOOK_PIP_SPEC", raising=False)
    (cmd,) = _exec_colab_cell(root, monkeypatch, on_colab=True)
    assert cmd[1:4] == ["-m", "pip", "install"] and cmd[-1] == chapters.install_spec(root)
    assert "github.com/rlhf-measured/rlhf-measured" in cmd[-1]


def test_every_chapter_has_the_same_colab_cell(root):
    cells = {chapters.colab_cell_source(root, c) for c in chapters.toc_chapters(root)}
    assert len(cells) == 1
