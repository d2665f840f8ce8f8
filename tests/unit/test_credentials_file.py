"""One named profile in the AWS shared credentials file: written readable by its owner only, every other
line left as it was."""

from __future__ import annotations

import configparser
import os
import stat
import sys
from pathlib import Path

import pytest
from spot_iam_plugin.credentials_file import (
    credentials_file_path,
    read_profile_key_id,
    validate_profile_name,
    write_profile,
)

from DeadlineSpotIamSetup.errors import InvalidSettings, SetupError

PROFILE = "DeadlineSpotEventPlugin"
KEY_ID = "AKIAIOSFODNN7NEWKEY1"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYNEWSECRET"

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")

BEFORE = (
    "# credentials of the render farm\n"
    "[default]\n"
    "aws_access_key_id = AKIADEFAULTDEFAULT01\n"
    "aws_secret_access_key = defaultsecretdefaultsecret\n"
    "\n"
)
OLD_SECTION = (
    f"[{PROFILE}]\naws_access_key_id = AKIAOLDOLDOLDOLDOLD1\naws_secret_access_key = oldsecretoldsecretoldsecret\n\n"
)
AFTER = (
    "[other]\n"
    "; a comment kept as it is\n"
    "aws_access_key_id=AKIAOTHEROTHEROTHER1\n"
    "aws_secret_access_key=othersecretothersecret\n"
    "region = eu-west-1\n"
)
NEW_SECTION = f"[{PROFILE}]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"


def parsed(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    parser.read(path, encoding="utf-8")
    return parser


# -- write_profile --------------------------------------------------------------------------------


def test_a_comment_between_our_section_and_the_next_stays_where_it_is(tmp_path: Path):
    target = tmp_path / "credentials"
    comment = "# the admins' profile, do not remove\n"
    target.write_bytes((BEFORE + OLD_SECTION + comment + AFTER).encode())
    write_profile(target, PROFILE, KEY_ID, SECRET)
    assert target.read_text(encoding="utf-8") == BEFORE + NEW_SECTION + "\n" + comment + AFTER


def test_key_lines_written_with_a_colon_are_replaced_not_doubled(tmp_path: Path):
    """botocore reads ``key: value`` like ``key = value``: leaving the old line beside a new one would make the
    whole file unreadable to it (a duplicate option), every profile included."""
    target = tmp_path / "credentials"
    target.write_bytes(f"[{PROFILE}]\naws_access_key_id: AKIAOLDOLDOLDOLDOLD1\naws_secret_access_key:old\n".encode())
    assert read_profile_key_id(target, PROFILE) == "AKIAOLDOLDOLDOLDOLD1"
    write_profile(target, PROFILE, KEY_ID, SECRET)
    assert target.read_text(encoding="utf-8") == NEW_SECTION
    assert parsed(target)[PROFILE]["aws_access_key_id"] == KEY_ID


def test_other_settings_and_comments_inside_our_section_stay_in_place(tmp_path: Path):
    target = tmp_path / "credentials"
    ours = (
        f"[{PROFILE}]\n# written by DeadlineSpotIamSetup\naws_access_key_id = AKIAOLDOLDOLDOLDOLD1\n"
        "region = eu-west-1\naws_secret_access_key = oldsecret\n"
    )
    target.write_bytes((BEFORE + ours + AFTER).encode())
    write_profile(target, PROFILE, KEY_ID, SECRET)
    assert (
        target.read_text(encoding="utf-8")
        == BEFORE
        + (
            f"[{PROFILE}]\n# written by DeadlineSpotIamSetup\naws_access_key_id = {KEY_ID}\nregion = eu-west-1\n"
            f"aws_secret_access_key = {SECRET}\n"
        )
        + AFTER
    )


def test_write_profile_creates_the_file_and_its_folder(tmp_path: Path):
    target = tmp_path / "home" / ".aws" / "credentials"
    write_profile(target, PROFILE, KEY_ID, SECRET)
    assert target.read_text(encoding="utf-8") == NEW_SECTION
    section = parsed(target)[PROFILE]
    assert section["aws_access_key_id"] == KEY_ID
    assert section["aws_secret_access_key"] == SECRET


@posix_only
def test_a_new_credentials_file_is_readable_by_its_owner_only(tmp_path: Path):
    target = tmp_path / ".aws" / "credentials"
    write_profile(target, PROFILE, KEY_ID, SECRET)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) & 0o077 == 0


