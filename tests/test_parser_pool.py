"""`ParserPool`: article parsing in child processes gives what parsing in-process gives."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.parser_cases import CASES, page_html, page_url

from finews_crawler.parsing.article import parse_article
from finews_crawler.parsing.readers import LayoutRefused, read_article
from finews_crawler.processes.parser_pool import ParserDied, ParserPool

ROOT = Path(__file__).resolve().parents[1]
ARTICLE_URL = "http://127.0.0.1:8000/emnews/2021/12/08/202112082206672930.html"


def run(coroutine):
    return asyncio.run(coroutine)


def test_pool_parses_every_fixture_page_as_the_parser_does() -> None:
    cases = list(CASES.values())

    async def parse_all() -> tuple[list, ParserPool]:
        pool = ParserPool(2)
        try:
            parsed = await asyncio.gather(
                *(
                    pool.parse_article(page_html(c), page_url(c), c.listing_categories)
                    for c in cases
                ),
                return_exceptions=True,
            )
        finally:
            await pool.close()
        return parsed, pool

    def outcome(result: object) -> object:
        # Exceptions (LayoutRefused) compare by type and text.
        return (type(result), str(result)) if isinstance(result, Exception) else result

    def in_process(case) -> object:
        try:
            return read_article(page_html(case), page_url(case), case.listing_categories)
        except LayoutRefused as exc:
            return exc

    parsed, pool = run(parse_all())
    assert [outcome(result) for result in parsed] == [outcome(in_process(c)) for c in cases]
    assert any(isinstance(result, LayoutRefused) for result in parsed)
    assert any(item is not None for item in parsed)
    assert (pool.started, pool.restarts, pool.parsers) == (2, 0, [])


def test_a_parse_error_comes_back_as_the_parser_raised_it() -> None:
    async def parse() -> None:
        pool = ParserPool(1)
        try:
            await pool.parse_article(None, ARTICLE_URL)  # type: ignore[arg-type]
        finally:
            await pool.close()

    with pytest.raises(TypeError) as raised:
        run(parse())
    with pytest.raises(TypeError) as in_process:
        parse_article(None, ARTICLE_URL)  # type: ignore[arg-type]
    assert str(raised.value) == str(in_process.value)


def test_processes_0_parses_in_this_process() -> None:
    case = CASES["seed_shanghaifabu"]
    pool = ParserPool(0)
    item = run(pool.parse_article(page_html(case), page_url(case)))
    assert item == parse_article(page_html(case), page_url(case))
    assert pool.started == 0


def test_a_killed_parser_is_replaced_and_its_page_parsed_again() -> None:
    case = CASES["seed_shanghaifabu"]

    async def parse_around_a_kill() -> tuple[object, ParserPool]:
        pool = ParserPool(1)
        try:
            await pool.parse_article(page_html(case), page_url(case))
            os.kill(pool.parsers[0].pid, signal.SIGKILL)
            item = await pool.parse_article(page_html(case), page_url(case))
        finally:
            await pool.close()
        return item, pool

    item, pool = run(parse_around_a_kill())
    assert item == parse_article(page_html(case), page_url(case))
    assert (pool.started, pool.restarts) == (2, 1)


def test_a_page_that_kills_two_parsers_raises_parser_died() -> None:
    case = CASES["seed_shanghaifabu"]

    async def parse() -> int:
        pool = ParserPool(1, module="support.dying_parser")
        try:
            with pytest.raises(ParserDied):
                await pool.parse_article(page_html(case), page_url(case))
            # The second parser's own exit status: the module ran (it was found and read a page).
            return await pool.parsers[-1].process.wait()
        finally:
            await pool.close()

    assert run(parse()) == 3


def test_parsers_ignore_ctrl_c_and_exit_with_the_crawl_process() -> None:
    """SIGINT reaches the whole process group; the crawl shuts down, parsers finish their page.
    A crawl process killed outright takes its parsers with it (their input closes)."""
    script = f"""
import asyncio, os, signal, sys
sys.path.insert(0, {str(ROOT / "tests")!r})
from support.parser_cases import CASES, page_html, page_url
from finews_crawler.processes.parser_pool import ParserPool

async def main():
    pool = ParserPool(1)
    case = CASES["seed_shanghaifabu"]
    await pool.parse_article(page_html(case), page_url(case))
    child = pool.parsers[0].pid
    os.kill(child, signal.SIGINT)
    item = await pool.parse_article(page_html(case), page_url(case))
    print(child, item.info_code, pool.restarts, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""
    crawl = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert crawl.stdout is not None
        child, info_code, restarts = crawl.stdout.readline().split()
        assert (info_code, restarts) == ("NW202203302328599218", "0")
        crawl.kill()
        crawl.wait(10)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{child}").exists() or _is_zombie(child)
    finally:
        crawl.kill()


def _is_zombie(pid: str) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True
