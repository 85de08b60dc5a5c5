import json
import time

import numpy as np
import pytest

from rlhfbook.tasks import code_tasks, sandbox

TESTS = ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(2, 2) == 5"]
FAST = sandbox.Limits(cpu_s=1, wall_s=2.0, memory_mb=256)


def test_a_correct_program_passes_its_tests():
    assert sandbox.run_tests("def add(a, b):\n    return a + b", TESTS, FAST) == [
        True,
        True,
        False,
    ]
    assert sandbox.pass_rate("def add(a, b):\n    return a + b", TESTS[:2], FAST) == 1.0


def test_an_infinite_loop_is_a_failed_test_within_the_limits():
    start = time.perf_counter()
    program = "def add(a, b):\n    while True:\n        pass"
    assert sandbox.pass_rate(program, TESTS, FAST) == 0.0
    assert time.perf_counter() - start < FAST.wall_s + 2
    # a sleeping program uses no CPU: the wall timeout ends it, keeping the tests passed before
    sleepy = "import time\ndef add(a, b):\n    if a < 0:\n        time.sleep(60)\n    return a + b"
    start = time.perf_counter()
    assert sandbox.run_tests(sleepy, TESTS, sandbox.Limits(cpu_s=1, wall_s=1.5)) == [
        True,
        False,
        False,
    ]
    assert time.perf_counter() - start < 4


def test_a_memory_bomb_is_a_failed_test():
    bomb = "def add(a, b):\n    x = [0] * (10 ** 10)\n    return a + b"
    assert sandbox.pass_rate(bomb, TESTS, FAST) == 0.0
    at_import = "x = bytearray(2 ** 31)\ndef add(a, b):\n    return a + b"
    assert sandbox.pass_rate(at_import, TESTS, FAST) == 0.0


def test_crashes_and_exceptions_are_failed_tests():
    assert sandbox.pass_rate("import os\nos._exit(3)", TESTS, FAST) == 0.0
    assert (
        sandbox.pass_rate("def add(a, b):\n    raise RuntimeError('no')", TESTS, FAST)
        == 0.0
    )
    assert sandbox.pass_rate("raise SystemExit(0)", TESTS, FAST) == 0.0
    assert (
        sandbox.pass_rate("def add(a, b) return a + b", TESTS, FAST) == 0.0
    )  # syntax error
    crash_in_test = "import os\ndef add(a, b):\n    if a < 0:\n        os._exit(1)\n    return a + b"
    assert sandbox.run_tests(crash_in_test, TESTS, FAST) == [True, False, False]


def test_a_program_cannot_fake_a_pass_by_printing():
    liar = "import os\nos.write(1, b'0 0\\n1 1\\n')\nprint('0 2')\ndef add(a, b):\n    return None"
    assert sandbox.pass_rate(liar, TESTS, FAST) == 0.0


needs_isolation = pytest.mark.skipif(
    sandbox.isolation() is None,
    reason="bubblewrap with user namespaces is not available here (.ci/run installs it)",
)


@needs_isolation
def test_an_isolated_program_cannot_reach_the_network(tmp_path):
    import socket

    server = socket.create_server(
        ("127.0.0.1", 0)
    )  # a listener on this machine, reachable without isolation
    server.settimeout(0.5)
    port = server.getsockname()[1]
    program = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1).sendall(b'x')\nok = True"
    try:
        assert sandbox.run_tests(program, ["assert ok"], FAST) == [False]
        with pytest.raises(TimeoutError):
            server.accept()  # nothing connected: nothing left behind
    finally:
        server.close()


@needs_isolation
def test_an_isolated_program_writes_only_in_its_private_temporary_folder(tmp_path):
    outside = tmp_path / "written.txt"
    program = f"open({str(outside)!r}, 'w').write('x')\nok = True"
    assert sandbox.run_tests(program, ["assert ok"], FAST) == [False]
    assert not outside.exists()
    inside = "import os\nopen('scratch.txt', 'w').write('x')\nok = open('scratch.txt').read() == 'x'"
    assert sandbox.run_tests(inside, ["assert ok"], FAST) == [
        True
    ]  # its working folder is writable
    assert sandbox.run_tests(
        "import os\nok = os.listdir('.') == []", ["assert ok"], FAST
    ) == [True]  # and private


