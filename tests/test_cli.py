"""The command line: clear errors, cache keys, and the Colab cell."""

import json
import os
import shutil
import subprocess
import sys
import types

import pytest

from conftest import rlhfbook_cli
from rlhfbook.book import chapters, cli


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["run", "99_nope"],
            "error: unknown chapter '99_nope'; valid chapters: 00_toy_world",
        ),
        (
            ["run", "00", "--profile", "big"],
            "error: unknown profile 'big'; valid profiles: smoke, cpu, gpu",
        ),
        (["build", "--profile", "big"], "error: unknown profile 'big'"),
        (
            ["run", "00", "-p", "seeed", "3"],
            "error: unknown parameter(s) 'seeed' for 00_toy_world; its parameters: profile, seed",
        ),
        (
            ["run", "00", "-p", "model_name", "gpt2"],
            "error: unknown parameter(s) 'model_name' for 00_toy_world",
        ),
        (
            ["run", "00", "-p", "seed", "abc"],
            "error: parameter 'seed' of 00_toy_world takes int, not 'abc'",
        ),
        (
            ["run", "04", "-p", "n_envs", "abc"],
            "error: parameter 'n_envs' of 04_reward_distance takes int, not 'abc'",
        ),
        (
            ["run", "00", "-p", "profile", "smoke"],
            "error: choose the profile with --profile, not -p profile",
        ),
        (["robustness", "00", "--seed", "0"], "error: --seed 0 is the shipped block"),
        (["describe", "99"], "error: unknown chapter '99'"),
    ],
)
def test_bad_input_is_one_clear_line_without_traceback(args, message):
    done = rlhfbook_cli(*args, timeout=120)
    assert done.returncode == cli.EXIT_USAGE
    assert done.stderr.strip().startswith(message) and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_outside_the_repository_is_a_clear_error(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "rlhfbook", "check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert (
        done.returncode == cli.EXIT_USAGE
        and "not inside the book's repository" in done.stderr
    )


def test_chapters_resolve_by_full_name_or_number(root):
    assert chapters.resolve_chapters(root, ["00"]) == ["00_toy_world"]
    assert chapters.resolve_chapters(root, []) == chapters.toc_chapters(root)


def _fake_repo(root, tmp_path):
    fake = tmp_path / "repo"
    for name in ("book", "notebooks", "src"):
        shutil.copytree(
            root / name, fake / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    for name in ("_config.yml", "constraints.txt"):
        shutil.copy(root / name, fake / name)
    return fake


def test_chapter_key_changes_with_notebook_src_and_pins_only(root, tmp_path):
    fake = _fake_repo(root, tmp_path)
    key = cli.chapter_key(fake, "00_toy_world", "cpu")
    assert cli.chapter_key(fake, "00_toy_world", "cpu") == key
    assert cli.chapter_key(fake, "00_toy_world", "smoke") != key
    (fake / "book" / "intro.md").write_text(
        "edited prose"
    )  # prose outside the chapter: no re-run
    assert cli.chapter_key(fake, "00_toy_world", "cpu") == key
    for path in (
        fake / "src/rlhfbook/ranking_helper.py",
        fake / "constraints.txt",
        fake / "notebooks/00_toy_world.ipynb",
    ):
        before = cli.chapter_key(fake, "00_toy_world", "cpu")
        path.write_text((path.read_text() if path.exists() else "") + "\n# changed\n")
        assert cli.chapter_key(fake, "00_toy_world", "cpu") != before, path


def _exec_colab_cell(root, monkeypatch, on_colab):
    calls = []
    monkeypatch.setattr(subprocess, "check_call", lambda cmd, **kw: calls.append(cmd))
    if on_colab:
        monkeypatch.setitem(
            sys.modules, "google.colab", types.ModuleType("google.colab")
        )
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(chapters.colab_cell_source(root, "00_toy_world"), {})
    return calls


def test_colab_cell_is_inert_off_colab(root, monkeypatch):
    assert _exec_colab_cell(root, monkeypatch, on_colab=False) == []


def test_colab_cell_installs_the_repository_on_colab(root, monkeypatch):
    monkeypatch.delenv("RLHFBOOK_PIP_SPEC", raising=False)
    (cmd,) = _exec_colab_cell(root, monkeypatch, on_colab=True)
    assert cmd[1:4] == ["-m", "pip", "install"] and cmd[-1] == chapters.install_spec(
        root
    )
    assert "github.com/rlhf-measured/rlhf-measured" in cmd[-1]


def test_every_chapter_has_the_same_colab_cell(root):
    cells = {chapters.colab_cell_source(root, c) for c in chapters.toc_chapters(root)}
    assert len(cells) == 1


def _notebook(*sources):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell('profile = "cpu"', metadata={"tags": ["parameters"]})
    ]
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nbformat.writes(nb)


