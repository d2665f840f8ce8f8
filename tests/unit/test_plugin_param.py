"""The event plugin's plugin.param: the settings Deadline shows in Configure Events, and their agreement with
the keys and defaults the plugin reads."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from spot_iam_plugin.settings import DELIVERY_CHOICES, ROLE_MODE, USER_MODE, PluginSettings, read_settings

from DeadlineSpotIamSetup.desired import MAX_KEY_AGE_DAYS
from DeadlineSpotIamSetup.errors import InvalidSettings
from DeadlineSpotIamSetup.waits import KEY_MAX_AGE_DAYS, KEY_RETIRE_GRACE

PARAM_FILE = Path(__file__).resolve().parents[2] / "plugin.param"

CONTRACT_KEYS = (
    "State",
    "CreateMissing",
    "BootstrapAccessKeyId",
    "BootstrapSecretAccessKey",
    "BootstrapProfile",
    "BootstrapRoleArn",
    "BootstrapExternalId",
    "Region",
    "SpotUserName",
    "WorkerRoleName",
    "InstanceProfileName",
    "FleetRoleName",
    "TrackerRoleName",
    "EnableResourceTracker",
    "CheckIntervalHours",
    "ForgetBootstrapCredential",
    "RotateKeyAfterDays",
    "CreateServiceLinkedRoles",
    "AllowUnknownRegion",
)
REQUIRED_FIELDS = ("Type", "Label", "Category", "CategoryOrder", "Index", "Description")
KNOWN_TYPES = {"enum", "boolean", "integer", "float", "string", "password", "multilinestring", "filename", "folder"}


def load() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(PARAM_FILE.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def param() -> configparser.ConfigParser:
    return load()


def defaults(param: configparser.ConfigParser) -> dict[str, str]:
    return {section: param[section].get("Default", "") for section in param.sections()}


def keys_read_by_read_settings() -> list[str]:
    asked: list[str] = []

    def get(key: str, default: str) -> str:
        asked.append(key)
        return default

    read_settings(get)
    return asked


def items(section: configparser.SectionProxy) -> list[str]:
    return section["Items"].split(";")


def test_state_is_an_enum_that_defaults_to_disabled(param: configparser.ConfigParser):
    state = param["State"]
    assert state["Type"].lower() == "enum"
    assert state["Items"] == "Global Enabled;Opt-In;Disabled"
    assert state["Default"] == "Disabled"


@pytest.mark.parametrize("key", CONTRACT_KEYS)
def test_every_contract_key_is_a_setting(param: configparser.ConfigParser, key: str):
    assert param.has_section(key)


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("CreateMissing", "boolean"),
        ("EnableResourceTracker", "boolean"),
        ("ForgetBootstrapCredential", "boolean"),
        ("CreateServiceLinkedRoles", "boolean"),
        ("AllowUnknownRegion", "boolean"),
        ("CheckIntervalHours", "integer"),
        ("RotateKeyAfterDays", "integer"),
        ("BootstrapSecretAccessKey", "password"),
        ("KeyDelivery", "enum"),
        ("SpotCredentialsMode", "enum"),
        ("Tags", "multilinestring"),
    ],
)
def test_settings_have_the_type_their_reader_expects(param: configparser.ConfigParser, key: str, kind: str):
    assert param[key]["Type"].lower() == kind


def test_only_the_secrets_are_password_fields(param: configparser.ConfigParser):
    passwords = [s for s in param.sections() if param[s]["Type"].lower() == "password"]
    assert passwords == ["BootstrapSecretAccessKey", "DeliveredSecretAccessKey"]


def test_every_section_has_every_field_filled_in(param: configparser.ConfigParser):
    incomplete = [
        f"{section}.{name}"
        for section in param.sections()
        for name in REQUIRED_FIELDS
        if not param[section].get(name, "").strip()
    ]
    assert incomplete == []


def test_every_type_is_one_deadline_knows(param: configparser.ConfigParser):
    assert {param[s]["Type"].lower() for s in param.sections()} <= KNOWN_TYPES


def test_category_order_and_index_are_consistent_numbers(param: configparser.ConfigParser):
    order_of: dict[str, set[int]] = {}
    indexes: dict[str, list[int]] = {}
    for section in param.sections():
        category = param[section]["Category"]
        order_of.setdefault(category, set()).add(int(param[section]["CategoryOrder"]))
        indexes.setdefault(category, []).append(int(param[section]["Index"]))
    assert all(len(orders) == 1 for orders in order_of.values()), order_of
    assert all(len(found) == len(set(found)) for found in indexes.values()), indexes


def test_every_enum_default_is_one_of_its_items(param: configparser.ConfigParser):
    for section in param.sections():
        if param[section]["Type"].lower() == "enum":
            assert param[section]["Default"] in items(param[section]), section


def test_enum_items_are_the_choices_the_reader_accepts(param: configparser.ConfigParser):
    assert tuple(items(param["KeyDelivery"])) == DELIVERY_CHOICES
    assert tuple(items(param["SpotCredentialsMode"])) == (USER_MODE, ROLE_MODE)


def test_boolean_defaults_are_true_or_false(param: configparser.ConfigParser):
    for section in param.sections():
        if param[section]["Type"].lower() == "boolean":
            assert param[section]["Default"] in ("True", "False"), section


@pytest.mark.parametrize("setting", ["CheckIntervalHours", "RotateKeyAfterDays"])
def test_integer_bounds_match_what_the_reader_accepts(param: configparser.ConfigParser, setting: str):
    bounds = param[setting]
    low, high = bounds["Minimum"], bounds["Maximum"]
    read_settings(lambda key, default: low if key == setting else default)
    read_settings(lambda key, default: high if key == setting else default)
    for outside in (str(int(low) - 1), str(int(high) + 1)):
        with pytest.raises(InvalidSettings):
            read_settings(lambda key, default, value=outside: value if key == setting else default)


def test_rotate_key_after_days_is_the_engines_age_limit(param: configparser.ConfigParser):
    rotate = param["RotateKeyAfterDays"]
    assert (rotate["Category"], rotate["Label"]) == ("Options", "Rotate Key After Days")
    assert int(rotate["Index"]) == int(param["KeyDelivery"]["Index"]) + 1  # next to Key Delivery
    assert (int(rotate["Minimum"]), int(rotate["Maximum"])) == (0, MAX_KEY_AGE_DAYS)
    assert int(rotate["Default"]) == KEY_MAX_AGE_DAYS
    assert f"{KEY_RETIRE_GRACE.days} days" in rotate["Description"] and "0: never" in rotate["Description"]
    for days in ("0", rotate["Default"], rotate["Maximum"]):
        settings = read_settings(lambda key, default, value=days: value if key == "RotateKeyAfterDays" else default)
        assert settings.engine_settings().key_max_age_days == int(days)


def test_the_param_defaults_read_as_the_plugins_defaults(param: configparser.ConfigParser):
    given = defaults(param)
    settings = read_settings(lambda key, default: given.get(key, default))
    expected = PluginSettings()
    differing = {
        name: (getattr(settings, name), getattr(expected, name))
        for name in expected.__dataclass_fields__
        if getattr(settings, name) != getattr(expected, name)
    }
    assert differing == {}


def test_the_param_defaults_give_usable_engine_and_access_settings(param: configparser.ConfigParser):
    given = defaults(param)
    settings = read_settings(lambda key, default: given.get(key, default))
    settings.engine_settings()
    settings.aws_access()


def test_every_key_the_reader_asks_for_is_a_setting(param: configparser.ConfigParser):
    asked = keys_read_by_read_settings()
    assert asked, "read_settings asked for nothing"
    assert [key for key in asked if not param.has_section(key)] == []


def test_every_setting_but_state_is_read(param: configparser.ConfigParser):
    asked = set(keys_read_by_read_settings())
    assert [s for s in param.sections() if s not in asked and s != "State"] == []


def test_the_reader_asks_with_the_param_defaults(param: configparser.ConfigParser):
    given = defaults(param)
    passed: dict[str, str] = {}

    def get(key: str, default: str) -> str:
        passed[key] = default
        return default

    read_settings(get)
    differing = {key: (default, given[key]) for key, default in passed.items() if default != given.get(key)}
    assert differing == {}


def test_descriptions_are_plain_text(param: configparser.ConfigParser):
    """Monitor's Configure Events dialog shows a description as it is written: no Markdown."""
    marked = [section for section in param.sections() if "`" in param[section].get("Description", "")]
    assert marked == []


def test_the_settings_this_plugin_keeps_say_not_to_edit_them(param: configparser.ConfigParser):
    kept = [section for section in param.sections() if param[section]["Category"].startswith("Kept by this plug-in")]
    assert set(kept) == {"DeliveredAccessKeyId", "DeliveredSecretAccessKey", "DeliveredKeyCheck", "CheckNowRequest"}
    for section in kept:
        assert param[section]["Category"] == "Kept by this plug-in (do not edit)"
        assert param[section]["Description"].startswith("Kept by this plug-in, not to be edited.")
