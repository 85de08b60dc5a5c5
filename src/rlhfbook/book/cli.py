"""``python -m rlhfbook run | build | robustness | describe | check``: execute chapters, build the book, check notebooks.

* ``run [CHAPTER ...] --profile P [-p NAME VALUE] [--jobs N]`` executes chapters with
  papermill into ``_build/executed/P/`` (the committed notebooks are never written), N side
  by side in worker processes (default: :func:`default_jobs`), in the order of :func:`schedule`, after the cached
  toy-world base policies are trained side by side (smoke and cpu). Results go to ``results/P/``. A chapter is skipped when its
  notebook, the ``src`` package, the pinned dependencies and the parameters are unchanged
  since its last successful run in that profile (``--force`` re-runs). A failing chapter is
  reported with the failing cell's source and error; the others still run; the exit code is 1.
* ``build --profile P`` renders the scorecard from the results and builds the HTML book
  from the executed notebooks into ``_build/html``.
* ``robustness [CHAPTER ...] --seed S --profile P`` runs the chapters on the shipped seed block and
  on the block starting at S (results in ``results/P-seedS/``) and prints both blocks' verdicts.
* ``describe CHAPTER`` prints every setting of a chapter with its meaning and its value per profile.
* ``check`` reports notebook pairs that are out of sync, carry outputs or lack a part.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rlhfbook.book import chapters as chapters_mod
from rlhfbook.book import gpu_sizing, profiles, scorecard
from rlhfbook.book.gpu_memory import PeakSampler
from rlhfbook.core import environment, progress
from rlhfbook.report import verdicts
from rlhfbook.report.results import SHIPPED_SEED, block, results_dir

EXIT_USAGE = 2


def executed_dir(root: Path, profile: str) -> Path:
    return root / "_build" / "executed" / profile


def runtimes_path(root: Path) -> Path:
    return root / "results" / "runtimes.json"


def gpu_memory_path(root: Path) -> Path:
    """Peak GPU memory per chapter and profile (bytes; :mod:`rlhfbook.book.gpu_memory`), beside the runtimes."""
    return root / "results" / "gpu_memory.json"


def _read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def chapter_key(
    root: Path, chapter: str, profile: str, parameters: dict | None = None
) -> str:
    """Hash of the chapter notebook, every file of the ``src`` package, the pins and the parameters."""
    h = hashlib.sha256(
        f"{chapter}:{profile}:{json.dumps(parameters or {}, sort_keys=True)}".encode()
    )
    files = [root / "notebooks" / f"{chapter}.ipynb", root / "constraints.txt"]
    files += sorted(
        p
        for p in (root / "src").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    for path in files:
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def parse_value(text: str):
    """A ``-p NAME VALUE`` value as papermill reads it: int, float, True/False/None, else text."""
    literals = {"True": True, "False": False, "None": None}
    if text in literals:
        return literals[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def declared_parameters(notebook: Path) -> list[str]:
    """Names the notebook's ``parameters`` cell assigns."""

    nb = json.loads(notebook.read_text())
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return profiles.assigned_names(chapters_mod._source(cell))
    return []


def check_parameters(root: Path, chapters: list[str], parameters: dict) -> None:
    """Every ``-p`` name must be declared by every chapter it is passed to, with a value of its setting's
    type, and the profile is chosen with ``--profile`` (one-line errors, before anything runs)."""

    if "profile" in parameters:
        raise ValueError("choose the profile with --profile, not -p profile")
    for chapter in chapters:
        declared = declared_parameters(root / "notebooks" / f"{chapter}.ipynb")
        unknown = [n for n in parameters if n not in declared]
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {', '.join(map(repr, unknown))} for {chapter}; "
                f"its parameters: {', '.join(declared)}"
            )
        profiles.check_types(chapter, parameters)


