"""Work handed to a child process over its pipes, driven from the crawl's event loop.

The crawl process is CPU-bound on one core; the parser (`parser_pool`) and the store's writer
(`pipelines.store`) move their work to other cores. Not in threads: the reactor thread releases the
GIL on every poll and then queues behind the worker for it (a writer thread made a crawl 48%
slower, bench/). Not through `ProcessPoolExecutor` either: its feeder and manager threads contend
the same way. Here the event loop itself writes requests to the child's stdin and reads answers
from its stdout, so no thread of the crawl process runs Python.

Wire format, both ways: an 8-byte little-endian length, then a pickle. The child answers each
request in order with `(True, result)` or `(False, exception)`. It runs at a lower priority than
the crawl process (NICENESS), which is the bottleneck. It ignores SIGINT and SIGTERM
(the crawl process gets them too, shuts down cleanly and then closes the child's stdin) and exits
when its stdin closes.

It never outlives the crawl process, even one killed by SIGKILL (`die_with_parent`, first thing in
every child): stdin's end only shows when the child next reads it, and a writer blocked in a
database write would keep SQLite locked until then. On Linux the kernel kills the child when its
parent dies (PR_SET_PDEATHSIG); elsewhere a thread watches the parent and ends the process.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import pickle
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, BinaryIO

HEADER_BYTES = 8
#: Added to a child's nice value: it yields the CPU to the crawl process (bench/: ~5% faster).
NICENESS = 10
#: Seconds a child gets to exit after its input is closed, before it is killed.
CLOSE_TIMEOUT = 10.0
#: Environment variable giving a child its parent's pid (see `die_with_parent`).
#: Set by the parent for its child only: not a setting (hence the leading underscore).
PARENT_PID_ENV = "_FINEWS_CHILD_PARENT_PID"
#: prctl option asking the kernel to signal this process when its parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1
#: Seconds between the parent checks of the watcher thread (where there is no PR_SET_PDEATHSIG).
PARENT_POLL_SECONDS = 0.2


class ChildDied(RuntimeError):
    """The child process exited before it answered."""


def frame(obj: object) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return len(data).to_bytes(HEADER_BYTES, "little") + data


# --- in the child ------------------------------------------------------------------------------


def read_frame(stream: BinaryIO) -> Any:
    """The next request; raises EOFError at the end of the input."""
    header = stream.read(HEADER_BYTES)
    if len(header) < HEADER_BYTES:
        raise EOFError
    size = int.from_bytes(header, "little")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def answer(handle: Callable[[Any], Any], request: Any) -> bytes:
    try:
        return frame((True, handle(request)))
    except Exception as exc:
        try:
            return frame((False, exc))
        except Exception:  # an exception that does not pickle: keep its type name and text
            return frame((False, RuntimeError(f"{type(exc).__name__}: {exc}")))


def _parent_death_signal() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)  # no cleanup: a transaction left open is rolled back by the database


def die_with_parent() -> None:
    """End this child process when the process that started it dies, whatever it is doing.

    The parent's pid comes from PARENT_PID_ENV (set by `ChildProcess.start`); without it, the
    current parent is taken. The check after the prctl closes the race of a parent that died
    before it: this process has then been handed to another parent already.
    """
    parent_pid = int(os.environ.get(PARENT_PID_ENV) or os.getppid())
    # The kernel signals when the parent *thread* that started us ends: the crawl's event loop
    # thread, which lives as long as the crawl process.
    armed = _parent_death_signal()
    if os.getppid() != parent_pid:
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def serve(handle: Callable[[Any], Any]) -> None:
    """The child's main loop: answer every request on stdin until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # The crawl's event loop is what limits a crawl; helpers give way to it when cores are short.
    os.nice(NICENESS)
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            request = read_frame(requests)
        except EOFError:
            return
        answers.write(answer(handle, request))
        answers.flush()


# --- in the crawl process ---------------------------------------------------------------------


class ChildProcess:
    """`python -m MODULE`: requests go in, answers come back in the same order."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.waiting: deque[asyncio.Future] = deque()
        self.alive = True
        self.reader = asyncio.ensure_future(self._read_answers())

    @classmethod
    async def start(cls, module: str, setup: object = None) -> ChildProcess:
        """Start `python -m module`; `setup`, when given, is the first frame on its stdin (not
        an argument: a database URL with a password must not show in `ps`)."""
        # The child imports what this process imports (a scrapyd egg included).
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
            PARENT_PID_ENV: str(os.getpid()),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        child = cls(process)
        if setup is not None:
            assert process.stdin is not None
            process.stdin.write(frame(setup))
        return child

    @property
    def pid(self) -> int:
        return self.process.pid

    async def call(self, request: Any) -> Any:
        """The child's answer to `request`; raises what the child raised, or ChildDied."""
        assert self.process.stdin is not None
        if not self.alive:
            raise ChildDied(f"child process {self.pid} has exited")
        answer = asyncio.get_running_loop().create_future()
        self.waiting.append(answer)
        try:
            self.process.stdin.write(frame(request))
            await self.process.stdin.drain()
        except ConnectionError as exc:
            raise ChildDied(f"child process {self.pid} has exited") from exc
        return await answer

    async def _read_answers(self) -> None:
        assert self.process.stdout is not None
        stdout = self.process.stdout
        try:
            while True:
                size = int.from_bytes(await stdout.readexactly(HEADER_BYTES), "little")
                ok, value = pickle.loads(await stdout.readexactly(size))
                answer = self.waiting.popleft()
                if ok:
                    answer.set_result(value)
                else:
                    answer.set_exception(value)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.alive = False
            while self.waiting:
                answer = self.waiting.popleft()
                if not answer.done():
                    answer.set_exception(ChildDied(f"child process {self.pid} exited"))

    async def close(self) -> None:
        """Close the child's input; it answers what it holds, then exits (or is killed)."""
        stdin = self.process.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), CLOSE_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        await self.reader
