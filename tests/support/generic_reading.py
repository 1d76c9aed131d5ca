"""A stand-in for the layout-independent reader in crawls started by tests.

`PretendGenericReading`, an item pipeline placed before validation, makes every article item what
the `generic` reader gives for a redesigned page: `layout="generic"`, no tags (the new page shows
none) and a body with the new page's share line in it; and counts it as the spider counts the
readers (`finews/layout/generic`). Enable it in a crawl with `generic_reading_settings()`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from finews_crawler.items import ArticleItem
from finews_crawler.settings import ITEM_PIPELINES

#: What the generic reader keeps of a redesigned page's share line.
SHARE_LINE = "分享到：微博 微信"
TESTS_DIR = Path(__file__).resolve().parents[1]


class PretendGenericReading:
    def __init__(self, stats: Any) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> PretendGenericReading:
        return cls(crawler.stats)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleItem) and not item.parse_error:
            item.layout = "generic"
            item.tags = []
            item.body_text = f"{item.body_text}\n{SHARE_LINE}"
            self.stats.inc_value("finews/layout/generic")
        return item


def generic_reading_settings() -> dict[str, str]:
    """Settings (`-s`) that put `PretendGenericReading` before the project's pipelines."""
    pipelines = {f"{__name__}.PretendGenericReading": 50, **ITEM_PIPELINES}
    return {"ITEM_PIPELINES": json.dumps(pipelines)}
