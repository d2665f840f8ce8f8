"""Tests of the Deadline stand-in (deadline_standin.py), driven by a tiny sample event plugin written to tmp_path."""

from __future__ import annotations

import dataclasses
import importlib
import os
import socket
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from deadline_standin import (
    GLOBAL_ENABLED,
    ContractViolation,
    DeadlineEventListener,
    DeadlineScriptDialog,
    FakeDeadline,
    ListenerNotInitializedError,
    MonitorHost,
    PluginHost,
    parse_param_defaults,
)

SAMPLE_PARAM = """\
[State]
Type=Enum
Items=Global Enabled;Opt-In;Disabled
Label=State
Default=Global Enabled
Description=How this event plug-in should respond to events: 100% of them; or none.

[Greeting]
Type=string
Default=hello

[Verbose]
Type=boolean
Default=true

[Count]
Type=integer
Default=3

[Ratio]
Type=float
Default=0.5

[NoDefault]
Type=string
Label=No default
"""

TEMPLATE = """\
import os
import sys

from Deadline.Events import DeadlineEventListener
from Deadline.Scripting import RepositoryUtils

LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib")
if LIB not in sys.path:
    sys.path.insert(0, LIB)
{header}


def GetDeadlineEventListener():
    return SampleListener()


def CleanupDeadlineEventListener(eventListener):
    eventListener.Cleanup()


class SampleListener(DeadlineEventListener):
    def __init__(self):
{init}

    def Cleanup(self):
{cleanup}

    def OnHouseCleaning(self):
{house_cleaning}

    def OnJobSubmitted(self, job):
        self.LogInfo("submitted " + job)
"""

SUBSCRIBE = "super().__init__()\nself.OnHouseCleaningCallback += self.OnHouseCleaning"
UNSUBSCRIBE = "del self.OnHouseCleaningCallback"


def sample_source(house_cleaning: str = "pass", *, header: str = "", init: str = SUBSCRIBE, cleanup: str = UNSUBSCRIBE):
    def body(code: str) -> str:
        return textwrap.indent(textwrap.dedent(code).strip("\n"), " " * 8)

    return TEMPLATE.format(header=header, init=body(init), cleanup=body(cleanup), house_cleaning=body(house_cleaning))


def write_sample(fake: FakeDeadline, house_cleaning: str = "pass", *, param: str = SAMPLE_PARAM, **parts: str) -> Path:
    return fake.write_event_plugin("Sample", sample_source(house_cleaning, **parts), param)


def write_lib(fake: FakeDeadline, relative: str, text: str) -> Path:
    path = fake.repository / "custom" / "events" / "Sample" / "lib" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def under_repository(fake: FakeDeadline) -> list[str]:
    root = str(fake.repository)
    return [name for name, module in list(sys.modules.items()) if str(getattr(module, "__file__", "")).startswith(root)]


@pytest.fixture
def fake(tmp_path: Path) -> FakeDeadline:
    return FakeDeadline(tmp_path / "repository", echo=False)


@pytest.fixture
def host(fake: FakeDeadline) -> Iterator[PluginHost]:
    with PluginHost(fake) as running:
        yield running


def test_param_defaults_are_read_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "Some.param"
    path.write_text(
        "\ufeff[State]\nType=Enum\nDefault=Global Enabled\n\n"
        "[Percent]\nDefault=100% ; not a comment: kept\n\n"
        "[Case]\ndefault=lower\nDefault=Upper\n\n"
        "[Label]\nLabel=no default here\n\n"
        "[Percent]\nDefault=second wins\n",
        encoding="utf-8",
    )
    assert parse_param_defaults(path) == {"State": "Global Enabled", "Percent": "second wins", "Case": "Upper"}