@posix_only
def test_a_readable_credentials_file_is_replaced_by_an_owner_only_one(tmp_path: Path):
    target = tmp_path / "credentials"
    target.write_text(BEFORE, encoding="utf-8")
    os.chmod(target, 0o644)
    write_profile(target, PROFILE, KEY_ID, SECRET)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_no_temporary_file_is_left_beside_the_credentials_file(tmp_path: Path):
    target = tmp_path / "credentials"
    target.write_text(BEFORE, encoding="utf-8")
    write_profile(target, PROFILE, KEY_ID, SECRET)
    write_profile(target, PROFILE, KEY_ID, SECRET)
    assert [p.name for p in tmp_path.iterdir()] == ["credentials"]


def test_other_profiles_and_comments_stay_byte_for_byte(tmp_path: Path):
    target = tmp_path / "credentials"
    target.write_bytes((BEFORE + AFTER).encode())
    write_profile(target, PROFILE, KEY_ID, SECRET)
    assert target.read_bytes() == (BEFORE + AFTER + "\n" + NEW_SECTION).encode()


def test_an_existing_section_of_that_name_is_replaced_in_place(tmp_path: Path):
    target = tmp_path / "credentials"
    target.write_bytes((BEFORE + OLD_SECTION + AFTER).encode())
    write_profile(target, PROFILE, KEY_ID, SECRET)
    text = target.read_text(encoding="utf-8")
    assert text == BEFORE + NEW_SECTION + "\n" + AFTER
    assert text.count(f"[{PROFILE}]") == 1
    assert "AKIAOLDOLDOLDOLDOLD1" not in text
    assert "oldsecret" not in text


def test_writing_the_same_profile_twice_leaves_one_section(tmp_path: Path):
    target = tmp_path / "credentials"
    target.write_text(BEFORE, encoding="utf-8")
    write_profile(target, PROFILE, "AKIAFIRSTFIRSTFIRST1", "firstsecretfirstsecret")
    write_profile(target, PROFILE, KEY_ID, SECRET)
    assert target.read_text(encoding="utf-8") == BEFORE + NEW_SECTION
    assert parsed(target).sections() == ["default", PROFILE]


def test_a_file_without_a_final_newline_gets_one_before_the_new_section(tmp_path: Path):
    target = tmp_path / "credentials"
    target.write_text("[default]\naws_access_key_id = AKIADEFAULTDEFAULT01", encoding="utf-8")
    write_profile(target, PROFILE, KEY_ID, SECRET)
    assert target.read_text(encoding="utf-8") == (
        "[default]\naws_access_key_id = AKIADEFAULTDEFAULT01\n\n" + NEW_SECTION
    )


def test_a_profile_whose_name_only_starts_alike_is_kept(tmp_path: Path):
    similar = f"[{PROFILE}Old]\naws_access_key_id = AKIASIMILARSIMILAR01\n\n"
    target = tmp_path / "credentials"
    target.write_text(similar, encoding="utf-8")
    write_profile(target, PROFILE, KEY_ID, SECRET)
    assert target.read_text(encoding="utf-8") == similar + NEW_SECTION


def test_windows_line_ends_of_other_profiles_stay_byte_for_byte(tmp_path: Path):
    kept = b"# farm\r\n[default]\r\naws_access_key_id = AKIADEFAULTDEFAULT01\r\n\r\n"
    target = tmp_path / "credentials"
    target.write_bytes(kept + OLD_SECTION.replace("\n", "\r\n").encode())
    write_profile(target, PROFILE, KEY_ID, SECRET)
    written = target.read_bytes()
    assert written.startswith(kept)
    assert b"\n" not in written.replace(b"\r\n", b""), "line ends are mixed"
    assert b"AKIAOLDOLDOLDOLDOLD1" not in written
    assert read_profile_key_id(target, PROFILE) == KEY_ID
    assert parsed(target)[PROFILE]["aws_secret_access_key"] == SECRET


def test_a_credentials_file_that_is_not_utf8_is_refused_with_setup_error(tmp_path: Path):
    original = b"# cl\xe9s du studio\n[default]\naws_access_key_id = AKIADEFAULTDEFAULT01\n"
    target = tmp_path / "credentials"
    target.write_bytes(original)
    with pytest.raises(SetupError):
        write_profile(target, PROFILE, KEY_ID, SECRET)
    assert target.read_bytes() == original


