"""Worker processes for folds of many places, and the writer process of a bulk append
(``LedgerApp.append_batches``): ``python`` children running this module's :func:`main`. Each
task names the function that works it (``"module:function"``, see :mod:`control.store.workers`):
this module imports nothing of ``control``.

Why not ``multiprocessing``: its spawned workers import the caller's main module again, so a
user's own script without a ``__main__`` guard would run once more in each worker (appending its
reports again), and a program read from standard input cannot start a pool at all. These
workers are plain child processes of this package alone: each reads pickled tasks on its
standard input and writes each result (or the exception raised) on its standard output, in
order. A worker that dies or cannot start ends the pool (:class:`Broken`); the caller does the
rest itself. A worker reads no more than it is sent and stops at the end of its input, so the
workers of a caller killed with -9 end with it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

#: This very package's folder: a worker imports it, never another ``control`` found first (PyPI
#: has one), whatever the caller's ``sys.path`` or working folder.
ROOT = str(Path(__file__).resolve().parents[2])
#: How a worker is started (tests replace it by one that cannot start).
COMMAND = [
    sys.executable,
    "-c",
    f"import sys; sys.path.insert(0, {ROOT!r}); from control.store.pool import main; main()",
]
#: Tasks sent ahead to each worker: one being worked, one waiting (the pipes never fill).
AHEAD = 2


class Broken(Exception):
    """A worker died or could not start: the tasks from ``done`` on were not answered."""

    def __init__(self, done: int) -> None:
        super().__init__(f"a fold worker ended after {done} task(s)")
        self.done = done


def run_tasks(tasks: Iterable[Any], workers: int) -> Iterator[Any]:
    """Each task's result, in the tasks' order, worked by ``workers`` child processes running
    :func:`_serve` (task ``i`` on worker ``i % workers``). ``tasks`` is read as the workers take
    them (:data:`AHEAD` per worker ahead of the results): a generator makes its next task while
    they work. An exception raised by a task is raised here; a worker that ends without
    answering raises :class:`Broken`. The workers are stopped when the iteration ends, early or
    not."""
    procs: list[subprocess.Popen[bytes]] = []
    source = iter(tasks)
    sent = done = 0

    def send_next(proc: subprocess.Popen[bytes]) -> None:
        nonlocal sent
        task = next(source, _END)
        if task is _END:
            return
        try:
            _send(proc, task)
        except OSError:
            raise Broken(done) from None
        sent += 1

    try:
        try:  # started first: they start up while the first tasks are made
            for _ in range(workers):
                # a worker that crashes says nothing: its chunks are done here, where any real
                # error (an unreadable store) is met again and said as such
                procs.append(
                    subprocess.Popen(
                        COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
                    )
                )
        except OSError:
            raise Broken(done) from None
        for i in range(AHEAD * len(procs)):
            send_next(procs[i % len(procs)])
        while done < sent:
            proc = procs[done % len(procs)]
            try:
                ok, value = pickle.load(proc.stdout)  # type: ignore[arg-type]
            except (EOFError, pickle.UnpicklingError, OSError):
                raise Broken(done) from None
            if not ok:
                raise value
            done += 1
            if sent == done - 1 + AHEAD * len(procs):  # this worker's turn comes round again
                send_next(proc)
            yield value
    finally:
        for proc in procs:
            _stop(proc, done < sent)


#: No task left.
_END = object()


def _send(proc: subprocess.Popen[bytes], task: Any) -> None:
    pickle.dump(task, proc.stdin, pickle.HIGHEST_PROTOCOL)  # type: ignore[arg-type]
    proc.stdin.flush()  # type: ignore[union-attr]


def _stop(proc: subprocess.Popen[bytes], early: bool) -> None:
    """End a worker: its input closed, it ends (killed if the caller stopped ``early``: what it
    works on is not wanted)."""
    if early:
        proc.kill()
    for stream in (proc.stdin, proc.stdout):
        with contextlib.suppress(OSError):
            stream.close()  # type: ignore[union-attr]
    proc.wait()


def _serve(work: Callable[[Any], Any], source: IO[bytes], sink: IO[bytes]) -> None:
    """A worker's loop: each task read from ``source`` answered on ``sink`` as ``(True, result)``
    or ``(False, exception)``, until ``source`` ends."""
    while True:
        try:
            task = pickle.load(source)
        except EOFError:
            return
        try:
            answer: tuple[bool, Any] = (True, work(task))
        except Exception as exc:  # the caller raises it
            answer = (False, exc)
        try:
            data = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
        except Exception:  # an exception that does not pickle: said as text
            data = pickle.dumps((False, RuntimeError(repr(answer[1]))), pickle.HIGHEST_PROTOCOL)
        sink.write(data)
        sink.flush()


def work(task: Any) -> Any:
    """A task, worked in this process (a worker's): its first item names the function that works
    it, as ``"module:function"`` (:mod:`control.store.workers`'), which is given the whole task."""
    module, _, function = task[0].partition(":")
    return getattr(importlib.import_module(module), function)(task)


def main() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle: it stops us

    # the protocol owns the real standard output: a stray print in the work goes to stderr
    sink = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr
    with contextlib.suppress(BrokenPipeError):  # the caller has gone
        _serve(work, sys.stdin.buffer, sink)


if __name__ == "__main__":
    main()