def test_a_param_file_rewritten_is_read_anew(tmp_path: Path) -> None:
    """The defaults are what the file holds at each read (an upgrade rewrites it), same size and all; the result is
    the caller's own, not one shared with the next read."""
    path = tmp_path / "Some.param"
    path.write_text("[State]\nDefault=Disabled\n", encoding="utf-8")
    first = parse_param_defaults(path)
    first["State"] = "changed by the caller"
    assert parse_param_defaults(path) == {"State": "Disabled"}
    path.write_text("[State]\nDefault=Enabled!\n", encoding="utf-8")
    assert parse_param_defaults(path) == {"State": "Enabled!"}


def test_config_reads_param_defaults_then_what_the_admin_set(fake: FakeDeadline, host: PluginHost) -> None:
    write_sample(
        fake,
        """
        self.LogInfo(repr((
            self.GetConfigEntryWithDefault("Greeting", ""),
            self.GetConfigEntryWithDefault("Missing", "fallback"),
            self.GetConfigEntryWithDefault("NoDefault", None),
            self.GetConfigEntryWithDefault("Verbose", ""),
            self.GetConfigEntryWithDefault("Count", ""),
        )))
        """,
    )
    host.house_cleaning("Sample")
    fake.set_config("Sample", Greeting="bonjour", Verbose=False, Count=" -12 ")
    host.house_cleaning("Sample")
    assert fake.log_lines() == [
        repr(("hello", "fallback", None, "true", "3")),
        repr(("bonjour", "fallback", None, "False", " -12 ")),
    ]
    assert dict(fake.config("Sample")) == {"Greeting": "bonjour", "Verbose": "False", "Count": " -12 "}


@pytest.mark.parametrize(
    "call", ['self.GetConfigEntryWithDefault(1, "")', 'self.GetConfigEntryWithDefault("Greeting", 7)']
)
def test_config_takes_strings_only(fake: FakeDeadline, host: PluginHost, call: str) -> None:
    write_sample(fake, call)
    with pytest.raises(TypeError):
        host.house_cleaning("Sample")
    assert len(fake.errors()) == 1


def test_events_fire_only_when_the_plugin_is_global_enabled(fake: FakeDeadline, host: PluginHost) -> None:
    write_sample(fake, 'self.LogInfo("ran")', param=SAMPLE_PARAM.replace("Default=Global Enabled", "Default=Disabled"))
    result = host.house_cleaning("Sample")
    assert result.skipped and "Disabled" in result.skipped
    fake.enable("Sample", "Opt-In")
    assert host.house_cleaning("Sample").skipped
    assert fake.log_lines() == []
    fake.enable("Sample")
    assert fake.config("Sample")["State"] == GLOBAL_ENABLED
    result = host.house_cleaning("Sample")
    assert (result.skipped, result.handlers_called, fake.log_lines()) == (None, 1, ["ran"])


METADATA_BODY = """
self.AddMetaDataEntry("first_pid", str(os.getpid()))
count = int(self.GetMetaDataEntry("count") or "0") + 1
self.DeleteMetaDataEntry("count")
self.DeleteMetaDataEntry("never-set")
self.AddMetaDataEntry("count", str(count))
self.LogInfo(f"{count} {self.GetMetaDataEntry('missing')!r} {self.GetMetaDataEntry('first_pid') is not None}")
"""


def test_metadata_persists_across_triggers_and_restarts(fake: FakeDeadline, host: PluginHost) -> None:
    write_sample(fake, METADATA_BODY)
    first_pid = host.simulated_pid
    host.house_cleaning("Sample")
    host.house_cleaning("Sample")
    host.restart()
    host.house_cleaning("Sample")
    assert fake.log_lines() == [
        "1 None True",
        "2 None True",
        "3 None True",
    ]
    # AddMetaDataEntry did nothing once the key existed.
    assert fake.metadata("Sample") == {"first_pid": str(first_pid), "count": "3"}
    assert host.simulated_pid != first_pid


def test_metadata_options_for_unconfirmed_behaviour(tmp_path: Path) -> None:
    fake = FakeDeadline(tmp_path / "repository", missing_metadata="", echo=False)
    write_sample(fake, METADATA_BODY)
    with PluginHost(fake) as host:
        host.house_cleaning("Sample")
        assert fake.log_lines() == ["1 '' True"]
        with host.process_patches("Sample"):
            listener = DeadlineEventListener()
            with pytest.raises(TypeError, match="value must be a str"):
                listener.AddMetaDataEntry("key", 1)
            with pytest.raises(TypeError, match="message must be a str"):
                listener.LogInfo(42)