def test_reading_a_key_id_from_a_file_that_is_not_utf8_does_not_raise(tmp_path: Path):
    target = tmp_path / "credentials"
    target.write_bytes(b"# cl\xe9s du studio\n[default]\naws_access_key_id = AKIADEFAULTDEFAULT01\n")
    assert read_profile_key_id(target, "default") in ("AKIADEFAULTDEFAULT01", None)


def test_write_profile_refuses_a_bad_profile_name_before_touching_the_file(tmp_path: Path):
    target = tmp_path / "credentials"
    target.write_text(BEFORE, encoding="utf-8")
    with pytest.raises(InvalidSettings):
        write_profile(target, "default", KEY_ID, SECRET)
    assert target.read_text(encoding="utf-8") == BEFORE


def test_an_unwritable_location_raises_setup_error(tmp_path: Path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(SetupError) as caught:
        write_profile(blocker / "credentials", PROFILE, KEY_ID, SECRET)
    assert SECRET not in str(caught.value)


# -- read_profile_key_id --------------------------------------------------------------------------


def test_read_profile_key_id_returns_the_key_id(tmp_path: Path):
    target = tmp_path / "credentials"
    target.write_text(BEFORE + OLD_SECTION + AFTER, encoding="utf-8")
    assert read_profile_key_id(target, PROFILE) == "AKIAOLDOLDOLDOLDOLD1"
    assert read_profile_key_id(target, "other") == "AKIAOTHEROTHEROTHER1"
    assert read_profile_key_id(target, "default") == "AKIADEFAULTDEFAULT01"


def test_read_profile_key_id_never_answers_the_secret(tmp_path: Path):
    target = tmp_path / "credentials"
    target.write_text(f"[{PROFILE}]\naws_secret_access_key = {SECRET}\n", encoding="utf-8")
    assert read_profile_key_id(target, PROFILE) is None
    target.write_text(
        f"[{PROFILE}]\naws_secret_access_key = {SECRET}\naws_access_key_id = {KEY_ID}\n", encoding="utf-8"
    )
    assert read_profile_key_id(target, PROFILE) == KEY_ID


def test_read_profile_key_id_of_a_written_profile(tmp_path: Path):
    target = tmp_path / "credentials"
    target.write_text(BEFORE + AFTER, encoding="utf-8")
    write_profile(target, PROFILE, KEY_ID, SECRET)
    assert read_profile_key_id(target, PROFILE) == KEY_ID


def test_read_profile_key_id_without_file_or_profile_is_none(tmp_path: Path):
    assert read_profile_key_id(tmp_path / "missing", PROFILE) is None
    target = tmp_path / "credentials"
    target.write_text(BEFORE, encoding="utf-8")
    assert read_profile_key_id(target, PROFILE) is None


# -- profile names --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [PROFILE, "spot.plugin", "a", "user@farm+1", "x" * 64])
def test_usable_profile_names_are_accepted(name: str):
    assert validate_profile_name(name) == name


@pytest.mark.parametrize(
    "name", ["default", "", "[spot]", "spot]", "spot\nplugin", "spot\n", "with space", "x" * 65, "caf\u00e9"]
)
def test_unusable_profile_names_are_refused(name: str):
    with pytest.raises(InvalidSettings):
        validate_profile_name(name)


# -- where the file is ----------------------------------------------------------------------------


def test_the_environment_variable_names_the_credentials_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "elsewhere" / "creds"))
    assert credentials_file_path() == tmp_path / "elsewhere" / "creds"


def test_environment_variables_in_the_variable_are_expanded_as_botocore_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("FARM_HOME", str(tmp_path))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "$FARM_HOME/.aws/credentials")
    assert credentials_file_path() == tmp_path / ".aws" / "credentials"
    write_profile(credentials_file_path(), PROFILE, KEY_ID, SECRET)
    session = __import__("boto3").session.Session(profile_name=PROFILE)
    assert session.get_credentials().access_key == KEY_ID  # botocore reads what was written, where it was written


def test_a_tilde_in_the_environment_variable_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "~/farm/credentials")
    assert credentials_file_path() == tmp_path / "farm" / "credentials"


def test_without_the_variable_the_file_is_in_the_home_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    assert credentials_file_path() == tmp_path / ".aws" / "credentials"
