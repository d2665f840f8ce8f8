"""Sessions and clients: how to reach AWS (:class:`AwsAccess`: profile, region, endpoint, keys, a role to assume),
as every AWS tool does it, and boto3 clients bounded in time (connect/read timeouts, a retry budget
(:class:`retry.BudgetedRetry`) and a hard deadline on each call (:mod:`call_deadline`)). botocore's DEBUG records that
could hold a secret are dropped. :func:`gateway.connect` opens a session here and makes the gateway on it.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.exceptions
import botocore.hooks
import botocore.session
from botocore.config import Config

from . import __version__, call_deadline, old_botocore, regions
from .aws_failures import NOT_IDEMPOTENT, _Caller, _one_line
from .errors import AwsAccessError, InvalidSettings
from .retry import BudgetedRetry
from .waits import CLI_TIMEOUTS, Timeouts


@dataclass(frozen=True)
class SettingNames:
    """How a front end names the settings behind :class:`AwsAccess`, for its messages: the profile, the region, and
    what lets a region newer than the installed botocore through."""

    profile: str = "--profile"
    region: str = "--region"
    allow_unknown_region: str = "add --allow-unknown-region"


@dataclass(frozen=True)
class AwsAccess:
    """How to reach AWS, as every AWS tool does it: the default chain unless told otherwise."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    role_arn: str | None = None
    external_id: str | None = None
    timeouts: Timeouts = CLI_TIMEOUTS
    allow_unknown_region: bool = False  # a region botocore does not know is taken as it is (newer than botocore)
    names: SettingNames = SettingNames()