def test_a_failing_chapter_is_reported_with_its_cell_and_the_others_still_run(
    root, tmp_path, capsys, monkeypatch
):
    fake = tmp_path / "repo"
    (fake / "book").mkdir(parents=True)
    (fake / "notebooks").mkdir()
    (fake / "src").mkdir()
    shutil.copy(root / "_config.yml", fake / "_config.yml")
    shutil.copy(root / "constraints.txt", fake / "constraints.txt")
    (fake / "book" / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: notebooks/aa_fail\n  - file: notebooks/bb_ok\n"
    )
    (fake / "notebooks" / "aa_fail.ipynb").write_text(
        _notebook("x = 1", "raise ValueError('boom in the middle')")
    )
    (fake / "notebooks" / "bb_ok.ipynb").write_text(
        _notebook(
            "import os, pathlib; pathlib.Path(os.environ['RLHFBOOK_RESULTS_DIR'], 'smoke', 'bb_ok.json').write_text('{}')"
        )
    )
    for var in (
        "RLHFBOOK_RESULTS_DIR",
        "RLHFBOOK_RUNTIMES",
    ):  # cli.run sets them; restore afterwards
        monkeypatch.setenv(var, "unset")
    gpu = tmp_path / "bin" / "nvidia-smi"  # a machine whose one GPU holds 3 GiB
    gpu.parent.mkdir()
    gpu.write_text("#!/bin/sh\necho 3072\n")
    gpu.chmod(0o755)
    monkeypatch.setenv("PATH", f"{gpu.parent}:{os.environ['PATH']}")
    assert cli.run(fake, [], "smoke") == 1
    out = capsys.readouterr().out
    assert "aa_fail: FAILED" in out and "raise ValueError('boom in the middle')" in out
    assert "ValueError: boom in the middle" in out and "bb_ok: ok" in out
    assert "1 chapter(s) failed: aa_fail" in out
    assert not (
        fake / "_build/executed/smoke/aa_fail.key"
    ).exists()  # a failed chapter is never cached
    assert json.loads(cli.gpu_memory_path(fake).read_text()) == {
        "bb_ok": {"smoke": 3072 * 2**20}
    }
    assert "bb_ok: ok in" in out and "peak GPU memory 3.2 GB" in out
    assert (
        "aa_fail: FAILED after" in out and out.count("peak GPU memory 3.2 GB") == 2
    )  # an OOM shows its peak
    assert cli.run(fake, ["bb_ok"], "smoke") == 0
    assert "bb_ok: unchanged since its last run, skipped" in capsys.readouterr().out
    assert cli.run(fake, ["bb_ok"], "smoke", force=True) == 0
    assert "bb_ok: ok" in capsys.readouterr().out
    # another seed block executes into its own folder and leaves the shipped block's notebook alone
    shipped = (fake / "_build/executed/smoke/bb_ok.ipynb").read_bytes()
    monkeypatch.setattr(
        cli, "check_parameters", lambda *args: None
    )  # a fake chapter: no settings
    assert cli.run(fake, ["bb_ok"], "smoke", parameters={"seed": 7}) == 0
    assert (fake / "_build/executed/smoke-seed7/bb_ok.ipynb").exists()
    assert (fake / "_build/executed/smoke/bb_ok.ipynb").read_bytes() == shipped


