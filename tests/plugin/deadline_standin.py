"""A stand-in for the parts of AWS Thinkbox Deadline's Python API that event plugins use.

Deadline cannot be installed where the tests run. This module imitates what an event plugin sees of it:

* :class:`FakeDeadline` is Deadline's side: a folder laid out like a Deadline repository (``custom/events/``
  for site plugins, ``events/`` for Deadline's own, such as ``events/Spot/Spot.param``), the event plugin
  configurations (what an administrator sets in Monitor, Tools > Configure Events; keys never set fall back
  to the ``Default=`` of the plugin's ``.param`` file), the event plugin metadata, the log and the Deadline
  version. It builds the modules Deadline gives to plugins: ``Deadline``, ``Deadline.Events``
  (:class:`DeadlineEventListener`) and ``Deadline.Scripting`` (``RepositoryUtils``). It is sized to what the
  plugin uses: string settings, the metadata calls, the log, the event plugin directory and configuration.
  Configuration and metadata live in Deadline's database: they survive any process.

* :class:`PluginHost` is one simulated RCS/Pulse process. It loads an event plugin the way Deadline does
  (the plugin's folder on ``sys.path``, ``<Name>.py`` executed as a module registered in ``sys.modules``
  under the plugin's name or a name of your choice) and fires events the way Deadline does for each
  trigger: ``GetDeadlineEventListener()``, the subscribed handlers, ``CleanupDeadlineEventListener()``.
  It checks the contract along the way (``super().__init__()`` called, callbacks unsubscribed with ``del``),
  logs any exception escaping the plugin as an error and re-raises it (unless told not to).
  :meth:`PluginHost.restart` simulates a new RCS/Pulse process: the plugin and everything it imported from
  the repository are forgotten, while the configuration and metadata stay.

Simulated processes. All hosts share the test's interpreter, so a host keeps its own process state and
swaps it in only while plugin code runs (while loading, during a trigger, or inside
:meth:`PluginHost.process_patches`), then puts the test process's state back:

* ``sys.modules``: the modules imported from the repository, the module names plugins are registered
  under, the names in ``hide_modules`` and ``Deadline*`` belong to the host. With ``isolate=True`` (the
  default) the test process's own modules that do not come from the Python installation (the standard
  library and site-packages of ``sys.prefix``/``sys.base_prefix``), such as this project's package imported
  from the checkout or the test modules, are also out of sight, and neither the checkout's ``sys.path``
  entries nor editable-install finders are used: the plugin can only import what a Deadline process could,
  the standard library, site-packages (boto3) and its own folder. Modules imported from site-packages or
  the standard library stay shared: their module-level state is not per process.
* ``sys.path``: the host's own list, starting as the test's (filtered with ``isolate``); what the plugin
  adds stays for the next trigger, until :meth:`PluginHost.restart`.
* ``os.environ``: changes made by plugin code are kept by the host for its next triggers, undone for the
  test, and forgotten by a restart.
* Process identity: the real pid cannot change, so ``os.getpid`` is patched to return
  :attr:`PluginHost.simulated_pid`, a number above Linux's largest ``pid_max`` (so never a live process:
  ``/proc/<pid>`` does not exist and ``os.kill(pid, 0)`` fails). Each host and each restart get a new one;
  :attr:`PluginHost.started_at` is the simulated start time. With ``hostname="..."`` ``socket.gethostname``
  and ``platform.node`` answer that name, to simulate RCS on two machines sharing one database.
  ``from os import getpid`` done before a window keeps the real function.
* ``sys.dont_write_bytecode`` is set, so no ``__pycache__`` is written into the repository. The code compiled from
  a repository file is kept in the test process instead, keyed by the file's bytes, the way Python's bytecode cache
  keeps it: the next simulated process importing a file with the same bytes (the same plugin installed into another
  test's repository, say) runs the same code without compiling it again, its ``co_filename`` set to the file being
  imported, as importlib does for a ``.pyc`` (``_imp._fix_co_filename``). A file whose bytes changed is compiled
  afresh. Executing the module is never skipped: each simulated process runs its modules' code, as a new process
  does.

The swap is process-wide: threads the plugin leaves running after a trigger see the test process's state,
and the test process's own threads (an in-process AWS stand-in server, say) see the simulated process's
state while plugin code runs, which is harmless for code from the Python installation.

Example::

    fake = FakeDeadline(tmp_path / "repository")
    fake.write_spot_param("[State]\\nDefault=Global Enabled\\n")
    install_the_plugin_into(fake.repository)  # lays out custom/events/MyPlugin/
    fake.set_config("MyPlugin", State="Global Enabled", CheckIntervalHours=0)
    with PluginHost(fake, register_as="MyPlugin") as host:
        host.house_cleaning("MyPlugin")
        assert "checked" in " ".join(fake.log_lines())
        host.restart()  # RCS restarted: a new process, same configuration and metadata
        result = host.house_cleaning("MyPlugin")
    assert fake.metadata("MyPlugin")["LastResult"] == "ok"
"""

from __future__ import annotations

import _imp
import configparser
import contextlib
import functools
import importlib
import importlib.machinery
import importlib.util
import itertools
import json
import marshal
import os
import platform
import re
import socket
import sys
import threading
import time
import traceback
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "GLOBAL_ENABLED",
    "HOUSE_CLEANING",
    "ContractViolation",
    "DeadlineEventListener",
    "EventPluginConfig",
    "FakeDeadline",
    "ListenerNotInitializedError",
    "LogRecord",
    "PluginHost",
    "MonitorHost",
    "DeadlineScriptDialog",
    "TriggerResult",
    "parse_param_defaults",
]

HOUSE_CLEANING = "OnHouseCleaningCallback"
GLOBAL_ENABLED = "Global Enabled"

_CALLBACK_NAME = re.compile(r"On[A-Za-z0-9_]+Callback\Z")
# Above 2**22, Linux's largest pid_max: a simulated pid is never the pid of a live process.
_SIMULATED_PIDS = itertools.count(5_000_001)
_NOT_INITIALIZED = (
    "{cls}.{what}: DeadlineEventListener.__init__() has not run. An event listener must call super().__init__() "
    "first in its __init__ (required since Deadline 10.3: before it, the listener's methods and events do not work)."
)


class LogRecord(NamedTuple):
    """One line of an event plugin's log: level is "INFO", "WARNING" or "ERROR"."""

    level: str
    message: str


class ListenerNotInitializedError(AttributeError):
    """A DeadlineEventListener was used before DeadlineEventListener.__init__() ran."""


class ContractViolation(AssertionError):
    """An event plugin broke Deadline's contract (found by a PluginHost; always raised)."""


