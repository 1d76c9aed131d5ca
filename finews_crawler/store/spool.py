"""A directory of JSONL files holding writes the database refused, replayed by the next run.

Each file is written whole (to a temporary name, fsynced, then renamed), so a crash never leaves
half a file behind. A reader claims a file by renaming it (`*.jsonl.claimed-<pid>`) before
replaying it, so two processes never replay the same file at once; a claim whose process is gone
is picked up again. Replaying twice is harmless: the store's writes are idempotent upserts.

A line is a JSON object with a `kind`: `item` (`item`, `run_id`), `quarantine` (`url`, `reason`,
`excerpt`, `run_id`) or `finish_run` (`run_id`, `outcome`, `counts`, `stats`, and the health
`verdict` and `reasons`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from finews_crawler.processes.liveness import pid_alive

logger = logging.getLogger(__name__)

SUFFIX = ".jsonl"
CLAIM = ".claimed-"
_counter = itertools.count()


class Spool:
    """Spooled writes under one directory."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def write(self, records: Iterable[Mapping[str, Any]]) -> Path | None:
        """Write records to a new spool file; returns its path (None when there was nothing)."""
        lines = [json.dumps(record, ensure_ascii=False, default=str) for record in records]
        if not lines:
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"spool-{stamp}-{os.getpid()}-{next(_counter)}{SUFFIX}"
        final = self.directory / name
        temporary = self.directory / f".{name}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
        return final

    def pending(self) -> list[Path]:
        """Spool files waiting for replay (and claims left by dead processes), oldest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.iterdir():
            if path.name.endswith(SUFFIX) and not path.name.startswith("."):
                found.append(path)
            elif CLAIM in path.name:
                pid = path.name.rsplit(CLAIM, 1)[1]
                if pid.isdigit() and not pid_alive(int(pid)) and int(pid) != os.getpid():
                    found.append(path)
        return sorted(found, key=lambda p: p.name)

    def claim(self, path: Path) -> Path | None:
        """Rename a pending file to this process's claim; None if another process was first."""
        base = path.name.split(CLAIM, 1)[0]
        claimed = path.with_name(f"{base}{CLAIM}{os.getpid()}")
        if path == claimed:
            return claimed
        try:
            os.replace(path, claimed)
        except FileNotFoundError:
            return None
        return claimed

    def read(self, path: Path) -> list[dict[str, Any]]:
        """The records of a spool file; unreadable lines are logged and skipped."""
        records = []
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    logger.error("Skipping unreadable line %d of spool file %s", number, path)
                    continue
                if isinstance(record, dict):
                    records.append(record)
        return records

    def release(self, claimed: Path) -> None:
        """Give a claimed file back (replay failed): the next run tries it again."""
        base = claimed.name.split(CLAIM, 1)[0]
        with contextlib.suppress(FileNotFoundError):
            os.replace(claimed, claimed.with_name(base))

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)
