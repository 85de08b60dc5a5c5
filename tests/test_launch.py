"""The TRL-based training runs from a script under ``accelerate launch``: 2 processes on the same
global batch log the same losses as 1 process (gradients averaged over processes)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rlhfbook.book import launch
from rlhfbook.tasks.toyworld import build_tokenizer, new_model

ROWS = [
    {"prompt": "food: ", "chosen": "superb tasty", "rejected": "awful"},
    {"prompt": "film: ", "chosen": "great", "rejected": "dull messy"},
    {"prompt": "book: ", "chosen": "lovely fine", "rejected": "bad"},
    {"prompt": "song: ", "chosen": "nice", "rejected": "awful dull"},
] * 8
ACCELERATE = [
    str(Path(sys.executable).parent / "accelerate"),
    "launch",
    "--multi_gpu",
    "--num_processes",
    "2",
    "--num_machines",
    "1",
    "--mixed_precision",
    "no",
    "--dynamo_backend",
    "no",
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("launch")
    tok = build_tokenizer()
    torch.manual_seed(0)
    new_model("tiny", tok).save_pretrained(folder / "base")
    tok.save_pretrained(folder / "base")
    (folder / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return folder


def losses(out: Path) -> list[float]:
    return [
        h["loss"]
        for h in json.loads((out / "log_history.json").read_text())
        if "loss" in h
    ]


@pytest.mark.parametrize("method", ["reward", "dpo"])
def test_two_processes_log_the_losses_of_one_at_the_same_global_batch(inputs, method):
    args = [
        "-m",
        "rlhfbook.book.launch",
        method,
        "--base",
        str(inputs / "base"),
        "--pairs",
        str(inputs / "pairs.jsonl"),
        "--steps",
        "4",
        "--global-batch",
        "8",
    ]
    env = {**os.environ, "RLHFBOOK_THREADS": "1", "OMP_NUM_THREADS": "1"}
    one, two = inputs / f"{method}-1", inputs / f"{method}-2"
    subprocess.run(
        [sys.executable, *args, "--out", str(one)],
        check=True,
        env=env,
        capture_output=True,
    )
    subprocess.run(
        [*ACCELERATE, *args, "--out", str(two)],
        check=True,
        env=env,
        capture_output=True,
    )
    assert len(losses(one)) == 4
    assert losses(two) == pytest.approx(losses(one), rel=1e-5)
    assert losses(one)[-1] < losses(one)[0]  # it trains


def test_a_global_batch_the_processes_cannot_split_is_one_error_line(
    monkeypatch, capsys
):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(SystemExit):
        launch.main(
            [
                "reward",
                "--base",
                "x",
                "--pairs",
                "p.jsonl",
                "--out",
                "o",
                "--steps",
                "1",
                "--global-batch",
                "7",
            ]
        )
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith(
        "error: --global-batch 7 is not divisible by the 2 processes"
    )
