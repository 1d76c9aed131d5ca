"""Shared pytest fixtures: the bundled site served on 127.0.0.1, and Scrapy in a subprocess.

- `fixtures_dir`, `site_dir`: `tests/fixtures` and the bundled copy of the site in it.
- `truth_rows`: `tests/fixtures/truth.jsonl` parsed, one dict per article page.
- `mirror`: one `localsite.server.MirrorServer` for the whole session serving the bundled
  site (share_mode "missing"). Its `.requests` log is shared by every test: call
  `mirror.requests.clear()` first, or use `serve_site` for a private server.
- `serve_site(root=None, **options)`: serve any folder (default: the bundled site) with the
  options of `localsite.server.serve` (`share_mode=`, `faults=FaultPlan(...)`, ...);
  every server started is stopped after the test.
- `hostile_dir`: the hostile site of `localsite.hostile`, built once per session.
- `run_scrapy(args, env=None, cwd=PROJECT_ROOT, timeout=...)`: `python -m scrapy ...` in a
  subprocess with this interpreter, a per-test SQLite database and spool folder, and
  FINEWS_BASE_URL / FINEWS_SHARE_BASE_URL on the session mirror unless `env` says otherwise.
  Any URL that is not on a loopback address, in `args` or `env`, is refused before Scrapy runs
  (`support.cli_runner.ScrapyRunner`).
- markers: `postgres`, `redis` (need the local servers), `slow`.

Only fixtures and markers live here: helpers are in `tests/support/`, which test modules import
(a test module never imports this file or another test module).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.cli_runner import ScrapyRunner
from support.paths import FIXTURES
from support.truth import truth_rows as read_truth_rows

from localsite.hostile import hostile_site
from localsite.server import MirrorServer, serve

SITE_DIR = FIXTURES / "site"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs the PostgreSQL server on 127.0.0.1:5432")
    config.addinivalue_line("markers", "redis: needs the Redis server on 127.0.0.1:6379")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def site_dir() -> Path:
    return SITE_DIR


@pytest.fixture(scope="session")
def truth_rows() -> list[dict]:
    return read_truth_rows()


@pytest.fixture(scope="session")
def mirror() -> Iterator[MirrorServer]:
    with serve(SITE_DIR, share_mode="missing") as server:
        yield server


@pytest.fixture
def serve_site() -> Iterator[Callable[..., MirrorServer]]:
    servers: list[MirrorServer] = []

    def start(root: Path | None = None, **options: object) -> MirrorServer:
        server = serve(SITE_DIR if root is None else root, **options)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hostile_site(tmp_path_factory.mktemp("hostile"))


@pytest.fixture
def run_scrapy(tmp_path: Path, mirror: MirrorServer) -> ScrapyRunner:
    return ScrapyRunner(tmp_path, mirror.url)
