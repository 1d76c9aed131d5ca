"""Archive import speed and memory: `finews import-archive` on a synthetic archive (issue 11).

    python bench/archive.py --posts 10000 --posts 20000 [--repeat 2] [--profile out.prof]

For each N it writes (or reuses, cached under bench/out/) an archive of N Jekyll posts grown from
the bundled posts (`tests/fixtures/posts`) the way `bench/grow_mirror.py` grows the mirror: every
synthetic article takes a real post's text (bodies, digests, stock spans, images, links as the
generator wrote them) under a fresh infoCode (`NW` + a date + 10 digits) and date, and articles
the archive holds twice (the emnews original and its media-category copy) stay pairs under the
same code. Then it imports the archive with `python -m finews_crawler.cli import-archive` into a
fresh SQLite file, in its own process (default settings: parser and writer processes where there
is a second core), and prints, per N (the median run of --repeat):

- posts/s end to end: posts over the command's wall time (interpreter start to exit);
- ms CPU/post: user + system time of the command and its parser and writer processes over posts
  (start-up included), then split: the command's own, the parser's and the writer's (their /proc
  times, read every 0.25 s);
- the 2-core bound: the posts/s two idle cores would allow, posts over the larger of the command's
  own CPU time (one core) and half the total (both): this machine is shared, and the wall-time
  figures are only as good as the load average printed beside them;
- peak RSS: of the command process and with its parser and writer processes (each one's own
  `VmHWM`, read every 0.25 s while they run: `ru_maxrss` of a process that waited for its
  children is theirs when one of them grew bigger), against the 300 MiB target;
- articles stored and the run's verdict, from `crawl_runs`.

Targets: >= 2,000 posts/s, peak RSS < 300 MiB with the child processes, and flat: the peak at
the largest N within 1.25x of the smallest. `--profile PATH` runs the largest N once more under
cProfile (the command process) and prints the top functions. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from run import child_pids, peak_rss_kib

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
POSTS = ROOT / "tests" / "fixtures" / "posts"
PY = sys.executable

TARGET_POSTS_PER_S = 2000
TARGET_RSS_MIB = 300
FLAT_TOLERANCE = 1.25
FIRST_DAY = date(2022, 6, 1)
ARTICLES_PER_DAY = 400

#: A post's 18-digit code: the emnews file stem, or after `NW` in a media post's stem.
CODE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}-(?:NW)?(\d{18})\.md$")
DATE_LINE_RE = re.compile(r"^date: \d{4}-\d{2}-\d{2}", re.M)


def donor_groups() -> list[list[tuple[str, str]]]:
    """The bundled posts with an infoCode, grouped by it: (file name, text) of each page."""
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path in sorted(POSTS.glob("*.md")):
        found = CODE_RE.match(path.name)
        if found:
            groups[found.group(1)].append((path.name, path.read_text("utf-8")))
    return [groups[code] for code in sorted(groups)]


def grow_archive(posts: int) -> Path:
    """An archive of `posts` synthetic posts under bench/out/ (kept for the next run)."""
    folder = OUT / f"archive{posts}"
    marker = folder / ".complete"
    if marker.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    groups = donor_groups()
    written = article = 0
    while written < posts:
        group = groups[article % len(groups)]
        day = FIRST_DAY + timedelta(days=article // ARTICLES_PER_DAY)
        code = f"{day:%Y%m%d}{article:010d}"
        for name, text in group[: posts - written]:
            old = CODE_RE.match(name).group(1)  # type: ignore[union-attr]
            new_name = f"{day:%Y-%m-%d}-{name[11:].replace(old, code)}"
            text = DATE_LINE_RE.sub(f"date: {day:%Y-%m-%d}", text.replace(old, code), count=1)
            (folder / new_name).write_text(text, "utf-8")
            written += 1
        article += 1
    marker.write_text(f"{written} posts, {article} articles\n", "utf-8")
    return folder


def import_once(archive: Path, work: Path, profile: Path | None = None) -> dict:
    """`finews import-archive` of the archive into a fresh database, in its own process."""
    database = work / "archive.sqlite3"
    database.unlink(missing_ok=True)
    command = [PY]
    if profile is not None:
        command += ["-m", "cProfile", "-o", str(profile)]
    command += ["-m", "finews_crawler.cli", "import-archive", str(archive)]
    command += ["--database-url", f"sqlite:///{database}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINEWS_")}
    env["FINEWS_SPOOL_DIR"] = str(work / "spool")
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.PIPE, text=True)
    main_peak_kib = 0
    children_peak_kib: dict[int, int] = {}
    children_cpu_s: dict[int, float] = {}
    roles: dict[int, str] = {}
    while True:
        main_peak_kib = max(main_peak_kib, peak_rss_kib(proc.pid))
        for child in child_pids(proc.pid):
            roles.setdefault(child, role_of(child))
            children_peak_kib[child] = max(children_peak_kib.get(child, 0), peak_rss_kib(child))
            children_cpu_s[child] = max(children_cpu_s.get(child, 0.0), cpu_seconds(child))
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.25)
    wall = time.monotonic() - started
    summary = proc.stdout.read().strip() if proc.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"import-archive failed: {summary}")
    posts = sum(1 for _ in archive.glob("*.md"))
    with sqlite3.connect(database) as db:
        articles = db.execute("SELECT count(*) FROM articles").fetchone()[0]
        verdict, stats = db.execute("SELECT verdict, stats FROM crawl_runs").fetchone()
    main_mib = main_peak_kib / 1024
    cpu = usage.ru_utime + usage.ru_stime  # the command and the children it waited for
    helpers = sum(children_cpu_s.values())
    by_role = defaultdict(float)
    for child, seconds in children_cpu_s.items():
        by_role[roles[child]] += seconds
    return {
        "posts": posts,
        "wall": wall,
        "posts_per_s": posts / wall,
        "cpu_ms_per_post": cpu * 1000 / posts,
        "command_cpu_ms_per_post": (cpu - helpers) * 1000 / posts,
        "parser_cpu_ms_per_post": by_role["parser"] * 1000 / posts,
        "writer_cpu_ms_per_post": by_role["writer"] * 1000 / posts,
        # What two idle cores allow: the command's own work on one, all work over both.
        "bound_posts_per_s": posts / max(cpu - helpers, cpu / 2),
        "peak_mib": main_mib,
        "peak_with_children_mib": main_mib + sum(children_peak_kib.values()) / 1024,
        "articles": articles,
        "verdict": verdict,
        "engine_s": json.loads(stats).get("elapsed_time_seconds"),
        "summary": summary,
    }


def role_of(pid: int) -> str:
    """`parser` or `writer` by the module a child process runs (`other` if neither)."""
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "other"
    if b"parser_worker" in command_line:
        return "parser"
    return "writer" if b"store_writer" in command_line else "other"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median_run(runs: list[dict]) -> dict:
    wall = statistics.median_low(run["wall"] for run in runs)
    return next(run for run in runs if run["wall"] == wall)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, action="append", help="archive sizes (10k, 20k)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="cProfile the largest size into this file")
    args = parser.parse_args(argv)
    sizes = sorted(args.posts or [10_000, 20_000])
    results = []
    with tempfile.TemporaryDirectory(prefix="finews-archive-bench-") as tmp:
        work = Path(tmp)
        for size in sizes:
            archive = grow_archive(size)
            runs = [import_once(archive, work) for _ in range(args.repeat)]
            for run in runs:
                print(f"N={size}: {run['wall']:.1f} s, {run['summary']}", file=sys.stderr)
            results.append(median_run(runs))
        if args.profile:
            import_once(grow_archive(sizes[-1]), work, profile=args.profile)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"{'posts':>7} {'articles':>8} {'wall s':>7} {'engine s':>8} {'posts/s':>8}"
        f" {'ms CPU/post':>11} {'command':>7} {'parser':>6} {'writer':>6}"
        f" {'2-core bound':>12} {'peak MiB':>8}"
        f" {'+children':>9}  verdict"
    )
    for r in results:
        print(
            f"{r['posts']:>7} {r['articles']:>8} {r['wall']:>7.1f} {r['engine_s'] or 0:>8.1f}"
            f" {r['posts_per_s']:>8.0f} {r['cpu_ms_per_post']:>11.3f}"
            f" {r['command_cpu_ms_per_post']:>7.3f} {r['parser_cpu_ms_per_post']:>6.3f}"
            f" {r['writer_cpu_ms_per_post']:>6.3f} {r['bound_posts_per_s']:>12.0f}"
            f" {r['peak_mib']:>8.0f} {r['peak_with_children_mib']:>9.0f}  {r['verdict']}"
        )
    verdicts = []
    for r in results:
        speed = r["posts_per_s"] >= TARGET_POSTS_PER_S
        verdicts.append(speed)
        print(
            f"{'PASS' if speed else 'FAIL'}  N={r['posts']}: {r['posts_per_s']:.0f} posts/s"
            f" (target >= {TARGET_POSTS_PER_S})"
        )
        memory = r["peak_with_children_mib"] < TARGET_RSS_MIB
        verdicts.append(memory)
        print(
            f"{'PASS' if memory else 'FAIL'}  N={r['posts']}: peak RSS {r['peak_mib']:.0f} MiB,"
            f" {r['peak_with_children_mib']:.0f} MiB with the parser and writer processes"
            f" (target < {TARGET_RSS_MIB})"
        )
    if len(results) > 1:
        first, last = results[0], results[-1]
        low, high = first["peak_with_children_mib"], last["peak_with_children_mib"]
        flat = high <= FLAT_TOLERANCE * low
        verdicts.append(flat)
        print(
            f"{'PASS' if flat else 'FAIL'}  peak RSS flat: {low:.0f} MiB at N={first['posts']},"
            f" {high:.0f} MiB at N={last['posts']} ({high / low:.2f}x; target <= {FLAT_TOLERANCE}x)"
        )
    if args.profile:
        pstats.Stats(str(args.profile)).sort_stats("tottime").print_stats(25)
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
