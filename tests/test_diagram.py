"""The chapter diagrams: one box per stage, in order, joined by arrows."""

import matplotlib.pyplot as plt
import pytest

from rlhfbook.report import diagram


def test_one_box_and_title_per_stage_with_an_arrow_between_neighbours():
    stages = [
        ("data", "pairs", "1,000 preference pairs"),
        ("train", "DPO", "TRL"),
        ("evaluate", "ranking", "R"),
    ]
    fig = diagram.pipeline(stages)
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if type(p).__name__ == "FancyBboxPatch"]
    arrows = [p for p in ax.patches if type(p).__name__ == "FancyArrowPatch"]
    assert len(boxes) == 3 and len(arrows) == 2
    assert [t.get_text() for t in ax.texts][::2] == ["pairs", "DPO", "ranking"]
    lefts = [b.get_x() for b in boxes]
    assert lefts == sorted(lefts)
    plt.close(fig)


def test_an_unknown_stage_kind_is_one_clear_error():
    with pytest.raises(ValueError, match="stage kinds must be among"):
        diagram.pipeline([("dataset", "pairs", "")])