def _failing_cell(notebook: Path) -> tuple[str, str]:
    """Source and error of the first cell with an error output in an executed notebook."""
    nb = json.loads(notebook.read_text())
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                src = (
                    cell["source"]
                    if isinstance(cell["source"], str)
                    else "".join(cell["source"])
                )
                return src, f"{out.get('ename')}: {out.get('evalue')}"
    return "", "unknown error (no cell recorded an error)"


def _record(path: Path, chapter: str, profile: str, value: float) -> None:
    """Set ``{chapter: {profile: value}}`` in the JSON file ``path`` (the runtimes, the GPU memory)."""
    data = _read(path)
    data.setdefault(chapter, {})[profile] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def execute(
    root: Path, chapter: str, profile: str, parameters: dict, out_dir: Path
) -> tuple[bool, float, str, int | None]:
    """Execute one chapter with papermill (in a worker process) into ``out_dir`` (the seed block's
    :func:`executed_dir`); returns (ok, seconds, error, the peak GPU memory in bytes while it ran,
    None without a GPU)."""
    import logging

    import papermill

    logging.getLogger("papermill").setLevel(
        logging.ERROR
    )  # its notes on parsing parameter comments
    output = out_dir / f"{chapter}.ipynb"
    start = time.perf_counter()
    ok, error = True, ""
    with PeakSampler() as gpu:
        try:
            papermill.execute_notebook(
                str(root / "notebooks" / f"{chapter}.ipynb"),
                str(output),
                parameters={"profile": profile, **parameters},
                cwd=str(root),
                kernel_name="python3",
                progress_bar=False,
                log_output=False,
                extra_arguments=[
                    "--IPKernelApp.log_level=ERROR"
                ],  # not the kernel's TCP-transport warning
            )
        except papermill.PapermillExecutionError:
            source, cell_error = _failing_cell(output)
            ok, error = (
                False,
                f"  --- failing cell ---\n{source}\n  --- error ---\n  {cell_error}",
            )
    return ok, time.perf_counter() - start, error, gpu.peak


def prepare(task: str, profile: str) -> float:
    """Train (or find cached) one toy-world base policy in a worker; returns its seconds."""
    import transformers

    from rlhfbook.tasks.toyworld import base_policy  # deferred: imports torch

    transformers.utils.logging.disable_progress_bar()  # no "Writing model shards" bar per save
    start = time.perf_counter()
    base_policy(task, profile, progress=False)
    return time.perf_counter() - start


# Base policies the chapters share: trained side by side before the chapters start, so that
# no chapter waits for another to train them (toyworld.base_policy locks each cache entry).
BASE_POLICY_TASKS = ("preference", "code")


def schedule(root: Path, chapters: list[str], profile: str) -> list[str]:
    """The order chapters start in. Chapters that use every core themselves
    (``profiles.FANOUT_CHAPTERS``) do not start side by side: the first of them starts first,
    the one-process chapters next, by their last measured (else budgeted) wall time, longest
    first, and the other fan-out chapters last, in the order ``FANOUT_CHAPTERS`` lists them."""
    measured = _read(runtimes_path(root))

    def expected(c):
        if profile in measured.get(c, {}):
            return measured[c][profile]
        return (
            profiles.budget_minutes(c)[profile] * 60
            if c in profiles.chapters()
            else 0.0
        )

    fanout = [c for c in profiles.FANOUT_CHAPTERS if c in chapters]
    single = sorted(
        (c for c in chapters if c not in profiles.FANOUT_CHAPTERS),
        key=expected,
        reverse=True,
    )
    return fanout[:1] + single + fanout[1:]


def default_jobs(profile: str) -> int:
    """Chapters run side by side by default: one per core, but one at a time in a GPU profile,
    whose chapters each size their models to the one GPU (``rlhfbook.lm.memory``)."""
    return 1 if profile in profiles.GPU_PROFILES else max(1, os.cpu_count() or 1)