def test_a_chapters_run_reports_the_peak_gpu_memory_that_nvidia_smi_shows(
    root, tmp_path, monkeypatch
):
    from rlhfbook.book import gpu_memory

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "aa.ipynb").write_text(
        _notebook("import time; time.sleep(0.5)")
    )
    cli.executed_dir(tmp_path, "smoke").mkdir(parents=True)
    monkeypatch.setattr(
        gpu_memory, "QUERY", ("printf", "2048\n")
    )  # one GPU holding 2 GiB
    out = cli.executed_dir(tmp_path, "smoke")
    ok, seconds, error, peak = cli.execute(tmp_path, "aa", "smoke", {}, out)
    assert ok and not error and peak == 2048 * 2**20
    monkeypatch.setattr(gpu_memory, "QUERY", ("no-such-nvidia-smi-here",))
    assert cli.execute(tmp_path, "aa", "smoke", {}, out)[3] is None


def test_parameter_values_are_read_as_papermill_reads_them():
    assert [cli.parse_value(v) for v in ("3", "0.5", "True", "None", "gpt2")] == [
        3,
        0.5,
        True,
        None,
        "gpt2",
    ]


@pytest.mark.parametrize(
    "chapters,parameters",
    [
        (
            ["01_ppo_max", "03_pf_ppo"],
            {"iterations": 2, "n_seeds": 1, "autocast": "float32"},
        ),
        (["02_dpo_ranking"], {"n_seeds": 2}),
    ],
)
def test_size_and_precision_are_parameters_of_the_chapters_that_train(
    root, chapters, parameters
):
    """``-p autocast=float32`` (the way out of an fp16 overflow), and the run's size on a slow GPU."""
    from rlhfbook.book import cli, profiles

    cli.check_parameters(root, chapters, parameters)  # declared by each parameters cell
    for chapter in chapters:
        assert {
            k: profiles.resolve(chapter, "gpu", **parameters)[k] for k in parameters
        } == parameters


def test_an_unknown_papermill_parameter_stops_the_notebook_with_one_line(tmp_path):
    import nbformat
    import papermill

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile = "cpu"\nseed = 0')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(
            'import rlhfbook\nP, results = rlhfbook.start_chapter("00_toy_world", profile, seed)'
        ),
        nbformat.v4.new_code_cell("reached = True"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    src, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, src)
    with pytest.raises(papermill.PapermillExecutionError):
        papermill.execute_notebook(
            str(src),
            str(out),
            parameters={"profile": "smoke", "seeed": 3},
            progress_bar=False,
            kernel_name="python3",
        )
    error = [
        o
        for c in nbformat.read(out, 4).cells
        for o in c.get("outputs", [])
        if o["output_type"] == "error"
    ]
    assert len(error) == 1 and error[0]["traceback"] == [
        "ParameterError: unknown parameter(s) 'seeed'; this chapter's parameters: profile, seed"
    ]


def test_the_book_hides_injected_parameters_and_shows_the_runtime_of_the_build():
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {"tags": ["injected-parameters"]},
                "source": "profile = 'cpu'",
                "outputs": [],
            },
        ]
    }
    nb[
        "cells"
    ].append(  # a chapter's first code cell shows it through rlhfbook.start_chapter
        {
            "cell_type": "code",
            "metadata": {},
            "source": 'P, results = rlhfbook.start_chapter("00_toy_world", profile, seed)',
            "outputs": [
                {
                    "output_type": "display_data",
                    "data": {"text/html": "<table>old</table>"},
                }
            ],
        }
    )
    out = cli.for_the_book(nb, "00_toy_world", {"00_toy_world": {"cpu": 120.0}})
    assert "remove-cell" in out["cells"][0]["metadata"]["tags"]
    for cell in out["cells"][1:]:
        (table,) = cell["outputs"]
        assert (
            "old" not in table["data"]["text/html"]
            and "2.0" in table["data"]["text/html"]
        )


