from rlhfbook.core import progress


def test_batch_runs_print_one_summary_line(monkeypatch, capsys):
    monkeypatch.setenv(progress.BATCH_ENV, "1")
    bar = progress.track(range(5), desc="PPO")
    for _ in bar:
        bar.set_postfix_str("gold 3.2")
    out = capsys.readouterr().out.splitlines()
    assert (
        len(out) == 1
        and out[0].startswith("PPO: 5 steps in ")
        and out[0].endswith("s (gold 3.2)")
    )


def test_a_disabled_loop_prints_nothing(monkeypatch, capsys):
    monkeypatch.setenv(progress.BATCH_ENV, "1")
    assert list(progress.track(range(3), desc="x", enabled=False)) == [0, 1, 2]
    assert capsys.readouterr() == ("", "")