def test_callbacks_are_fired_then_must_be_unsubscribed(fake: FakeDeadline, host: PluginHost) -> None:
    write_sample(
        fake,
        'self.LogInfo("cleaning")',
        init=SUBSCRIBE + "\nself.OnJobSubmittedCallback += self.OnJobSubmitted",
        cleanup=UNSUBSCRIBE + "\nself.OnJobSubmittedCallback -= self.OnJobSubmitted",
    )
    cleaning = host.house_cleaning("Sample")
    submitted = host.trigger("OnJobSubmittedCallback", "job-42")
    finished = host.trigger("OnJobFinishedCallback", "job-42", plugin="Sample")
    assert (cleaning.handlers_called, submitted.handlers_called, finished.handlers_called) == (1, 1, 0)
    assert fake.log_lines() == ["cleaning", "submitted job-42"]
    assert len(submitted.listener.OnJobSubmittedCallback) == 0
    with host.process_patches("Sample"):
        listener = DeadlineEventListener()
        with pytest.raises(TypeError, match="cannot assign to the event"):
            listener.OnHouseCleaningCallback = print


@pytest.mark.parametrize(
    "init",
    [
        "self.OnHouseCleaningCallback += self.OnHouseCleaning",
        "self.ready = True",
        "try:\n    self.OnHouseCleaningCallback += self.OnHouseCleaning\nexcept Exception:\n    pass",
    ],
    ids=["subscribes", "does-nothing", "swallows-the-error"],
)
def test_a_listener_without_super_init_is_reported(fake: FakeDeadline, host: PluginHost, init: str) -> None:
    write_sample(fake, init=init)
    with pytest.raises(ContractViolation, match=r"super\(\).__init__\(\)"):
        host.house_cleaning("Sample", raise_errors=False)
    assert "super().__init__()" in fake.errors()[-1]


def test_a_listener_left_subscribed_is_reported(fake: FakeDeadline, host: PluginHost) -> None:
    write_sample(fake, cleanup="pass")
    with pytest.raises(ContractViolation, match="del self.OnHouseCleaningCallback"):
        host.house_cleaning("Sample")


def test_methods_need_the_base_init() -> None:
    class Forgetful(DeadlineEventListener):
        def __init__(self) -> None:
            pass

    with pytest.raises(ListenerNotInitializedError, match="LogInfo"):
        Forgetful().LogInfo("hello")
    with pytest.raises(RuntimeError, match="PluginHost"):
        DeadlineEventListener()


