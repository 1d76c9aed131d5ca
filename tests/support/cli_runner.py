"""`finews` and `scrapy` in a subprocess, for tests that drive them as a user or cron would.

`ScrapyRunner` is what the `run_scrapy` fixture (tests/conftest.py) hands a test: Scrapy in a
subprocess on a per-test database, refusing any URL that is not on a loopback address.
"""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from support.paths import PROJECT_ROOT

SCRAPY_TIMEOUT = 180.0

_URL_RE = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.I)


def clean_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without its FINEWS_* variables (a developer's shell must not
    reach the tests' crawls), plus `env`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FINEWS_")}
    environment.update(env or {})
    return environment


def finews_cli(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path = PROJECT_ROOT,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`finews ARGS` in a subprocess (FINEWS_* of this process dropped, `env` added)."""
    return run_module("finews_crawler.cli", args, clean_environment(env), cwd, timeout)


def finews_background(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path = PROJECT_ROOT,
    *,
    own_session: bool = False,
) -> subprocess.Popen[str]:
    """`finews ARGS` started in a subprocess and left running (as `finews_cli` sets it up);
    its output goes to pipes: read them after it ends (`communicate`). `own_session`: in a
    process group of its own, so that its children can be found by it too."""
    return subprocess.Popen(
        [sys.executable, "-m", "finews_crawler.cli", *args],
        cwd=cwd,
        env=clean_environment(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=own_session,
    )


def run_module(
    module: str, args: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """`python -m MODULE ARGS` with exactly `env`; its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


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
        return clean_environment(
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
                **(env or {}),
            }
        )

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


def dead_pid() -> int:
    """The pid of a process that has ended."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)
