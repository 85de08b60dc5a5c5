import pytest

from rlhfbook.book import parallel


def _seeded_draws(seed):
    """A run as chapters write them: seed everything, train-ish, return numbers."""
    import torch

    from rlhfbook.book import runtime

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
    with pytest.raises(parallel.RunFailed, match=r"1 of 3 runs failed; the first, 2:(.|\n)*ValueError: bad seed 2"):
        parallel.map_runs(_boom, [1, 2, 3], jobs=2)
