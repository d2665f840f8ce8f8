"""The bounded run: the engine works in a daemon thread whose lines are relayed to Deadline's log from the
house-cleaning thread, for at most the run limit.

At the limit the worker is told to stop (it starts no new AWS call, creates and delivers nothing more) and left
behind; it is remembered, in this process, so that the next house cleaning relays what it said since and starts
no second worker while it still runs.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from DeadlineSpotIamSetup.errors import SetupError

from . import messages
from .logbridge import WARNING, PluginLog
from .status import RunReport, RunStatus

Emit = Callable[[str, str], None]
Job = Callable[[Emit, Callable[[], bool]], RunReport]


@dataclass
class _Worker:
    thread: threading.Thread
    started: float
    stop: threading.Event = field(default_factory=threading.Event)
    lines: queue.Queue = field(default_factory=queue.Queue)
    report: list[RunReport] = field(default_factory=list)

    def relay(self, log: PluginLog) -> None:
        while True:
            try:
                level, text = self.lines.get_nowait()
            except queue.Empty:
                return
            log.emit(level, text)

    @property
    def outcome(self) -> RunReport:
        return self.report[0] if self.report else RunReport(RunStatus.FAILED)


_LOCK = threading.Lock()
_LEFT_BEHIND: _Worker | None = None


def left_behind_busy(log: PluginLog) -> bool:
    """Relay what a worker left at the time limit has said since; True while it still runs (start nothing then)."""
    global _LEFT_BEHIND
    with _LOCK:
        worker = _LEFT_BEHIND
    if worker is None:
        return False
    worker.relay(log)
    if worker.thread.is_alive():
        log.warning(messages.still_running(time.monotonic() - worker.started))
        return True
    worker.relay(log)
    log.info(messages.left_behind_finished(worker.outcome.status))
    with _LOCK:
        _LEFT_BEHIND = None
    return False


def run_bounded(job: Job, log: PluginLog, limit: float) -> RunReport:
    """Run ``job`` in a daemon thread, relaying its lines to the log from this thread, for at most ``limit``."""
    global _LEFT_BEHIND

    def work() -> None:
        emit = lambda level, text: worker.lines.put((level, text))  # noqa: E731
        try:
            worker.report.append(job(emit, worker.stop.is_set))
        except SetupError as error:
            emit(WARNING, f"Check failed: {error}")
            worker.report.append(RunReport(RunStatus.FAILED))
        except Exception as error:  # a bug must not take RCS/Pulse down: say what happened, in one line
            emit(WARNING, f"Check failed unexpectedly: {type(error).__name__}: {error}")
            worker.report.append(RunReport(RunStatus.FAILED))

    worker = _Worker(threading.Thread(target=work, name="DeadlineSpotIamSetup", daemon=True), time.monotonic())
    deadline = worker.started + limit
    worker.thread.start()
    while True:
        try:
            level, text = worker.lines.get(timeout=0.05)
            log.emit(level, text)
            continue
        except queue.Empty:
            pass
        if not worker.thread.is_alive() and worker.lines.empty():
            return worker.outcome
        if time.monotonic() >= deadline:
            worker.stop.set()
            with _LOCK:
                _LEFT_BEHIND = worker
            log.warning(messages.time_limit(limit))
            return RunReport(RunStatus.FAILED)
