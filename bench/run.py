"""Benchmarks of issue 6: crawl a grown mirror and print the figures beside their targets.

    python bench/run.py --articles 3000 [--articles 30000 ...] [--keep]

For each N it grows (or reuses, cached under bench/out/) a mirror of N synthetic articles
(`bench/grow_mirror.py`), serves it with `python -m localsite` in a separate process (so the
server has its own interpreter and core) and measures, in one run:

- crawl pages/s: `scrapy crawl finews` into a fresh SQLite database with every pipeline, against
  the link-only spider (`bench/linkonly.py`, ITEM_PIPELINES={}) under the same settings; pages
  are the site's listing and article pages (share requests, which 404 fast on the mirror, are
  counted in requests but not in pages);
- parse ms/page: `finews_crawler.parsing.article.parse_article` over every article page;
- database write rate: `Repository.write_items` in batches of FINEWS_STORE_BATCH_SIZE (100) into a
  fresh SQLite file, items/s;
- rerun cost: a second full crawl into the same database with nothing new, its requests and wall
  time as a share of the first;
- peak memory: peak RSS of each crawl process (its own `ru_maxrss`, each crawl is its own
  process), and of its parser and writer processes;
- export rate: `finews export --format jsonl` of the crawled database, records/s.

Crawl settings: AUTOTHROTTLE_ENABLED=0, DOWNLOAD_DELAY=0, CONCURRENT_REQUESTS(_PER_DOMAIN)=16,
robots.txt obeyed (the default), share links followed (the default) on the mirror
(FINEWS_SHARE_BASE_URL), LOG_LEVEL=WARNING.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from finews_crawler.health import error_count

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
PY = sys.executable

TARGET_RATIO = 0.80
TARGET_RERUN = 0.25
TARGET_RSS_MIB = 400
FLAT_TOLERANCE = 1.25  # peak RSS at the largest N within this factor of the smallest


def mirror_for(articles: int) -> Path:
    """The mirror of `articles` synthetic articles, grown once and cached."""
    out = OUT / f"site{articles}"
    manifest = out.with_name(out.name + ".manifest.json")
    if manifest.is_file() and out.is_dir():
        return out
    OUT.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [PY, str(HERE / "grow_mirror.py"), "--articles", str(articles), "--out", str(out)],
        check=True,
        cwd=ROOT,
    )
    return out


class MirrorProcess:
    """`python -m localsite ROOT --port 0` in its own process (run from the repository
    root, where `localsite` is found)."""

    def __init__(self, root: Path) -> None:
        self.proc = subprocess.Popen(
            [PY, "-m", "localsite", str(root), "--port", "0", "--log-level", "ERROR"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.stop()
            raise RuntimeError("the mirror did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


EXTRA_SETTINGS: dict[str, str] = {}


def crawl(spider: str, url: str, database: Path, work: Path, tag: str) -> dict:
    """One crawl in its own process; its stats, wall time and peak RSS."""
    stats_file = work / f"{tag}.json"
    overrides = {
        "FINEWS_BASE_URL": url,
        "FINEWS_SHARE_BASE_URL": url,
        "FINEWS_DATABASE_URL": f"sqlite:///{database}",
        "FINEWS_SPOOL_DIR": str(work / "spool"),
        "AUTOTHROTTLE_ENABLED": "0",
        "DOWNLOAD_DELAY": "0",
        "CONCURRENT_REQUESTS": "16",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
        "LOG_LEVEL": "WARNING",
    }
    overrides.update(EXTRA_SETTINGS)
    if spider == "linkonly":
        overrides["ITEM_PIPELINES"] = "{}"
    args = [PY, str(HERE / "crawl_proc.py"), spider, str(stats_file)]
    args += [f"{name}={value}" for name, value in overrides.items()]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINEWS_")}
    proc = subprocess.Popen(args, cwd=ROOT, env=env)
    children_peak_kib: dict[int, int] = {}
    while True:
        # Watched from here, not from inside the crawl: the parser's and the writer's peaks.
        for child in child_pids(proc.pid):
            children_peak_kib[child] = max(children_peak_kib.get(child, 0), peak_rss_kib(child))
        pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.25)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"crawl {tag} exited with {proc.returncode}")
    result = json.loads(stats_file.read_text(encoding="utf-8"))
    stats = result["stats"]
    pages = stats.get("finews/pages", 0) + stats.get("finews/listing_pages", 0)
    result.update(
        pages=pages,
        articles=stats.get("finews/pages", 0),
        requests=stats.get("downloader/request_count", 0),
        # The crawl's own: wait4's ru_maxrss is a child's when the parser or writer grew bigger.
        peak_mib=result["peak_rss_kib"] / 1024,
        children_peak_mib=sum(children_peak_kib.values()) / 1024,
        pages_per_s=pages / result["wall"] if result["wall"] else 0.0,
        errors=error_count(stats),
    )
    return result


def child_pids(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def peak_rss_kib(pid: int) -> int:
    """VmHWM of a live process (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def article_pages(mirror: Path) -> list[tuple[str, str]]:
    """(path, html) of every article page of the mirror, from its truth rows."""
    truth = mirror.with_name(mirror.name + ".truth.jsonl")
    pages = []
    with truth.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            path = row["url"]
            file = mirror / path.lstrip("/")
            pages.append((path, file.read_text(encoding="utf-8")))
    return pages


def parse_and_write(mirror: Path, work: Path, batch: int = 100) -> dict:
    """Parser time per page; Repository.write_items rate into a fresh SQLite file."""
    from finews_crawler.parsing.article import parse_article
    from finews_crawler.store.repository import Repository

    pages = article_pages(mirror)
    items = []
    started = time.perf_counter()
    for path, html in pages:
        item = parse_article(html, "http://127.0.0.1:8000" + path)
        if item is not None:
            item.crawled_at = "2024-01-01T00:00:00+00:00"
            items.append(item)
    parse_s = time.perf_counter() - started
    repository = Repository(f"sqlite:///{work / 'write.sqlite3'}")
    try:
        started = time.perf_counter()
        for start in range(0, len(items), batch):
            repository.write_items(items[start : start + batch])
        write_s = time.perf_counter() - started
    finally:
        repository.close()
    return {
        "parsed": len(pages),
        "parse_ms": 1000 * parse_s / max(1, len(pages)),
        "written": len(items),
        "write_rate": len(items) / write_s if write_s else 0.0,
    }


def export_rate(database: Path, work: Path) -> dict:
    out = work / "export.jsonl"
    finews = Path(PY).with_name("finews")
    command = [str(finews)] if finews.exists() else [PY, "-m", "finews_crawler.cli"]
    started = time.perf_counter()
    subprocess.run(
        [
            *command,
            "export",
            "--format",
            "jsonl",
            "--database-url",
            f"sqlite:///{database}",
            "--output",
            str(out),
        ],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    with out.open("rb") as handle:
        records = sum(1 for _ in handle)
    return {"records": records, "export_s": seconds, "export_rate": records / seconds}


def median_run(runs: list[dict]) -> dict:
    """The run with the median wall time (its figures stay together); peak memory is the most
    any run reached."""
    ordered = sorted(runs, key=lambda run: run["wall"])
    median = dict(ordered[len(ordered) // 2])
    median["walls"] = [run["wall"] for run in runs]
    median["peak_mib"] = max(run["peak_mib"] for run in runs)
    median["children_peak_mib"] = max(run["children_peak_mib"] for run in runs)
    return median


def bench(articles: int, keep: bool, repeat: int) -> dict:
    mirror = mirror_for(articles)
    work = Path(tempfile.mkdtemp(prefix=f"bench{articles}-", dir=OUT))
    server = MirrorProcess(mirror)
    links, fulls = [], []
    try:
        print(f"[{articles}] mirror {mirror} at {server.url}", file=sys.stderr, flush=True)
        # Alternated, so that a slow spell of the machine does not land on one side only.
        for round_ in range(repeat):
            links.append(crawl("linkonly", server.url, work / "unused.sqlite3", work, "linkonly"))
            database = work / f"finews{round_}.sqlite3"
            fulls.append(crawl("finews", server.url, database, work, f"full{round_}"))
            print(
                f"[{articles}] round {round_ + 1}/{repeat}: link-only {links[-1]['pages']} pages "
                f"in {links[-1]['wall']:.1f}s, full {fulls[-1]['pages']} pages in "
                f"{fulls[-1]['wall']:.1f}s",
                file=sys.stderr,
                flush=True,
            )
        rerun = crawl("finews", server.url, database, work, "rerun")
        print(
            f"[{articles}] rerun: {rerun['requests']} requests in {rerun['wall']:.1f}s",
            file=sys.stderr,
            flush=True,
        )
    finally:
        server.stop()
    offline = parse_and_write(mirror, work)
    exported = export_rate(database, work)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    link, full = median_run(links), median_run(fulls)
    return {"articles": articles, "link": link, "full": full, "rerun": rerun, **offline, **exported}


def table(results: list[dict]) -> str:
    rows = [
        (
            "article pages crawled (full / link-only)",
            lambda r: f"{r['full']['articles']} / {r['link']['articles']}",
        ),
        (
            "requests (full / link-only)",
            lambda r: f"{r['full']['requests']} / {r['link']['requests']}",
        ),
        (
            "crawl wall s, median (full / link-only)",
            lambda r: f"{r['full']['wall']:.1f} / {r['link']['wall']:.1f}",
        ),
        (
            "crawl wall s, each run: full",
            lambda r: " ".join(f"{w:.1f}" for w in r["full"]["walls"]),
        ),
        (
            "crawl wall s, each run: link-only",
            lambda r: " ".join(f"{w:.1f}" for w in r["link"]["walls"]),
        ),
        (
            "CPU s crawl process (full / link-only)",
            lambda r: f"{r['full']['cpu']:.1f} / {r['link']['cpu']:.1f}",
        ),
        ("CPU s parser + writer processes (full)", lambda r: f"{r['full']['children_cpu']:.1f}"),
        ("pages/s full pipeline", lambda r: f"{r['full']['pages_per_s']:.0f}"),
        ("pages/s link-only", lambda r: f"{r['link']['pages_per_s']:.0f}"),
        ("full / link-only", lambda r: f"{ratio(r):.0%}"),
        (
            "requests/s incl. share (full / link-only)",
            lambda r: (
                f"{r['full']['requests'] / r['full']['wall']:.0f} / "
                f"{r['link']['requests'] / r['link']['wall']:.0f}"
            ),
        ),
        ("parse ms/page (parse_article)", lambda r: f"{r['parse_ms']:.2f}"),
        ("db write items/s (SQLite, batch 100)", lambda r: f"{r['write_rate']:.0f}"),
        (
            "rerun requests (share of full)",
            lambda r: f"{r['rerun']['requests']} ({rerun_requests(r):.1%})",
        ),
        (
            "rerun wall s (share of full)",
            lambda r: f"{r['rerun']['wall']:.1f} ({rerun_wall(r):.1%})",
        ),
        ("peak RSS MiB full crawl", lambda r: f"{r['full']['peak_mib']:.0f}"),
        (
            "peak RSS MiB parser + writer processes",
            lambda r: f"{r['full']['children_peak_mib']:.0f}",
        ),
        (
            "peak RSS MiB link-only / rerun",
            lambda r: f"{r['link']['peak_mib']:.0f} / {r['rerun']['peak_mib']:.0f}",
        ),
        ("export jsonl records/s", lambda r: f"{r['export_rate']:.0f} ({r['records']} records)"),
        ("errors (full / rerun)", lambda r: f"{r['full']['errors']} / {r['rerun']['errors']}"),
    ]
    header = ["figure"] + [f"N={r['articles']}" for r in results]
    body = [[name] + [cell(r) for r in results] for name, cell in rows]
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]
    line = "| " + " | ".join("-" * w for w in widths) + " |"
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |", line]
    out += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in body
    ]
    return "\n".join(out)


def ratio(r: dict) -> float:
    return r["full"]["pages_per_s"] / r["link"]["pages_per_s"]


def rerun_requests(r: dict) -> float:
    return r["rerun"]["requests"] / r["full"]["requests"]


def rerun_wall(r: dict) -> float:
    return r["rerun"]["wall"] / r["full"]["wall"]


def verdicts(results: list[dict]) -> list[str]:
    lines = []

    def verdict(ok: bool, text: str) -> None:
        lines.append(f"{'PASS' if ok else 'FAIL'}  {text}")

    for r in results:
        n = r["articles"]
        verdict(
            ratio(r) >= TARGET_RATIO,
            f"N={n}: full pipeline at {ratio(r):.0%} of link-only "
            f"({r['full']['pages_per_s']:.0f} vs {r['link']['pages_per_s']:.0f} pages/s; "
            f"target >= {TARGET_RATIO:.0%})",
        )
        worst = max(rerun_requests(r), rerun_wall(r))
        verdict(
            worst <= TARGET_RERUN,
            f"N={n}: rerun costs {rerun_requests(r):.1%} of the requests and "
            f"{rerun_wall(r):.1%} of the wall time of a full run (target <= {TARGET_RERUN:.0%})",
        )
        peak = max(r["full"]["peak_mib"], r["rerun"]["peak_mib"])
        total = peak + r["full"]["children_peak_mib"]
        verdict(
            total < TARGET_RSS_MIB,
            f"N={n}: peak RSS {peak:.0f} MiB, {total:.0f} MiB with the parser and writer "
            f"processes (target < {TARGET_RSS_MIB} MiB)",
        )
    if len(results) > 1:
        small, large = results[0], results[-1]
        a, b = small["full"]["peak_mib"], large["full"]["peak_mib"]
        verdict(
            b <= a * FLAT_TOLERANCE,
            f"peak RSS flat: {a:.0f} MiB at N={small['articles']}, {b:.0f} MiB at "
            f"N={large['articles']} ({b / a:.2f}x; target <= {FLAT_TOLERANCE}x)",
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--articles",
        type=int,
        action="append",
        help="synthetic articles (repeat for several sizes); default 3000",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases and stats")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="crawls of each kind per N, alternated; the median is reported (default 3)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra Scrapy setting for every crawl (experiments)",
    )
    args = parser.parse_args(argv)
    EXTRA_SETTINGS.update(pair.split("=", 1) for pair in args.set)
    sizes = sorted(args.articles or [3000])
    results = [bench(n, args.keep, max(1, args.repeat)) for n in sizes]
    print(table(results))
    print()
    lines = verdicts(results)
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    return 0 if all(line.startswith("PASS") for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