def test_exceptions_escaping_the_plugin_are_logged_then_raised(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    fake = FakeDeadline(tmp_path / "repository")
    write_sample(fake, 'self.LogWarning("about to fail")\nraise RuntimeError("boom")')
    with PluginHost(fake) as host:
        with pytest.raises(RuntimeError, match="boom"):
            host.house_cleaning("Sample")
        result = host.house_cleaning("Sample", raise_errors=False)
    assert isinstance(result.error, RuntimeError) and result.handlers_called == 0
    assert fake.warnings() == ["about to fail", "about to fail"]
    assert len(fake.errors()) == 2
    assert 'An error occurred in the "OnHouseCleaning" function' in fake.errors()[0]
    assert "RuntimeError: boom" in fake.errors()[0]
    assert "Event Plugin - Sample: WARNING: about to fail" in capsys.readouterr().out


def test_an_error_while_loading_is_logged_and_raised(fake: FakeDeadline, host: PluginHost) -> None:
    write_sample(fake, header="import not_installed_anywhere")
    with pytest.raises(ModuleNotFoundError):
        host.house_cleaning("Sample")
    assert '"<module>"' in fake.errors()[0]
    assert host.house_cleaning("Sample", raise_errors=False).error is not None
    assert host.module("Sample") is None


def test_repository_utils(fake: FakeDeadline, host: PluginHost) -> None:
    fake.write_spot_param("[State]\nDefault=Disabled\n\n[Region]\nDefault=us-west-2\n")
    write_sample(
        fake,
        """
        spot = RepositoryUtils.GetEventPluginConfig("Spot")
        for line in (
            RepositoryUtils.GetEventPluginDirectory("Spot"),
            RepositoryUtils.GetEventPluginDirectory("Sample"),
            repr(RepositoryUtils.GetEventPluginDirectory("Nothing")),
            repr((spot.GetConfigEntryWithDefault("Region", ""), spot.GetConfigEntryWithDefault("AccessID", ""))),
        ):
            self.LogInfo(line)
        """,
    )
    host.house_cleaning("Sample")
    repository = fake.repository
    assert fake.log_lines() == [
        str(repository / "events" / "Spot"),
        str(repository / "custom" / "events" / "Sample"),
        "''",
        repr(("us-west-2", "")),
    ]
    repository_utils = fake.modules["Deadline.Scripting"].RepositoryUtils
    (repository / "custom" / "events" / "Spot").mkdir()
    assert repository_utils.GetEventPluginDirectory("Spot") == str(repository / "custom" / "events" / "Spot")
    with pytest.raises(TypeError):
        repository_utils.AddOrUpdateEventPluginConfigSetting("Spot", "Port", 8080)


def test_a_setting_changed_by_the_plugin_is_read_by_the_next_trigger(fake: FakeDeadline, host: PluginHost) -> None:
    write_sample(
        fake,
        """
        self.LogInfo(self.GetConfigEntryWithDefault("Greeting", ""))
        RepositoryUtils.AddOrUpdateEventPluginConfigSetting("Sample", "Greeting", "changed")
        RepositoryUtils.AddOrUpdateEventPluginConfigSetting("Spot", "AccessID", "AKIAEXAMPLE")
        self.LogInfo(self.GetConfigEntryWithDefault("Greeting", ""))
        """,
    )
    host.house_cleaning("Sample")
    host.house_cleaning("Sample")
    assert fake.log_lines() == ["hello", "hello", "changed", "changed"]
    assert fake.config("Spot") == {"AccessID": "AKIAEXAMPLE"}


@pytest.mark.parametrize("register_as", [None, "deadline_event_plugin_0x5a"])
def test_the_plugin_module_is_registered_under_the_chosen_name(fake: FakeDeadline, register_as: str | None) -> None:
    write_sample(fake, 'self.LogInfo(f"{__name__} {sys.modules[__name__].SampleListener is SampleListener}")')
    expected = register_as or "Sample"
    with PluginHost(fake, register_as=register_as) as host:
        module = host.load("Sample")
        host.house_cleaning()
        with host.process_patches():
            assert sys.modules[expected] is module
            assert str(fake.repository / "custom" / "events" / "Sample") in sys.path
        assert expected not in sys.modules
    assert fake.log_lines() == [f"{expected} True"]


@pytest.mark.parametrize(("register_as", "outcome"), [(None, "'Sample' is not a package"), ("opaque", "lib package")])
def test_a_package_named_like_the_plugin(fake: FakeDeadline, register_as: str | None, outcome: str) -> None:
    write_sample(fake, "import Sample.helper\nself.LogInfo(Sample.helper.WHO)")
    write_lib(fake, "Sample/__init__.py", "")
    write_lib(fake, "Sample/helper.py", 'WHO = "lib package"\n')
    with PluginHost(fake) as host:
        host.load("Sample", register_as=register_as)
        result = host.house_cleaning(raise_errors=False)
    assert outcome in (str(result.error) if result.error else fake.log_lines()[0])


def test_sys_modules_and_sys_path_belong_to_the_test_between_triggers_and_after_close(fake: FakeDeadline) -> None:
    write_sample(fake, "sample_helper.CALLS.append(1)", header="import sample_helper")
    write_lib(fake, "sample_helper.py", "CALLS = []\n")
    path_before = list(sys.path)
    lib = str(fake.repository / "custom" / "events" / "Sample" / "lib")
    with PluginHost(fake) as host:
        host.house_cleaning("Sample")
        assert sys.path == path_before
        assert "sample_helper" not in sys.modules and "Sample" not in sys.modules and "Deadline" not in sys.modules
        with host.process_patches():
            assert lib in sys.path
            assert sys.modules["sample_helper"].CALLS == [1]
        host.house_cleaning("Sample")
        with host.process_patches():
            assert sys.modules["sample_helper"].CALLS == [1, 1]
    assert sys.path == path_before
    assert under_repository(fake) == []
    assert not list((fake.repository / "custom" / "events" / "Sample").rglob("__pycache__"))


def test_a_restart_is_a_new_process(fake: FakeDeadline, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAMPLE_SET_BY_PLUGIN", raising=False)
    write_sample(
        fake,
        """
        sample_helper.CALLS.append(1)
        self.LogInfo(f"{os.getpid()} {len(sample_helper.CALLS)} {os.environ.get('SAMPLE_SET_BY_PLUGIN')}")
        os.environ["SAMPLE_SET_BY_PLUGIN"] = "yes"
        """,
        header="import sample_helper",
    )
    write_lib(fake, "sample_helper.py", "CALLS = []\n")
    real_pid = os.getpid()
    with PluginHost(fake) as host, PluginHost(fake) as other_machine:
        first = host.simulated_pid
        host.house_cleaning("Sample")
        host.house_cleaning("Sample")
        assert "SAMPLE_SET_BY_PLUGIN" not in os.environ
        host.restart()
        host.house_cleaning("Sample")
        other_machine.house_cleaning("Sample")
        second = host.simulated_pid
    assert os.getpid() == real_pid
    assert len({first, second, other_machine.simulated_pid, real_pid}) == 4
    assert fake.log_lines() == [
        f"{first} 1 None",
        f"{first} 2 yes",
        f"{second} 1 None",
        f"{other_machine.simulated_pid} 1 None",
    ]
    assert host.generation == 1


def test_hostname_can_be_simulated(fake: FakeDeadline) -> None:
    write_sample(fake, "import platform, socket\nself.LogInfo(socket.gethostname() + ' ' + platform.node())")
    real = socket.gethostname()
    with PluginHost(fake, hostname="rcs-a") as host:
        host.house_cleaning("Sample")
    assert fake.log_lines() == ["rcs-a rcs-a"]
    assert socket.gethostname() == real


CHECK_IMPORTS = """
for name in ("outside_only", "deadline_standin", "json"):
    try:
        importlib.import_module(name)
        self.LogInfo(name + " visible")
    except ImportError:
        self.LogInfo(name + " hidden")
"""


@pytest.mark.parametrize("isolate", [True, False])
def test_isolation_hides_what_a_deadline_process_would_not_have(
    fake: FakeDeadline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolate: bool
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "outside_only.py").write_text("VALUE = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(outside))
    monkeypatch.setitem(sys.modules, "outside_only", importlib.import_module("outside_only"))
    write_sample(fake, CHECK_IMPORTS, header="import importlib")
    with PluginHost(fake, isolate=isolate) as host:
        host.house_cleaning("Sample")
    state = "hidden" if isolate else "visible"
    assert fake.log_lines() == [f"outside_only {state}", f"deadline_standin {state}", "json visible"]
    assert sys.modules["outside_only"].VALUE == 1


def test_hidden_modules_come_only_from_the_plugin_folder(fake: FakeDeadline) -> None:
    body = """
    try:
        import colorsys
        self.LogInfo(f"found {getattr(colorsys, 'FROM_LIB', False)}")
    except ImportError:
        self.LogInfo("missing")
    """
    write_sample(fake, body)
    with PluginHost(fake, hide_modules=("colorsys",)) as host:
        host.house_cleaning("Sample")
        write_lib(fake, "colorsys.py", "FROM_LIB = True\n")
        host.house_cleaning("Sample")
    assert fake.log_lines() == ["missing", "found True"]
    assert not getattr(sys.modules.get("colorsys"), "FROM_LIB", False)


def test_reload_executes_the_plugin_file_again_in_the_same_process(fake: FakeDeadline, host: PluginHost) -> None:
    write_sample(fake, "sample_helper.CALLS.append(VERSION)", header="import sample_helper\nVERSION = 1")
    write_lib(fake, "sample_helper.py", "CALLS = []\n")
    host.house_cleaning("Sample")
    write_sample(fake, "sample_helper.CALLS.append(VERSION)", header="import sample_helper\nVERSION = 2")
    host.house_cleaning("Sample")
    host.reload("Sample")
    host.house_cleaning("Sample")
    with host.process_patches():
        assert sys.modules["sample_helper"].CALLS == [1, 1, 2]


def test_a_file_is_compiled_once_per_test_process_and_its_code_names_the_file_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same bytes installed into two repositories and imported by three simulated processes are compiled once;
    every process still executes the module, and its code (tracebacks) names the file it imported. Bytes changed
    between two processes are compiled again: no process ever runs the code of other bytes."""
    compiled: list[str] = []
    real_compile = compile

    def counting_compile(source: object, filename: object, *args: object, **kwargs: object) -> object:
        if str(filename).endswith("sample_helper.py"):
            compiled.append(str(filename))
        return real_compile(source, filename, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.compile", counting_compile)
    helper = "import sys\nCALLS = []\ndef where():\n    return sys._getframe().f_code.co_filename\n"
    fakes = [FakeDeadline(tmp_path / name, echo=False) for name in ("first", "second")]
    for each in fakes:
        write_sample(each, "sample_helper.CALLS.append(sample_helper.where())", header="import sample_helper")
        write_lib(each, "sample_helper.py", helper)
    with PluginHost(fakes[0]) as one, PluginHost(fakes[1]) as other:
        one.house_cleaning("Sample")
        other.house_cleaning("Sample")
        one.restart()
        one.house_cleaning("Sample")
        for host, each in ((one, fakes[0]), (other, fakes[1])):
            with host.process_patches():
                expected = str(each.repository / "custom" / "events" / "Sample" / "lib" / "sample_helper.py")
                assert sys.modules["sample_helper"].CALLS == [expected]
        assert len(compiled) == 1

        write_lib(fakes[1], "sample_helper.py", helper.replace("CALLS = []", "CALLS = ['changed']"))
        other.restart()
        other.house_cleaning("Sample")
        with other.process_patches():
            assert sys.modules["sample_helper"].CALLS[0] == "changed"
        assert len(compiled) == 2


def test_dataclass_methods_are_compiled_once_per_test_process_and_made_in_each_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """conftest.dataclass_methods_compiled_once: the methods dataclasses generates for a class defined by two
    simulated processes are compiled for the first; each process still makes its own class and methods from that
    code, which behave as dataclasses' own (equality, repr, a frozen instance refusing a change)."""
    compiled: list[str] = []
    real_compile = compile

    def counting_compile(source: object, filename: object, *args: object, **kwargs: object) -> object:
        if filename == "<string>" and "fleet" in str(source):  # the code generated for Spot
            compiled.append(str(source))
        return real_compile(source, filename, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.compile", counting_compile)
    helper = (
        "import dataclasses\n"
        "@dataclasses.dataclass(frozen=True)\n"
        "class Spot:\n"
        "    fleet: str\n"
        "    size: int = 1\n"
    )
    fake = FakeDeadline(tmp_path / "farm", echo=False)
    write_sample(fake, "pass", header="import sample_point")
    write_lib(fake, "sample_point.py", helper)
    made = []
    with PluginHost(fake) as host:
        for restart in (False, True):
            if restart:
                host.restart()
            host.house_cleaning("Sample")
            with host.process_patches():
                made.append(sys.modules["sample_point"].Spot)
            if not restart:
                first = len(compiled)
    assert first >= 4 and len(compiled) == first  # __init__, __repr__, __eq__, __setattr__...: compiled once
    one, two = made
    assert one is not two and one.__init__ is not two.__init__
    assert two("farm") == two("farm", 1) != two("farm", 2) and repr(two("a")) == "Spot(fleet='a', size=1)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        two("farm").size = 3  # type: ignore[misc]


def test_fake_modules_can_be_installed_for_direct_imports(fake: FakeDeadline) -> None:
    assert "Deadline" not in sys.modules
    with fake:
        events = importlib.import_module("Deadline.Events")
        scripting = importlib.import_module("Deadline.Scripting")
        assert events.DeadlineEventListener is DeadlineEventListener
        assert not hasattr(scripting, "ClientUtils")  # sized to what the plugin uses
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module("Deadline.Jobs")
    assert "Deadline" not in sys.modules and "Deadline.Events" not in sys.modules


# -- server data, and scripts run by Monitor and Deadline Command ---------------------------------------------------


def test_server_data_is_kept_by_id_and_read_as_a_net_dictionary(tmp_path: Path):
    fake = FakeDeadline(tmp_path / "repository", echo=False)
    utils = fake.modules["Deadline.Scripting"].RepositoryUtils
    assert utils.GetServerData("event.plugin.spot") is None
    utils.AddOrUpdateServerData("event.plugin.spot", "Config", "{}")
    data = utils.GetServerData("event.plugin.spot")
    assert data.ContainsKey("Config") and data["Config"] == "{}" and data.Count == 1
    assert not data.ContainsKey("Other")
    with pytest.raises(KeyError):
        data["Other"]  # .NET's KeyNotFoundException
    with pytest.raises(TypeError, match="str"):
        utils.AddOrUpdateServerData("event.plugin.spot", "Config", {"a": 1})


def test_a_monitor_script_gets_its_dialog_and_a_deadlinecommand_script_its_arguments(tmp_path: Path):
    fake = FakeDeadline(tmp_path / "repository", echo=False)
    scripts = tmp_path / "repository" / "custom" / "scripts" / "General"
    scripts.mkdir(parents=True)
    (scripts / "Hello.py").write_text(
        textwrap.dedent(
            """\
            from Deadline.Scripting import RepositoryUtils
            from DeadlineUI.Controls.Scripting.DeadlineScriptDialog import DeadlineScriptDialog
            dialog = None

            def __main__(*args):
                global dialog
                dialog = DeadlineScriptDialog()
                dialog.SetTitle("Hello")
                dialog.AddGrid()
                button = dialog.AddControlToGrid("Go", "ButtonControl", "Go", 0, 0, expand=False)
                button.ValueModified.connect(pressed)
                dialog.AddControlToGrid("Box", "MultiLineTextControl", "", 1, 0, colSpan=2)
                dialog.EndGrid()
                dialog.ShowDialog(False)

            def pressed(*args):
                dialog.SetValue("Box", RepositoryUtils.GetEventPluginDirectory("Nothing") or "none")
            """
        )
    )
    (scripts / "Args.py").write_text("def __main__(*args):\n    return list(args)\n")
    with MonitorHost(fake) as monitor:
        dialog = monitor.run_monitor_script(scripts / "Hello.py")
        assert dialog is not None and dialog.title == "Hello" and dialog.open
        monitor.press(dialog, "Go")
        assert dialog.GetValue("Box") == "none"
        assert monitor.calls == ["GetEventPluginDirectory"]
        assert monitor.execute_script_no_gui(scripts / "Args.py", "check", "--json") == ["check", "--json"]
        with pytest.raises(ModuleNotFoundError):  # DeadlineUI is Monitor's, not Deadline Command's
            monitor.execute_script_no_gui(scripts / "Hello.py")


def test_a_dialog_refuses_a_control_outside_a_grid():
    dialog = DeadlineScriptDialog()
    with pytest.raises(RuntimeError, match="AddGrid"):
        dialog.AddControlToGrid("Box", "TextControl", "", 0, 0)
