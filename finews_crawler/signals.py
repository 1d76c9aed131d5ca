"""Signals of finews-crawler, beside Scrapy's own.

`page_quarantined`: a page (or archive post) that yields no item must still be recorded.
Send it with `crawler.signals.send_catch_log(page_quarantined, url=..., reason=..., excerpt=...)`;
the store pipeline records it in the quarantine table and counts `finews/quarantined`.

`runs_killed`: a run found runs whose process is gone and marked them `killed` when it started
(`pipelines.run_record`), with `runs=[...]`, each as `Repository.get_run` gives it. It may be sent
from the store thread; the alerts extension (`finews_crawler.alerts`) reports them.
"""

page_quarantined = object()
runs_killed = object()
