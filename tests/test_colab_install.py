"""The Colab install cell's report: what pip changed, and when the runtime must restart."""

import importlib.metadata

import pytest

from rlhfbook.book import colab

BEFORE = {
    "transformers": "4.57.1",
    "PyArrow": "18.1.0",
    "torch": "2.8.0",
    "pandas": "2.2.2",
}
AFTER = {
    "transformers": "5.24.0",
    "pyarrow": "24.0.0",
    "torch": "2.8.0",
    "pandas": "2.2.2",
    "trl": "1.16.0",
    "rlhfbook": "0.1.0",
}
TOP_LEVEL = {
    "transformers": ["transformers"],
    "pyarrow": ["pyarrow"],
    "torch": ["torch"],
    "pandas": ["pandas"],
    "trl": ["trl"],
    "rlhfbook": ["rlhfbook"],
}


def test_changes_lists_upgrades_and_new_packages_not_unchanged_ones():
    assert colab.changes(BEFORE, AFTER) == {
        "pyarrow": ("18.1.0", "24.0.0"),
        "rlhfbook": (None, "0.1.0"),
        "transformers": ("4.57.1", "5.24.0"),
        "trl": (None, "1.16.0"),
    }
    assert colab.summary(colab.changes(BEFORE, AFTER)) == (
        "pip changed: pyarrow 18.1.0 -> 24.0.0, rlhfbook new 0.1.0, transformers 4.57.1 -> 5.24.0, trl new 1.16.0"
    )
    assert colab.summary({}) == "pip changed nothing that was installed."


def test_a_restart_is_needed_only_for_a_replaced_package_that_was_imported():
    changed = colab.changes(BEFORE, AFTER)
    # pyarrow upgraded and imported (pandas imported it): restart; trl is new; torch unchanged
    assert colab.stale_imports(
        changed, ["pyarrow.lib", "pandas", "torch", "trl"], TOP_LEVEL
    ) == ["pyarrow"]
    assert (
        colab.stale_imports(changed, ["pandas", "torch"], TOP_LEVEL) == []
    )  # transformers not imported yet
    assert colab.stale_imports(changed, ["transformers", "pyarrow"], TOP_LEVEL) == [
        "pyarrow",
        "transformers",
    ]


def test_report_install_prints_the_change_and_stops_with_one_restart_line(
    monkeypatch, capsys
):
    monkeypatch.setattr(colab, "installed", lambda: AFTER)
    monkeypatch.setattr(importlib.metadata, "packages_distributions", lambda: TOP_LEVEL)
    with pytest.raises(
        colab.RestartRequired,
        match=r"^Restart the runtime .*: pip changed pyarrow, which",
    ) as stop:
        colab.report_install(
            BEFORE, {"pyarrow", "os"}
        )  # "Run all" stops here instead of going on
    assert "\n" not in str(stop.value) and "transformers" not in str(stop.value)
    out = capsys.readouterr().out.splitlines()
    assert out == [colab.summary(colab.changes(BEFORE, AFTER))]
    assert (
        colab.report_install(AFTER, {"pyarrow", "transformers"}) == []
    )  # nothing changed: no hint
    assert capsys.readouterr().out == "pip changed nothing that was installed.\n"


def test_installed_reads_this_environment():
    assert colab.installed()["torch"] == importlib.metadata.version("torch")
