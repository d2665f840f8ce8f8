"""Handing a new access key to the Spot Event Plugin: into its access-key fields when its installed .param has
them, otherwise as a named profile in the credentials file with the Spot plugin set to Use Local Credentials."""

from __future__ import annotations

from pathlib import Path

import pytest
from spot_iam_plugin.credentials_file import write_profile
from spot_iam_plugin.handoff import KeyHandoff, SpotFields, read_spot_fields
from spot_iam_plugin.settings import PluginSettings
from spot_param_samples import SPOT_PARAM_WITH_KEY_FIELDS, SPOT_PARAM_WITHOUT_KEY_FIELDS

from DeadlineSpotIamSetup.errors import SetupError
from DeadlineSpotIamSetup.values import NewAccessKey

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYHANDOFFKEY"
KEY = NewAccessKey("DeadlineSpotEventPluginAdmin", "AKIAIOSFODNN7HANDOFF1", SECRET)

SPOT_PARAM = SPOT_PARAM_WITH_KEY_FIELDS


class FakeConfig:
    def __init__(self, entries: dict[str, str]) -> None:
        self.entries = entries

    def GetConfigEntryWithDefault(self, key: str, default: str) -> str:
        return self.entries.get(key, default)


class FakeRepositoryUtils:
    """The few RepositoryUtils calls the hand-off makes, with the Spot plugin's settings in a dict."""

    def __init__(self, folders: dict[str, str] | None = None, config: dict[str, str] | None = None) -> None:
        self.folders = folders or {}
        self.config = dict(config or {})
        self.updates: list[tuple[str, str, str]] = []

    def GetEventPluginDirectory(self, name: str) -> str:
        return self.folders.get(name, "")

    def GetEventPluginConfig(self, name: str) -> FakeConfig:
        return FakeConfig(self.config)

    def AddOrUpdateEventPluginConfigSetting(self, name: str, key: str, value: str) -> None:
        self.updates.append((name, key, value))
        self.config[key] = value


class NoSpotPlugin(FakeRepositoryUtils):
    def GetEventPluginDirectory(self, name: str) -> str:
        raise RuntimeError(f"event plugin {name} not found")


@pytest.fixture
def credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "aws" / "credentials"
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    return path


def spot_folder(tmp_path: Path, text: str | None, name: str = "Spot") -> str:
    folder = tmp_path / "events" / name
    folder.mkdir(parents=True)
    if text is not None:
        (folder / f"{name}.param").write_text(text, encoding="utf-8")
    return str(folder)


def with_fields(tmp_path: Path, config: dict[str, str] | None = None) -> FakeRepositoryUtils:
    return FakeRepositoryUtils({"Spot": spot_folder(tmp_path, SPOT_PARAM)}, config)


def without_fields(tmp_path: Path, config: dict[str, str] | None = None) -> FakeRepositoryUtils:
    return FakeRepositoryUtils({"Spot": spot_folder(tmp_path, SPOT_PARAM_WITHOUT_KEY_FIELDS)}, config)


