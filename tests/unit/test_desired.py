"""The desired state built from Settings, and the validation that refuses bad input before any AWS call."""

from __future__ import annotations

import pytest

from DeadlineSpotIamSetup.desired import (
    FLEET_TAGGING_POLICY,
    SPOT_ADMIN_POLICY,
    TRACKER_ACCESS_POLICY,
    TRACKER_ADMIN_POLICY,
    WORKER_POLICY,
    AccessKey,
    CreationOptions,
    CredentialsRole,
    InstanceProfile,
    ManagedPolicy,
    ServiceLinkedRole,
    ServiceRole,
    Settings,
    SpotUser,
    desired_state,
    parse_tag,
    validate_external_id,
    validate_role_arn,
)
from DeadlineSpotIamSetup.errors import InvalidSettings, SetupError


def kinds(settings: Settings) -> list[str]:
    return [identity.kind for identity in desired_state(settings)]


def only(settings: Settings, kind: str):
    found = desired_state(settings).of_kind(kind)
    assert len(found) == 1, found
    return found[0]


def refusal(settings: Settings) -> str:
    with pytest.raises(InvalidSettings) as caught:
        desired_state(settings)
    return str(caught.value)


# -- the default identities -----------------------------------------------------------------------


def test_default_settings_give_every_identity_in_dependency_order():
    assert kinds(Settings()) == [
        "spot-user",
        "access-key",
        "worker-role",
        "instance-profile",
        "fleet-role",
        "tracker-role",
        "service-linked-role",
        "service-linked-role",
        "spot-permissions",
    ]


def test_default_spot_user_gets_both_admin_policies_and_an_access_key():
    user = only(Settings(), "spot-user")
    assert isinstance(user, SpotUser)
    assert user.name == "DeadlineSpotEventPluginAdmin"
    assert user.policies == (SPOT_ADMIN_POLICY, TRACKER_ADMIN_POLICY)
    key = only(Settings(), "access-key")
    assert isinstance(key, AccessKey)
    assert key.user_name == user.name


@pytest.mark.parametrize(
    ("kind", "name", "service", "policy"),
    [
        ("worker-role", "DeadlineSpotWorker", "ec2.amazonaws.com", WORKER_POLICY),
        ("fleet-role", "aws-ec2-spot-fleet-tagging-role", "spotfleet.amazonaws.com", FLEET_TAGGING_POLICY),
        ("tracker-role", "DeadlineResourceTrackerAccessRole", "lambda.amazonaws.com", TRACKER_ACCESS_POLICY),
    ],
)
def test_default_service_roles_are_trusted_by_their_service_with_their_policy(kind, name, service, policy):
    role = only(Settings(), kind)
    assert isinstance(role, ServiceRole)
    assert (role.name, role.service, role.policies) == (name, service, (policy,))


def test_default_service_linked_roles_are_the_two_spot_ones():
    linked = desired_state(Settings()).of_kind("service-linked-role")
    assert all(isinstance(role, ServiceLinkedRole) for role in linked)
    assert {(role.name, role.service) for role in linked} == {
        ("AWSServiceRoleForEC2Spot", "spot.amazonaws.com"),
        ("AWSServiceRoleForEC2SpotFleet", "spotfleet.amazonaws.com"),
    }


def test_fleet_tagging_policy_arn_sits_under_the_service_role_path():
    assert FLEET_TAGGING_POLICY.arn("aws") == "arn:aws:iam::aws:policy/service-role/AmazonEC2SpotFleetTaggingRole"


def test_managed_policy_arn_uses_the_given_partition():
    assert WORKER_POLICY.arn("aws-cn") == "arn:aws-cn:iam::aws:policy/AWSThinkboxDeadlineSpotEventPluginWorkerPolicy"
    assert SPOT_ADMIN_POLICY.arn("aws-us-gov").startswith("arn:aws-us-gov:iam::aws:policy/")


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov", "aws-iso"])
def test_managed_policy_matches_its_arn_in_any_partition(partition):
    assert FLEET_TAGGING_POLICY.matches(f"arn:{partition}:iam::aws:policy/service-role/AmazonEC2SpotFleetTaggingRole")
    assert WORKER_POLICY.matches(f"arn:{partition}:iam::aws:policy/AWSThinkboxDeadlineSpotEventPluginWorkerPolicy")


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::aws:policy/AWSThinkboxDeadlineSpotEventPluginAdminPolicy",  # another managed policy
        "arn:aws:iam::aws:policy/AWSThinkboxDeadlineSpotEventPluginWorkerPolicyV2",  # longer name
        "arn:aws:iam::aws:policy/service-role/AWSThinkboxDeadlineSpotEventPluginWorkerPolicy",  # other path
        "arn:aws:iam::123456789012:policy/AWSThinkboxDeadlineSpotEventPluginWorkerPolicy",  # customer managed
        "arn:aws:s3:::aws:policy/AWSThinkboxDeadlineSpotEventPluginWorkerPolicy",  # other service
        "AWSThinkboxDeadlineSpotEventPluginWorkerPolicy",
        "",
    ],
)
def test_managed_policy_rejects_other_names_paths_and_owners(arn):
    assert not WORKER_POLICY.matches(arn)