class _SecretRedactingFilter(logging.Filter):
    """botocore logs response bodies at DEBUG; CreateAccessKey's holds the secret. Drop those records."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a record that cannot format is not ours to judge
            return True
        return "SecretAccessKey" not in text and "aws_secret_access_key" not in text


_REDACTOR = _SecretRedactingFilter()
_REDACTED_LOGGERS = ("botocore.parsers", "botocore.endpoint", "botocore.hooks", "botocore.retryhandler")


def _redact_botocore_logs() -> None:
    """Installed when the first gateway is made, not at import; adding the same filter twice is a no-op."""
    for name in _REDACTED_LOGGERS:
        logging.getLogger(name).addFilter(_REDACTOR)


def _check_endpoint_url(url: str | None) -> None:
    if url is None:
        return
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port out of range
    except ValueError as error:
        raise InvalidSettings(f"endpoint URL {url!r} is not valid ({error}): expected https://HOST[:PORT]") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidSettings(f"endpoint URL {url!r} is not valid: expected https://HOST[:PORT]")


def _config(timeouts: Timeouts) -> Config:
    return Config(
        connect_timeout=timeouts.connect,
        read_timeout=timeouts.read,
        retries={"mode": "standard", "total_max_attempts": 1},
        max_pool_connections=24,  # a check's first round makes 19 reads at once: each keeps its connection
        user_agent_extra=f"DeadlineSpotIamSetup/{__version__}",
    )


_HOOKS_LOCK = threading.Lock()
_BUILTIN_HOOKS: Any = None


def _new_session(**params: Any) -> boto3.session.Session:
    """A boto3 session on a botocore session made from what every session of this process shares, worked out once:

    * the data loader (``regions.data_loader()``, which the region checks read too): botocore otherwise reads and
      parses its data files (endpoints, service models) again for each session, about 0.15 s of CPU, which threads
      cannot overlap (one session per assumed role: the multi-account check);
    * botocore's built-in event handlers, registered once into an event emitter that each session gets a copy of
      (``botocore.session.Session(event_hooks=..., include_builtin_handlers=False)``, botocore/session.py: "event_hooks:
      The event hooks object to use"): registering them inspects each handler's signature, about 20 ms of CPU per
      session, where the copy takes 2 ms. The copy is the emitter's own ``__copy__``, the one botocore gives each
      client of a session.
    """
    global _BUILTIN_HOOKS
    loader = regions.data_loader()
    with _HOOKS_LOCK:
        if _BUILTIN_HOOKS is None:
            hooks = botocore.hooks.HierarchicalEmitter()
            botocore.session.Session(event_hooks=hooks)  # registers the built-in handlers into ``hooks``
            _BUILTIN_HOOKS = hooks
        core = botocore.session.Session(event_hooks=copy.copy(_BUILTIN_HOOKS), include_builtin_handlers=False)
    core.register_component("data_loader", loader)
    return boto3.session.Session(botocore_session=core, **params)


def _session(access: AwsAccess) -> boto3.session.Session:
    if access.access_key_id or access.secret_access_key:
        if not (access.access_key_id and access.secret_access_key):
            raise InvalidSettings("an access key ID needs its secret access key, and the other way round")
        return _new_session(
            aws_access_key_id=access.access_key_id,
            aws_secret_access_key=access.secret_access_key,
            aws_session_token=access.session_token or None,
            region_name=access.region,
        )
    named = _named_profile(access)
    try:
        session = _new_session(profile_name=access.profile or None, region_name=access.region)
        if named is not None and named[0] not in session.available_profiles:
            # On a botocore session given to it, boto3 leaves the profile to be looked up at the first client.
            raise botocore.exceptions.ProfileNotFound(profile=named[0])
        return session
    except botocore.exceptions.ProfileNotFound:
        raise InvalidSettings(_unknown_profile(access)) from None


# Where botocore takes the profile from when none is given, in its order (botocore/configprovider.py, the session
# variable "profile": AWS_DEFAULT_PROFILE, then AWS_PROFILE).
_PROFILE_VARIABLES = ("AWS_DEFAULT_PROFILE", "AWS_PROFILE")


def _named_profile(access: AwsAccess) -> tuple[str, str] | None:
    """The profile named for this run and where: the front end's setting, else botocore's environment variable;
    None when none is named (the default profile, which need not exist: the environment may hold the keys)."""
    if access.profile:
        return access.profile, access.names.profile
    for variable in _PROFILE_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable], variable
    return None


def _unknown_profile(access: AwsAccess) -> str:
    """One line: the profile not found, where it was named, the one probably meant and the ones there are."""
    name, named = _named_profile(access) or ("default", "the default")
    try:
        known = sorted(botocore.session.get_session().available_profiles)
    except botocore.exceptions.BotoCoreError:  # a config file that cannot be read
        known = []
    import difflib  # only for this message

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    meant = f" did you mean {close[0]!r}?" if close else ""
    there = f" Profiles there: {', '.join(known)}." if known else " It holds no profile."
    return (
        f"AWS profile {name!r} (from {named}) is not in the AWS config or credentials file:{meant}{there} Create it "
        f"with `aws configure --profile {name}`, or pick another"
    )


def _region_in_use(session: boto3.session.Session, access: AwsAccess) -> tuple[str, str]:
    """The region the clients will use, and where it was named (for a message about it)."""
    if access.region:
        return access.region, access.names.region
    region = session.region_name
    if not region:
        return "us-east-1", "the default region"
    if os.environ.get("AWS_DEFAULT_REGION") == region:  # botocore's variable (configprovider.py, "region")
        return region, "AWS_DEFAULT_REGION"
    return region, f"the region of AWS profile {session.profile_name!r}"


def _region(session: boto3.session.Session, access: AwsAccess) -> str:
    # IAM is global; the region only selects the partition's endpoint.
    return access.region or session.region_name or "us-east-1"


def _endpoint_url(session: boto3.session.Session, service: str, access: AwsAccess) -> str | None:
    """The endpoint URL given, else (before botocore 1.31, which reads them itself) the one the environment names
    for ``service``: see :mod:`old_botocore`."""
    if access.endpoint_url is not None or old_botocore.reads_configured_endpoints():
        return access.endpoint_url
    scoped_config = session._session.get_scoped_config()  # the botocore session of boto3's: its profile's settings
    configured = old_botocore.configured_endpoint_url(service, scoped_config, os.environ)
    _check_endpoint_url(configured)
    return configured


def _client(session: boto3.session.Session, service: str, access: AwsAccess) -> Any:
    endpoint_url = _endpoint_url(session, service, access)
    try:
        client = session.client(
            service,
            region_name=_region(session, access),
            endpoint_url=endpoint_url,
            config=_config(access.timeouts),
        )
    except (botocore.exceptions.BotoCoreError, ValueError) as error:
        raise AwsAccessError(f"cannot set up the AWS {service} client: {_one_line(str(error))}") from None
    t = access.timeouts
    BudgetedRetry(t.max_attempts, t.call_budget, not_idempotent=NOT_IDEMPOTENT).register(client)
    call_deadline.install(client)
    return client


def _assume_role(
    session: boto3.session.Session, access: AwsAccess, cancelled: Callable[[], bool]
) -> boto3.session.Session:
    sts = _client(session, "sts", access)
    call = _Caller(access.timeouts, lambda: str(sts.meta.endpoint_url), cancelled)
    params: dict[str, Any] = {"RoleArn": access.role_arn, "RoleSessionName": "DeadlineSpotIamSetup"}
    if access.external_id:
        params["ExternalId"] = access.external_id
    creds = call(lambda: sts.assume_role(**params), "sts:AssumeRole", f"role {access.role_arn}")["Credentials"]
    return _new_session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=access.region or session.region_name,
    )


