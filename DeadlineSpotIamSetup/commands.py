"""How a message names a command of this tool.

The engine's remedies ("print the bootstrap policy", "rotate the key") are shared by both front ends, which are not
run the same way: the command line as ``python -m DeadlineSpotIamSetup``; inside Deadline, the engine installed in
the repository runs with Deadline's own Python (``deadlinecommand -ExecuteScriptNoGui <script> ARGS``, see
lib/spot_iam_plugin/messages.py), since the package is not installed on the machine running RCS/Pulse. Each front
end says once how it is run (:func:`use`); every message names a command through :func:`command`, so a line the
admin reads names something that works where it is read.
"""

from __future__ import annotations

COMMAND_LINE = "python -m DeadlineSpotIamSetup"

_invocation = [COMMAND_LINE]


def use(invocation: str) -> None:
    """How this process's front end runs the command line (``python -m DeadlineSpotIamSetup`` unless told)."""
    _invocation[0] = invocation


def invocation() -> str:
    return _invocation[0]


def command(arguments: str) -> str:
    """The command line with ``arguments``, quoted as messages quote commands."""
    return f"`{_invocation[0]} {arguments}`"
