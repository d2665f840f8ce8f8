"""A minimal Deadline host for Pythons older than the plugin's code supports (Python 2.7, 3.6): Deadline 10.1 and
10.2 run a custom event plugin under Python 2 unless its file starts with ``#!/usr/bin/env python3`` (Thinkbox's
"Python 3 Upgrade Guide"; ynput/OpenPype issue 4395), and the plugin must then say what it needs, not fail.

deadline_standin.py needs Python 3.7, so this file, written in the syntax Python 2.7 parses, gives the plugin only
what it touches in that case, named as Deadline names it: the modules ``Deadline.Events``
(``DeadlineEventListener``: ``On...Callback`` events subscribed with ``+=`` and dropped with ``del``, ``LogInfo``,
``LogWarning``) and ``Deadline.Scripting`` (``RepositoryUtils``). It loads the plugin file the way Deadline does (its
folder on ``sys.path``, the file run as a module registered under the plugin's name), fires one house cleaning
(``GetDeadlineEventListener()``, the ``OnHouseCleaningCallback`` handlers, ``CleanupDeadlineEventListener()``) and
prints one JSON line: the Python version, the log lines, any exception that escaped the plugin, and the modules
it imported from its own folder.

Usage: python old_python_host.py <plugin file>
"""

import json
import os
import platform
import sys
import traceback
import types


class _Callback(object):
    def __init__(self):
        self.handlers = []

    def __iadd__(self, handler):
        self.handlers.append(handler)
        return self


class DeadlineEventListener(object):
    """The part of ``Deadline.Events.DeadlineEventListener`` the plugin uses under an old Python."""

    log = []

    def __init__(self):
        object.__setattr__(self, "_events", {})

    def __getattr__(self, name):
        if name.startswith("On") and name.endswith("Callback"):
            return self.__dict__["_events"].setdefault(name, _Callback())
        raise AttributeError(name)

    def __setattr__(self, name, value):
        if name.startswith("On") and name.endswith("Callback"):
            if self.__dict__["_events"].get(name) is not value:
                raise TypeError("subscribe to %s with +=" % name)
            return
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self.__dict__["_events"].pop(name, None)

    def LogInfo(self, message):
        DeadlineEventListener.log.append(["INFO", message])

    def LogWarning(self, message):
        DeadlineEventListener.log.append(["WARNING", message])


def _install_deadline_modules():
    deadline = types.ModuleType("Deadline")
    events = types.ModuleType("Deadline.Events")
    scripting = types.ModuleType("Deadline.Scripting")
    events.DeadlineEventListener = DeadlineEventListener
    scripting.RepositoryUtils = object()
    deadline.Events = events
    deadline.Scripting = scripting
    sys.modules.update({"Deadline": deadline, "Deadline.Events": events, "Deadline.Scripting": scripting})


def _load(path, name):
    if sys.version_info[0] == 2:
        import imp

        return imp.load_source(name, path)
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _imported_from(folder, plugin_module):
    found = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if module is not plugin_module and path and os.path.realpath(path).startswith(folder + os.sep):
            found.append(name)
    return sorted(found)


def main(path):
    sys.dont_write_bytecode = True
    folder = os.path.dirname(os.path.realpath(path))
    name = os.path.basename(folder)
    sys.path.insert(0, folder)
    _install_deadline_modules()
    error = None
    module = None
    try:
        module = _load(path, name)
        listener = module.GetDeadlineEventListener()
        for handler in list(listener.OnHouseCleaningCallback.handlers):
            handler()
        module.CleanupDeadlineEventListener(listener)
    except BaseException:  # what would reach Deadline
        error = traceback.format_exc()
    answer = {
        "python": platform.python_version(),
        "log": DeadlineEventListener.log,
        "error": error,
        "imported": _imported_from(folder, module),
    }
    sys.stdout.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