def test_managed_policy_with_a_path_rejects_the_same_name_at_the_root_path():
    assert not FLEET_TAGGING_POLICY.matches("arn:aws:iam::aws:policy/AmazonEC2SpotFleetTaggingRole")
    assert ManagedPolicy("AmazonEC2SpotFleetTaggingRole").matches(
        "arn:aws:iam::aws:policy/AmazonEC2SpotFleetTaggingRole"
    )


# -- the role name rules of the AWS managed policies ---------------------------------------------


def test_worker_role_not_starting_with_deadline_spot_is_refused_citing_pass_role():
    message = refusal(Settings(worker_role="Workers"))
    assert "Workers" in message
    assert "iam:PassRole" in message


def test_worker_role_starting_with_deadline_spot_is_accepted():
    assert only(Settings(worker_role="DeadlineSpotRenderNodes"), "worker-role").name == "DeadlineSpotRenderNodes"


@pytest.mark.parametrize("fleet_role", ["MyFleetRole", "aws-ec2-spot-fleet-tagging-role2", "SpotFleetRole"])
def test_fleet_role_other_than_the_default_or_deadline_spot_prefix_is_refused(fleet_role):
    message = refusal(Settings(fleet_role=fleet_role))
    assert repr(fleet_role) in message
    assert "iam:PassRole" in message


@pytest.mark.parametrize("fleet_role", ["aws-ec2-spot-fleet-tagging-role", "DeadlineSpotFleet"])
def test_fleet_role_default_or_deadline_spot_prefix_is_accepted(fleet_role):
    assert only(Settings(fleet_role=fleet_role), "fleet-role").name == fleet_role


def test_tracker_role_must_begin_with_deadline_resource_tracker_access():
    message = refusal(Settings(tracker_role="TrackerRole"))
    assert "DeadlineResourceTrackerAccess" in message
    assert only(Settings(tracker_role="DeadlineResourceTrackerAccessX"), "tracker-role").name == (
        "DeadlineResourceTrackerAccessX"
    )


def test_no_resource_tracker_drops_the_tracker_role_and_the_tracker_admin_policy():
    settings = Settings(resource_tracker=False)
    assert "tracker-role" not in kinds(settings)
    assert only(settings, "spot-user").policies == (SPOT_ADMIN_POLICY,)


def test_no_resource_tracker_does_not_validate_the_unused_tracker_role_name():
    assert "tracker-role" not in kinds(Settings(resource_tracker=False, tracker_role="NotUsed"))


def test_spot_role_mode_gives_a_credentials_role_and_no_user_or_access_key():
    settings = Settings(spot_role="RcsInstanceRole")
    assert kinds(settings)[0] == "spot-role"
    assert "spot-user" not in kinds(settings)
    assert "access-key" not in kinds(settings)
    role = only(settings, "spot-role")
    assert isinstance(role, CredentialsRole)
    assert role.name == "RcsInstanceRole"
    assert role.policies == (SPOT_ADMIN_POLICY, TRACKER_ADMIN_POLICY)


def test_spot_role_mode_refuses_an_invalid_role_name():
    assert "Spot credentials role name" in refusal(Settings(spot_role="bad name"))


def test_access_key_false_drops_only_the_access_key():
    assert kinds(Settings(access_key=False)) == [k for k in kinds(Settings()) if k != "access-key"]


def test_instance_profile_defaults_to_the_worker_role_name():
    profile = only(Settings(worker_role="DeadlineSpotNodes"), "instance-profile")
    assert isinstance(profile, InstanceProfile)
    assert (profile.name, profile.role_name) == ("DeadlineSpotNodes", "DeadlineSpotNodes")


def test_explicit_instance_profile_name_still_holds_the_worker_role():
    profile = only(Settings(instance_profile="RenderProfile"), "instance-profile")
    assert (profile.name, profile.role_name) == ("RenderProfile", "DeadlineSpotWorker")


