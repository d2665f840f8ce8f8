"""Handing a new access key to the Spot Event Plugin, so no human copies a secret.

Where the installed Spot plugin (``events/Spot/Spot.param``) has access-key fields, the key is written into
them (its field names are read from that file, not assumed). Otherwise the key becomes a named profile in
this machine's AWS credentials file, and the Spot plugin is set to "Use Local Credentials" with that profile.
Either way the key is first written into this plugin's own settings (Delivered Access Key ID / Secret), the journal
a later run finishes an interrupted delivery from (DeadlineSpotIamSetup.rotation).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from DeadlineSpotIamSetup.errors import InvalidSettings, SetupError
from DeadlineSpotIamSetup.rotation import HeldKey, KeyHolder
from DeadlineSpotIamSetup.secret_file import write_private_file
from DeadlineSpotIamSetup.values import NewAccessKey

from .credentials_file import (
    credentials_file_path,
    read_profile_key_id,
    read_profile_pair,
    validate_profile_name,
    write_profile,
)
from .settings import PluginSettings, journal_check
from .spot_config import event_plugin_folder, plugin_setting, read_param

DELIVERED_ID, DELIVERED_SECRET = "DeliveredAccessKeyId", "DeliveredSecretAccessKey"
DELIVERED_CHECK = "DeliveredKeyCheck"
FIELD_NAMES_ID = ("AccessID", "AccessKeyID", "AccessKeyId", "AWSAccessKeyID")
FIELD_NAMES_SECRET = ("SecretKey", "SecretAccessKey", "AWSSecretAccessKey", "SecretAccessKeyID")


@dataclass(frozen=True)
class SpotFields:
    """The Spot plugin's credential settings, by their key names in its installed .param."""

    access_key_id: str | None = None
    secret_access_key: str | None = None
    use_local_credentials: str = "UseLocalCredentials"
    named_profile: str = "NamedProfile"

    @property
    def has_key_fields(self) -> bool:
        return bool(self.access_key_id and self.secret_access_key)


def read_spot_fields(param_file: Path) -> SpotFields:
    parser = read_param(param_file)
    if parser is None:
        return SpotFields()
    key_id = secret = None
    use_local, named = "UseLocalCredentials", "NamedProfile"
    for section in parser.sections():
        label = parser.get(section, "Label", fallback="").lower()
        if section in FIELD_NAMES_SECRET or "secret" in label:  # before the ID: "Secret Access Key ID" is a secret
            secret = secret or section
        elif section in FIELD_NAMES_ID or "access key id" in label:
            key_id = key_id or section
        elif section.lower() == "uselocalcredentials" or "use local credentials" in label:
            use_local = section
        elif section.lower() == "namedprofile" or "named profile" in label:
            named = section
    return SpotFields(key_id, secret, use_local, named)


