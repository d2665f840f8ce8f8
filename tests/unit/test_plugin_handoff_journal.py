"""The hand-off's journal: every delivery writes the key into this plugin's own settings (Delivered Secret Access Key,
then Delivered Access Key ID, then Delivered Key Check, the fingerprint that tells a whole journal from a half-written
one: Deadline writes one setting at a time) first, then where the Spot plugin reads it (its key ID before its
secret), so a run stopped in between leaves the key and its secret where the next check finds them. A delivery that
fails puts the journal back with the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from spot_iam_plugin.credentials_file import read_profile_key_id, write_profile
from spot_iam_plugin.handoff import DELIVERED_CHECK, DELIVERED_ID, DELIVERED_SECRET, KeyHandoff
from spot_iam_plugin.settings import PluginSettings, journal_check
from spot_param_samples import SPOT_PARAM_WITH_KEY_FIELDS, SPOT_PARAM_WITHOUT_KEY_FIELDS

from DeadlineSpotIamSetup.values import NewAccessKey

OWN = "DeadlineSpotIamSetup"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYJOURNALKEY"
KEY = NewAccessKey("DeadlineSpotEventPluginAdmin", "AKIAIOSFODNN7JOURNAL", SECRET)
PREVIOUS = {
    DELIVERED_ID: "AKIAPREVIOUSPREVIOUS",
    DELIVERED_SECRET: "previous-secret-previous-secret",
    DELIVERED_CHECK: journal_check("AKIAPREVIOUSPREVIOUS", "previous-secret-previous-secret"),
}
JOURNAL = {
    DELIVERED_ID: KEY.access_key_id,
    DELIVERED_SECRET: SECRET,
    DELIVERED_CHECK: journal_check(KEY.access_key_id, SECRET),
}


class Config:
    def __init__(self, entries: dict[str, str]) -> None:
        self.entries = entries

    def GetConfigEntryWithDefault(self, key: str, default: str) -> str:
        return self.entries.get(key, default)


class Repository:
    """RepositoryUtils with each event plugin's settings apart; records every write and, with ``credentials``,
    which key the credentials file held at that moment."""

    def __init__(self, spot_folder: str, credentials: Path | None = None, refuse: str | None = None) -> None:
        self.folder = spot_folder
        self.credentials = credentials
        self.refuse = refuse
        self.configs: dict[str, dict[str, str]] = {OWN: dict(PREVIOUS), "Spot": {}}
        self.writes: list[tuple[str, str, str | None]] = []

    def GetEventPluginDirectory(self, name: str) -> str:
        return self.folder if name == "Spot" else ""

    def GetEventPluginConfig(self, name: str) -> Config:
        return Config(self.configs.setdefault(name, {}))

    def AddOrUpdateEventPluginConfigSetting(self, name: str, key: str, value: str) -> None:
        if key == self.refuse and value != self.configs.get(name, {}).get(key, ""):
            raise RuntimeError(f"database unavailable writing {key}")
        in_file = read_profile_key_id(self.credentials, "DeadlineSpotEventPlugin") if self.credentials else None
        self.writes.append((name, key, in_file))
        self.configs.setdefault(name, {})[key] = value


@pytest.fixture
def credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "aws" / "credentials"
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    return path


def spot_folder(tmp_path: Path, text: str) -> str:
    folder = tmp_path / "events" / "Spot"
    folder.mkdir(parents=True)
    (folder / "Spot.param").write_text(text, encoding="utf-8")
    return str(folder)


def test_a_field_delivery_writes_the_journal_before_the_spot_plugins_fields(tmp_path: Path, credentials: Path):
    repository = Repository(spot_folder(tmp_path, SPOT_PARAM_WITH_KEY_FIELDS))
    KeyHandoff(repository, PluginSettings(), OWN)(KEY)
    assert [(name, key) for name, key, _ in repository.writes] == [
        (OWN, DELIVERED_SECRET),
        (OWN, DELIVERED_ID),
        (OWN, DELIVERED_CHECK),
        ("Spot", "AccessID"),
        ("Spot", "SecretKey"),
        ("Spot", "UseLocalCredentials"),
    ]
    assert repository.configs[OWN] == JOURNAL
    assert not credentials.exists()


def test_a_profile_delivery_writes_the_journal_before_the_credentials_file(tmp_path: Path, credentials: Path):
    write_profile(credentials, "DeadlineSpotEventPlugin", "AKIAPREVIOUSPREVIOUS", "previous-secret")
    repository = Repository(spot_folder(tmp_path, SPOT_PARAM_WITHOUT_KEY_FIELDS), credentials)
    KeyHandoff(repository, PluginSettings(), OWN)(KEY)
    assert repository.writes == [
        (OWN, DELIVERED_SECRET, "AKIAPREVIOUSPREVIOUS"),  # the file still holds the previous key
        (OWN, DELIVERED_ID, "AKIAPREVIOUSPREVIOUS"),
        (OWN, DELIVERED_CHECK, "AKIAPREVIOUSPREVIOUS"),
        ("Spot", "UseLocalCredentials", KEY.access_key_id),
        ("Spot", "NamedProfile", KEY.access_key_id),
    ]
    assert repository.configs[OWN] == JOURNAL


@pytest.mark.parametrize(
    ("param", "refused"),
    [(SPOT_PARAM_WITH_KEY_FIELDS, "SecretKey"), (SPOT_PARAM_WITHOUT_KEY_FIELDS, "NamedProfile")],
    ids=["fields", "profile"],
)
def test_a_delivery_that_fails_puts_the_journal_back(tmp_path: Path, credentials: Path, param: str, refused: str):
    repository = Repository(spot_folder(tmp_path, param), refuse=refused)
    with pytest.raises(RuntimeError, match=f"database unavailable writing {refused}"):
        KeyHandoff(repository, PluginSettings(), OWN)(KEY)
    assert repository.configs[OWN] == PREVIOUS
    assert SECRET not in repository.configs["Spot"].values()
    assert not credentials.exists()


def test_without_its_own_name_the_hand_off_writes_no_journal(tmp_path: Path, credentials: Path):
    repository = Repository(spot_folder(tmp_path, SPOT_PARAM_WITH_KEY_FIELDS))
    KeyHandoff(repository, PluginSettings())(KEY)
    assert repository.configs[OWN] == PREVIOUS
    assert {name for name, _, _ in repository.writes} == {"Spot"}


def test_a_field_delivered_key_is_not_written_into_any_profile(tmp_path: Path, credentials: Path):
    """The journal holds the key for every delivery, but only the named-profile method syncs it into a profile."""
    settings = PluginSettings(delivered_access_key_id=KEY.access_key_id, delivered_secret_access_key=SECRET)
    repository = Repository(spot_folder(tmp_path, SPOT_PARAM_WITH_KEY_FIELDS))
    assert KeyHandoff(repository, settings, OWN).sync_local_profile() is None
    assert not credentials.exists()


@pytest.mark.parametrize("cut_after", [1, 2])
def test_a_journal_cut_short_is_no_journal(tmp_path: Path, credentials: Path, cut_after: int):
    """Killed after the first or second of the journal's three writes, the journal is known as half-written: neither
    the rotation nor any machine's profile takes a pair from it."""
    repository = Repository(spot_folder(tmp_path, SPOT_PARAM_WITH_KEY_FIELDS))
    written = []
    record = repository.AddOrUpdateEventPluginConfigSetting

    def dying(name: str, key: str, value: str) -> None:
        if len(written) == cut_after:
            raise KeyboardInterrupt("the process dies")
        written.append(key)
        record(name, key, value)

    repository.AddOrUpdateEventPluginConfigSetting = dying  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        KeyHandoff(repository, PluginSettings(), OWN)(KEY)
    config = repository.configs[OWN]
    settings = PluginSettings(
        delivered_access_key_id=config[DELIVERED_ID],
        delivered_secret_access_key=config[DELIVERED_SECRET],
        delivered_key_check=config[DELIVERED_CHECK],
    )
    assert settings.journal is None
    whole = PluginSettings(
        delivered_access_key_id=KEY.access_key_id,
        delivered_secret_access_key=SECRET,
        delivered_key_check=journal_check(KEY.access_key_id, SECRET),
    )
    assert whole.journal == (KEY.access_key_id, SECRET)