def parse_param_defaults(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``Default=`` of each setting (INI section) of a Deadline ``.param`` file, by setting name.

    Names are case-sensitive, values are taken verbatim (no ``%`` interpolation, ``;`` and ``:`` are plain
    characters), repeated sections or keys do not fail (the last one wins) and a UTF-8 BOM is ignored.

    The file is read at every call (what it holds now is what counts); a text already parsed is not parsed again
    (the plugin reads its settings at every step, and configparser was a quarter of the rotation state machine's CPU).
    """
    with open(path, encoding="utf-8-sig") as handle:
        text = handle.read()
    return dict(_param_defaults_in(text, os.fspath(path)))


@functools.lru_cache(maxsize=64)
def _param_defaults_in(text: str, source: str) -> tuple[tuple[str, str], ...]:
    parser = configparser.ConfigParser(
        interpolation=None,
        strict=False,
        delimiters=("=",),
        default_section="\x00no default section",
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text, source=source)
    names = [name for name in parser.sections() if parser.has_option(name, "Default")]
    return tuple((name, parser.get(name, "Default")) for name in names)


def _require_str(what: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str (Deadline's API takes .NET strings), not {type(value).__name__}")
    return value


def _config_value(values: Mapping[str, str], key: str, default: str | None) -> str | None:
    """A config entry (a string, as Deadline stores every setting); ``default`` when the key is missing."""
    _require_str("key", key)
    if default is not None:
        _require_str("default", default)
    return values.get(key, default)


class NetDictionary:
    """A .NET ``Dictionary<string, string>`` as Python code sees it through Python for .NET: ``d[key]`` (a missing
    key raises KeyError, .NET's KeyNotFoundException), ``ContainsKey(key)``, ``Keys`` and ``Count``; no ``get``."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> str:
        return self._values[_require_str("key", key)]

    def ContainsKey(self, key: str) -> bool:
        return _require_str("key", key) in self._values

    @property
    def Keys(self) -> list[str]:
        return list(self._values)

    @property
    def Count(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._values))

    def __repr__(self) -> str:
        return f"<NetDictionary: {len(self._values)} entries>"


class EventPluginConfig:
    """What ``RepositoryUtils.GetEventPluginConfig(name)`` returns: the plugin's configuration when called."""

    def __init__(self, name: str, values: Mapping[str, str]) -> None:
        self._name = name
        self._values = dict(values)

    def GetConfigEntryWithDefault(self, key: str, defaultValue: str | None) -> str | None:
        return _config_value(self._values, key, defaultValue)

    def __repr__(self) -> str:
        return f"<EventPluginConfig {self._name!r}: {len(self._values)} entries>"


class _Callback:
    """One event of a listener (``OnHouseCleaningCallback``...): ``+= handler``, ``-= handler``, ``del``."""

    __slots__ = ("handlers", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.handlers: list[Callable[..., object]] = []

    def __iadd__(self, handler: Callable[..., object]) -> _Callback:
        if not callable(handler):
            raise TypeError(f"{self.name} += {handler!r}: a handler must be callable")
        self.handlers.append(handler)
        return self

    def __isub__(self, handler: Callable[..., object]) -> _Callback:
        for index in range(len(self.handlers) - 1, -1, -1):
            if self.handlers[index] == handler:
                del self.handlers[index]
                break
        return self

    def __len__(self) -> int:
        return len(self.handlers)

    def __repr__(self) -> str:
        return f"<event {self.name}: {len(self.handlers)} handler(s)>"


@dataclass
class _ListenerState:
    fake: FakeDeadline
    plugin: str
    config: dict[str, str]
    callbacks: dict[str, _Callback] = field(default_factory=dict)


# (FakeDeadline, plugin name) of the event plugin whose code is running: a listener binds to it.
_PLUGIN_CONTEXT: list[tuple[FakeDeadline, str]] = []


@contextlib.contextmanager
def _plugin_context(fake: FakeDeadline, plugin: str | None) -> Iterator[None]:
    if plugin is None:
        yield
        return
    _PLUGIN_CONTEXT.append((fake, plugin))
    try:
        yield
    finally:
        _PLUGIN_CONTEXT.pop()


class DeadlineEventListener:
    """``Deadline.Events.DeadlineEventListener``: the base class of an event plugin's listener.

    ``__init__`` binds the listener to the event plugin being run and takes the plugin's configuration as
    it is now (so a setting changed during a trigger is read by the next trigger). Events are attributes
    named ``On...Callback``; assigning one directly is refused, as in Deadline. Without ``__init__``, the
    events and every method raise :class:`ListenerNotInitializedError`.
    """

    def __init__(self) -> None:
        if "_standin_state" in self.__dict__:
            return
        if not _PLUGIN_CONTEXT:
            raise RuntimeError(
                "a DeadlineEventListener can only be created while a PluginHost runs an event plugin "
                "(load, trigger, or inside PluginHost.process_patches(plugin_name))"
            )
        fake, plugin = _PLUGIN_CONTEXT[-1]
        object.__setattr__(self, "_standin_state", _ListenerState(fake, plugin, fake.effective_config(plugin)))

    def _standin(self, what: str) -> _ListenerState:
        state = self.__dict__.get("_standin_state")
        if state is None:
            raise ListenerNotInitializedError(_NOT_INITIALIZED.format(cls=type(self).__name__, what=what))
        return state

    def __getattr__(self, name: str) -> Any:
        if _CALLBACK_NAME.match(name):
            callbacks = self._standin(name).callbacks
            return callbacks.setdefault(name, _Callback(name))
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if _CALLBACK_NAME.match(name):
            callback = self._standin(name).callbacks.get(name)
            if callback is None or value is not callback:
                raise TypeError(
                    f"cannot assign to the event {name}: subscribe with `self.{name} += handler`, "
                    f"unsubscribe with `del self.{name}`"
                )
            return
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if _CALLBACK_NAME.match(name):
            callback = self._standin(name).callbacks.get(name)
            if callback is not None:
                callback.handlers.clear()
            return
        object.__delattr__(self, name)

    # Configuration: strings (Deadline stores every setting as one).

    def GetConfigEntryWithDefault(self, key: str, defaultValue: str | None) -> str | None:
        return _config_value(self._standin("GetConfigEntryWithDefault").config, key, defaultValue)

    # Metadata: strings kept between triggers and processes (Deadline's database).

    def _metadata(self, what: str) -> tuple[FakeDeadline, dict[str, str]]:
        state = self._standin(what)
        return state.fake, state.fake.metadata(state.plugin)

    def AddMetaDataEntry(self, key: str, value: str) -> None:
        """Adds the entry; no effect when the key exists."""
        _fake, store = self._metadata("AddMetaDataEntry")
        store.setdefault(_require_str("key", key), _require_str("value", value))

    def GetMetaDataEntry(self, key: str) -> str | None:
        """The value; for a missing key, FakeDeadline.missing_metadata (None unless set to "")."""
        fake, store = self._metadata("GetMetaDataEntry")
        return store.get(_require_str("key", key), fake.missing_metadata)

    def DeleteMetaDataEntry(self, key: str) -> None:
        """Deletes the entry; no effect when the key is missing."""
        _fake, store = self._metadata("DeleteMetaDataEntry")
        store.pop(_require_str("key", key), None)

    # Log.

    def LogInfo(self, message: str) -> None:
        state = self._standin("LogInfo")
        state.fake._record("INFO", _require_str("message", message), state.plugin)

    def LogWarning(self, message: str) -> None:
        state = self._standin("LogWarning")
        state.fake._record("WARNING", _require_str("message", message), state.plugin)


class _RepositoryUtils:
    """``Deadline.Scripting.RepositoryUtils`` (the event plugin part)."""

    def __init__(self, fake: FakeDeadline) -> None:
        self._fake = fake

    def GetEventPluginDirectory(self, name: str) -> str:
        """``<repository>/custom/events/<name>`` if it exists, else ``<repository>/events/<name>``, else ""."""
        folder = self._fake.plugin_directory(_require_str("name", name))
        return "" if folder is None else str(folder)

    def GetEventPluginConfig(self, name: str) -> EventPluginConfig:
        return EventPluginConfig(name, self._fake.effective_config(_require_str("name", name)))

    def AddOrUpdateEventPluginConfigSetting(self, name: str, key: str, value: str) -> None:
        _require_str("name", name)
        _require_str("key", key)
        self._fake.config(name)[key] = _require_str("value", value)

    def GetEventPluginConfigMetaDataDictionary(self, name: str) -> NetDictionary:
        """An event plugin's metadata, read from anywhere (Deadline's own Spot Event Plugin reads its metadata so in
        OnSlaveStarted: events/Spot/Spot.py of Deadline 10, a public copy in kozakl/deadline-repository)."""
        return NetDictionary(self._fake.metadata(_require_str("name", name)))

    def AddOrUpdateServerData(self, id: str, key: str, value: str) -> None:
        """Scripting Reference, RepositoryUtils: ``AddOrUpdateServerData(string id, string key, string value)``, "Save
        or updates the server data with the given ID"."""
        _require_str("id", id)
        self._fake.server_data(id)[_require_str("key", key)] = _require_str("value", value)

    def GetServerData(self, id: str) -> NetDictionary | None:
        """The entries of the server data with the given ID; None when there is none. (The reader paired with
        AddOrUpdateServerData; see docs/fleet-audit.md, "Where the fleet configuration is read", for what is known
        of it.)"""
        values = self._fake.server_data(_require_str("id", id))
        return NetDictionary(values) if len(values) else None


class _SharedDatabase:
    """Deadline's database as one JSON file that several OS processes (one per simulated RCS machine) share:
    every read and every change takes an exclusive lock on a file beside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self._lock_path, "a+b") as handle:
            if os.name == "nt":  # pragma: no cover - the suites run on POSIX
                import msvcrt

                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            yield

    def _load(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"config": {}, "metadata": {}, "server_data": {}, "log": []}

    def read(self) -> dict[str, Any]:
        with self._locked():
            return self._load()

    def change(self, edit: Callable[[dict[str, Any]], object]) -> None:
        with self._locked():
            data = self._load()
            edit(data)
            temporary = self.path.with_name(self.path.name + ".tmp")
            temporary.write_text(json.dumps(data), encoding="utf-8")
            os.replace(temporary, self.path)


class _Section(typing.MutableMapping[str, str]):
    """One plugin's configuration or metadata in a shared database, read and written through on every access."""

    def __init__(self, database: _SharedDatabase, kind: str, name: str) -> None:
        self._database, self._kind, self._name = database, kind, name

    def _values(self) -> dict[str, str]:
        return self._database.read().get(self._kind, {}).get(self._name, {})

    def __getitem__(self, key: str) -> str:
        return self._values()[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._database.change(
            lambda data: data.setdefault(self._kind, {}).setdefault(self._name, {}).__setitem__(key, value)
        )

    def __delitem__(self, key: str) -> None:
        if key not in self._values():
            raise KeyError(key)
        self._database.change(lambda data: data.setdefault(self._kind, {}).setdefault(self._name, {}).pop(key, None))

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._values()))

    def __len__(self) -> int:
        return len(self._values())


class FakeDeadline:
    """Deadline's side: repository folder, event plugin configurations and metadata, log, version.

    ``repository``: the folder to lay out as a Deadline repository (created if needed).
    ``missing_metadata``: what ``GetMetaDataEntry`` returns for a missing key, None or "".
    ``echo``: also print each log line, prefixed with the plugin's name.
    ``database``: a file holding the configurations, metadata and log, shared with FakeDeadlines of other OS
    processes (see host_process.py: one process per simulated RCS machine); None: kept in this object.

    As a context manager, installs the ``Deadline`` modules in ``sys.modules`` (see
    :meth:`install_fake_modules`); a :class:`PluginHost` does that by itself while plugin code runs.
    """

    def __init__(
        self,
        repository: str | os.PathLike[str],
        *,
        missing_metadata: str | None = None,
        echo: bool = True,
        database: str | os.PathLike[str] | None = None,
    ) -> None:
        if missing_metadata not in (None, ""):
            raise ValueError("missing_metadata must be None or ''")
        self.repository = Path(os.path.abspath(repository))
        (self.repository / "custom" / "events").mkdir(parents=True, exist_ok=True)
        (self.repository / "events").mkdir(parents=True, exist_ok=True)
        self.missing_metadata = missing_metadata
        self.echo = echo
        self._records: list[LogRecord] = []
        self._database = _SharedDatabase(Path(database)) if database is not None else None
        self._configs: dict[str, dict[str, str]] = {}
        self._metadata: dict[str, dict[str, str]] = {}
        self._server_data: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self._displaced: dict[str, types.ModuleType | None] | None = None
        self.modules = self._build_modules()

    def _build_modules(self) -> dict[str, types.ModuleType]:
        deadline = types.ModuleType("Deadline", "Stand-in for Deadline's scripting API (tests/plugin).")
        deadline.__spec__ = importlib.machinery.ModuleSpec("Deadline", None, is_package=True)
        deadline.__path__ = []
        events = types.ModuleType("Deadline.Events")
        events.__spec__ = importlib.machinery.ModuleSpec("Deadline.Events", None)
        events.DeadlineEventListener = DeadlineEventListener  # type: ignore[attr-defined]
        scripting = types.ModuleType("Deadline.Scripting")
        scripting.__spec__ = importlib.machinery.ModuleSpec("Deadline.Scripting", None)
        scripting.RepositoryUtils = _RepositoryUtils(self)  # type: ignore[attr-defined]
        deadline.Events = events  # type: ignore[attr-defined]
        deadline.Scripting = scripting  # type: ignore[attr-defined]
        return {module.__name__: module for module in (deadline, events, scripting)}

    # Modules.

    def install_fake_modules(self) -> FakeDeadline:
        """Put ``Deadline``, ``Deadline.Events`` and ``Deadline.Scripting`` in ``sys.modules`` until
        :meth:`remove_fake_modules`, which restores what was there. Returns self, a context manager."""
        if self._displaced is None:
            self._displaced = {name: sys.modules.get(name) for name in self.modules}
            sys.modules.update(self.modules)
        return self

    def remove_fake_modules(self) -> None:
        if self._displaced is None:
            return
        for name, module in self._displaced.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        self._displaced = None

    def __enter__(self) -> FakeDeadline:
        return self.install_fake_modules()

    def __exit__(self, *exc_info: object) -> None:
        self.remove_fake_modules()

    # Repository.

    def plugin_directory(self, name: str) -> Path | None:
        """Where Deadline finds event plugin ``name``: custom/events/<name>, else events/<name>, else None."""
        for folder in (self.repository / "custom" / "events" / name, self.repository / "events" / name):
            if folder.is_dir():
                return folder
        return None

    def write_event_plugin(self, name: str, source: str, param: str | None = None, *, builtin: bool = False) -> Path:
        """Write ``<name>.py`` (and ``<name>.param``) into custom/events/<name> (events/<name> with
        ``builtin``, where Deadline's own plugins live). Returns the folder."""
        folder = self.repository / ("events" if builtin else "custom/events") / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.py").write_text(source, encoding="utf-8")
        if param is not None:
            (folder / f"{name}.param").write_text(param, encoding="utf-8")
        return folder

    def write_spot_param(self, text: str) -> Path:
        """Write ``<repository>/events/Spot/Spot.param``, the parameters of Deadline's Spot Event Plugin."""
        folder = self.repository / "events" / "Spot"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "Spot.param"
        path.write_text(text, encoding="utf-8")
        return path

    # Configuration.

    def param_defaults(self, name: str) -> dict[str, str]:
        """The ``Default=`` values of the installed ``<name>.param``; {} without one."""
        folder = self.plugin_directory(name)
        if folder is None or not (folder / f"{name}.param").is_file():
            return {}
        return parse_param_defaults(folder / f"{name}.param")

    def config(self, name: str) -> MutableMapping[str, str]:
        """The settings stored for event plugin ``name`` (as set in Monitor): a live, mutable mapping."""
        if self._database is not None:
            return _Section(self._database, "config", name)
        with self._lock:
            return self._configs.setdefault(name, {})

    def set_config(self, name: str, **values: str | bool | int | float) -> None:
        """Store settings; bools become "True"/"False" and numbers their str(), as Monitor stores them."""
        converted = {}
        for key, value in values.items():
            if isinstance(value, bool):
                converted[key] = "True" if value else "False"
            elif isinstance(value, (str, int, float)):
                converted[key] = str(value)
            else:
                raise TypeError(f"setting {key!r}: {type(value).__name__} is not a str, bool or number")
        self.config(name).update(converted)

    def enable(self, name: str, state: str = GLOBAL_ENABLED) -> None:
        """Set the plugin's State setting (Deadline runs an event plugin only when it is "Global Enabled")."""
        self.config(name)["State"] = state

    def effective_config(self, name: str) -> dict[str, str]:
        """What the plugin reads: the ``.param`` defaults overridden by the stored settings."""
        values = self.param_defaults(name)
        values.update(self.config(name))
        return values

    # Metadata.

    def metadata(self, name: str) -> MutableMapping[str, str]:
        """The metadata of event plugin ``name``: a live, mutable mapping."""
        if self._database is not None:
            return _Section(self._database, "metadata", name)
        with self._lock:
            return self._metadata.setdefault(name, {})

    # Server data (Deadline 10.1.12+: the repository's server data, by ID, each a dictionary of strings).

    def server_data(self, data_id: str) -> MutableMapping[str, str]:
        """The server data with ID ``data_id`` (``event.plugin.spot``, say): a live, mutable mapping."""
        if self._database is not None:
            return _Section(self._database, "server_data", data_id)
        with self._lock:
            return self._server_data.setdefault(data_id, {})

    # Log.

    @property
    def records(self) -> list[LogRecord]:
        """Every log line of every machine, in order."""
        if self._database is not None:
            return [LogRecord(level, message) for level, message in self._database.read()["log"]]
        with self._lock:
            return list(self._records)

    def _record(self, level: str, message: str, plugin: str | None) -> None:
        if self._database is not None:
            self._database.change(lambda data: data["log"].append([level, message]))
        else:
            with self._lock:
                self._records.append(LogRecord(level, message))
        if self.echo:
            tag = "" if level == "INFO" else f"{level}: "
            print(f"Event Plugin - {plugin or '?'}: {tag}{message}", flush=True)

    def log_lines(self) -> list[str]:
        """The messages of every level, in order."""
        return [record.message for record in self.records]

    def warnings(self) -> list[str]:
        return [record.message for record in self.records if record.level == "WARNING"]

    def errors(self) -> list[str]:
        """Exceptions that escaped plugin code and contract violations found by a PluginHost."""
        return [record.message for record in self.records if record.level == "ERROR"]

    def clear_log(self) -> None:
        if self._database is not None:
            self._database.change(lambda data: data["log"].clear())
        with self._lock:
            self._records.clear()


@dataclass
class TriggerResult:
    """What one trigger did. ``skipped`` says why nothing ran (the plugin's State), else None."""

    plugin: str
    callback: str
    listener: DeadlineEventListener | None = None
    handlers_called: int = 0
    error: BaseException | None = None
    skipped: str | None = None


@dataclass
class _Plugin:
    name: str
    folder: Path
    module_name: str
    module: types.ModuleType | None = None


@dataclass
class _Outside:
    """The test process's state, set aside while a host runs."""

    path: list[str]
    meta_path: list[Any]
    path_hooks: list[Any]
    env: dict[str, str]
    modules: dict[str, Any]
    getpid: Callable[[], int]
    gethostname: Callable[[], str]
    node: Callable[[], str]
    dont_write_bytecode: bool


def _roots(*paths: str | os.PathLike[str]) -> tuple[str, ...]:
    roots: set[str] = set()
    for path in paths:
        for variant in (os.path.abspath(path), os.path.realpath(path)):
            roots.add(os.path.normcase(variant.rstrip(os.sep) or os.sep))
    return tuple(sorted(roots))


def _under(path: str, roots: tuple[str, ...]) -> bool:
    if not path or path.startswith("<"):
        return False
    path = os.path.normcase(path if os.path.isabs(path) else os.path.abspath(path))
    return any(path == root or path.startswith(root if root.endswith(os.sep) else root + os.sep) for root in roots)


def _module_paths(module: object) -> list[str]:
    """The file and package folders of a module, read without triggering lazy attributes."""
    try:
        namespace = vars(module)
    except Exception:
        return []
    paths = []
    file = namespace.get("__file__")
    if isinstance(file, str):
        paths.append(file)
    search = namespace.get("__path__")
    search = getattr(search, "_path", search)  # a namespace package's _NamespacePath: do not recalculate it
    if isinstance(search, list):
        paths.extend(entry for entry in search if isinstance(entry, str))
    return paths


def _is_editable_finder(finder: object) -> bool:
    module = getattr(finder, "__module__", None) or getattr(type(finder), "__module__", "")
    return isinstance(module, str) and module.startswith("__editable__")


def _exception_chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


#: The code compiled from repository files, marshalled, keyed by the file's bytes and optimization level (see the
#: module documentation): for every simulated process of the test process.
_COMPILED: dict[tuple[bytes, int], bytes] = {}


class _CompiledOnceLoader(importlib.machinery.SourceFileLoader):
    """A source file loader that compiles a given source text once per test process (see ``_COMPILED``)."""

    def source_to_code(self, data: Any, path: Any, *, _optimize: int = -1) -> Any:  # type: ignore[override]
        key = (bytes(data), _optimize)
        dumped = _COMPILED.get(key)
        if dumped is None:
            code = super().source_to_code(data, path, _optimize=_optimize)
            _COMPILED[key] = marshal.dumps(code)
            return code
        code = marshal.loads(dumped)
        _imp._fix_co_filename(code, path)  # importlib's own step for a .pyc: the code names the file imported
        return code


def _repository_path_hook(roots: tuple[str, ...]) -> Callable[[str], Any]:
    """A ``sys.path_hooks`` entry for the folders under ``roots``: Python's own finder for a folder, with the loader
    above for source files (the others as Python has them); any other folder is left to the next hook."""
    details = [
        (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
        (_CompiledOnceLoader, importlib.machinery.SOURCE_SUFFIXES),
        (importlib.machinery.SourcelessFileLoader, importlib.machinery.BYTECODE_SUFFIXES),
    ]
    file_finder = importlib.machinery.FileFinder.path_hook(*details)

    def hook(entry: str) -> Any:
        if not _under(entry, roots):
            raise ImportError("not a repository folder")
        return file_finder(entry)

    return hook


class _HiddenModuleFinder:
    """First on ``sys.meta_path`` while a host runs: the top-level modules named in ``hide_modules`` are
    only found on ``sys.path`` entries inside the repository (a copy shipped in the plugin's folder)."""

    def __init__(self, host: PluginHost) -> None:
        self._host = host

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> Any:
        if "." in fullname or fullname not in self._host.hide_modules:
            return None
        entries = [entry for entry in sys.path if _under(entry, self._host._repository_roots)]
        spec = importlib.machinery.PathFinder.find_spec(fullname, entries)
        if spec is None:
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (PluginHost hide_modules: only a copy inside the repository "
                "can be imported)",
                name=fullname,
            )
        return spec

    def invalidate_caches(self) -> None:
        pass


_RUNNING_HOST: PluginHost | None = None


class PluginHost:
    """One simulated RCS/Pulse process running event plugins of a :class:`FakeDeadline`.

    ``isolate``: hide the test process's modules and ``sys.path`` entries that a Deadline process would not
    have (see the module documentation). ``hide_modules``: top-level module names a Deadline process lacks
    although this Python has them (a package installed for the tests only, say): importable only from inside
    the repository. Do not list one that another thread of the test process (an in-process AWS stand-in
    server) uses while plugin code runs.
    ``hostname``: the name ``socket.gethostname()`` and ``platform.node()`` answer while plugin code runs
    (None: the real one). ``honor_state``: fire events only when the plugin's State setting (or its
    ``.param`` default) is "Global Enabled", as Deadline does; a plugin without a State setting always runs.
    ``register_as``: the default ``sys.modules`` name of loaded plugins (None: the plugin's name).

    Use as a context manager, or call :meth:`close`: ``sys.path`` is restored as it was when the host was
    created, and no module imported from the repository is left in ``sys.modules``.
    """

    def __init__(
        self,
        fake: FakeDeadline,
        *,
        isolate: bool = True,
        hide_modules: Iterable[str] = (),
        hostname: str | None = None,
        honor_state: bool = True,
        register_as: str | None = None,
    ) -> None:
        self.fake = fake
        self.isolate = isolate
        self.hide_modules = tuple(hide_modules)
        self.hostname = hostname
        self.honor_state = honor_state
        self.register_as = register_as
        self.generation = 0
        self.simulated_pid = next(_SIMULATED_PIDS)
        self.started_at = time.time()
        self._plugins: dict[str, _Plugin] = {}
        self._closed = False
        self._saved_modules = dict(sys.modules)
        self._saved_path = list(sys.path)
        self._repository_roots = _roots(fake.repository)
        self._installation_roots = _roots(*{sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix})
        self._initial_path = [entry for entry in sys.path if not isolate or self._path_allowed(entry)]
        self._path = list(self._initial_path)
        self._stash: dict[str, Any] = {}
        self._env_delta: dict[str, str | None] = {}
        self._outside: _Outside | None = None
        self._finder = _HiddenModuleFinder(self)
        self._path_hook = _repository_path_hook(self._repository_roots)
        self._kinds: dict[int, tuple[object, str]] = {}

    # Context management.

    def __enter__(self) -> PluginHost:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """End the simulated process; restore ``sys.path`` and drop modules imported from the repository."""
        if self._closed:
            return
        if _RUNNING_HOST is self:
            raise RuntimeError("PluginHost.close() called while its plugin code runs")
        self._closed = True
        self._stash = {}
        for name, module in list(sys.modules.items()):
            if module is not self._saved_modules.get(name) and self._kind(module) == "repository":
                if name in self._saved_modules:
                    sys.modules[name] = self._saved_modules[name]
                else:
                    del sys.modules[name]
        sys.path[:] = self._saved_path
        self._drop_importer_cache()
        importlib.invalidate_caches()

    def _require_open(self) -> None:
        if self._closed:
            raise RuntimeError("this PluginHost is closed")

    # Process state.

    def _fake_getpid(self) -> int:
        return self.simulated_pid

    def _fake_hostname(self) -> str:
        return self.hostname or ""

    def _path_allowed(self, entry: str) -> bool:
        return _under(entry, self._installation_roots) or _under(entry, self._repository_roots)

    def _kind(self, module: object) -> str:
        """A module's origin: "repository", "foreign" (outside the Python installation) or "shared"."""
        cached = self._kinds.get(id(module))
        if cached is not None and cached[0] is module:
            return cached[1]
        paths = _module_paths(module)
        if any(_under(path, self._repository_roots) for path in paths):
            kind = "repository"
        elif paths and not any(_under(path, self._installation_roots) for path in paths):
            kind = "foreign"
        else:
            kind = "shared"
        self._kinds[id(module)] = (module, kind)
        return kind

    def _module_names(self) -> list[str]:
        return [plugin.module_name for plugin in self._plugins.values()]

    def _is_process_module(self, name: str, module: object) -> bool:
        """Whether ``sys.modules[name]`` belongs to the simulated process rather than to the test process."""
        if name == "__main__":
            return False
        top = name.partition(".")[0]
        if top in ("Deadline", "DeadlineUI") or top in self.hide_modules:
            return True
        if any(name == own or name.startswith(own + ".") for own in self._module_names()):
            return True
        kind = self._kind(module)
        return kind == "repository" or (self.isolate and kind == "foreign")

    def _enter(self) -> _Outside:
        outside = _Outside(
            path=list(sys.path),
            meta_path=list(sys.meta_path),
            path_hooks=list(sys.path_hooks),
            env=dict(os.environ),
            modules={},
            getpid=os.getpid,
            gethostname=socket.gethostname,
            node=platform.node,
            dont_write_bytecode=sys.dont_write_bytecode,
        )
        for name, module in list(sys.modules.items()):
            if self._is_process_module(name, module):
                outside.modules[name] = sys.modules.pop(name)
        sys.modules.update(self._stash)
        sys.modules.update(self.fake.modules)
        self._stash = {}
        sys.path[:] = self._path
        if self.isolate:
            sys.meta_path[:] = [finder for finder in sys.meta_path if not _is_editable_finder(finder)]
        if self.hide_modules:
            sys.meta_path.insert(0, self._finder)
        sys.path_hooks.insert(0, self._path_hook)
        for key, value in self._env_delta.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        os.getpid = self._fake_getpid
        if self.hostname is not None:
            socket.gethostname = self._fake_hostname
            platform.node = self._fake_hostname
        sys.dont_write_bytecode = True
        importlib.invalidate_caches()
        return outside

    def _leave(self, outside: _Outside) -> None:
        sys.dont_write_bytecode = outside.dont_write_bytecode
        os.getpid = outside.getpid
        socket.gethostname = outside.gethostname
        platform.node = outside.node
        now = dict(os.environ)
        self._env_delta = {key: value for key, value in now.items() if outside.env.get(key) != value}
        self._env_delta.update({key: None for key in outside.env if key not in now})
        for key in now:
            if key not in outside.env:
                del os.environ[key]
        for key, value in outside.env.items():
            if now.get(key) != value:
                os.environ[key] = value
        sys.meta_path[:] = outside.meta_path
        sys.path_hooks[:] = outside.path_hooks
        self._path = list(sys.path)
        sys.path[:] = outside.path
        for name, module in list(sys.modules.items()):
            if self._is_process_module(name, module):
                self._stash[name] = sys.modules.pop(name)
        sys.modules.update(outside.modules)

    @contextlib.contextmanager
    def process_patches(self, plugin: str | None = None) -> Iterator[PluginHost]:
        """Run the body as this simulated process (see the module documentation): its modules, ``sys.path``,
        environment, pid and host name. With ``plugin``, DeadlineEventListeners created in the body belong to
        that event plugin. The host uses it around all plugin code; tests can use it to inspect the process
        (``sys.modules``, ``os.getpid()``) or to call plugin code directly. Nesting another host's is refused.
        """
        global _RUNNING_HOST
        self._require_open()
        if _RUNNING_HOST is self:
            with _plugin_context(self.fake, plugin):
                yield self
            return
        if _RUNNING_HOST is not None:
            raise RuntimeError("another PluginHost is running: simulated processes do not nest")
        self._outside = self._enter()
        _RUNNING_HOST = self
        try:
            with _plugin_context(self.fake, plugin):
                yield self
        finally:
            _RUNNING_HOST = None
            outside, self._outside = self._outside, None
            self._leave(outside)

    def restart(self) -> None:
        """A new RCS/Pulse process: plugins and what they imported from the repository, their ``sys.path``
        and environment changes are forgotten; a new simulated pid and start time. The FakeDeadline's
        configuration and metadata stay. Plugins load again (same ``sys.modules`` name) at their next trigger.
        """
        self._require_open()
        if _RUNNING_HOST is self:
            raise RuntimeError("PluginHost.restart() called while its plugin code runs")
        self._stash = {}
        self._path = list(self._initial_path)
        self._env_delta = {}
        for plugin in self._plugins.values():
            plugin.module = None
        self.generation += 1
        self.simulated_pid = next(_SIMULATED_PIDS)
        self.started_at = time.time()
        self._drop_importer_cache()
        importlib.invalidate_caches()

    def _drop_importer_cache(self) -> None:
        for entry in [key for key in sys.path_importer_cache if isinstance(key, str)]:
            if _under(entry, self._repository_roots):
                del sys.path_importer_cache[entry]

    # Plugins.

    def _plugin(self, name: str | None, register_as: str | None = None) -> _Plugin:
        if name is None:
            if len(self._plugins) != 1:
                raise ValueError(f"name the event plugin: this host has {sorted(self._plugins) or 'none'}")
            return next(iter(self._plugins.values()))
        _require_str("plugin name", name)
        known = self._plugins.get(name)
        if known is not None:
            if register_as is not None and register_as != known.module_name:
                raise ValueError(f"event plugin {name!r} is registered as {known.module_name!r} in this host")
            return known
        folder = self.fake.plugin_directory(name)
        if folder is None or not (folder / f"{name}.py").is_file():
            raise FileNotFoundError(f"event plugin {name!r}: no {name}/{name}.py under {self.fake.repository}")
        plugin = _Plugin(name, folder, register_as or self.register_as or name)
        self._plugins[name] = plugin
        return plugin

    def module(self, plugin: str | None = None) -> types.ModuleType | None:
        """The plugin's module in this process; None until loaded (or after a restart)."""
        return self._plugin(plugin).module

    def load(self, plugin: str, register_as: str | None = None) -> types.ModuleType:
        """Load ``<repository>/custom/events/<plugin>/<plugin>.py`` (else ``events/<plugin>/``) as Deadline
        does, registered in ``sys.modules`` as ``register_as`` (default: the host's, else the plugin's name).
        Already loaded in this process: returns the module. Errors are logged and raised."""
        record = self._plugin(plugin, register_as)
        with self.process_patches(record.name):
            if record.module is None:
                self._execute(record)
        assert record.module is not None
        return record.module

    def reload(self, plugin: str | None = None) -> types.ModuleType:
        """Execute the plugin's file again in this process (a new module object under the same name), the way
        Deadline picks up a changed plugin file; modules it imported stay loaded. Errors are logged and raised."""
        record = self._plugin(plugin)
        with self.process_patches(record.name):
            self._execute(record)
        assert record.module is not None
        return record.module

    def _execute(self, record: _Plugin) -> None:
        """Load the plugin's module (inside process_patches)."""
        folder = str(record.folder)
        if folder not in sys.path:
            sys.path.insert(0, folder)  # as Deadline does: the plugin's folder first
        outside = self._outside
        for name in list(sys.modules):  # a name registered while this host was already running
            if outside is not None and (name == record.module_name or name.startswith(record.module_name + ".")):
                if self._kind(sys.modules[name]) != "repository":
                    outside.modules.setdefault(name, sys.modules.pop(name))
        importlib.invalidate_caches()
        source = record.folder / f"{record.name}.py"
        loader = _CompiledOnceLoader(record.module_name, str(source))
        spec = importlib.util.spec_from_file_location(record.module_name, source, loader=loader)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[record.module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as error:
            if sys.modules.get(record.module_name) is module:
                del sys.modules[record.module_name]
            self._log_error(record, "<module>", error)
            raise
        record.module = module
        for function in ("GetDeadlineEventListener", "CleanupDeadlineEventListener"):
            if not callable(getattr(module, function, None)):
                self._contract_violation(record, f"{source} defines no {function}() function")

    def _log_error(self, record: _Plugin, stage: str, error: BaseException) -> None:
        details = "".join(traceback.format_exception(type(error), error, error.__traceback__)).rstrip()
        self.fake._record(
            "ERROR",
            f"An error occurred in the \"{stage}\" function in events plugin '{record.name}': "
            f"{type(error).__name__}: {error}\n{details}",
            record.name,
        )

    def _contract_violation(self, record: _Plugin, message: str) -> None:
        text = f"event plugin {record.name!r}: {message}"
        self.fake._record("ERROR", text, record.name)
        raise ContractViolation(text)

    def _call(self, record: _Plugin, stage: str, function: Callable[..., Any], *args: Any) -> Any:
        try:
            return function(*args)
        except Exception as error:
            self._log_error(record, stage, error)
            raise

    def house_cleaning(self, plugin: str | None = None, *, raise_errors: bool = True) -> TriggerResult:
        """One house cleaning: see :meth:`trigger`."""
        return self.trigger(HOUSE_CLEANING, plugin=plugin, raise_errors=raise_errors)

    def trigger(self, callback: str, *args: Any, plugin: str | None = None, raise_errors: bool = True) -> TriggerResult:
        """One event for ``plugin`` (None: the only plugin of this host), as Deadline fires it: load the
        plugin if this process has not yet, ``GetDeadlineEventListener()``, each handler subscribed to
        ``callback`` (e.g. ``"OnJobSubmittedCallback"``) called with ``args``, then
        ``CleanupDeadlineEventListener(listener)``, which must leave no event subscribed.

        An exception escaping plugin code is logged as an error; the handlers after it are not called, the
        cleanup still is; then it is raised, or only kept in the result with ``raise_errors=False``. A broken
        contract (no ``super().__init__()``, a callback left subscribed...) raises AssertionError always.
        """
        if not _CALLBACK_NAME.match(callback):
            raise ValueError(f"{callback!r} is not an event name (On...Callback)")
        record = self._plugin(plugin)
        result = TriggerResult(record.name, callback)
        state = self.fake.effective_config(record.name).get("State")
        if self.honor_state and state is not None and state != GLOBAL_ENABLED:
            result.skipped = f"its State is {state!r}, not {GLOBAL_ENABLED!r}"
            if self.fake.echo:
                print(f"[stand-in] event plugin {record.name!r} not triggered: {result.skipped}", flush=True)
            return result
        with self.process_patches(record.name):
            try:
                if record.module is None:
                    self._execute(record)
                assert record.module is not None
                listener = self._call(record, "GetDeadlineEventListener", record.module.GetDeadlineEventListener)
            except ContractViolation:
                raise
            except Exception as error:
                if any(isinstance(link, ListenerNotInitializedError) for link in _exception_chain(error)):
                    self._contract_violation(record, str(error))
                if not raise_errors:
                    result.error = error
                    return result
                raise
            self._check_listener(record, listener)
            result.listener = listener
            events = listener._standin_state.callbacks
            handlers = list(events[callback].handlers) if callback in events else []
            for handler in handlers:
                try:
                    self._call(record, getattr(handler, "__name__", repr(handler)), handler, *args)
                except Exception as error:
                    result.error = error
                    break
                result.handlers_called += 1
            try:
                self._call(record, "CleanupDeadlineEventListener", record.module.CleanupDeadlineEventListener, listener)
            except Exception as error:
                result.error = result.error or error
            else:
                left = sorted(name for name, event in events.items() if event.handlers)
                if left:
                    self._contract_violation(
                        record,
                        f"{', '.join(left)} still subscribed after CleanupDeadlineEventListener(); "
                        f"Cleanup() must unsubscribe each event: " + "; ".join(f"del self.{name}" for name in left),
                    )
        if result.error is not None and raise_errors:
            raise result.error
        return result

    def _check_listener(self, record: _Plugin, listener: object) -> None:
        if not isinstance(listener, DeadlineEventListener):
            self._contract_violation(
                record,
                f"GetDeadlineEventListener() returned {type(listener).__name__}, not a "
                "Deadline.Events.DeadlineEventListener",
            )
        if "_standin_state" not in vars(listener):
            self._contract_violation(
                record,
                f"{type(listener).__name__}.__init__ did not call super().__init__(): an event listener must call "
                "it first (required since Deadline 10.3: before it, the listener's methods and events do not work)",
            )



# -- Monitor and Deadline Command running scripts ----------------------------------------------------------------


class _Signal:
    """A control's ``ValueModified``: ``connect(handler)``; the stand-in ``emit``s it when the control is used."""

    def __init__(self) -> None:
        self.handlers: list[Callable[..., object]] = []

    def connect(self, handler: Callable[..., object]) -> None:
        if not callable(handler):
            raise TypeError(f"ValueModified.connect({handler!r}): a handler must be callable")
        self.handlers.append(handler)

    def emit(self, *args: object) -> None:
        for handler in list(self.handlers):
            handler(*args)


@dataclass
class _Control:
    name: str
    control_type: str
    value: Any
    ValueModified: _Signal = field(default_factory=_Signal)


class DeadlineScriptDialog:
    """``DeadlineUI.Controls.Scripting.DeadlineScriptDialog``, the dialog of Monitor scripts, sized to what the
    project's script uses, with the names and arguments of Thinkbox's own scripts (Deadline's scripts/General/
    ScriptUIExample.py; ThinkboxSoftware/Deadline Custom/scripts/Jobs/Timeouts.py): ``SetTitle``, ``SetSize``,
    ``AddGrid``/``EndGrid``, ``AddControlToGrid(name, type, value, row, column, tooltip, expand, rowSpan, colSpan)``
    returning the control (``ValueModified.connect``), ``AddHorizontalSpacerToGrid``, ``GetValue``/``SetValue``,
    ``ShowMessageBox(message, title)``, ``ShowDialog(modal)``, ``CloseDialog``. Nothing is drawn: a test reads the
    controls' values and presses buttons (:meth:`press`)."""

    shown: list[DeadlineScriptDialog] = []  # every dialog shown, in order (MonitorHost clears it per script)

    def __init__(self) -> None:
        self.title = ""
        self.size: tuple[int, int] | None = None
        self.controls: dict[str, _Control] = {}
        self.messages: list[tuple[str, str]] = []
        self.open = False
        self._grids = 0

    def SetTitle(self, title: str) -> None:
        self.title = _require_str("title", title)

    def SetSize(self, width: int, height: int) -> None:
        self.size = (int(width), int(height))

    def AddGrid(self) -> None:
        self._grids += 1

    def EndGrid(self) -> None:
        if self._grids == 0:
            raise RuntimeError("EndGrid() without AddGrid()")
        self._grids -= 1

    def _add(self, name: str, control_type: str, value: Any) -> _Control:
        if self._grids == 0:
            raise RuntimeError(f"control {name!r} added outside a grid: call AddGrid() first")
        if name in self.controls:
            raise ValueError(f"a control named {name!r} exists already")
        control = _Control(_require_str("name", name), _require_str("control type", control_type), value)
        self.controls[name] = control
        return control

    def AddControlToGrid(
        self,
        name: str,
        control_type: str,
        value: Any,
        row: int,
        column: int,
        tooltip: str = "",
        expand: bool = True,
        rowSpan: int = 1,
        colSpan: int = 1,
    ) -> _Control:
        return self._add(name, control_type, value)

    def AddHorizontalSpacerToGrid(self, name: str, row: int, column: int) -> None:
        self._add(name, "HorizontalSpacer", None)

    def GetValue(self, name: str) -> Any:
        return self.controls[name].value

    def SetValue(self, name: str, value: Any) -> None:
        self.controls[name].value = value

    def ShowMessageBox(self, message: str, title: str) -> None:
        self.messages.append((_require_str("message", message), _require_str("title", title)))

    def ShowDialog(self, modal: bool) -> None:
        if self._grids:
            raise RuntimeError("ShowDialog() with a grid left open: call EndGrid()")
        self.open = True
        DeadlineScriptDialog.shown.append(self)

    def CloseDialog(self) -> None:
        self.open = False

    # For tests.

    def press(self, name: str) -> None:
        """Press a button, as a user would: its ValueModified handlers run (in the script's process)."""
        control = self.controls[name]
        if control.control_type != "ButtonControl":
            raise ValueError(f"{name!r} is a {control.control_type}, not a button")
        control.ValueModified.emit(control)


def _ui_modules() -> dict[str, types.ModuleType]:
    names = ["DeadlineUI", "DeadlineUI.Controls", "DeadlineUI.Controls.Scripting"]
    modules = {}
    for name in names:
        module = types.ModuleType(name, "Stand-in for Deadline Monitor's UI modules (tests/plugin).")
        module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
        module.__path__ = []  # type: ignore[attr-defined]
        modules[name] = module
    leaf = types.ModuleType("DeadlineUI.Controls.Scripting.DeadlineScriptDialog")
    leaf.__spec__ = importlib.machinery.ModuleSpec(leaf.__name__, None)
    leaf.DeadlineScriptDialog = DeadlineScriptDialog  # type: ignore[attr-defined]
    modules[leaf.__name__] = leaf
    for name in names[1:] + [leaf.__name__]:
        parent, _, child = name.rpartition(".")
        setattr(modules[parent], child, modules[name])
    return modules


class MonitorHost(PluginHost):
    """One Monitor (or Deadline Command) process on a workstation, running scripts of the repository the way Deadline
    does: the script file is executed as a module and its ``__main__`` called, with ``Deadline.Scripting`` and, in
    Monitor, ``DeadlineUI`` importable. Monitor scripts live in ``custom/scripts/<menu>/`` (ThinkboxSoftware/Deadline
    Custom/scripts/General/QueryFarmLimits.py: ``def __main__():``); a script run by ``deadlinecommand
    -ExecuteScriptNoGui <script> ARGS`` gets ARGS as ``__main__(*args)`` (aws/aws-rfdk packages/aws-rfdk/lib/deadline/
    scripts/python/configure_identity_registration_settings.py). ``calls`` lists the RepositoryUtils functions the
    scripts called, by name."""

    def __init__(self, fake: FakeDeadline, **options: Any) -> None:
        super().__init__(fake, **options)
        self.calls: list[str] = []

    def _recording_repository_utils(self) -> Any:
        real = self.fake.modules["Deadline.Scripting"].RepositoryUtils
        calls = self.calls

        class Recorded:
            def __getattr__(self, name: str) -> Any:
                calls.append(name)
                return getattr(real, name)

        return Recorded()

    def _run(self, path: Path, ui: bool, args: tuple[str, ...]) -> tuple[types.ModuleType, Any]:
        scripting = types.ModuleType("Deadline.Scripting")
        scripting.__spec__ = importlib.machinery.ModuleSpec("Deadline.Scripting", None)
        scripting.RepositoryUtils = self._recording_repository_utils()  # type: ignore[attr-defined]
        deadline = self.fake.modules["Deadline"]
        with self.process_patches():
            sys.modules["Deadline.Scripting"] = scripting
            deadline.Scripting = scripting  # type: ignore[attr-defined]
            try:
                for loaded in [name for name in sys.modules if name.partition(".")[0] == "DeadlineUI"]:
                    del sys.modules[loaded]  # a previous Monitor script's: each run gets what its program has
                if ui:
                    sys.modules.update(_ui_modules())
                DeadlineScriptDialog.shown = []
                name = f"DeadlineScript_{path.stem}"
                spec = importlib.util.spec_from_file_location(name, path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
                entry = getattr(module, "__main__", None)
                if not callable(entry):
                    raise ContractViolation(f"{path} defines no __main__() function")
                returned = entry(*args)
            finally:
                deadline.Scripting = self.fake.modules["Deadline.Scripting"]  # type: ignore[attr-defined]
        return module, returned

    def run_monitor_script(self, path: str | os.PathLike[str]) -> DeadlineScriptDialog | None:
        """Monitor > Scripts: run the script; returns the dialog it showed (None if it showed none)."""
        self._run(Path(path), True, ())
        return DeadlineScriptDialog.shown[-1] if DeadlineScriptDialog.shown else None

    def press(self, dialog: DeadlineScriptDialog, button: str) -> None:
        """Press a button of a dialog a script of this process showed."""
        with self.process_patches():
            dialog.press(button)

    def execute_script_no_gui(self, path: str | os.PathLike[str], *args: str) -> Any:
        """``deadlinecommand -ExecuteScriptNoGui <path> ARGS``: returns what ``__main__(*ARGS)`` returned."""
        return self._run(Path(path), False, tuple(_require_str("argument", a) for a in args))[1]