class KeyHandoff:
    """Delivers a key to the Spot Event Plugin; also tells which key the Spot plugin is using now."""

    def __init__(self, repository_utils: Any, settings: PluginSettings, own_plugin: str | None = None) -> None:
        self.repository = repository_utils
        self.settings = settings
        self.own_plugin = own_plugin  # this plugin's name: its settings journal every delivered key
        self.spot = settings.spot_plugin_name
        folder = self._spot_folder()
        self.param_file = folder / f"{self.spot}.param" if folder else None
        self.fields = read_spot_fields(self.param_file) if self.param_file else SpotFields()
        self.method = self._method()

    def _spot_folder(self) -> Path | None:
        return event_plugin_folder(self.repository, self.spot)

    def _method(self) -> str:
        choice = self.settings.key_delivery
        if choice == "Automatic":
            return "fields" if self.fields.has_key_fields else "profile"
        if choice == "Spot Plugin Fields":
            return "fields"
        if choice == "Named Profile":
            return "profile"
        return "none"

    @property
    def enabled(self) -> bool:
        return self.method != "none"

    def describe(self) -> str:
        if self.method == "fields":
            return (
                f"the {self.spot} event plugin's Security Credentials "
                f"({self.fields.access_key_id} / {self.fields.secret_access_key})"
            )
        if self.method == "profile":
            return (
                f"profile [{self.settings.credentials_profile_name}] in {credentials_file_path()}, with the "
                f"{self.spot} event plugin set to Use Local Credentials with that profile"
            )
        return "nowhere (KeyDelivery is None)"

    def _spot_config(self, key: str) -> str:
        return self._config(self.spot, key)

    def _config(self, plugin: str, key: str) -> str:
        return plugin_setting(self.repository, plugin, key)

    def validate(self) -> None:
        """Refuse delivery settings that cannot work, before any AWS write creates a key for them."""
        if self.method == "fields" and not self.fields.has_key_fields:
            raise InvalidSettings(
                f"KeyDelivery is 'Spot Plugin Fields' but {self.param_file or 'the Spot plugin'} has no access key "
                "fields: set KeyDelivery to Automatic or Named Profile"
            )
        if self.method == "profile":
            try:
                validate_profile_name(self.settings.credentials_profile_name)
            except InvalidSettings as error:
                raise InvalidSettings(f"CredentialsProfileName: {error}") from None
        if self.method == "none":
            raise InvalidSettings("KeyDelivery is None: no key is created; set it to Automatic to have one delivered")

    def __call__(self, key: NewAccessKey) -> None:
        """Deliver ``key`` (see :meth:`deliver`): the key sink of apply."""
        self.deliver(key)

    def deliver(self, key: NewAccessKey) -> Callable[[], None]:
        """Deliver ``key``: first into this plugin's own settings (the journal: a run stopped after this write is
        finished by the next check, which finds the key and its secret there; and, for a named profile, every other
        machine writes it into its own credentials file from there), then where the Spot plugin reads it. When any
        write fails, or the run is interrupted between writes, what was already written is put back as it was (so
        the Spot plugin never keeps a key that is then deleted) and the failure is raised as it is. Returns what
        puts it all back later (raising when a write fails), for a key that is then deleted after all."""
        self.validate()
        undo: list[Callable[[], None]] = []
        try:
            # Deadline writes one setting at a time. The journal's check goes last: a journal cut short is known as
            # such. The Spot plugin's key ID goes before its secret: cut short, it names the new key, whose whole pair
            # the journal holds, and the next run writes it again (DeadlineSpotIamSetup.rotation).
            if self.own_plugin:
                self._set_undoably(DELIVERED_SECRET, key.secret_access_key, undo, self.own_plugin)
                self._set_undoably(DELIVERED_ID, key.access_key_id, undo, self.own_plugin)
                check = journal_check(key.access_key_id, key.secret_access_key)
                self._set_undoably(DELIVERED_CHECK, check, undo, self.own_plugin)
            if self.method == "fields":
                self._set_undoably(self.fields.access_key_id or "", key.access_key_id, undo)
                self._set_undoably(self.fields.secret_access_key or "", key.secret_access_key, undo)
                self._set_undoably(self.fields.use_local_credentials, "False", undo)
            else:
                profile = self.settings.credentials_profile_name
                path = credentials_file_path()
                previous = path.read_bytes() if path.exists() else None
                undo.append(lambda: _restore_file(path, previous))
                write_profile(path, profile, key.access_key_id, key.secret_access_key)
                self._set_undoably(self.fields.use_local_credentials, "True", undo)
                self._set_undoably(self.fields.named_profile, profile, undo)
        except BaseException as error:
            # Also when the run is cancelled or stopped between two writes (a KeyboardInterrupt, a time limit): the
            # caller then deletes the key, so the settings must not keep naming it.
            stuck = _put_back(undo)
            if stuck and isinstance(error, Exception):
                raise SetupError(
                    f"{type(error).__name__}: {error}; putting back what was written failed too ({'; '.join(stuck)}): "
                    f"check the {self.spot} event plugin's credentials settings and the credentials file"
                ) from None
            raise

        def take_back() -> None:
            stuck = _put_back(undo)
            if stuck:
                raise SetupError(
                    f"putting back the {self.spot} event plugin's credentials failed ({'; '.join(stuck)}): check its "
                    "settings and the credentials file"
                )

        return take_back

    def _set_undoably(
        self, key: str, value: str, undo: list[Callable[[], None]], plugin: str | None = None
    ) -> None:
        plugin = plugin or self.spot
        previous = self._config(plugin, key)
        # Its undo first: a run interrupted (cancelled, stopped) as the write returns has made it all the same. A
        # write that is refused (raises an error) made nothing to undo.
        undo.append(lambda: self.repository.AddOrUpdateEventPluginConfigSetting(plugin, key, previous))
        try:
            self.repository.AddOrUpdateEventPluginConfigSetting(plugin, key, value)
        except Exception:
            undo.pop()
            raise

    def sync_local_profile(self) -> tuple[str, Path] | None:
        """Named-profile delivery on a machine that did not deliver the key: write the delivered key into this
        machine's profile when it holds another one (or none). Returns (profile, file) when it wrote."""
        journal = self.settings.journal
        if self.method != "profile" or journal is None:
            return None
        key_id, secret = journal
        profile = validate_profile_name(self.settings.credentials_profile_name)
        path = credentials_file_path()
        if read_profile_key_id(path, profile) == key_id:
            return None
        write_profile(path, profile, key_id, secret)
        return profile, path

    def key_in_use(self) -> str | None:
        """The access key ID the Spot plugin is configured with, whichever way (None when it has none)."""
        held = self.held()
        return held.access_key_id if held is not None else self._held_id()

    def _held_id(self) -> str | None:
        if self._spot_config(self.fields.use_local_credentials).lower() == "true":
            profile = self._spot_config(self.fields.named_profile)
            return read_profile_key_id(credentials_file_path(), profile) if profile else None
        if self.fields.access_key_id:
            return self._spot_config(self.fields.access_key_id) or None
        return None

    def held(self) -> HeldKey | None:
        """The access key pair the Spot plugin is configured with (its fields, or its named profile in this
        machine's credentials file); None when it holds no complete pair."""
        if self._spot_config(self.fields.use_local_credentials).lower() == "true":
            profile = self._spot_config(self.fields.named_profile)
            pair = read_profile_pair(credentials_file_path(), profile) if profile else None
            return HeldKey(*pair) if pair is not None else None
        if self.fields.access_key_id and self.fields.secret_access_key:
            key_id = self._spot_config(self.fields.access_key_id)
            secret = self._spot_config(self.fields.secret_access_key)
            if key_id and secret:
                return HeldKey(key_id, secret)
        return None


