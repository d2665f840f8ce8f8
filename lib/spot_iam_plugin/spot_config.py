"""What the audit needs of the Spot Event Plugin's own configuration: its Spot Fleet Request Configurations (one
Spot Fleet request per Deadline group), its Use Resource Tracker, and its Region (where it starts fleets: the
permission chain judges its EC2 calls there). The setting names are read from the installed Spot plug-in's .param
(by label), not assumed, as for its credentials fields (handoff.py)."""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from DeadlineSpotIamSetup.errors import InvalidSettings
from DeadlineSpotIamSetup.fleet_config import FleetGroup, parse_fleet_config

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


@dataclass(frozen=True)
class SpotPluginConfig:
    fleet_groups: tuple[FleetGroup, ...] = ()
    uses_resource_tracker: bool = False
    why_not_audited: str | None = None  # the fleet configuration could not be audited: why (one line)
    region: str | None = None  # its Region setting, when it names a region


def read_spot_plugin_config(repository: Any, spot: str) -> SpotPluginConfig:
    """The Spot plug-in's fleet groups and Use Resource Tracker. A configuration that does not parse is not
    audited, and says why (one line naming where it breaks); nothing here raises."""
    folder = event_plugin_folder(repository, spot)
    parser = read_param(folder / f"{spot}.param") if folder else None
    if parser is None:
        return SpotPluginConfig(why_not_audited=f"the {spot} event plugin is not installed (no {spot}.param)")
    fleet_key = tracker_key = region_key = None
    for section in parser.sections():
        label = parser.get(section, "Label", fallback="").lower()
        if fleet_key is None and (section in FLEET_CONFIG_NAMES or "spot fleet request config" in label):
            fleet_key = section
        elif tracker_key is None and (section in TRACKER_NAMES or "resource tracker" in label):
            tracker_key = section
        elif region_key is None and (section in REGION_NAMES or label == "region"):
            region_key = section
    uses_tracker = bool(tracker_key) and plugin_setting(repository, spot, tracker_key or "").lower() == "true"
    region = None
    if region_key is not None:  # the setting, else the default its .param gives it
        region = _region(plugin_setting(repository, spot, region_key) or parser.get(region_key, "Default", fallback=""))
    if fleet_key is None:
        return SpotPluginConfig(
            uses_resource_tracker=uses_tracker,
            why_not_audited=f"{spot}.param has no Spot Fleet Request Configurations setting (check --spot-config FILE "
            "audits the configuration from a file)",
            region=region,
        )
    text = plugin_setting(repository, spot, fleet_key)
    try:
        groups = parse_fleet_config(text, f"the {spot} event plugin's {fleet_key}")
    except InvalidSettings as error:
        return SpotPluginConfig(uses_resource_tracker=uses_tracker, why_not_audited=str(error), region=region)
    return SpotPluginConfig(groups, uses_tracker, region=region)


def _region(text: str) -> str | None:
    """A region name as the Spot plug-in's Region setting holds it; anything else (empty, a typo) is not used: the
    check's own region stands in."""
    text = text.strip()
    return text if _REGION.fullmatch(text) else None