@needs_isolation
def test_an_isolated_program_cannot_read_a_file_planted_outside_its_folder(
    tmp_path, monkeypatch
):
    planted = tmp_path / "secret.txt"
    planted.write_text("42")
    program = f"secret = open({str(planted)!r}).read()"
    assert sandbox.run_tests(program, ["assert secret == '42'"], FAST) == [False]
    assert planted.read_text() == "42"  # untouched
    # the control: with only the resource limits, the same program reads it (and the tests above would fail)
    monkeypatch.setattr(sandbox, "isolation", lambda: None)
    assert sandbox.run_tests(program, ["assert secret == '42'"], FAST) == [True]


def test_the_chapter_is_told_in_one_line_how_programs_run(monkeypatch):
    note = sandbox.isolation_note()
    assert "\n" not in note and ("isolated" in note) == (
        sandbox.isolation() is not None
    )
    monkeypatch.setattr(sandbox, "isolation", lambda: None)
    assert (
        "limits only" in sandbox.isolation_note()
        and "apt-get install bubblewrap" in sandbox.isolation_note()
    )


def test_bad_arguments():
    with pytest.raises(ValueError, match="at least one test"):
        sandbox.run_tests("x = 1", [])
    with pytest.raises(ValueError, match="invalid limits"):
        sandbox.Limits(cpu_s=0)


MBPP_ROWS = [
    {
        "text": "Write a function to add two numbers.",
        "code": "def add(a, b):\n    return a + b",
        "test_list": [
            "assert add(1, 2) == 3",
            "assert add(0, 0) == 0",
            "assert add(-2, 1) == -1",
        ],
    },
    {
        "text": "Write a function to double a number.",
        "code": "def double(x):\n    return 2 * x",
        "test_list": [
            "assert double(2) == 4",
            "assert double(0) == 0",
            "assert double(-1) == -2",
        ],
        "test_setup_code": "",
    },
]


@pytest.fixture
def mbpp_file(tmp_path):
    path = tmp_path / "mbpp.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in MBPP_ROWS))
    return path


def test_unit_test_task_on_a_local_mbpp_file(mbpp_file):
    problems = code_tasks.load_problems(mbpp_file)
    task = code_tasks.UnitTestTask(problems, limits=FAST)
    prompts = task.sample_prompts(4, np.random.default_rng(0))
    assert set(prompts) <= set(task.prompts) and len(task.prompts) == 2
    p = task.prompts[0]
    assert "add two numbers" in p and "assert add(1, 2) == 3" in p
    assert task.gold_reward(p, task.demonstration(p)) == 1.0
    assert task.gold_reward(
        p, "```python\ndef add(a, b):\n    return a - b\n```\nDone."
    ) == pytest.approx(1 / 3)
    assert task.gold_reward(p, "while True: pass") == 0.0


def test_load_problems_rejects_other_formats(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"question": "q", "answer": "a"}) + "\n")
    with pytest.raises(ValueError, match="needs 'text'"):
        code_tasks.load_problems(path)


def test_unit_test_raters_prefer_the_better_program_noisily(mbpp_file):
    task = code_tasks.UnitTestTask(code_tasks.load_problems(mbpp_file), limits=FAST)
    raters = code_tasks.UnitTestRaters(task, tau=0.1)
    p = task.prompts[0]
    good, bad = task.demonstration(p), "def add(a, b):\n    return a - b"
    rng = np.random.default_rng(0)
    assert raters.rate(p, good, bad, 1000, rng) > 990
    assert (
        400 < raters.rate(p, bad, bad + " ", 1000, rng) < 600
    )  # equal scores: coin flips
    with pytest.raises(ValueError, match="tau"):
        code_tasks.UnitTestRaters(task, tau=0)


def test_the_gpu_path_runs_offline_with_a_local_model_folder_and_dataset(
    mbpp_file, tmp_path
):
    """What the gpu profile does with model_name / dataset, on a tiny local model."""
    import torch

    from rlhfbook.lm import models, rollout
    from rlhfbook.tasks.toyworld import build_tokenizer, new_model

    tok = build_tokenizer()
    torch.manual_seed(0)
    new_model("tiny", tok).save_pretrained(tmp_path / "model")
    tok.save_pretrained(tmp_path / "model")
    policy, tok = models.load_policy(tmp_path / "model")
    task = code_tasks.UnitTestTask(
        code_tasks.load_problems(mbpp_file), limits=FAST, max_response_tokens=8
    )
    r = rollout.generate(
        policy, tok, task.prompts, max_new_tokens=task.max_response_tokens, greedy=True
    )
    scores = rollout.gold_scores(task, r)
    assert scores.shape == (2,) and ((scores >= 0) & (scores <= 1)).all()