def run(
    root: Path,
    names: list[str],
    profile: str,
    force: bool = False,
    jobs: int | None = None,
    parameters: dict | None = None,
) -> int:
    """Execute chapters, ``jobs`` at a time in worker processes; returns the number that failed.

    Each worker runs one chapter's kernel with one torch thread, so a chapter's numbers are
    the same whether it runs alone or beside another.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    parameters = dict(parameters or {})
    chapters = chapters_mod.resolve_chapters(root, names)
    check_parameters(root, chapters, parameters)
    jobs = max(1, jobs or default_jobs(profile))
    label = block(
        profile, parameters.get("seed", SHIPPED_SEED)
    )  # another seed block keeps its own results
    out_dir, res_dir = executed_dir(root, label), results_dir(label, root)
    out_dir.mkdir(parents=True, exist_ok=True)
    res_dir.mkdir(parents=True, exist_ok=True)
    os.environ["RLHFBOOK_RESULTS_DIR"] = str(root / "results")
    os.environ["RLHFBOOK_RUNTIMES"] = str(runtimes_path(root))
    os.environ[progress.BATCH_ENV] = "1"
    # the kernels' hub access follows the profile from their first import of rlhfbook (gpu: on)
    os.environ["RLHFBOOK_PROFILE"] = profile
    os.environ.setdefault("RLHFBOOK_CACHE", str(root / ".cache" / "rlhfbook"))
    todo, failed, keys = [], [], {}
    for chapter in chapters:
        key_file = out_dir / f"{chapter}.key"
        keys[chapter] = chapter_key(root, chapter, profile, parameters)
        if (
            not force
            and key_file.exists()
            and key_file.read_text() == keys[chapter]
            and (out_dir / f"{chapter}.ipynb").exists()
            and (res_dir / f"{chapter}.json").exists()
        ):
            print(
                f"  {chapter}: unchanged since its last run, skipped (--force re-runs)",
                flush=True,
            )
            continue
        key_file.unlink(missing_ok=True)
        todo.append(chapter)
    start = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(jobs, max(1, len(todo))), mp_context=context
    ) as pool:
        if todo and profile in ("smoke", "cpu"):
            print(
                f"base policies ({profile}): {', '.join(BASE_POLICY_TASKS)}", flush=True
            )
            for task, future in [
                (t, pool.submit(prepare, t, profile)) for t in BASE_POLICY_TASKS
            ]:
                print(f"  {task}: ready in {future.result():.0f} s", flush=True)
        order = schedule(root, todo, profile)
        if order:
            print(
                f"running {', '.join(order)} ({profile}, {min(jobs, len(order))} at a time)",
                flush=True,
            )
        futures = {
            pool.submit(execute, root, c, profile, parameters, out_dir): c
            for c in order
        }
        for future in as_completed(futures):
            chapter = futures[future]
            ok, seconds, error, gpu_peak = future.result()
            gpu = (
                "" if gpu_peak is None else f", peak GPU memory {gpu_peak / 1e9:.1f} GB"
            )
            if ok:
                (out_dir / f"{chapter}.key").write_text(keys[chapter])
                _record(runtimes_path(root), chapter, label, round(seconds, 1))
                if gpu_peak is not None:
                    _record(gpu_memory_path(root), chapter, label, gpu_peak)
                print(f"  {chapter}: ok in {seconds:.0f} s{gpu}", flush=True)
            else:
                failed.append(chapter)
                print(
                    f"  {chapter}: FAILED after {seconds:.0f} s{gpu}\n{error}",
                    flush=True,
                )
    if todo:
        print(
            f"{len(todo)} chapter(s) in {time.perf_counter() - start:.0f} s wall",
            flush=True,
        )
    if failed:
        print(f"{len(failed)} chapter(s) failed: {', '.join(failed)}")
    return len(failed)


def robustness(
    root: Path,
    seed: int,
    profile: str = "cpu",
    names: list[str] | None = None,
    jobs: int | None = None,
) -> int:
    """Execute the book on the shipped seed block (skipped where unchanged) and on the block starting at
    ``seed`` (into ``results/<profile>-seed<S>/``), and print each finding's and control's verdict on
    both; returns the number of chapters that failed to run."""

    if seed == SHIPPED_SEED:
        raise ValueError(
            f"--seed {seed} is the shipped block; choose another first seed (e.g. 1000)"
        )
    failed = run(root, names or [], profile, jobs=jobs) + run(
        root, names or [], profile, jobs=jobs, parameters={"seed": seed}
    )
    shipped, other = results_dir(profile, root), results_dir(block(profile, seed), root)
    rows = []
    for chapter in chapters_mod.resolve_chapters(root, names or []):
        a, b = (
            _read(d / f"{chapter}.json").get("checks", []) for d in (shipped, other)
        )
        rows += [
            (chapter.split("_")[0], *row) for row in verdicts.robustness_rows(a, b)
        ]
    header = ("ch", "check", "kind", f"seeds {SHIPPED_SEED}..", f"seeds {seed}..", "")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())
    agree = sum(r[-1] == "agree" for r in rows)
    print(
        f"{agree} of {len(rows)} findings and controls have the same verdict on both blocks"
    )
    return failed


# A code cell whose source holds one of these shows the chapter's runtime table.
RUNTIME_TABLE_CALLS = ("rlhfbook.start_chapter(",)


def for_the_book(nb: dict, chapter: str, runtimes: dict) -> dict:
    """An executed notebook as the book shows it.

    Papermill's injected parameters cell is removed from the page, and the runtime table
    at the top is re-rendered from ``runtimes.json`` (the status page's source), so it
    shows the wall time of the run the page comes from.
    """
    for cell in nb["cells"]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
        if cell["cell_type"] == "code" and any(
            call in chapters_mod._source(cell) for call in RUNTIME_TABLE_CALLS
        ):
            table = scorecard.runtime_table(chapter, runtimes)
            cell["outputs"] = [
                o
                for o in cell.get("outputs", [])
                if "text/html" not in o.get("data", {})
            ] + [
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"text/html": table, "text/plain": "runtime table"},
                }
            ]
    return nb


def build(root: Path, profile: str) -> Path:
    """Render the scorecard and build the HTML book from the executed notebooks."""
    chapters = chapters_mod.toc_chapters(root)
    missing = [
        c for c in chapters if not (executed_dir(root, profile) / f"{c}.ipynb").exists()
    ]
    if missing:
        raise FileNotFoundError(
            f"no executed notebook for {', '.join(missing)} in the {profile!r} profile: "
            f"run `python -m rlhfbook run --profile {profile}` first"
        )
    site = root / "_build" / "jb"
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(root / "book", site / "book")
    shutil.copy(root / "_config.yml", site / "_config.yml")
    (site / "notebooks").mkdir()
    runtimes = _read(runtimes_path(root))
    for chapter in chapters:
        nb = json.loads((executed_dir(root, profile) / f"{chapter}.ipynb").read_text())
        (site / "notebooks" / f"{chapter}.ipynb").write_text(
            json.dumps(for_the_book(nb, chapter, runtimes))
        )
    running = site / "book" / "running.md"
    running.write_text(gpu_sizing.fill_running(running.read_text()))
    intro = site / "book" / "intro.md"
    intro.write_text(
        scorecard.fill_intro(intro.read_text(), chapters, results_dir(profile, root))
    )
    (site / "book" / "scorecard.md").write_text(
        scorecard.render(
            chapters,
            results_dir(profile, root),
            profile,
            {c: chapters_mod.title(root, c) for c in chapters},
        )
    )
    (site / "book" / "status.md").write_text(
        scorecard.render_status(
            chapters,
            results_dir(profile, root),
            runtimes,
            profile,
            _read(gpu_memory_path(root)),
        )
    )
    html = root / "_build" / "html"
    shutil.rmtree(html, ignore_errors=True)
    cmd = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(site),
        "--path-output",
        str(root),
        "--toc",
        str(site / "book" / "_toc.yml"),
        "--config",
        str(site / "_config.yml"),
        "-W",
        "-n",
        "--keep-going",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0 or not (html / "index.html").exists():
        sys.stdout.write(done.stdout[-5000:] + done.stderr[-5000:])
        raise RuntimeError(
            "the book build failed (warnings are errors); see the output above"
        )
    for (
        chapter
    ) in chapters:  # the download button serves the committed notebook, like Colab
        shutil.copy(
            root / "notebooks" / f"{chapter}.ipynb",
            html / "_sources" / "notebooks" / f"{chapter}.ipynb",
        )
    return html / "index.html"


def check(root: Path) -> list[str]:
    """Problems of every chapter's notebook pair."""
    return [
        p
        for chapter in chapters_mod.toc_chapters(root)
        for p in chapters_mod.notebook_problems(root, chapter)
    ]


def main(argv: list[str] | None = None) -> int:

    parser = argparse.ArgumentParser(
        prog="python -m rlhfbook", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="execute chapters with papermill")
    p_run.add_argument(
        "chapters", nargs="*", help="chapter names (NN_name or NN); default: all"
    )
    profile_help = f"{' | '.join(profiles.PROFILES)} (default: cpu)"
    p_run.add_argument("--profile", default="cpu", help=profile_help)
    p_run.add_argument(
        "--force", action="store_true", help="re-run unchanged chapters too"
    )
    p_run.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        help="chapters run side by side (default: the number of cores; gpu: 1)",
    )
    p_run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a chapter parameter, e.g. -p seed 3 (as papermill's -p)",
    )
    p_build = sub.add_parser(
        "build", help="render the scorecard and build the HTML book"
    )
    p_build.add_argument("--profile", default="cpu", help=profile_help)
    p_rob = sub.add_parser(
        "robustness", help="re-run the book on another seed block and compare verdicts"
    )
    p_rob.add_argument(
        "chapters", nargs="*", help="chapter names (NN_name or NN); default: all"
    )
    p_rob.add_argument(
        "--seed",
        type=int,
        default=1000,
        help="first seed of the other block (default 1000)",
    )
    p_rob.add_argument("--profile", default="cpu", help=profile_help)
    p_rob.add_argument(
        "--jobs", "-j", type=int, default=None, help="chapters run side by side"
    )
    p_describe = sub.add_parser(
        "describe", help="list a chapter's settings, their meaning and profile values"
    )
    p_describe.add_argument("chapter", help="chapter name (NN_name or NN)")
    sub.add_parser("check", help="check the notebook pairs")
    args = parser.parse_args(argv)
    environment.prepare(
        getattr(args, "profile", None)
    )  # inherited by the chapters' kernels
    try:
        root = chapters_mod.repo_root()
        if getattr(args, "profile", "cpu") not in profiles.PROFILES:
            raise ValueError(
                f"unknown profile {args.profile!r}; valid profiles: {', '.join(profiles.PROFILES)}"
            )
        if args.command == "run":
            parameters = {name: parse_value(value) for name, value in args.parameter}
            return (
                1
                if run(
                    root, args.chapters, args.profile, args.force, args.jobs, parameters
                )
                else 0
            )
        if args.command == "robustness":
            return (
                1
                if robustness(root, args.seed, args.profile, args.chapters, args.jobs)
                else 0
            )
        if args.command == "describe":
            print(profiles.describe_text(args.chapter))
            return 0
        if args.command == "build":
            print(f"The book is ready: open {build(root, args.profile)}")
            return 0
        problems = check(root)
        print("\n".join(problems) if problems else "all notebook pairs are in shape")
        return 1 if problems else 0
    except (
        ValueError,
        FileNotFoundError,
        RuntimeError,
        chapters_mod.NotARepository,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
