"""What the audit needs of the Spot Event Plugin's own configuration: its Spot Fleet Request Configurations (one
Spot Fleet request per Deadline group), its Use Resource Tracker, and its Region (where it starts fleets: the
permission chain judges its EC2 calls there).

Where the fleet configuration lives: from Deadline 10.1.12 the Spot Event Plugin keeps it in the repository's server
data, ID ``event.plugin.spot``, key ``Config``. AWS's RFDK writes it there through the RCS
(aws/aws-rfdk ``packages/aws-rfdk/lib/lambdas/nodejs/lib/configure-spot-event-plugin/spot-event-plugin-client.ts``:
``/rcs/v1/putServerData`` with ``ServerDataDictionary: {Config: ...}``), admins' scripts with
``RepositoryUtils.AddOrUpdateServerData("event.plugin.spot", "Config", json)`` (Deadline Scripting Reference,
RepositoryUtils: ``AddOrUpdateServerData(string id, string key, string value)``, "Save or updates the server data
with the given ID"). It is read from there first (``RepositoryUtils.GetServerData(id)``, see
:func:`server_data_value`), then from the Spot plug-in's own setting, whose name is read from its installed .param (by
label), not assumed, as for its credentials fields (handoff.py)."""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from DeadlineSpotIamSetup.errors import InvalidSettings
from DeadlineSpotIamSetup.fleet_config import FleetGroup, parse_fleet_config

SERVER_DATA_ID = "event.plugin.spot"
SERVER_DATA_KEY = "Config"
FLEET_CONFIG_NAMES = ("SpotFleetRequestConfigurations", "SpotFleetRequestConfiguration", "SpotFleetConfigs", "Config")
TRACKER_NAMES = ("ResourceTracker", "UseResourceTracker")
REGION_NAMES = ("Region", "AWSRegion")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}")


def event_plugin_folder(repository: Any, plugin: str) -> Path | None:
    """The installed event plug-in's folder, or None when it is not installed (the host answers with an error)."""
    try:
        folder = repository.GetEventPluginDirectory(plugin)
    except Exception:
        return None
    return Path(str(folder)) if folder else None


def plugin_setting(repository: Any, plugin: str, key: str) -> str:
    """An event plug-in's setting as text ("" when it has none, or it cannot be read)."""
    try:
        config = repository.GetEventPluginConfig(plugin)
        value = config.GetConfigEntryWithDefault(key, "") if config is not None else ""
    except Exception:
        return ""
    return "" if value is None else str(value).strip()


def read_param(param_file: Path) -> configparser.ConfigParser | None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(param_file.read_text(encoding="utf-8-sig"))
    except (OSError, configparser.Error):
        return None
    return parser


def _entry(data: Any, key: str) -> Any:
    """``data[key]`` of what GetServerData answered: None, a dictionary (a Python one, or .NET's, which answers
    ContainsKey), or an object carrying it as ServerDataDictionary (the RCS API's name for it); None when absent."""
    if data is None:
        return None
    inner = getattr(data, "ServerDataDictionary", None)
    if inner is not None:
        data = inner
    contains = getattr(data, "ContainsKey", None)
    if callable(contains):
        return data[key] if contains(key) else None
    getter = getattr(data, "get", None)
    return getter(key) if callable(getter) else None


def server_data_value(repository: Any, data_id: str, key: str) -> tuple[str, str | None]:
    """The text kept under ``key`` in the repository's server data ``data_id`` ("" when there is none), and, when it
    could not be read at all, why (one line). Nothing here raises."""
    reader = getattr(repository, "GetServerData", None)
    if not callable(reader):
        return "", "this Deadline's RepositoryUtils has no GetServerData"
    try:
        value = _entry(reader(data_id), key)
    except Exception as error:
        return "", f"RepositoryUtils.GetServerData({data_id!r}) failed: {type(error).__name__}: {error}"
    return ("" if value is None else str(value).strip()), None


@dataclass(frozen=True)
class SpotPluginConfig:
    fleet_groups: tuple[FleetGroup, ...] = ()
    uses_resource_tracker: bool = False
    why_not_audited: str | None = None  # the fleet configuration could not be audited: why (one line)
    source: str | None = None  # where the audited fleet configuration was read (None: nowhere)
    region: str | None = None  # its Region setting, when it names a region


def server_data_source() -> str:
    return f"the repository's server data {SERVER_DATA_ID} ({SERVER_DATA_KEY})"


def _parsed(text: str, source: str, uses_tracker: bool, region: str | None) -> SpotPluginConfig:
    try:
        groups = parse_fleet_config(text, source)
    except InvalidSettings as error:
        return SpotPluginConfig(
            uses_resource_tracker=uses_tracker, why_not_audited=str(error), source=source, region=region
        )
    return SpotPluginConfig(groups, uses_tracker, source=source, region=region)


def read_spot_plugin_config(repository: Any, spot: str) -> SpotPluginConfig:
    """The Spot plug-in's fleet groups, from the repository's server data first (Deadline 10.1.12+), else from the
    Spot plug-in's own setting, and its Use Resource Tracker. A configuration that does not parse is not audited,
    and says why (one line naming where it breaks); nothing here raises."""
    folder = event_plugin_folder(repository, spot)
    parser = read_param(folder / f"{spot}.param") if folder else None
    fleet_key = tracker_key = region_key = None
    sections = parser.items() if parser is not None else ()
    for section, values in sections:
        label = values.get("Label", "").lower()
        if fleet_key is None and (section in FLEET_CONFIG_NAMES or "spot fleet request config" in label):
            fleet_key = section
        elif tracker_key is None and (section in TRACKER_NAMES or "resource tracker" in label):
            tracker_key = section
        elif region_key is None and (section in REGION_NAMES or label == "region"):
            region_key = section
    uses_tracker = bool(tracker_key) and plugin_setting(repository, spot, tracker_key or "").lower() == "true"
    region = None
    if parser is not None and region_key is not None:  # the setting, else the default its .param gives it
        region = _region(plugin_setting(repository, spot, region_key) or parser.get(region_key, "Default", fallback=""))
    server_text, server_unreadable = server_data_value(repository, SERVER_DATA_ID, SERVER_DATA_KEY)
    if server_text:
        return _parsed(server_text, server_data_source(), uses_tracker, region)
    setting_text = plugin_setting(repository, spot, fleet_key) if fleet_key else ""
    if setting_text:
        return _parsed(setting_text, f"the {spot} event plugin's {fleet_key}", uses_tracker, region)
    nowhere = f"no Spot Fleet Request Configurations in {server_data_source()}"
    if server_unreadable:
        nowhere = f"{server_data_source()} cannot be read ({server_unreadable})"
    if parser is None:
        where = f"the {spot} event plugin is not installed (no {spot}.param)"
    elif fleet_key is None:
        where = f"{spot}.param has no Spot Fleet Request Configurations setting"
    else:
        where = f"the {spot} event plugin's {fleet_key} is empty"
    return SpotPluginConfig(
        uses_resource_tracker=uses_tracker,
        why_not_audited=f"{nowhere}, and {where} (check --spot-config FILE audits the configuration from a file)",
        region=region,
    )


def _region(text: str) -> str | None:
    """A region name as the Spot plug-in's Region setting holds it; anything else (empty, a typo) is not used: the
    check's own region stands in."""
    text = text.strip()
    return text if _REGION.fullmatch(text) else None
