"""``python -m rlhfbook run | build | check``: execute chapters, build the book, check notebooks.

* ``run [CHAPTER ...] --profile P`` executes chapters with papermill, one at a time, into
  ``_build/executed/P/`` (the committed notebooks are never written). A chapter is skipped
  when its notebook, the ``src`` package and the pinned dependencies are unchanged since its
  last successful run in that profile (``--force`` re-runs). A failing chapter is reported
  with the failing cell's source and error; the others still run; the exit code is 1.
* ``build --profile P`` renders the scorecard from the results and builds the HTML book
  from the executed notebooks into ``_build/html``.
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

from . import chapters as chapters_mod
from . import scorecard

EXIT_USAGE = 2


def executed_dir(root: Path, profile: str) -> Path:
    return root / "_build" / "executed" / profile


def results_dir(root: Path, profile: str) -> Path:
    """``results/`` for the book's default ``cpu`` profile, ``results/<profile>/`` otherwise."""
    return root / "results" if profile == "cpu" else root / "results" / profile


def runtimes_path(root: Path) -> Path:
    return root / "results" / "runtimes.json"


def cache_key(root: Path, chapter: str, profile: str) -> str:
    """Hash of the chapter notebook, every file of the ``src`` package, and the pins."""
    h = hashlib.sha256(f"{chapter}:{profile}".encode())
    files = [root / "notebooks" / f"{chapter}.ipynb", root / "constraints.txt"]
    files += sorted(p for p in (root / "src").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in files:
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _failing_cell(notebook: Path) -> tuple[str, str]:
    """Source and error of the first cell with an error output in an executed notebook."""
    nb = json.loads(notebook.read_text())
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
                return src, f"{out.get('ename')}: {out.get('evalue')}"
    return "", "unknown error (no cell recorded an error)"


def _record_runtime(root: Path, chapter: str, profile: str, seconds: float) -> None:
    path = runtimes_path(root)
    data = json.loads(path.read_text()) if path.exists() else {}
    data.setdefault(chapter, {})[profile] = round(seconds, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def run(root: Path, names: list[str], profile: str, force: bool = False) -> int:
    """Execute chapters one at a time; returns the number of failed chapters."""
    import papermill
    from tqdm.auto import tqdm

    chapters = chapters_mod.resolve_chapters(root, names)
    out_dir, res_dir = executed_dir(root, profile), results_dir(root, profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    res_dir.mkdir(parents=True, exist_ok=True)
    os.environ["RLHFBOOK_RESULTS_DIR"] = str(res_dir)
    os.environ["RLHFBOOK_RUNTIMES"] = str(runtimes_path(root))
    failed = []
    bar = tqdm(chapters, desc=f"chapters ({profile})", unit="chapter", file=sys.stdout)
    for chapter in bar:
        bar.set_postfix_str(chapter)
        output, key_file = out_dir / f"{chapter}.ipynb", out_dir / f"{chapter}.key"
        key = cache_key(root, chapter, profile)
        if not force and key_file.exists() and key_file.read_text() == key and output.exists() \
                and (res_dir / f"{chapter}.json").exists():
            tqdm.write(f"  {chapter}: unchanged since its last run, skipped (--force re-runs)", file=sys.stdout)
            continue
        key_file.unlink(missing_ok=True)
        start = time.perf_counter()
        try:
            papermill.execute_notebook(
                str(root / "notebooks" / f"{chapter}.ipynb"), str(output),
                parameters={"profile": profile}, cwd=str(root), kernel_name="python3",
                progress_bar=False, log_output=False,
            )
        except papermill.PapermillExecutionError:
            source, error = _failing_cell(output)
            failed.append(chapter)
            tqdm.write(f"  {chapter}: FAILED after {time.perf_counter() - start:.0f} s\n"
                       f"  --- failing cell ---\n{source}\n  --- error ---\n  {error}", file=sys.stdout)
            continue
        seconds = time.perf_counter() - start
        key_file.write_text(key)
        _record_runtime(root, chapter, profile, seconds)
        tqdm.write(f"  {chapter}: ok in {seconds:.0f} s", file=sys.stdout)
    if failed:
        print(f"{len(failed)} chapter(s) failed: {', '.join(failed)}")
    return len(failed)


def build(root: Path, profile: str) -> Path:
    """Render the scorecard and build the HTML book from the executed notebooks."""
    chapters = chapters_mod.toc_chapters(root)
    missing = [c for c in chapters if not (executed_dir(root, profile) / f"{c}.ipynb").exists()]
    if missing:
        raise FileNotFoundError(
            f"no executed notebook for {', '.join(missing)} in the {profile!r} profile: "
            f"run `python -m rlhfbook run --profile {profile}` first")
    site = root / "_build" / "jb"
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(root / "book", site / "book")
    shutil.copy(root / "_config.yml", site / "_config.yml")
    (site / "notebooks").mkdir()
    for chapter in chapters:
        shutil.copy(executed_dir(root, profile) / f"{chapter}.ipynb", site / "notebooks" / f"{chapter}.ipynb")
    runtimes = json.loads(runtimes_path(root).read_text()) if runtimes_path(root).exists() else {}
    (site / "book" / "scorecard.md").write_text(scorecard.render(chapters, results_dir(root, profile)))
    (site / "book" / "status.md").write_text(scorecard.render_status(chapters, results_dir(root, profile), runtimes))
    html = root / "_build" / "html"
    shutil.rmtree(html, ignore_errors=True)
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(site), "--path-output", str(root),
           "--toc", str(site / "book" / "_toc.yml"), "--config", str(site / "_config.yml"),
           "-W", "-n", "--keep-going"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0 or not (html / "index.html").exists():
        sys.stdout.write(done.stdout[-5000:] + done.stderr[-5000:])
        raise RuntimeError("the book build failed (warnings are errors); see the output above")
    for chapter in chapters:  # the download button serves the committed notebook, like Colab
        shutil.copy(root / "notebooks" / f"{chapter}.ipynb", html / "_sources" / "notebooks" / f"{chapter}.ipynb")
    return html / "index.html"


def check(root: Path) -> list[str]:
    """Problems of every chapter's notebook pair."""
    return [p for chapter in chapters_mod.toc_chapters(root) for p in chapters_mod.notebook_problems(root, chapter)]


def main(argv: list[str] | None = None) -> int:
    from .profiles import PROFILES

    parser = argparse.ArgumentParser(prog="python -m rlhfbook", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="execute chapters with papermill")
    p_run.add_argument("chapters", nargs="*", help="chapter names (NN_name or NN); default: all")
    p_run.add_argument("--profile", default="cpu")
    p_run.add_argument("--force", action="store_true", help="re-run unchanged chapters too")
    p_build = sub.add_parser("build", help="render the scorecard and build the HTML book")
    p_build.add_argument("--profile", default="cpu")
    sub.add_parser("check", help="check the notebook pairs")
    args = parser.parse_args(argv)
    try:
        root = chapters_mod.repo_root()
        if getattr(args, "profile", "cpu") not in PROFILES:
            raise ValueError(f"unknown profile {args.profile!r}; valid profiles: {', '.join(PROFILES)}")
        if args.command == "run":
            return 1 if run(root, args.chapters, args.profile, args.force) else 0
        if args.command == "build":
            print(f"The book is ready: open {build(root, args.profile)}")
            return 0
        problems = check(root)
        print("\n".join(problems) if problems else "all notebook pairs are in shape")
        return 1 if problems else 0
    except (ValueError, FileNotFoundError, RuntimeError, chapters_mod.NotARepository) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