def test_path_applies_to_the_user_and_instance_profile_but_not_to_roles():
    settings = Settings(path="/deadline/")
    assert only(settings, "spot-user").path == "/deadline/"
    assert only(settings, "instance-profile").path == "/deadline/"
    assert not hasattr(only(settings, "worker-role"), "path")


def test_creation_options_carry_boundary_and_tags():
    boundary = "arn:aws:iam::123456789012:policy/Boundary"
    desired = desired_state(Settings(permissions_boundary=boundary, tags=(("Team", "Render"), ("Empty", ""))))
    assert desired.options == CreationOptions(boundary, (("Team", "Render"), ("Empty", "")))
    assert desired.options.tag_list() == [{"Key": "Team", "Value": "Render"}, {"Key": "Empty", "Value": ""}]


# -- invalid input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        (Settings(spot_user=""), "Spot user name is empty"),
        (Settings(spot_user="Spot User"), "Spot user name"),
        (Settings(spot_user="a" * 65), "Spot user name"),
        (Settings(worker_role="DeadlineSpot" + "x" * 53), "worker role name"),
        (Settings(worker_role="DeadlineSpot#1"), "worker role name"),
        (Settings(instance_profile="p" * 129), "instance profile name"),
        (Settings(instance_profile="bad/name"), "instance profile name"),
        (Settings(tracker_role="DeadlineResourceTrackerAccess Role"), "Resource Tracker role name"),
    ],
)
def test_invalid_names_are_refused(settings, fragment):
    assert fragment in refusal(settings)


def test_instance_profile_name_may_be_up_to_128_characters():
    assert only(Settings(instance_profile="p" * 128), "instance-profile").name == "p" * 128


def test_role_name_of_64_characters_is_accepted():
    name = "DeadlineSpot" + "x" * 52
    assert len(name) == 64
    assert only(Settings(worker_role=name), "worker-role").name == name


@pytest.mark.parametrize("path", ["", "deadline", "/deadline", "deadline/", "/dead line/", "/" + "x" * 511 + "/"])
def test_invalid_paths_are_refused(path):
    assert "path" in refusal(Settings(path=path))


@pytest.mark.parametrize("path", ["/", "/deadline/", "/a/b/c/"])
def test_valid_paths_are_accepted(path):
    assert only(Settings(path=path), "spot-user").path == path


@pytest.mark.parametrize(
    "boundary",
    [
        "not-an-arn",
        "arn:aws:iam::123456789012:role/Boundary",
        "arn:aws:iam::12345:policy/Boundary",
        "arn:aws:s3:::bucket/policy",
        "arn:aws-xx:iam::123456789012:policy/Boundary",
    ],
)
def test_invalid_permissions_boundary_arns_are_refused(boundary):
    assert "permissions boundary" in refusal(Settings(permissions_boundary=boundary))


@pytest.mark.parametrize(
    "boundary",
    [
        "arn:aws:iam::123456789012:policy/Boundary",
        "arn:aws-cn:iam::123456789012:policy/team/Boundary",
        "arn:aws:iam::aws:policy/PowerUserAccess",
    ],
)
def test_valid_permissions_boundary_arns_are_accepted(boundary):
    assert desired_state(Settings(permissions_boundary=boundary)).options.permissions_boundary == boundary


@pytest.mark.parametrize("key", ["aws:createdBy", "AWS:Team", "Aws:x"])
def test_tag_keys_with_the_reserved_aws_prefix_are_refused(key):
    assert "tag key" in refusal(Settings(tags=((key, "v"),)))


def test_duplicate_tag_keys_are_refused():
    assert "given twice" in refusal(Settings(tags=(("Team", "a"), ("Team", "b"))))


def test_more_than_50_tags_are_refused_and_50_accepted():
    fifty = tuple((f"k{n}", "v") for n in range(50))
    assert len(desired_state(Settings(tags=fifty)).options.tags) == 50
    assert "51 tags" in refusal(Settings(tags=fifty + (("k50", "v"),)))


@pytest.mark.parametrize(
    ("tag", "fragment"),
    [
        (("k" * 129, "v"), "tag key"),
        (("", "v"), "tag key"),
        (("Team", "v" * 257), "tag value"),
        (("Team", "semi;colon"), "tag value"),
    ],
)
def test_invalid_tag_keys_and_values_are_refused(tag, fragment):
    assert fragment in refusal(Settings(tags=(tag,)))


@pytest.mark.parametrize(
    ("value", "shown"),
    [("render#2", "'#'"), ('say "hi"', "'\"'"), ("$HOME", "'$'"), ("~/farm", "'~'"), ("a\tb", "U+0009")],
)
def test_a_tag_value_with_a_character_iam_refuses_names_it_and_the_allowed_set(value, shown):
    """IAM API Reference, Tag data type: Value pattern [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*, 0-256 characters."""
    message = refusal(Settings(tags=(("team", value),)))
    assert f"tag value for 'team' has {shown}, which IAM does not allow in a tag value" in message
    assert "letters, digits, spaces and _ . : / = + - @" in message


