"""Is the process that runs a crawl still there? What the next run asks of runs left `running`.

Each run records the host name and pid of its process (`this_process`). A run still `running`
whose process is gone was killed (SIGKILL, the OOM killer, a reboot): `why_gone` says so, in words,
or gives None while the process may still be running it.

- Same host: gone when no process has that pid (a zombie counts as gone), or when the process
  that has it now started after the run did (the pid was reused), read from /proc.
- Another host (or a run recorded without its process): its process cannot be seen from here, so
  it is taken for gone only once the run is older than the stale age (FINEWS_STALE_RUN_AGE).
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

#: A process started this close after the run's recorded start may still be the run's own (the
#: boot time in /proc is whole seconds).
START_TIME_SLACK = timedelta(seconds=1)


def this_process() -> tuple[str, int]:
    """(host name, pid) of this process, as a run records them."""
    return socket.gethostname(), os.getpid()


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (None: no such process or no /proc);
    index 0 is the state, index 19 the start time in clock ticks after boot."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def process_started_at(pid: int) -> datetime | None:
    """When process `pid` started (UTC), from /proc; None where that cannot be read."""
    fields = _proc_stat(pid)
    boot = _boot_time()
    if fields is None or boot is None or len(fields) < 20:
        return None
    seconds = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return datetime.fromtimestamp(seconds, tz=UTC)


def pid_alive(pid: int) -> bool:
    """Whether a process (not a zombie) has this pid on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    fields = _proc_stat(pid)
    return not (fields and fields[0] == "Z")


def why_gone(
    host: str | None,
    pid: int | None,
    started_at: datetime,
    *,
    now: datetime,
    stale_age: float,
) -> str | None:
    """Why the process of a run still `running` is taken for gone; None when it may be alive.

    `started_at` and `now` are aware datetimes; `stale_age` is in seconds.
    """
    here, _ = this_process()
    if host == here and pid is not None:
        if not pid_alive(pid):
            return f"its process (pid {pid} on {host}) is gone"
        process_start = process_started_at(pid)
        if process_start is not None and process_start > started_at + START_TIME_SLACK:
            return (
                f"its process (pid {pid} on {host}) is gone: that pid now belongs to a process"
                f" started at {process_start.isoformat(timespec='seconds')}"
            )
        return None
    age = now - started_at
    if age.total_seconds() > stale_age:
        where = f"on {host}" if host else "by a process not recorded"
        return (
            f"it started {age.total_seconds() / 3600:.1f} hours ago {where} and never finished"
            f" (older than FINEWS_STALE_RUN_AGE, {stale_age:g} s)"
        )
    return None
