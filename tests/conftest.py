"""Shared pytest fixtures: the bundled site served on 127.0.0.1, and Scrapy in a subprocess.

- `fixtures_dir`, `site_dir`: `tests/fixtures` and the bundled copy of the site in it.
- `truth_rows`: `tests/fixtures/truth.jsonl` parsed, one dict per article page.
- `mirror`: one `localsite.mirror.MirrorServer` for the whole session serving the bundled
  site (share_mode "missing"). Its `.requests` log is shared by every test: call
  `mirror.requests.clear()` first, or use `serve_site` for a private server.
- `serve_site(root=None, **options)`: serve any folder (default: the bundled site) with the
  options of `localsite.mirror.serve` (`share_mode=`, `faults=FaultPlan(...)`, ...);
  every server started is stopped after the test.
- `hostile_dir`: the hostile site of `localsite.hostile`, built once per session.
- `run_scrapy(args, env=None, cwd=PROJECT_ROOT, timeout=...)`: `python -m scrapy ...` in a
  subprocess with this interpreter, a per-test SQLite database and spool folder, and
  FINEWS_BASE_URL / FINEWS_SHARE_BASE_URL on the session mirror unless `env` says otherwise.
  Any URL that is not on a loopback address, in `args` or `env`, is refused before Scrapy runs.
- markers: `postgres`, `redis` (need the local servers), `slow`.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from support.cli_runner import run_module

from localsite.hostile import hostile_site
from localsite.mirror import MirrorServer, serve

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIXTURES_DIR = PROJECT_ROOT / "tests" / "fixtures"
SITE_DIR = FIXTURES_DIR / "site"
SCRAPY_TIMEOUT = 180.0

_URL_RE = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.I)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs the PostgreSQL server on 127.0.0.1:5432")
    config.addinivalue_line("markers", "redis: needs the Redis server on 127.0.0.1:6379")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES_DIR


@pytest.fixture(scope="session")
def site_dir() -> Path:
    return SITE_DIR


@pytest.fixture(scope="session")
def truth_rows() -> list[dict]:
    lines = (FIXTURES_DIR / "truth.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


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


def loopback_only(values: Sequence[str]) -> None:
    """Raise ValueError if any URL in `values` names a host that is not a loopback address."""
    for value in values:
        for url in _URL_RE.findall(value):
            host = urlsplit(url).hostname
            if host is None or host == "localhost":
                continue  # sqlite:///file has no host
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise ValueError(f"tests never leave 127.0.0.1, refusing {url!r}")


class ScrapyRunner:
    """`run_scrapy(args, env=None, cwd=..., timeout=...)`: Scrapy in a subprocess, loopback only.

    `.database_url` (a SQLite file in the test's tmp_path, shared by every call of one test, so
    two runs see one store), `.spool_dir` and `.base_url` are the defaults it sets.
    """

    def __init__(self, tmp_path: Path, base_url: str) -> None:
        self.tmp_path = tmp_path
        self.base_url = base_url
        self.database_path = tmp_path / "finews.sqlite3"
        self.database_url = f"sqlite:///{self.database_path}"
        self.spool_dir = tmp_path / "spool"

    def environment(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        merged = {k: v for k, v in os.environ.items() if not k.startswith("FINEWS_")}
        merged.update(
            {
                "FINEWS_BASE_URL": self.base_url,
                "FINEWS_SHARE_BASE_URL": self.base_url,
                "FINEWS_DATABASE_URL": self.database_url,
                "FINEWS_SPOOL_DIR": str(self.spool_dir),
                "SCRAPY_SETTINGS_MODULE": "finews_crawler.settings",
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
                ),
                "PYTHONUNBUFFERED": "1",
            }
        )
        merged.update(env or {})
        return merged

    def __call__(
        self,
        args: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: Path = PROJECT_ROOT,
        timeout: float = SCRAPY_TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        environment = self.environment(env)
        loopback_only(
            [*args, *(v for k, v in environment.items() if k.startswith(("FINEWS_", "SCRAPY_")))]
        )
        return run_module("scrapy", args, environment, cwd, timeout)


@pytest.fixture
def run_scrapy(tmp_path: Path, mirror: MirrorServer) -> ScrapyRunner:
    return ScrapyRunner(tmp_path, mirror.url)