@pytest.mark.parametrize("value", ["Équipe Lumière", "東京", "a\u00a0b", "team:render/2=+-@_.", "Ⅻ", ""])
def test_tag_values_iam_accepts_are_accepted(value):
    """\\p{L}, \\p{N} and \\p{Z} are every letter, number and separator (a no-break space is \\p{Z})."""
    assert desired_state(Settings(tags=(("team", value),))).options.tags == (("team", value),)


def test_a_tag_key_with_a_character_iam_refuses_names_it():
    assert "tag key 'cost#center' has '#'" in refusal(Settings(tags=(("cost#center", "1"),)))


def test_a_tag_value_over_iams_length_is_refused_with_its_length():
    assert "tag value for 'team' is 257 characters: IAM allows at most 256" in refusal(
        Settings(tags=(("team", "v" * 257),))
    )


def test_every_problem_is_reported_in_one_message():
    message = refusal(
        Settings(
            worker_role="Workers",
            path="bad",
            permissions_boundary="nope",
            tags=(("aws:x", "1"),),
        )
    )
    assert "worker role name 'Workers'" in message
    assert "path 'bad'" in message
    assert "permissions boundary 'nope'" in message
    assert "tag key 'aws:x'" in message
    assert "\n" not in message


def test_invalid_settings_is_a_setup_error():
    assert issubclass(InvalidSettings, SetupError)


@pytest.mark.parametrize(
    "settings",
    [
        Settings(worker_role="DeadlineSpotWorker\n"),
        Settings(spot_user="DeadlineSpotEventPluginAdmin\n"),
        Settings(path="/deadline/\n"),
        Settings(permissions_boundary="arn:aws:iam::123456789012:policy/Boundary\n"),
    ],
)
def test_values_with_a_trailing_newline_are_refused(settings):
    with pytest.raises(InvalidSettings):
        desired_state(settings)


def test_iam_names_with_non_ascii_letters_are_refused():
    with pytest.raises(InvalidSettings):
        desired_state(Settings(worker_role="DeadlineSpotWörker"))


@pytest.mark.parametrize(
    ("validate", "value"),
    [
        (validate_role_arn, "arn:aws:iam::123456789012:role/Admin\n"),
        (validate_external_id, "external-id\n"),
    ],
)
def test_role_arn_and_external_id_with_a_trailing_newline_are_refused(validate, value):
    with pytest.raises(InvalidSettings):
        validate(value)


# -- small parsers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Team=Render", ("Team", "Render")),
        ("Empty=", ("Empty", "")),
        ("Expr=a=b", ("Expr", "a=b")),
        ("Spaced Key=some value", ("Spaced Key", "some value")),
    ],
)
def test_parse_tag_splits_at_the_first_equals_sign(text, expected):
    assert parse_tag(text) == expected


@pytest.mark.parametrize("text", ["novalue", "=value", ""])
def test_parse_tag_refuses_text_without_key_and_equals_sign(text):
    with pytest.raises(InvalidSettings, match="KEY=VALUE"):
        parse_tag(text)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:role/Admin",
        "arn:aws-cn:iam::123456789012:role/team/Admin",
        "arn:aws-us-gov:iam::123456789012:role/Admin",
    ],
)
def test_validate_role_arn_returns_a_valid_role_arn(arn):
    assert validate_role_arn(arn) == arn


@pytest.mark.parametrize(
    "arn",
    [
        "notanarn",
        "arn:aws:iam::123456789012:user/Admin",
        "arn:aws:iam::12345678901:role/Admin",
        "arn:aws:sts::123456789012:assumed-role/Admin/session",
        "arn:aws:iam::123456789012:role/",
    ],
)
def test_validate_role_arn_refuses_anything_but_a_role_arn(arn):
    with pytest.raises(InvalidSettings, match="role ARN"):
        validate_role_arn(arn)


@pytest.mark.parametrize("external_id", ["ab", "Ext-ID_1+=,.@:/", "x" * 1224])
def test_validate_external_id_accepts_2_to_1224_allowed_characters(external_id):
    assert validate_external_id(external_id) == external_id


@pytest.mark.parametrize("external_id", ["x", "", "x" * 1225, "has space", "semi;colon"])
def test_validate_external_id_refuses_bad_ids(external_id):
    with pytest.raises(InvalidSettings, match="external ID"):
        validate_external_id(external_id)
