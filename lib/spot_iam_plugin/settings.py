"""The event plugin's settings, read from Deadline's config entries (always strings) into typed values."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from DeadlineSpotIamSetup.desired import (
    MAX_KEY_AGE_DAYS,
    Settings,
    parse_tag,
    validate_assume_role,
)
from DeadlineSpotIamSetup.errors import InvalidSettings
from DeadlineSpotIamSetup.gateway import AwsAccess, SettingNames
from DeadlineSpotIamSetup.regions import check_region
from DeadlineSpotIamSetup.waits import KEY_MAX_AGE_DAYS, PLUGIN_TIMEOUTS

USER_MODE, ROLE_MODE = "IAM User", "IAM Role"
DELIVERY_CHOICES = ("Automatic", "Spot Plugin Fields", "Named Profile", "None")

_ENGINE_DEFAULTS = Settings()  # the identity names default to the engine's, wherever they are set
# The settings behind the AWS access, as Monitor shows them (messages name them).
SETTING_NAMES = SettingNames("BootstrapProfile", "Region", "set AllowUnknownRegion to True")


@dataclass(frozen=True)
class PluginSettings:
    create_missing: bool = False
    bootstrap_access_key_id: str = ""
    bootstrap_secret_access_key: str = field(default="", repr=False)
    bootstrap_profile: str = ""
    bootstrap_role_arn: str = ""
    bootstrap_external_id: str = ""
    region: str = ""
    allow_unknown_region: bool = False  # take a Region botocore does not know (newer than the installed botocore)
    endpoint_url: str = ""
    spot_credentials_mode: str = USER_MODE
    spot_user_name: str = _ENGINE_DEFAULTS.spot_user
    spot_role_name: str = ""
    worker_role_name: str = _ENGINE_DEFAULTS.worker_role
    instance_profile_name: str = ""
    fleet_role_name: str = _ENGINE_DEFAULTS.fleet_role
    tracker_role_name: str = _ENGINE_DEFAULTS.tracker_role
    enable_resource_tracker: bool = _ENGINE_DEFAULTS.resource_tracker
    # False where the organisation creates the Spot service-linked roles centrally (never created, never a problem).
    create_service_linked_roles: bool = _ENGINE_DEFAULTS.service_linked_roles
    iam_path: str = _ENGINE_DEFAULTS.path
    permissions_boundary: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    check_interval_hours: int = 24
    forget_bootstrap_credential: bool = False
    key_delivery: str = "Automatic"
    # Replace the Spot user's access key once it is older than this (days) at a check; 0: never (and no age limit).
    rotate_key_after_days: int = KEY_MAX_AGE_DAYS
    credentials_profile_name: str = "DeadlineSpotEventPlugin"
    spot_plugin_name: str = "Spot"
    allowed_source_ips: str = ""  # comma- or line-separated CIDRs: the IP-restricted mode; empty: off
    allow_any_address: bool = False  # accept allowed source IPs that match every address (0.0.0.0/0, ::/0)
    # The key last delivered as a named profile, kept in this plugin's settings (Deadline's database) so that every
    # RCS/Pulse machine can write it into its own credentials file.
    delivered_access_key_id: str = ""
    delivered_secret_access_key: str = field(default="", repr=False)
    delivered_key_check: str = ""  # written last: journal_check() of the two above (empty: written by 0.1)

    @property
    def journal(self) -> tuple[str, str] | None:
        """The delivered key's ID and secret when all three settings were written (Deadline writes one setting at a
        time: a run killed between them leaves a check that does not match); None otherwise."""
        key_id, secret = self.delivered_access_key_id, self.delivered_secret_access_key
        if not (key_id and secret):
            return None
        if self.delivered_key_check and self.delivered_key_check != journal_check(key_id, secret):
            return None
        return key_id, secret
    verbose: bool = False  # every identity's status at every check; False: only what needs attention
    check_now_request: str = ""  # written by the Monitor script (farm_view.py); kept by the plugin

    def engine_settings(self) -> Settings:
        role_mode = self.spot_credentials_mode == ROLE_MODE
        if role_mode and not self.spot_role_name:
            raise InvalidSettings("SpotCredentialsMode is 'IAM Role' but SpotRoleName is empty: name the role")
        return Settings(
            spot_user=self.spot_user_name,
            spot_role=self.spot_role_name if role_mode else None,
            access_key=not role_mode,
            worker_role=self.worker_role_name,
            instance_profile=self.instance_profile_name or None,
            fleet_role=self.fleet_role_name,
            tracker_role=self.tracker_role_name,
            resource_tracker=self.enable_resource_tracker,
            service_linked_roles=self.create_service_linked_roles,
            path=self.iam_path or "/",
            permissions_boundary=self.permissions_boundary or None,
            tags=self.tags,
            allowed_source_ips=_entries(self.allowed_source_ips) if self.allowed_source_ips else None,
            allow_any_address=self.allow_any_address,
            key_max_age_days=self.rotate_key_after_days,
        )

    def aws_access(self) -> AwsAccess:
        if bool(self.bootstrap_access_key_id) != bool(self.bootstrap_secret_access_key):
            raise InvalidSettings(
                "set both BootstrapAccessKeyId and BootstrapSecretAccessKey, or neither (to use "
                "BootstrapProfile or the machine's default credentials)"
            )
        # Deadline's config entries are strings: an empty one is a setting left unset.
        validate_assume_role(
            self.bootstrap_role_arn or None,
            self.bootstrap_external_id or None,
            "BootstrapRoleArn",
            "BootstrapExternalId",
        )
        use_keys = bool(self.bootstrap_access_key_id)
        return AwsAccess(
            profile=None if use_keys else (self.bootstrap_profile or None),
            region=self.region or None,
            endpoint_url=self.endpoint_url or None,
            access_key_id=self.bootstrap_access_key_id or None,
            secret_access_key=self.bootstrap_secret_access_key or None,
            role_arn=self.bootstrap_role_arn or None,
            external_id=self.bootstrap_external_id or None,
            timeouts=PLUGIN_TIMEOUTS,
            allow_unknown_region=self.allow_unknown_region,
            names=SETTING_NAMES,
        )

    @property
    def uses_bootstrap_keys(self) -> bool:
        return bool(self.bootstrap_access_key_id and self.bootstrap_secret_access_key)


def _boolean(key: str, text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off", ""):
        return False
    raise InvalidSettings(f"{key} is {text!r}: expected True or False")


def _integer(key: str, text: str, minimum: int, maximum: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise InvalidSettings(f"{key} is {text!r}: expected a whole number") from None
    if not minimum <= value <= maximum:
        raise InvalidSettings(f"{key} is {value}: expected {minimum} to {maximum}")
    return value


def _choice(key: str, text: str, choices: tuple[str, ...]) -> str:
    for choice in choices:
        if text.strip().lower() == choice.lower():
            return choice
    raise InvalidSettings(f"{key} is {text!r}: expected one of {', '.join(choices)}")


def _entries(text: str) -> tuple[str, ...]:
    """Entries separated by commas, semicolons or lines (Monitor's multi-line text boxes)."""
    return tuple(part.strip() for part in text.replace(";", ",").replace("\n", ",").split(","))


def _tags(text: str) -> tuple[tuple[str, str], ...]:
    lines = [line.strip() for line in text.replace(";", "\n").splitlines()]
    return tuple(parse_tag(line) for line in lines if line)


def journal_check(access_key_id: str, secret_access_key: str) -> str:
    """A fingerprint of the delivered pair, written after it: it tells a whole journal from a half-written one
    without the secret (16 hex digits of SHA-256, which cannot be turned back into the secret)."""
    return hashlib.sha256(f"{access_key_id}:{secret_access_key}".encode()).hexdigest()[:16]


def read_settings(get: Callable[[str, str], str]) -> PluginSettings:
    """Read every setting through ``get(key, default)`` (the listener's GetConfigEntryWithDefault)."""
    d = PluginSettings()

    def text(key: str, default: str) -> str:
        value = get(key, default)
        return default if value is None else str(value).strip()

    region = text("Region", "")
    allow_unknown_region = _boolean("AllowUnknownRegion", text("AllowUnknownRegion", str(d.allow_unknown_region)))
    if region and not allow_unknown_region:
        check_region(region, SETTING_NAMES.region, SETTING_NAMES.allow_unknown_region)
    return PluginSettings(
        create_missing=_boolean("CreateMissing", text("CreateMissing", str(d.create_missing))),
        bootstrap_access_key_id=text("BootstrapAccessKeyId", ""),
        bootstrap_secret_access_key=text("BootstrapSecretAccessKey", ""),
        bootstrap_profile=text("BootstrapProfile", ""),
        bootstrap_role_arn=text("BootstrapRoleArn", ""),
        bootstrap_external_id=text("BootstrapExternalId", ""),
        region=region,
        allow_unknown_region=allow_unknown_region,
        endpoint_url=text("EndpointUrl", ""),
        spot_credentials_mode=_choice(
            "SpotCredentialsMode", text("SpotCredentialsMode", d.spot_credentials_mode), (USER_MODE, ROLE_MODE)
        ),
        spot_user_name=text("SpotUserName", d.spot_user_name),
        spot_role_name=text("SpotRoleName", ""),
        worker_role_name=text("WorkerRoleName", d.worker_role_name),
        instance_profile_name=text("InstanceProfileName", ""),
        fleet_role_name=text("FleetRoleName", d.fleet_role_name),
        tracker_role_name=text("TrackerRoleName", d.tracker_role_name),
        enable_resource_tracker=_boolean(
            "EnableResourceTracker", text("EnableResourceTracker", str(d.enable_resource_tracker))
        ),
        create_service_linked_roles=_boolean(
            "CreateServiceLinkedRoles", text("CreateServiceLinkedRoles", str(d.create_service_linked_roles))
        ),
        iam_path=text("IamPath", d.iam_path) or d.iam_path,
        permissions_boundary=text("PermissionsBoundary", ""),
        tags=_tags(text("Tags", "")),
        check_interval_hours=_integer(
            "CheckIntervalHours", text("CheckIntervalHours", str(d.check_interval_hours)), 0, 8760
        ),
        forget_bootstrap_credential=_boolean(
            "ForgetBootstrapCredential", text("ForgetBootstrapCredential", str(d.forget_bootstrap_credential))
        ),
        key_delivery=_choice("KeyDelivery", text("KeyDelivery", d.key_delivery), DELIVERY_CHOICES),
        rotate_key_after_days=_integer(
            "RotateKeyAfterDays", text("RotateKeyAfterDays", str(d.rotate_key_after_days)), 0, MAX_KEY_AGE_DAYS
        ),
        credentials_profile_name=text("CredentialsProfileName", d.credentials_profile_name)
        or d.credentials_profile_name,
        spot_plugin_name=text("SpotPluginName", d.spot_plugin_name) or d.spot_plugin_name,
        allowed_source_ips=text("AllowedSourceIps", ""),
        allow_any_address=_boolean("AllowAnyAddress", text("AllowAnyAddress", str(d.allow_any_address))),
        delivered_access_key_id=text("DeliveredAccessKeyId", ""),
        delivered_secret_access_key=text("DeliveredSecretAccessKey", ""),
        delivered_key_check=text("DeliveredKeyCheck", ""),
        verbose=_boolean("Verbose", text("Verbose", str(d.verbose))),
        check_now_request=text("CheckNowRequest", ""),
    )
