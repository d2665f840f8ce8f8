"""A hard limit on the whole of one AWS call, however its server behaves.

botocore's read timeout bounds each socket read; a server that trickles its reply one byte at a time keeps
every read under it and the call going forever. Here every connection a client uses registers its socket with
the call running on the current thread; one watchdog thread shuts down the sockets of a call whose deadline has
passed, so the blocked read ends at once and the call fails (no retry starts after the deadline).

Wiring: the client's HTTP session is given connection-pool classes whose connections register themselves. That
session attribute is not public botocore API: when it is not there, calls keep botocore's own per-read bounds
(:func:`install` says so by returning False).
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import (
    AWSHTTPConnection,
    AWSHTTPConnectionPool,
    AWSHTTPSConnection,
    AWSHTTPSConnectionPool,
)


class CallGuard:
    """One call's deadline and the sockets it used; ``cut`` is True once the watchdog shut them down."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.cut = False
        self.finished = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def add(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if self.cut:
                _shutdown(sock)
            elif sock not in self._sockets:
                self._sockets.append(sock)

    def expire(self) -> None:
        with self._lock:
            if self.finished:
                return
            self.cut = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shutdown(sock)

    def finish(self) -> None:
        with self._lock:
            self.finished = True
            self._sockets = []


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Watchdog:
    """One daemon thread for the whole process: expires guards at their deadlines."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, CallGuard]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, guard: CallGuard) -> None:
        with self._wake:
            heapq.heappush(self._heap, (guard.deadline, next(self._counter), guard))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="aws-call-deadline", daemon=True)
                self._thread.start()
            if self._heap[0][2] is guard:  # the earliest deadline now: the watchdog waits for a later one, or none
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][2].finished:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait(30.0)
                    if not self._heap:
                        self._thread = None
                        return
                    continue
                deadline, _, guard = self._heap[0]
                left = deadline - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                heapq.heappop(self._heap)
            guard.expire()


_WATCHDOG = _Watchdog()
_CURRENT = threading.local()


@contextmanager
def deadline(seconds: float) -> Iterator[CallGuard]:
    """Everything this thread sends through an installed client within the block is cut ``seconds`` from now."""
    guard = CallGuard(time.monotonic() + seconds)
    previous = getattr(_CURRENT, "guard", None)
    _CURRENT.guard = guard
    _WATCHDOG.watch(guard)
    try:
        yield guard
    finally:
        guard.finish()
        _CURRENT.guard = previous


class _GuardedConnection:
    """Mixin: registers the connection's socket with the current thread's call guard, before and after each
    request (a reused connection has its socket already; a new one gets it while sending)."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        guard = getattr(_CURRENT, "guard", None)
        if guard is not None:
            guard.add(getattr(self, "sock", None))
        try:
            return super().request(*args, **kwargs)  # type: ignore[misc]
        finally:
            if guard is not None:
                guard.add(getattr(self, "sock", None))


class _HTTPConnection(_GuardedConnection, AWSHTTPConnection):
    pass


class _HTTPSConnection(_GuardedConnection, AWSHTTPSConnection):
    pass


class _HTTPPool(AWSHTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(AWSHTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


def install(client: Any) -> bool:
    """Give ``client``'s connections to the call guards. False when botocore's layout is not the one known."""
    http_session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    classes = getattr(http_session, "_pool_classes_by_scheme", None)
    if not isinstance(classes, dict):
        return False
    classes["http"] = _HTTPPool  # the same dict serves the session's pool manager and its proxy managers
    classes["https"] = _HTTPSPool
    manager = getattr(http_session, "_manager", None)
    if manager is not None:
        manager.pool_classes_by_scheme = classes
    return True
