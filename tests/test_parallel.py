import pytest

from rlhfbook.core import parallel


def _seeded_draws(seed):
    """A run as chapters write them: seed everything, train-ish, return numbers."""
    import torch

    from rlhfbook.core import runtime

    runtime.seed_everything(seed)
    w = torch.randn(64, 64)
    for _ in range(5):
        w = torch.tanh(w @ torch.randn(64, 64) / 8)
    return w.sum().item(), torch.get_num_threads()


def _boom(x):
    if x == 2:
        raise ValueError("bad seed 2")
    return x


def test_parallel_runs_match_serial_runs_bit_for_bit():
    serial = parallel.map_runs(_seeded_draws, [0, 1, 2], jobs=1)
    side_by_side = parallel.map_runs(_seeded_draws, [0, 1, 2], jobs=2)
    assert side_by_side == serial and {threads for _, threads in side_by_side} == {1}


def test_a_failing_run_fails_the_map_with_its_traceback():
    with pytest.raises(
        parallel.RunFailed,
        match=r"1 of 3 runs failed; the first, 2:(.|\n)*ValueError: bad seed 2",
    ):
        parallel.map_runs(_boom, [1, 2, 3], jobs=2)


CALLS = []


@parallel.resumable
def _counted(item):
    """A run that records that it ran, and fails on the item "disconnect" (a lost session)."""
    CALLS.append(item["seed"])
    if item.get("disconnect"):
        raise KeyboardInterrupt("the session went away")
    return {"seed": item["seed"], "value": item["seed"] * 10}


def test_finished_runs_are_saved_and_not_run_again_with_the_same_settings(
    tmp_path, monkeypatch
):
    monkeypatch.setenv(parallel.RUNS_ENV, str(tmp_path / "runs"))
    monkeypatch.setenv(parallel.SETTINGS_ENV, "settings-a")
    CALLS.clear()
    items = [
        {"seed": s, "rm_path": str(tmp_path / "session-1" / "rm")} for s in range(3)
    ]
    with pytest.raises(
        KeyboardInterrupt
    ):  # the third run is cut off: the first two are kept
        parallel.map_runs(
            _counted, items[:2] + [items[2] | {"disconnect": True}], jobs=1
        )
    assert CALLS == [0, 1, 2]
    CALLS.clear()
    again = [
        {"seed": s, "rm_path": str(tmp_path / "session-2" / "rm")} for s in range(3)
    ]  # a new temporary folder
    assert parallel.map_runs(_counted, again, jobs=1) == [
        {"seed": s, "value": 10 * s} for s in range(3)
    ]
    assert CALLS == [2]  # only the run that had not finished
    assert parallel.map_runs(_counted, again, jobs=1) and CALLS == [2]
    monkeypatch.setenv(
        parallel.SETTINGS_ENV, "settings-b"
    )  # other settings (e.g. -p iterations 20): all run
    parallel.map_runs(_counted, again, jobs=1)
    assert CALLS == [2, 0, 1, 2]
    saved = sorted((tmp_path / "runs").iterdir())
    assert len(saved) == 6 and parallel.map_runs(_boom, [1], jobs=1) == [
        1
    ]  # a run not marked resumable:
    assert (
        sorted((tmp_path / "runs").iterdir()) == saved
    )  # its result (e.g. a model's path) is not kept


def test_runs_are_saved_in_the_gpu_profile_or_where_the_reader_says(
    tmp_path, monkeypatch
):
    monkeypatch.delenv(parallel.RUNS_ENV, raising=False)
    monkeypatch.setenv("RLHFBOOK_CACHE", str(tmp_path / "cache"))
    for profile in ("smoke", "cpu"):
        monkeypatch.setenv("RLHFBOOK_PROFILE", profile)
        assert parallel.runs_folder() is None
    monkeypatch.setenv("RLHFBOOK_PROFILE", "gpu")
    assert parallel.runs_folder() == tmp_path / "cache" / "runs"
    monkeypatch.setenv(
        parallel.RUNS_ENV, "/content/drive/MyDrive/runs"
    )  # Colab: a Drive folder outlives the runtime
    assert parallel.runs_folder() == parallel.Path("/content/drive/MyDrive/runs")
    monkeypatch.setenv(parallel.RUNS_ENV, "")
    assert parallel.runs_folder() is None


def test_start_chapter_keys_saved_runs_on_the_chapters_settings(monkeypatch):
    import rlhfbook
    from rlhfbook.core import runtime

    monkeypatch.setattr(runtime, "quiet", lambda: None)
    monkeypatch.delenv(parallel.SETTINGS_ENV, raising=False)
    monkeypatch.setenv("RLHFBOOK_PROFILE", "")  # resolve_external records the profile
    keys = []
    for iterations in (2, 2, 3):
        rlhfbook.start_chapter("03_pf_ppo", "smoke", 0, iterations=iterations)
        keys.append(parallel.os.environ[parallel.SETTINGS_ENV])
    assert keys[0] == keys[1] != keys[2]