def test_a_gpu_kernel_has_the_hub_on_and_a_missing_model_stops_it_with_one_line(
    tmp_path, monkeypatch
):
    import nbformat
    import papermill

    monkeypatch.delenv("RLHFBOOK_ONLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("_RLHFBOOK_SET_HF_HUB_OFFLINE", raising=False)
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile = "cpu"\nseed = 0')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(
            "import os\nfrom rlhfbook.book import profiles\nfrom rlhfbook.book.start import show_errors_as_one_line\n"
            "from rlhfbook.lm import models\nshow_errors_as_one_line()  # as start_chapter does\n"
            'P = profiles.resolve("02_dpo_ranking", profile)\n'
            "models.resolve_external(P, fetch=False)\n"
            "import huggingface_hub.constants\n"
            'assert "HF_HUB_OFFLINE" not in os.environ and not huggingface_hub.constants.HF_HUB_OFFLINE'
        ),
        nbformat.v4.new_code_cell(
            'os.environ["RLHFBOOK_ONLINE"] = "0"  # a GPU machine without network\n'
            'models.resolve_external(profiles.resolve("02_dpo_ranking", profile))'
        ),
        nbformat.v4.new_code_cell("reached = True"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    src, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, src)
    with pytest.raises(papermill.PapermillExecutionError):
        papermill.execute_notebook(
            str(src),
            str(out),
            parameters={"profile": "gpu"},
            progress_bar=False,
            kernel_name="python3",
        )
    cells = nbformat.read(out, 4).cells
    error = [
        o for c in cells for o in c.get("outputs", []) if o["output_type"] == "error"
    ]
    assert len(error) == 1 and len(error[0]["traceback"]) == 1
    assert error[0]["traceback"][0].startswith(
        "ModelUnavailable: could not fetch model 'gpt2': it is not a local "
        "folder and the Hugging Face hub is offline here"
    )


def test_schedule_keeps_fan_out_chapters_apart_and_runs_the_others_longest_first(
    tmp_path,
):
    from rlhfbook.book import cli, profiles

    (tmp_path / "results").mkdir()
    times = {
        "00_toy_world": 20,
        "01_ppo_max": 190,
        "02_dpo_ranking": 80,
        "03_pf_ppo": 240,
        "04_reward_distance": 35,
    }
    cli.runtimes_path(tmp_path).write_text(
        json.dumps({c: {"cpu": t} for c, t in times.items()})
    )
    order = cli.schedule(tmp_path, list(times), "cpu")
    assert order == [
        "01_ppo_max",
        "02_dpo_ranking",
        "04_reward_distance",
        "00_toy_world",
        "03_pf_ppo",
    ]
    assert (order[0], order[-1]) == profiles.FANOUT_CHAPTERS
    # measurements order only the one-process chapters; without them the budgets do
    times["00_toy_world"] = 500
    cli.runtimes_path(tmp_path).write_text(
        json.dumps({c: {"cpu": t} for c, t in times.items()})
    )
    assert cli.schedule(tmp_path, list(times), "cpu")[1] == "00_toy_world"
    cli.runtimes_path(tmp_path).unlink()
    assert cli.schedule(tmp_path, ["04_reward_distance", "03_pf_ppo"], "cpu") == [
        "03_pf_ppo",
        "04_reward_distance",
    ]


def test_describe_prints_every_setting_with_its_meaning_and_accepts_a_chapter_number():
    from rlhfbook.book import profiles

    done = rlhfbook_cli("describe", "04", timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("04_reward_distance: settings")
    assert (
        "n_envs  smoke=2  cpu=64  gpu=128" in done.stdout
        and "random MDPs per seed" in done.stdout
    )
    assert max(map(len, done.stdout.splitlines())) <= 100
    assert profiles.describe("04").equals(profiles.describe("04_reward_distance"))
