"""Benchmark what people do with the corpus: search, the report, the Parquet export.

    python bench/corpus.py [--articles 100000] [--repeat 5]

Builds (once, cached under bench/out/) a synthetic corpus of N articles from the bundled ones
(`tests/fixtures/truth.jsonl`: titles, digests, bodies with their sentences shuffled, media,
categories, a few stock mentions each, dates spread over 90 days), written through
`Repository.write_items` like a crawl, so the search index is built by its triggers. Then:

- `finews search` (store.search.search, 20 hits with snippets) per kind of query: one, two,
  three and more Chinese characters, stock codes, Latin words; p50 and p90 over every query of
  the kind, each run --repeat times. Target: p50 < 50 ms per kind.
- the report (`export.report.write_report`). Target: < 10 s.
- the Parquet export of the whole corpus (`export.parquet.export_dataset`). Target:
  >= 20,000 records/s.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from finews_crawler.export.parquet import export_dataset  # noqa: E402
from finews_crawler.export.report import write_report  # noqa: E402
from finews_crawler.store import Repository  # noqa: E402
from finews_crawler.store.search import search  # noqa: E402

OUT = PROJECT_ROOT / "bench" / "out"
TRUTH = PROJECT_ROOT / "tests" / "fixtures" / "truth.jsonl"
BATCH = 1000
SEED = 13
QUERIES = {
    "1 character": ["股", "涨", "油", "金", "煤", "鑫"],
    "2 characters": ["降准", "茅台", "亿元", "A股", "央行", "芯片"],
    "3 characters": ["新能源", "比亚迪", "工信部", "董事长", "数字化"],
    "4+ characters": ["新能源汽车", "免征车辆购置税", "贵州茅台股价", "上市公司"],
    "stock code": ["600519", "300750", "300343", "002594"],
    "Latin word": ["IPO", "omicron", "GWP", "SPAC", "Sunoco"],
}
STOCKS = [
    ("1", "600519", "贵州茅台"),
    ("0", "300750", "宁德时代"),
    ("0", "002594", "比亚迪"),
    ("0", "300343", "联创股份"),
    ("0", "300959", "线上线下"),
    ("1", "600160", "巨化股份"),
    ("1", "600636", "国新文化"),
    ("90", "BK0493", "新能源"),
    ("1", "601318", "中国平安"),
    ("0", "000001", "平安银行"),
]
TARGET_SEARCH_MS = 50.0
TARGET_REPORT_S = 10.0
TARGET_PARQUET_RATE = 20_000


def synthetic_items(count: int) -> list[dict]:
    """N articles made from the bundled ones, each with its own infoCode, date and text order."""
    rng = random.Random(SEED)
    rows = [json.loads(line) for line in TRUTH.read_text("utf-8").splitlines() if line.strip()]
    rows = [row for row in rows if row["info_code"]]
    start = datetime(2022, 1, 1, tzinfo=UTC)
    items = []
    for n in range(count):
        row = rng.choice(rows)
        published = start + timedelta(seconds=rng.randrange(90 * 24 * 3600))
        code = f"NW{published:%Y%m%d}{n:010d}"
        sentences = row["body_text"].split("。")
        rng.shuffle(sentences)
        category = (row["categories"] or ["emnews"])[-1]
        items.append(
            {
                **row,
                "info_code": code,
                "url": f"/{category.lower()}/{published:%Y/%m/%d}/{code}.html",
                "name": f"{published:%Y-%m-%d}-{code}.md",
                "published_at": published.isoformat(),
                "body_text": "。".join(sentences),
                "stocks": [
                    {"market": m, "code": c, "name": name}
                    for m, c, name in rng.sample(STOCKS, rng.randrange(0, 3))
                ],
                "crawled_at": published.isoformat(),
            }
        )
    return items


def build_corpus(count: int) -> str:
    path = OUT / f"corpus{count}.sqlite3"
    url = f"sqlite:///{path}"
    if path.exists():
        with Repository(url) as repository:
            if repository.article_count() == count:
                print(f"corpus: {path.relative_to(PROJECT_ROOT)} ({count:,} articles, cached)")
                return url
        for stale in OUT.glob(f"{path.name}*"):
            stale.unlink()
    OUT.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    items = synthetic_items(count)
    with Repository(url) as repository:
        for start in range(0, count, BATCH):
            repository.write_items(items[start : start + BATCH])
    elapsed = time.perf_counter() - began
    print(f"corpus: wrote {count:,} articles in {elapsed:.0f} s ({count / elapsed:,.0f}/s)")
    return url


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def bench_search(repository: Repository, repeat: int) -> list[tuple[str, float, float, bool]]:
    """p50/p90 wall ms per kind; CPU ms beside them (the machine is shared: wall time also
    counts waiting for a core)."""
    results = []
    for kind, queries in QUERIES.items():
        times, cpu, hits = [], [], []
        for query in queries:
            search(repository, query)  # warm the page cache for this query's pages
            for _ in range(repeat):
                began, began_cpu = time.perf_counter(), time.process_time()
                found = search(repository, query)
                times.append((time.perf_counter() - began) * 1000)
                cpu.append((time.process_time() - began_cpu) * 1000)
            hits.append(f"{query}:{len(found)}")
        p50, p90 = statistics.median(times), percentile(times, 0.9)
        results.append((kind, p50, p90, p50 < TARGET_SEARCH_MS))
        print(
            f"search {kind:14s} p50 {p50:6.1f} ms  p90 {p90:6.1f} ms  "
            f"(CPU p50 {statistics.median(cpu):5.1f} p90 {percentile(cpu, 0.9):5.1f})  "
            f"{' '.join(hits)}"
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    url = build_corpus(args.articles)
    verdicts = []
    with Repository(url) as repository:
        for kind, p50, _, ok in bench_search(repository, args.repeat):
            verdicts.append(
                (ok, f"search {kind}: p50 {p50:.1f} ms (target < {TARGET_SEARCH_MS:.0f})")
            )
        began = time.perf_counter()
        write_report(repository, OUT / "report.html")
        report_s = time.perf_counter() - began
        print(f"report: {report_s:.2f} s")
        verdicts.append((report_s < TARGET_REPORT_S, f"report: {report_s:.2f} s (target < 10 s)"))
        began, began_cpu = time.perf_counter(), time.process_time()
        summary = export_dataset(repository, OUT / "parquet")
        parquet_s, parquet_cpu = time.perf_counter() - began, time.process_time() - began_cpu
        rate = summary.count / parquet_s
        print(
            f"parquet: {summary.count:,} records in {parquet_s:.1f} s = {rate:,.0f} records/s "
            f"(CPU {parquet_cpu:.1f} s = {summary.count / parquet_cpu:,.0f} records/CPU-s)"
        )
        verdicts.append(
            (rate >= TARGET_PARQUET_RATE, f"parquet: {rate:,.0f} records/s (target >= 20,000)")
        )
    for ok, line in verdicts:
        print(("PASS  " if ok else "FAIL  ") + line)
    return 0 if all(ok for ok, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
