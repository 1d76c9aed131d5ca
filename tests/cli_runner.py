"""The `finews` command in a subprocess, for the tests that drive it as a user or cron would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def finews_cli(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path = PROJECT_ROOT,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`finews ARGS` in a subprocess (FINEWS_* of this process dropped, `env` added)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FINEWS_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "finews_crawler.cli", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
