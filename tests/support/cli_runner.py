"""`finews` and `scrapy` in a subprocess, for tests that drive them as a user or cron would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def finews_cli(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path = PROJECT_ROOT,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`finews ARGS` in a subprocess (FINEWS_* of this process dropped, `env` added)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FINEWS_")}
    environment.update(env or {})
    return run_module("finews_crawler.cli", args, environment, cwd, timeout)


def finews_background(
    args: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path = PROJECT_ROOT
) -> subprocess.Popen[str]:
    """`finews ARGS` started in a subprocess and left running (as `finews_cli` sets it up);
    its output goes to pipes: read them after it ends (`communicate`)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FINEWS_")}
    environment.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "finews_crawler.cli", *args],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
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