def write_param(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Spot.param"
    path.write_text(text, encoding="utf-8")
    return path


# -- read_spot_fields -----------------------------------------------------------------------------


def test_key_fields_are_found_by_section_name(tmp_path: Path):
    fields = read_spot_fields(write_param(tmp_path, "[AccessID]\nType=string\n[SecretKey]\nType=password\n"))
    assert fields == SpotFields("AccessID", "SecretKey", "UseLocalCredentials", "NamedProfile")
    assert fields.has_key_fields


def test_key_fields_are_found_by_label_under_other_names(tmp_path: Path):
    text = (
        "[SpotKeyId]\nLabel=Access Key ID\n"
        "[SpotSecret]\nType=password\nLabel=Secret Access Key\n"
        "[LocalCreds]\nLabel=Use Local Credentials\n"
        "[ProfileToUse]\nLabel=Named Profile\n"
    )
    fields = read_spot_fields(write_param(tmp_path, text))
    assert fields == SpotFields("SpotKeyId", "SpotSecret", "LocalCreds", "ProfileToUse")


def test_the_installed_spot_param_layout_is_understood(tmp_path: Path):
    fields = read_spot_fields(write_param(tmp_path, SPOT_PARAM))
    assert fields == SpotFields("AccessID", "SecretKey", "UseLocalCredentials", "NamedProfile")


def test_a_param_file_with_a_byte_order_mark_is_read(tmp_path: Path):
    path = tmp_path / "Spot.param"
    path.write_bytes(b"\xef\xbb\xbf" + SPOT_PARAM.encode())
    assert read_spot_fields(path).has_key_fields


def test_a_param_without_key_fields_has_none(tmp_path: Path):
    fields = read_spot_fields(write_param(tmp_path, SPOT_PARAM_WITHOUT_KEY_FIELDS))
    assert not fields.has_key_fields
    assert (fields.use_local_credentials, fields.named_profile) == ("UseLocalCredentials", "NamedProfile")


def test_only_one_of_the_two_key_fields_is_not_enough(tmp_path: Path):
    assert not read_spot_fields(write_param(tmp_path, "[AccessID]\nLabel=Access Key ID\n")).has_key_fields


def test_a_missing_param_file_has_no_key_fields(tmp_path: Path):
    assert read_spot_fields(tmp_path / "Spot.param") == SpotFields()


@pytest.mark.parametrize("text", ["AccessID=x\nSecretKey=y\n", "[AccessID\nLabel=Access Key ID\n", "\x00\x01garbage"])
def test_a_garbled_param_file_has_no_key_fields(tmp_path: Path, text: str):
    assert not read_spot_fields(write_param(tmp_path, text)).has_key_fields


def test_a_secret_field_labelled_secret_access_key_id_is_the_secret(tmp_path: Path):
    text = "[AccessKeyID]\nLabel=Access Key ID\n[SecretAccessKeyID]\nType=password\nLabel=Secret Access Key ID\n"
    fields = read_spot_fields(write_param(tmp_path, text))
    assert (fields.access_key_id, fields.secret_access_key) == ("AccessKeyID", "SecretAccessKeyID")


# -- choosing the way -----------------------------------------------------------------------------


def test_automatic_uses_the_fields_when_the_spot_plugin_has_them(tmp_path: Path):
    handoff = KeyHandoff(with_fields(tmp_path), PluginSettings())
    assert handoff.method == "fields"
    assert handoff.enabled
    assert handoff.param_file == Path(tmp_path / "events" / "Spot" / "Spot.param")


def test_automatic_uses_a_profile_when_the_spot_plugin_has_no_fields(tmp_path: Path):
    handoff = KeyHandoff(without_fields(tmp_path), PluginSettings())
    assert handoff.method == "profile"
    assert handoff.enabled


def test_automatic_uses_a_profile_when_the_spot_plugin_is_not_installed(tmp_path: Path):
    assert KeyHandoff(FakeRepositoryUtils(), PluginSettings()).method == "profile"
    assert KeyHandoff(NoSpotPlugin(), PluginSettings()).method == "profile"


def test_named_profile_is_used_even_when_the_fields_exist(tmp_path: Path):
    assert KeyHandoff(with_fields(tmp_path), PluginSettings(key_delivery="Named Profile")).method == "profile"


def test_delivery_none_is_disabled_and_refuses_a_key(tmp_path: Path):
    repository = with_fields(tmp_path)
    handoff = KeyHandoff(repository, PluginSettings(key_delivery="None"))
    assert handoff.enabled is False
    with pytest.raises(SetupError):
        handoff(KEY)
    assert repository.updates == []


def test_the_spot_plugin_name_setting_picks_the_plugin(tmp_path: Path, credentials: Path):
    repository = FakeRepositoryUtils({"MySpot": spot_folder(tmp_path, SPOT_PARAM, name="MySpot")})
    handoff = KeyHandoff(repository, PluginSettings(spot_plugin_name="MySpot"))
    assert handoff.method == "fields"
    handoff(KEY)
    assert {name for name, _, _ in repository.updates} == {"MySpot"}


# -- delivering -----------------------------------------------------------------------------------


def test_spot_plugin_fields_without_fields_refuses_the_delivery(tmp_path: Path, credentials: Path):
    repository = without_fields(tmp_path)
    handoff = KeyHandoff(repository, PluginSettings(key_delivery="Spot Plugin Fields"))
    assert handoff.method == "fields"
    with pytest.raises(SetupError) as caught:
        handoff(KEY)
    assert "Named Profile" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert repository.updates == []
    assert not credentials.exists()


def test_delivery_to_fields_sets_key_id_secret_and_turns_off_local_credentials(tmp_path: Path, credentials: Path):
    repository = with_fields(tmp_path, {"UseLocalCredentials": "True"})
    KeyHandoff(repository, PluginSettings())(KEY)
    assert repository.updates == [
        ("Spot", "AccessID", KEY.access_key_id),
        ("Spot", "SecretKey", SECRET),
        ("Spot", "UseLocalCredentials", "False"),
    ]
    assert not credentials.exists()


def test_delivery_to_fields_uses_the_names_found_by_label(tmp_path: Path):
    text = "[KeyId]\nLabel=Access Key ID\n[KeySecret]\nLabel=Secret Access Key\n[Local]\nLabel=Use Local Credentials\n"
    repository = FakeRepositoryUtils({"Spot": spot_folder(tmp_path, text)})
    KeyHandoff(repository, PluginSettings())(KEY)
    assert [(key, value) for _, key, value in repository.updates] == [
        ("KeyId", KEY.access_key_id),
        ("KeySecret", SECRET),
        ("Local", "False"),
    ]


def test_delivery_to_a_profile_writes_the_credentials_file_and_points_the_spot_plugin_at_it(
    tmp_path: Path, credentials: Path
):
    repository = without_fields(tmp_path)
    KeyHandoff(repository, PluginSettings(credentials_profile_name="SpotKeys"))(KEY)
    assert credentials.read_text(encoding="utf-8") == (
        f"[SpotKeys]\naws_access_key_id = {KEY.access_key_id}\naws_secret_access_key = {SECRET}\n"
    )
    assert repository.updates == [("Spot", "UseLocalCredentials", "True"), ("Spot", "NamedProfile", "SpotKeys")]
    assert all(SECRET not in value for _, _, value in repository.updates)


def test_delivery_to_a_profile_refuses_an_unusable_profile_name(tmp_path: Path, credentials: Path):
    repository = without_fields(tmp_path)
    with pytest.raises(SetupError):
        KeyHandoff(repository, PluginSettings(credentials_profile_name="default"))(KEY)
    assert repository.updates == []
    assert not credentials.exists()


def test_describe_names_where_the_key_goes(tmp_path: Path, credentials: Path):
    assert "AccessID" in KeyHandoff(with_fields(tmp_path / "a"), PluginSettings()).describe()
    profile = KeyHandoff(without_fields(tmp_path / "b"), PluginSettings()).describe()
    assert "DeadlineSpotEventPlugin" in profile
    assert str(credentials) in profile
    assert "None" in KeyHandoff(FakeRepositoryUtils(), PluginSettings(key_delivery="None")).describe()


# -- which key the Spot plugin uses ---------------------------------------------------------------


def test_key_in_use_from_the_fields(tmp_path: Path, credentials: Path):
    repository = with_fields(tmp_path, {"UseLocalCredentials": "False", "AccessID": " AKIAINUSEINUSEINUSE1 "})
    assert KeyHandoff(repository, PluginSettings()).key_in_use() == "AKIAINUSEINUSEINUSE1"


def test_key_in_use_from_the_named_profile(tmp_path: Path, credentials: Path):
    write_profile(credentials, "FarmKeys", "AKIAPROFILEPROFILE01", "profilesecretprofilesecret")
    repository = with_fields(
        tmp_path, {"UseLocalCredentials": "true", "NamedProfile": "FarmKeys", "AccessID": "AKIASTALESTALESTALE1"}
    )
    assert KeyHandoff(repository, PluginSettings()).key_in_use() == "AKIAPROFILEPROFILE01"


def test_no_key_in_use_when_nothing_is_set(tmp_path: Path, credentials: Path):
    assert KeyHandoff(with_fields(tmp_path / "a"), PluginSettings()).key_in_use() is None
    assert KeyHandoff(without_fields(tmp_path / "b"), PluginSettings()).key_in_use() is None
    local_without_profile = with_fields(tmp_path / "c", {"UseLocalCredentials": "True"})
    assert KeyHandoff(local_without_profile, PluginSettings()).key_in_use() is None


def test_a_delivered_key_is_the_key_in_use_either_way(tmp_path: Path, credentials: Path):
    for repository in (with_fields(tmp_path / "a"), without_fields(tmp_path / "b")):
        handoff = KeyHandoff(repository, PluginSettings())
        handoff(KEY)
        assert handoff.key_in_use() == KEY.access_key_id


def test_key_in_use_survives_a_host_that_cannot_answer(tmp_path: Path, credentials: Path):
    class Failing(FakeRepositoryUtils):
        def GetEventPluginConfig(self, name: str) -> FakeConfig:
            raise RuntimeError("no such plugin")

    assert KeyHandoff(Failing({"Spot": spot_folder(tmp_path, SPOT_PARAM)}), PluginSettings()).key_in_use() is None


# -- a hand-off that fails half-way is undone; settings that cannot work are found before any write ------


class FailingOn(FakeRepositoryUtils):
    """Refuses to write one setting of the Spot plugin, as a database hiccup would."""

    def __init__(self, key: str, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.failing = key

    def AddOrUpdateEventPluginConfigSetting(self, name: str, key: str, value: str) -> None:
        if key == self.failing:
            raise RuntimeError(f"database unavailable writing {key}")
        super().AddOrUpdateEventPluginConfigSetting(name, key, value)


def test_a_field_delivery_failing_half_way_restores_the_previous_settings(tmp_path: Path, credentials: Path):
    before = {"AccessID": "AKIAPREVIOUSPREVIOUS", "SecretKey": "previous-secret", "UseLocalCredentials": "True"}
    repository = FailingOn("UseLocalCredentials", {"Spot": spot_folder(tmp_path, SPOT_PARAM)}, before)
    with pytest.raises(RuntimeError, match="database unavailable writing UseLocalCredentials"):
        KeyHandoff(repository, PluginSettings())(KEY)
    assert repository.config == before  # the deleted key is not left configured


@pytest.mark.parametrize("after", ["AccessID", "SecretKey", "UseLocalCredentials"])
def test_a_field_delivery_interrupted_after_a_write_restores_the_previous_settings(
    tmp_path: Path, credentials: Path, after: str
):
    """A run cancelled (KeyboardInterrupt, a time limit) just as a write returns: that write was made, so it is put
    back too, and the interruption goes on (the rotation then deletes the key, which no setting names any more)."""

    class InterruptedAfter(FakeRepositoryUtils):
        def AddOrUpdateEventPluginConfigSetting(self, name: str, key: str, value: str) -> None:
            super().AddOrUpdateEventPluginConfigSetting(name, key, value)
            if key == after and value != before[key]:
                raise KeyboardInterrupt

    before = {"AccessID": "AKIAPREVIOUSPREVIOUS", "SecretKey": "previous-secret", "UseLocalCredentials": "True"}
    repository = InterruptedAfter({"Spot": spot_folder(tmp_path, SPOT_PARAM)}, dict(before))
    with pytest.raises(KeyboardInterrupt):
        KeyHandoff(repository, PluginSettings())(KEY)
    assert repository.config == before


def test_a_hand_off_whose_undo_fails_too_says_so(tmp_path: Path, credentials: Path):
    class Stuck(FakeRepositoryUtils):
        def AddOrUpdateEventPluginConfigSetting(self, name: str, key: str, value: str) -> None:
            if key == "UseLocalCredentials" or (key == "AccessID" and value != KEY.access_key_id):
                raise RuntimeError(f"database unavailable writing {key}")
            super().AddOrUpdateEventPluginConfigSetting(name, key, value)

    repository = Stuck({"Spot": spot_folder(tmp_path, SPOT_PARAM)}, {"AccessID": "AKIAPREVIOUSPREVIOUS"})
    with pytest.raises(SetupError) as caught:
        KeyHandoff(repository, PluginSettings())(KEY)
    message = str(caught.value)
    assert message.startswith("RuntimeError: database unavailable writing UseLocalCredentials")
    assert "putting back what was written failed too (RuntimeError: database unavailable writing AccessID)" in message
    assert SECRET not in message


def test_a_profile_delivery_failing_half_way_restores_the_credentials_file(tmp_path: Path, credentials: Path):
    write_profile(credentials, "DeadlineSpotEventPlugin", "AKIAPREVIOUSPREVIOUS", "previous-secret")
    original = credentials.read_bytes()
    repository = FailingOn("NamedProfile", {"Spot": spot_folder(tmp_path, SPOT_PARAM_WITHOUT_KEY_FIELDS)})
    with pytest.raises(RuntimeError):
        KeyHandoff(repository, PluginSettings())(KEY)
    assert credentials.read_bytes() == original
    assert repository.config.get("UseLocalCredentials", "") == ""


def test_a_profile_delivery_failing_on_a_new_file_leaves_no_file(tmp_path: Path, credentials: Path):
    repository = FailingOn("UseLocalCredentials", {"Spot": spot_folder(tmp_path, SPOT_PARAM_WITHOUT_KEY_FIELDS)})
    with pytest.raises(RuntimeError):
        KeyHandoff(repository, PluginSettings())(KEY)
    assert not credentials.exists()


@pytest.mark.parametrize(
    ("settings", "param", "setting_named"),
    [
        (PluginSettings(key_delivery="Spot Plugin Fields"), SPOT_PARAM_WITHOUT_KEY_FIELDS, "KeyDelivery"),
        (PluginSettings(credentials_profile_name="default"), SPOT_PARAM_WITHOUT_KEY_FIELDS, "CredentialsProfileName"),
        (
            PluginSettings(key_delivery="Named Profile", credentials_profile_name="a b"),
            SPOT_PARAM,
            "CredentialsProfileName",
        ),
    ],
    ids=["fields-without-fields", "profile-default", "profile-bad-name"],
)
def test_delivery_settings_that_cannot_work_are_refused_before_any_write(
    tmp_path, credentials, settings, param, setting_named
):
    repository = FakeRepositoryUtils({"Spot": spot_folder(tmp_path, param)})
    with pytest.raises(SetupError) as caught:
        KeyHandoff(repository, settings).validate()
    assert setting_named in str(caught.value)
    assert repository.updates == [] and not credentials.exists()


def test_usable_delivery_settings_pass_validation(tmp_path, credentials):
    KeyHandoff(with_fields(tmp_path / "a"), PluginSettings()).validate()
    KeyHandoff(without_fields(tmp_path / "b"), PluginSettings()).validate()
