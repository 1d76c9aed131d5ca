"""Signals of finews-crawler, beside Scrapy's own.

`page_quarantined`: a page (or archive post) that yields no item must still be recorded.
Send it with `crawler.signals.send_catch_log(page_quarantined, url=..., reason=..., excerpt=...)`;
the store pipeline records it in the quarantine table and counts `finews/quarantined`.
"""

page_quarantined = object()
