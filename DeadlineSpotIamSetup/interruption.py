"""Ctrl-C (SIGINT) and SIGTERM on the command line: a request to stop, honoured between two AWS calls.

The first signal sets a flag, the one the event plugin's time limit sets: the gateway asks it before every call,
apply before every change, the key rotation before every step. The call under way ends (each is bounded: see
waits.py), nothing new starts, a key created but not yet handed over is deleted again, and the command line says
what was done and what is left. A second signal stops at once (KeyboardInterrupt). The exit code is 128 plus the
signal's number, as shells report a process a signal ended: 130 for SIGINT, 143 for SIGTERM (the Bash Reference
Manual, "Exit Status": "When a command terminates on a fatal signal whose number is N, Bash uses the value 128+N as
the exit status").

Signal handlers can only be set from the main thread (the ``signal`` module's documentation): elsewhere, and while a
run is already listening (the demo runs the command line inside the command line), the flag is one nobody but the
outer run sets.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# The signals that ask a command line run to stop, with the names messages give them.
SIGNALS = ((signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM"))
_NAMES: dict[int, str] = dict(SIGNALS)
EXIT_INTERRUPTED = 128 + signal.SIGINT  # the code of a run stopped by a signal that was not recorded (130)


class Interruption:
    """Whether (and by which signal) the run was asked to stop. Called, it answers like the engine's ``cancelled``."""

    def __init__(self) -> None:
        self._asked = threading.Event()
        self.signal_number: int | None = None
        self.at_once = False  # a second signal came: the run was stopped where it stood
        self.expected = False  # the run waits for the signal to end (demo --keep): ending on it is no interruption

    def __call__(self) -> bool:
        return self._asked.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run is asked to stop (True), or ``timeout`` seconds have passed (False)."""
        return self._asked.wait(timeout)

    @property
    def name(self) -> str:
        return _NAMES.get(self.signal_number or signal.SIGINT, f"signal {self.signal_number}")

    @property
    def reason(self) -> str:
        """Why the run stops, as a Cancelled's message says it (errors.stop_reason)."""
        return "Ctrl-C was pressed" if self.signal_number in (None, signal.SIGINT) else f"{self.name} was received"

    @property
    def exit_code(self) -> int:
        return 128 + self.signal_number if self.signal_number is not None else EXIT_INTERRUPTED

    def ask(self, signal_number: int) -> None:
        """What a signal does: the first sets the flag, the second stops at once."""
        if self._asked.is_set():
            self.at_once = True
            _stopped_at_once.append(signal_number)
            raise KeyboardInterrupt
        self.signal_number = signal_number
        self._asked.set()
        if not self.expected:
            _tell(f"{self.name}: stopping after the call under way ({self.name} again stops at once)\n")

    def _handle(self, signal_number: int, frame: Any) -> None:
        self.ask(signal_number)


def _tell(text: str) -> None:
    """Write to stderr from a signal handler: straight to the file descriptor, not through the stream the run may be
    writing to at that moment (a buffered stream is not reentrant)."""
    try:
        os.write(sys.stderr.fileno(), text.encode("utf-8", "replace"))
    except (OSError, ValueError, AttributeError):  # no real stderr (a test's StringIO, a closed stream)
        pass


_listening: list[Interruption] = []
_stopped_at_once: list[int] = []


def stopped_at_once() -> bool:
    """Whether a second signal stopped a run of this process where it stood (calls may still be under way in other
    threads: the process has nothing left to wait for)."""
    return bool(_stopped_at_once)


@contextmanager
def ending_quietly() -> Iterator[None]:
    """Outside a run (while the command line loads, once it has ended), Ctrl-C or SIGTERM ends the process at once
    with the signal's exit code and no traceback: nothing is under way. Main thread only; the handlers in place
    before come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def end(signal_number: int, frame: Any) -> None:
        os._exit(128 + signal_number)

    previous = {number: signal.signal(number, end) for number, _ in SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)


@contextmanager
def listening() -> Iterator[Interruption]:
    """SIGINT and SIGTERM ask the run to stop while the block runs; the handlers in place before come back after."""
    if _listening:  # a command line run inside one (the demo): the outer run's flag
        yield _listening[-1]
        return
    interruption = Interruption()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for number, _ in SIGNALS:
            previous[number] = signal.signal(number, interruption._handle)
    _listening.append(interruption)
    try:
        yield interruption
    finally:
        _listening.pop()
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
