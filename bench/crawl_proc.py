"""One benchmark crawl in its own process (run by `bench/run.py`, not by hand).

    python bench/crawl_proc.py SPIDER STATS_JSON [NAME=VALUE ...]

SPIDER is `finews` (the project's site spider, all pipelines) or `linkonly`
(`bench/linkonly.py`). Settings are the project's with the NAME=VALUE overrides. Writes the
crawl stats, the crawl's wall time (engine start to close), this process's peak RSS and CPU
time, and the CPU time of its children (the parser and writer processes) to STATS_JSON.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def main(argv: list[str]) -> int:
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    spider_name, out = argv[0], Path(argv[1])
    settings = get_project_settings()
    for pair in argv[2:]:
        name, _, value = pair.partition("=")
        settings.set(name, json.loads(value) if value[:1] in "{[" else value, priority="cmdline")
    if spider_name == "linkonly":
        from linkonly import LinkOnlySpider as spidercls
    else:
        from finews_crawler.spiders.finews import SiteSpider as spidercls
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spidercls)
    process.crawl(crawler)
    started = time.perf_counter()
    process.start()
    wall = time.perf_counter() - started
    stats = crawler.stats.get_stats()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "stats": stats,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_rss_kib": usage.ru_maxrss,
        "children_cpu": children.ru_utime + children.ru_stime,
    }
    out.write_text(json.dumps(result, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
