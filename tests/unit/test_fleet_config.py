"""The Spot Fleet Request Configurations: parsing (one-line refusals naming where the input breaks) and the audit
of each group against the managed fleet role and instance profile."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from DeadlineSpotIamSetup.errors import InvalidSettings
from DeadlineSpotIamSetup.fleet_config import (
    FleetExpectations,
    FleetGroup,
    GroupProblem,
    LaunchSpec,
    ProfileRef,
    TemplateRef,
    audit_group,
    expected_fleet_role_arn,
    expected_profile_arn,
    parse_fleet_config,
    referenced_profile_names,
    referenced_templates,
)
from DeadlineSpotIamSetup.values import ProfileInfo

SOURCE = "spot-config.json"
ACCOUNT = "123456789012"
FLEET_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/aws-ec2-spot-fleet-tagging-role"
PROFILE_ARN = f"arn:aws:iam::{ACCOUNT}:instance-profile/DeadlineSpotWorker"
EXPECT = FleetExpectations("aws", ACCOUNT, "aws-ec2-spot-fleet-tagging-role", "DeadlineSpotWorker", "DeadlineSpot")
WORKER_PROFILE = ProfileInfo(PROFILE_ARN, ("DeadlineSpotWorker",))
TAGS = [
    {"ResourceType": "spot-fleet-request", "Tags": [{"Key": "DeadlineTrackedAWSResource", "Value": "SpotEventPlugin"}]}
]

CONFIG = {
    "gpu_group": {
        "AllocationStrategy": "capacityOptimized",
        "IamFleetRole": FLEET_ROLE_ARN,
        "LaunchSpecifications": [
            {
                "IamInstanceProfile": {"Arn": PROFILE_ARN},
                "ImageId": "ami-0123456789abcdef0",
                "InstanceType": "g4dn.xlarge",
                "SubnetId": "subnet-0abc",
                "KeyName": None,
                "BlockDeviceMappings": [{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 100.5}}],
            }
        ],
        "TargetCapacity": 1,
        "Type": "maintain",
        "ReplaceUnhealthyInstances": True,
        "TagSpecifications": TAGS,
    },
    "cpu_group": {
        "IamFleetRole": FLEET_ROLE_ARN,
        "LaunchTemplateConfigs": [
            {
                "LaunchTemplateSpecification": {"LaunchTemplateId": "lt-0abc", "Version": "$Latest"},
                "Overrides": [{"InstanceType": "c5.large", "SubnetId": "subnet-0abc"}],
            }
        ],
        "TargetCapacity": 2,
    },
}


def parse(config: object) -> tuple[FleetGroup, ...]:
    return parse_fleet_config(json.dumps(config), SOURCE)


def refusal(text: str) -> str:
    with pytest.raises(InvalidSettings) as caught:
        parse_fleet_config(text, SOURCE)
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message
    assert message.startswith(f"{SOURCE}: ")
    return message


def group_refusal(group: object) -> str:
    return refusal(json.dumps({"gpu_group": group}))


def spec(profile: object = None, **fields: object) -> dict[str, object]:
    entry: dict[str, object] = {"ImageId": "ami-0123456789abcdef0", "InstanceType": "c5.large", **fields}
    if profile is not None:
        entry["IamInstanceProfile"] = profile
    return entry


def group_of(*profiles: ProfileRef, fleet_role: str | None = FLEET_ROLE_ARN, **fields) -> FleetGroup:
    return FleetGroup(
        "gpu_group",
        fleet_role,
        profiles,
        fields.get("without", ()),
        fields.get("templates", ()),
    )


def profile_ref(arn: str | None = PROFILE_ARN, name: str | None = "DeadlineSpotWorker", index: int = 0) -> ProfileRef:
    return ProfileRef(f"LaunchSpecifications[{index}].IamInstanceProfile", arn, name)


def only_problem(group: FleetGroup, profiles=None, templates=None) -> GroupProblem:
    found = audit_group(
        group, EXPECT, {"DeadlineSpotWorker": WORKER_PROFILE} if profiles is None else profiles, templates or {}
    )
    assert len(found) == 1, found
    for line in (found[0].problem, found[0].remedy):
        assert line and "\n" not in line
    return found[0]


# -- parsing -------------------------------------------------------------------------------------------------------


def test_a_two_group_config_parses_into_its_groups_in_order():
    gpu, cpu = parse(CONFIG)
    assert gpu == FleetGroup(
        "gpu_group",
        FLEET_ROLE_ARN,
        (ProfileRef("LaunchSpecifications[0].IamInstanceProfile", PROFILE_ARN, "DeadlineSpotWorker"),),
        (),
        (),
        (LaunchSpec("LaunchSpecifications[0]", "ami-0123456789abcdef0", "g4dn.xlarge", ("subnet-0abc",)),),
    )
    assert gpu.profiles[0].where == "LaunchSpecifications[0].IamInstanceProfile"
    assert cpu.name == "cpu_group" and cpu.fleet_role_arn == FLEET_ROLE_ARN
    assert cpu.profiles == () and cpu.specs_without_profile == ()
    (template,) = cpu.templates
    assert template.where == "LaunchTemplateConfigs[0].LaunchTemplateSpecification"
    assert (template.template_id, template.template_name, template.version) == ("lt-0abc", None, "$Latest")
    reversed_groups = parse(dict(reversed(CONFIG.items())))
    assert [group.name for group in reversed_groups] == ["cpu_group", "gpu_group"]


def test_a_launch_specification_names_what_its_launch_is_authorized_on():
    # EC2's SpotFleetLaunchSpecification: SubnetId "To specify multiple subnets, separate them using commas"; the
    # security groups by GroupId; a field of another type is left out (EC2 refuses it when the fleet is requested).
    spec = {
        "IamInstanceProfile": {"Arn": PROFILE_ARN},
        "ImageId": "ami-1",
        "InstanceType": "c5.large",
        "SubnetId": "subnet-1, subnet-2",
        "SecurityGroups": [{"GroupId": "sg-1"}, {"GroupName": "default"}, "sg-junk", {"GroupId": 7}],
        "KeyName": "render",
    }
    (group,) = parse({"g": {"IamFleetRole": FLEET_ROLE_ARN, "LaunchSpecifications": [spec, {"ImageId": 5}]}})
    assert group.launch_specs == (
        LaunchSpec("LaunchSpecifications[0]", "ami-1", "c5.large", ("subnet-1", "subnet-2"), ("sg-1",), "render"),
        LaunchSpec("LaunchSpecifications[1]"),
    )


@pytest.mark.parametrize("text", ["", "   ", "\n\t\r\n"])
def test_empty_or_blank_text_means_no_fleet(text):
    assert parse_fleet_config(text, SOURCE) == ()


def test_an_empty_object_has_no_group():
    assert parse({}) == ()


def test_a_profile_given_by_name_or_by_an_arn_with_a_path():
    (group,) = parse(
        {
            "g": {
                "LaunchSpecifications": [
                    spec({"Name": "DeadlineSpotOther"}),
                    spec({"Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/a/b/DeadlineSpotPathed"}),
                    spec(),
                ]
            }
        }
    )
    assert group.fleet_role_arn is None
    assert group.profiles[0] == ProfileRef("LaunchSpecifications[0].IamInstanceProfile", None, "DeadlineSpotOther")
    assert group.profiles[1].name == "DeadlineSpotPathed"
    assert group.specs_without_profile == ("LaunchSpecifications[2]",)


def test_profile_name_falls_back_to_the_arns_last_path_segment():
    assert ProfileRef("x", "arn:aws:iam::1:instance-profile/a/b/Name", None).profile_name == "Name"
    assert ProfileRef("x", "arn:aws:iam::1:instance-profile/Name", "Given").profile_name == "Given"
    assert ProfileRef("x", "arn:aws:iam::1:role/NotAProfile", None).profile_name is None


def test_a_template_given_by_name_defaults_to_the_default_version():
    (group,) = parse({"g": {"LaunchTemplateConfigs": [{"LaunchTemplateSpecification": {"LaunchTemplateName": "T"}}]}})
    (template,) = group.templates
    assert (template.template_id, template.template_name, template.version) == (None, "T", "$Default")
    assert template.describe() == "launch template T version $Default"
    assert TemplateRef("w", None, "MyTemplate", "3").describe() == "launch template MyTemplate version 3"
    assert TemplateRef("w", "lt-0abc", None, "$Latest").describe() == "launch template lt-0abc version $Latest"


def test_invalid_json_names_line_and_column():
    message = refusal('{\n  "gpu_group": {\n    "TargetCapacity": 1,\n  }\n}')
    assert message.startswith(f"{SOURCE}: not valid JSON at line 4 column 3: ")


@pytest.mark.parametrize("text", ["[]", "1", "null", '"text"', "true", "[[[[1]]]]", "1e400", "NaN"])
def test_a_top_level_that_is_not_an_object_is_refused(text):
    assert refusal(text) == f"{SOURCE}: must be a JSON object with one entry per Deadline group"


@pytest.mark.parametrize("value", [[], 1, None, "text", True, [[{}]]])
def test_a_group_that_is_not_an_object_is_refused(value):
    assert refusal(json.dumps({"gpu_group": value})) == f"{SOURCE}: group 'gpu_group' is not a JSON object"


@pytest.mark.parametrize("value", [1, None, ["arn"], {"Arn": FLEET_ROLE_ARN}, False])
def test_a_fleet_role_that_is_not_a_string_is_refused(value):
    assert group_refusal({"IamFleetRole": value}) == (
        f"{SOURCE}: group 'gpu_group': IamFleetRole must be a string (an IAM role ARN)"
    )


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ({"LaunchSpecifications": {}}, "LaunchSpecifications must be a JSON array"),
        ({"LaunchSpecifications": None}, "LaunchSpecifications must be a JSON array"),
        ({"LaunchTemplateConfigs": "lt-0abc"}, "LaunchTemplateConfigs must be a JSON array"),
        ({"LaunchSpecifications": [spec(), 3]}, "LaunchSpecifications[1] is not a JSON object"),
        ({"LaunchTemplateConfigs": [[]]}, "LaunchTemplateConfigs[0] is not a JSON object"),
        (
            {"LaunchSpecifications": [spec(), spec("DeadlineSpotWorker")]},
            "LaunchSpecifications[1].IamInstanceProfile is not a JSON object",
        ),
        (
            {"LaunchSpecifications": [spec({"Arn": PROFILE_ARN}), spec({})]},
            "LaunchSpecifications[1].IamInstanceProfile needs an Arn or a Name",
        ),
        (
            {"LaunchSpecifications": [spec({"Arn": "", "Name": ""})]},
            "LaunchSpecifications[0].IamInstanceProfile needs an Arn or a Name",
        ),
        (
            {"LaunchSpecifications": [spec({"Arn": 12})]},
            "LaunchSpecifications[0].IamInstanceProfile.Arn must be a string",
        ),
        (
            {"LaunchSpecifications": [spec({"Name": None, "Arn": PROFILE_ARN})]},
            "LaunchSpecifications[0].IamInstanceProfile.Name must be a string",
        ),
        (
            {"LaunchTemplateConfigs": [{"Overrides": []}]},
            "LaunchTemplateConfigs[0] needs a LaunchTemplateSpecification",
        ),
        (
            {"LaunchTemplateConfigs": [{"LaunchTemplateSpecification": "lt-0abc"}]},
            "LaunchTemplateConfigs[0].LaunchTemplateSpecification is not a JSON object",
        ),
        (
            {"LaunchTemplateConfigs": [{"LaunchTemplateSpecification": {"Version": "1"}}]},
            "LaunchTemplateConfigs[0].LaunchTemplateSpecification needs a LaunchTemplateId or a LaunchTemplateName",
        ),
        (
            {"LaunchTemplateConfigs": [{"LaunchTemplateSpecification": {"LaunchTemplateId": ["lt-0abc"]}}]},
            "LaunchTemplateConfigs[0].LaunchTemplateSpecification.LaunchTemplateId must be a string",
        ),
        (
            {"LaunchTemplateConfigs": [{"LaunchTemplateSpecification": {"LaunchTemplateId": "lt-0abc", "Version": 3}}]},
            "LaunchTemplateConfigs[0].LaunchTemplateSpecification.Version must be a string",
        ),
    ],
)
def test_each_malformed_part_is_refused_with_its_location(group, expected):
    assert group_refusal(group) == f"{SOURCE}: group 'gpu_group': {expected}"


def test_a_duplicated_group_is_refused():
    text = '{"gpu_group": {}, "cpu_group": {}, "gpu_group": {"TargetCapacity": 2}}'
    assert refusal(text) == f"{SOURCE}: group 'gpu_group' appears twice: Deadline would use only one of them"


def test_a_key_repeated_inside_a_group_is_not_a_duplicated_group():
    (group,) = parse_fleet_config('{"g": {"IamFleetRole": "first", "IamFleetRole": "second"}}', SOURCE)
    assert group.fleet_role_arn == "second"


def test_a_text_over_one_megabyte_is_refused():
    big = json.dumps({"g": {"Padding": "x" * 1_000_000}})
    assert "larger than 1 MB" in refusal(big)
    wide = json.dumps({"g": {"Padding": "é" * 600_000}}, ensure_ascii=False)  # 600 000 characters, 1.2 MB
    assert "larger than 1 MB" in refusal(wide)


def test_any_json_value_gives_a_line_never_a_traceback():
    assert "nested too deeply" in refusal("[" * 200_000 + "]" * 200_000)
    assert "not usable JSON" in refusal('{"g": ' + "9" * 5000 + "}")
    assert "group 'g' is not a JSON object" in refusal('{"g": -Infinity}')


def test_a_group_name_with_a_newline_stays_on_one_line():
    assert refusal(json.dumps({"a\nb": 1})) == f"{SOURCE}: group 'a\\nb' is not a JSON object"


def test_the_names_and_templates_to_look_up_are_each_given_once():
    groups = parse(
        {
            "a": {
                "LaunchSpecifications": [spec({"Arn": PROFILE_ARN}), spec({"Name": "deadlinespotworker"})],
                "LaunchTemplateConfigs": [{"LaunchTemplateSpecification": {"LaunchTemplateId": "lt-1"}}],
            },
            "b": {
                "LaunchSpecifications": [spec({"Name": "DeadlineSpotOther"}), spec({"Name": "not valid!"})],
                "LaunchTemplateConfigs": [
                    {"LaunchTemplateSpecification": {"LaunchTemplateName": "T", "Version": "2"}},
                    {"LaunchTemplateSpecification": {"LaunchTemplateId": "lt-1"}},
                ],
            },
        }
    )
    assert referenced_profile_names(groups) == ("DeadlineSpotWorker", "DeadlineSpotOther")
    assert referenced_templates(groups) == (
        TemplateRef("LaunchTemplateConfigs[0].LaunchTemplateSpecification", "lt-1", None),
        TemplateRef("LaunchTemplateConfigs[0].LaunchTemplateSpecification", None, "T", "2"),
    )


# -- the audit -----------------------------------------------------------------------------------------------------


def test_the_expected_arns():
    assert expected_fleet_role_arn(EXPECT) == FLEET_ROLE_ARN
    assert expected_profile_arn(EXPECT) == PROFILE_ARN
    china = FleetExpectations("aws-cn", "210987654321", "R", "P", "DeadlineSpot")
    assert expected_profile_arn(china) == "arn:aws-cn:iam::210987654321:instance-profile/P"


def test_a_correct_config_has_no_problem():
    gpu, cpu = parse(CONFIG)
    profiles = {"DeadlineSpotWorker": WORKER_PROFILE}
    templates = {cpu.templates[0]: profile_ref(index=0)}
    assert audit_group(gpu, EXPECT, profiles, templates) == []
    assert audit_group(cpu, EXPECT, profiles, templates) == []


def test_a_missing_fleet_role_is_a_problem():
    found = only_problem(group_of(profile_ref(), fleet_role=None))
    assert found.problem.startswith("IamFleetRole is missing")
    assert found.remedy == f"set IamFleetRole to {FLEET_ROLE_ARN}"


@pytest.mark.parametrize(
    ("arn", "why"),
    [
        ("", "is not an ARN"),
        ("aws-ec2-spot-fleet-tagging-role", "is not an ARN"),
        (f"arn:aws:iam::{ACCOUNT}:user/aws-ec2-spot-fleet-tagging-role", "is not an IAM role ARN"),
        (f"arn:aws:s3::{ACCOUNT}:role/aws-ec2-spot-fleet-tagging-role", "is not an IAM role ARN"),
        ("arn:aws:iam::12345:role/aws-ec2-spot-fleet-tagging-role", "is not an IAM role ARN"),
        (f"arn:aws:iam::{ACCOUNT}:role/", "is not an IAM role ARN"),
        (
            "arn:aws:iam::111111111111:role/aws-ec2-spot-fleet-tagging-role",
            f"names account 111111111111, not this account {ACCOUNT}",
        ),
        (f"arn:aws-cn:iam::{ACCOUNT}:role/aws-ec2-spot-fleet-tagging-role", "is in partition aws-cn, not aws"),
        (
            f"arn:aws:iam::{ACCOUNT}:role/SomeOtherRole",
            "names role SomeOtherRole, not the managed fleet role aws-ec2-spot-fleet-tagging-role",
        ),
        (f"arn:aws:iam::{ACCOUNT}:role/service-role/aws-ec2-spot-fleet-tagging-role", "under a path"),
    ],
)
def test_a_wrong_fleet_role_is_a_problem_naming_the_corrected_arn(arn, why):
    found = only_problem(group_of(profile_ref(), fleet_role=arn))
    assert found.problem.startswith("IamFleetRole ")
    assert why in found.problem
    assert found.remedy == f"set IamFleetRole to {FLEET_ROLE_ARN}"


def test_a_fleet_role_differing_only_in_case_is_accepted():
    arn = f"arn:aws:iam::{ACCOUNT}:role/AWS-EC2-Spot-Fleet-Tagging-Role"
    assert (
        audit_group(group_of(profile_ref(), fleet_role=arn), EXPECT, {"DeadlineSpotWorker": WORKER_PROFILE}, {}) == []
    )


@pytest.mark.parametrize(
    ("arn", "why"),
    [
        ("DeadlineSpotWorker", "is not an ARN"),
        (f"arn:aws:iam::{ACCOUNT}:role/DeadlineSpotWorker", "is not an IAM instance profile ARN"),
        (
            "arn:aws:iam::111111111111:instance-profile/DeadlineSpotWorker",
            f"names account 111111111111, not this account {ACCOUNT}",
        ),
        (f"arn:aws-us-gov:iam::{ACCOUNT}:instance-profile/DeadlineSpotWorker", "is in partition aws-us-gov, not aws"),
    ],
)
def test_a_wrong_profile_arn_is_a_problem_naming_the_corrected_arn(arn, why):
    found = only_problem(group_of(profile_ref(arn, None)))
    assert found.problem.startswith(f"LaunchSpecifications[0].IamInstanceProfile {arn}: {why}")
    assert found.remedy == f"set LaunchSpecifications[0].IamInstanceProfile.Arn to {PROFILE_ARN}"


def test_a_missing_managed_profile_is_a_problem_the_setup_fixes():
    found = only_problem(group_of(profile_ref()), profiles={"DeadlineSpotWorker": None})
    assert found.problem == f"LaunchSpecifications[0].IamInstanceProfile {PROFILE_ARN}: does not exist in IAM"
    assert found.remedy == "apply this tool's setup: it creates the managed instance profile"
    assert not found.unchecked


def test_a_missing_other_profile_is_a_problem_naming_the_managed_one():
    arn = f"arn:aws:iam::{ACCOUNT}:instance-profile/DeadlineSpotGone"
    found = only_problem(group_of(profile_ref(arn, None)), profiles={"DeadlineSpotGone": None})
    assert found.problem == f"LaunchSpecifications[0].IamInstanceProfile {arn}: does not exist in IAM"
    assert found.remedy == f"set LaunchSpecifications[0].IamInstanceProfile.Arn to {PROFILE_ARN}"


def test_a_profile_that_was_not_looked_up_is_unchecked():
    found = only_problem(group_of(profile_ref()), profiles={})
    assert found.unchecked
    assert found.problem.startswith(f"LaunchSpecifications[0].IamInstanceProfile {PROFILE_ARN}: not checked")


def test_a_profile_without_a_role_is_a_problem():
    found = only_problem(group_of(profile_ref()), profiles={"DeadlineSpotWorker": ProfileInfo(PROFILE_ARN, ())})
    assert (
        found.problem
        == f"LaunchSpecifications[0].IamInstanceProfile {PROFILE_ARN}: has no role: workers start without credentials"
    )
    assert found.remedy == "apply this tool's setup: it adds the worker role to the managed instance profile"
    arn = f"arn:aws:iam::{ACCOUNT}:instance-profile/DeadlineSpotEmpty"
    found = only_problem(group_of(profile_ref(arn, None)), profiles={"DeadlineSpotEmpty": ProfileInfo(arn, ())})
    assert "has no role" in found.problem and found.remedy.endswith(PROFILE_ARN)


def test_a_profile_whose_role_lacks_the_prefix_names_the_passrole_restriction():
    arn = f"arn:aws:iam::{ACCOUNT}:instance-profile/WorkerProfile"
    profiles = {"WorkerProfile": ProfileInfo(arn, ("WorkerRole",))}
    found = only_problem(group_of(profile_ref(arn, None)), profiles=profiles)
    assert found.problem.startswith(f"LaunchSpecifications[0].IamInstanceProfile {arn}: holds role WorkerRole")
    assert "AWSThinkboxDeadlineSpotEventPluginAdminPolicy allows iam:PassRole only on role/DeadlineSpot*" in (
        found.problem
    )
    assert found.remedy == f"set LaunchSpecifications[0].IamInstanceProfile.Arn to {PROFILE_ARN}"


def test_the_role_prefix_is_matched_with_its_case():
    profiles = {"DeadlineSpotWorker": ProfileInfo(PROFILE_ARN, ("deadlinespotWorker",))}
    found = only_problem(group_of(profile_ref()), profiles=profiles)
    assert "holds role deadlinespotWorker" in found.problem
    assert found.remedy == (
        "remove role deadlinespotWorker from instance profile DeadlineSpotWorker, then apply this tool's setup"
    )


def test_another_profile_whose_role_has_the_prefix_is_accepted():
    arn = f"arn:aws:iam::{ACCOUNT}:instance-profile/RenderNodes"
    profiles = {"RenderNodes": ProfileInfo(arn, ("DeadlineSpotRender",))}
    assert audit_group(group_of(profile_ref(arn, "RenderNodes")), EXPECT, profiles, {}) == []


def test_the_profile_lookup_ignores_case():
    profiles = {"deadlinespotworker": WORKER_PROFILE}
    assert audit_group(group_of(profile_ref(None, "DEADLINESPOTWORKER")), EXPECT, profiles, {}) == []


def test_a_profile_by_name_gets_a_remedy_replacing_the_name():
    found = only_problem(group_of(profile_ref(None, "Missing")), profiles={"Missing": None})
    assert found.problem == "LaunchSpecifications[0].IamInstanceProfile Missing: does not exist in IAM"
    assert found.remedy == f"replace LaunchSpecifications[0].IamInstanceProfile.Name with Arn {PROFILE_ARN}"


def test_an_arn_whose_path_differs_from_iams_is_a_problem():
    arn = f"arn:aws:iam::{ACCOUNT}:instance-profile/wrong/DeadlineSpotWorker"
    found = only_problem(group_of(profile_ref(arn, None)))
    assert f"IAM holds this instance profile as {PROFILE_ARN}" in found.problem


def test_an_arn_and_a_name_naming_different_profiles_is_a_problem():
    found = only_problem(group_of(profile_ref(PROFILE_ARN, "DeadlineSpotOther")))
    assert "Arn and Name DeadlineSpotOther name different instance profiles" in found.problem


def test_a_launch_specification_without_a_profile_is_a_problem():
    found = only_problem(group_of(profile_ref(), without=("LaunchSpecifications[1]",)))
    assert found.problem == (
        "LaunchSpecifications[1] has no IamInstanceProfile: workers would start without the worker role"
    )
    assert found.remedy == f"set LaunchSpecifications[1].IamInstanceProfile.Arn to {PROFILE_ARN}"


def test_a_group_with_nothing_to_launch_is_a_problem():
    (group,) = parse({"g": {"IamFleetRole": FLEET_ROLE_ARN, "LaunchSpecifications": []}})
    found = only_problem(group)
    assert found.problem.startswith("no LaunchSpecifications and no LaunchTemplateConfigs")


TEMPLATE = TemplateRef("LaunchTemplateConfigs[0].LaunchTemplateSpecification", "lt-0abc", None, "$Latest")


def test_a_template_that_could_not_be_read_is_unchecked():
    found = only_problem(group_of(templates=(TEMPLATE,)), templates={TEMPLATE: "AccessDenied:\nno ec2:Describe"})
    assert found.unchecked
    assert found.problem == (
        "LaunchTemplateConfigs[0].LaunchTemplateSpecification: launch template lt-0abc version $Latest "
        "not checked: AccessDenied: no ec2:Describe"
    )


def test_a_template_left_out_of_the_lookups_is_unchecked():
    assert only_problem(group_of(templates=(TEMPLATE,)), templates={}).unchecked


def test_a_template_without_a_profile_is_a_problem():
    found = only_problem(group_of(templates=(TEMPLATE,)), templates={TEMPLATE: None})
    assert "launch template lt-0abc version $Latest names no instance profile" in found.problem
    assert not found.unchecked and PROFILE_ARN in found.remedy


def test_a_templates_profile_is_audited_like_a_launch_specifications():
    arn = "arn:aws:iam::111111111111:instance-profile/DeadlineSpotWorker"
    lookup = ProfileRef("IamInstanceProfile", arn, "DeadlineSpotWorker")
    found = only_problem(group_of(templates=(TEMPLATE,)), templates={TEMPLATE: lookup})
    assert found.problem.startswith("LaunchTemplateConfigs[0].LaunchTemplateSpecification: launch template lt-0abc")
    assert f"{arn}: names account 111111111111, not this account {ACCOUNT}" in found.problem
    assert found.remedy.endswith(PROFILE_ARN)


def test_a_template_is_looked_up_by_value_whatever_its_place():
    elsewhere = TemplateRef("LaunchTemplateConfigs[3].LaunchTemplateSpecification", "lt-0abc", None, "$Latest")
    assert (
        audit_group(
            group_of(templates=(elsewhere,)), EXPECT, {"DeadlineSpotWorker": WORKER_PROFILE}, {TEMPLATE: profile_ref()}
        )
        == []
    )


def test_every_problem_of_a_group_is_reported():
    group = group_of(
        profile_ref(None, "Missing"), fleet_role=None, without=("LaunchSpecifications[1]",), templates=(TEMPLATE,)
    )
    found = audit_group(group, EXPECT, {"Missing": None}, {TEMPLATE: None})
    assert [problem.problem.split(" ", 1)[0] for problem in found] == [
        "IamFleetRole",
        "LaunchSpecifications[0].IamInstanceProfile",
        "LaunchSpecifications[1]",
        "LaunchTemplateConfigs[0].LaunchTemplateSpecification:",
    ]


# -- the audit judged by the permission chain ----------------------------------------------------------------------

RFDK_FLEET_ROLE = f"arn:aws:iam::{ACCOUNT}:role/FarmStack-SpotFleetRole1A2B3C4D"
RFDK_PROFILE = f"arn:aws:iam::{ACCOUNT}:instance-profile/FarmStack-InstanceProfile5E6F"
RFDK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/FarmStack-SpotFleetInstanceRole1A2B3C"
WORKER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/DeadlineSpotWorker"


def judged_by(*passable: str) -> tuple[FleetExpectations, list[str]]:
    """Expectations whose chain lets these role ARNs be passed (and records what it was asked about)."""
    asked: list[str] = []

    def may_pass(arn: str) -> str | None:
        asked.append(arn)
        return None if arn in passable else "the Spot credentials may not pass it to EC2 (iam:PassRole): denied"

    return replace(EXPECT, may_pass=may_pass), asked


def test_an_rfdk_group_is_fine_when_the_chain_lets_its_roles_be_passed():
    """aws/aws-rfdk names the fleet roles by CDK and grants iam:PassRole on exactly those ARNs
    (configure-spot-event-plugin.ts): any role the chain lets be passed is as good as the managed one."""
    expect, asked = judged_by(RFDK_FLEET_ROLE, RFDK_ROLE)
    profiles = {
        "FarmStack-InstanceProfile5E6F": ProfileInfo(
            RFDK_PROFILE, ("FarmStack-SpotFleetInstanceRole1A2B3C",), (RFDK_ROLE,)
        )
    }
    group = group_of(profile_ref(RFDK_PROFILE, None), fleet_role=RFDK_FLEET_ROLE)
    assert audit_group(group, expect, profiles, {}) == []
    assert asked == [RFDK_FLEET_ROLE, RFDK_ROLE]


def test_a_role_the_chain_refuses_is_a_problem_with_its_reason_and_both_remedies():
    expect, _ = judged_by(RFDK_ROLE, WORKER_ROLE_ARN)
    (found,) = audit_group(
        group_of(profile_ref(), fleet_role=RFDK_FLEET_ROLE), expect, {"DeadlineSpotWorker": WORKER_PROFILE}, {}
    )
    assert (
        found.problem
        == f"IamFleetRole {RFDK_FLEET_ROLE}: the Spot credentials may not pass it to EC2 (iam:PassRole): denied"
    )
    assert found.remedy == (
        f"make sure the Spot credentials may pass {RFDK_FLEET_ROLE} to EC2 (iam:PassRole, iam:PassedToService "
        f"ec2.amazonaws.com), or set IamFleetRole to {FLEET_ROLE_ARN}"
    )


def test_the_managed_fleet_role_under_a_path_is_asked_about_with_its_path():
    pathed = f"arn:aws:iam::{ACCOUNT}:role/render/aws-ec2-spot-fleet-tagging-role"
    expect, asked = judged_by(FLEET_ROLE_ARN, WORKER_ROLE_ARN)
    (found,) = audit_group(
        group_of(profile_ref(), fleet_role=pathed), expect, {"DeadlineSpotWorker": WORKER_PROFILE}, {}
    )
    assert asked[0] == pathed
    assert found.problem.endswith("(the role is under a path; the managed fleet role is at path /)")


def test_a_profiles_role_is_asked_about_as_iam_names_it_path_included():
    pathed_role = f"arn:aws:iam::{ACCOUNT}:role/render/DeadlineSpotRender"
    info = ProfileInfo(PROFILE_ARN, ("DeadlineSpotRender",), (pathed_role,))
    expect, asked = judged_by(FLEET_ROLE_ARN)
    (found,) = audit_group(group_of(profile_ref()), expect, {"DeadlineSpotWorker": info}, {})
    assert asked == [FLEET_ROLE_ARN, pathed_role]
    assert found.problem.endswith(
        "holds role DeadlineSpotRender: the Spot credentials may not pass it to EC2 (iam:PassRole): denied"
    )
    assert found.remedy.startswith(f"make sure the Spot credentials may pass {pathed_role} to EC2")
    assert found.remedy.endswith(
        "or remove role DeadlineSpotRender from instance profile DeadlineSpotWorker, then apply this tool's setup"
    )


def test_a_role_refused_for_want_of_any_grant_gets_the_managed_policys_name_rule_as_its_reason():
    expect = replace(
        EXPECT,
        may_pass=lambda arn: (
            "the Spot credentials may not pass it to EC2 (iam:PassRole): not allowed by any attached policy"
        ),
    )
    arn = f"arn:aws:iam::{ACCOUNT}:instance-profile/WorkerProfile"
    profiles = {"WorkerProfile": ProfileInfo(arn, ("WorkerRole",))}
    (_, found) = audit_group(group_of(profile_ref(arn, None)), expect, profiles, {})
    restriction = "AWSThinkboxDeadlineSpotEventPluginAdminPolicy allows iam:PassRole only on role/DeadlineSpot*"
    assert found.problem.endswith(f"not allowed by any attached policy; {restriction}")
    assert f"may pass arn:aws:iam::{ACCOUNT}:role/WorkerRole to EC2" in found.remedy  # IAM's answer lacked the ARN