class PluginKeyHolder(KeyHolder):
    """The event plugin's side of the key rotation (DeadlineSpotIamSetup.rotation): it hands the new key to the Spot
    plugin itself (journal first), reads back the pair the Spot plugin holds, and names the machines that have not
    taken a delivered named-profile key yet."""

    def __init__(
        self,
        handoff: KeyHandoff,
        journal: NewAccessKey | None,
        deliver: Callable[[NewAccessKey], Callable[[], None]],
        not_yet_holding: Callable[[str], list[str]] = lambda key_id: [],
    ) -> None:
        self.handoff = handoff
        self._journal = journal
        self._deliver = deliver
        self._not_yet_holding = not_yet_holding
        self._take_back: Callable[[], None] | None = None

    @property
    def automatic(self) -> bool:
        return True

    def stage(self, key: NewAccessKey) -> None:
        self._take_back = self._deliver(key)
        self._journal = key

    def withdraw(self, key: NewAccessKey) -> None:
        take_back, self._take_back = self._take_back, None
        if take_back is not None:
            take_back()

    def journal(self) -> NewAccessKey | None:
        return self._journal

    def held(self) -> HeldKey | None:
        return self.handoff.held()

    def not_yet_holding(self, access_key_id: str) -> list[str]:
        return self._not_yet_holding(access_key_id)


def _put_back(undo: list[Callable[[], None]]) -> list[str]:
    """Run the undo steps, newest first, all of them; the failures, one line each."""
    stuck = []
    for step in reversed(undo):
        try:
            step()
        except Exception as undo_error:  # keep putting back the rest; say what could not be
            stuck.append(f"{type(undo_error).__name__}: {undo_error}")
    return stuck


def _restore_file(path: Path, previous: bytes | None) -> None:
    """Put a file back as it was: its old bytes, or no file at all."""
    if previous is None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    else:
        write_private_file(path, previous.decode("utf-8"))
