"""The IP-restricted mode's customer managed copies of the AWS managed admin policies.

Each copy is the AWS managed policy's current default version with every Allow statement restricted to the
allowed source IPs (:mod:`source_ip`). A changed IP list, or a newer default version of the AWS managed policy,
makes the copy lag behind: apply adds a new version set as default, first deleting the oldest non-default
version when the copy holds IAM's limit of five.
"""

from __future__ import annotations

import json

from ..desired import PolicyCopy
from ..errors import InvalidSettings
from ..findings import Action, Draft, PlanContext, Read, Stage
from ..kinds import Kind
from ..source_ip import MAX_POLICY_CHARACTERS, allowed_ips_of, policy_characters, restrict_document
from ..values import Observed, PolicyInfo
from .base import ApplyRun, Handler, Permissions, creation_extras

MAX_POLICY_VERSIONS = 5  # IAM's limit per managed policy
SOURCE_TAG = "DeadlineSpotIamSetup:source"  # the AWS managed policy and version a copy was made from


def restricted_copy(policy_copy: PolicyCopy, source: PolicyInfo) -> dict:
    """The copy's document, refused when it would not fit IAM's size limit (saying how many entries would)."""
    document = restrict_document(source.document, policy_copy.allowed_source_ips)
    size = policy_characters(document)
    if size > MAX_POLICY_CHARACTERS:
        allowed = policy_copy.allowed_source_ips
        fits = max(
            (
                n
                for n in range(len(allowed))
                if n and policy_characters(restrict_document(source.document, allowed[:n])) <= MAX_POLICY_CHARACTERS
            ),
            default=0,
        )
        raise InvalidSettings(
            f"allowed source IPs: {len(allowed)} entries make the copy of {policy_copy.source.name} {size} characters, "
            f"over IAM's limit of {MAX_POLICY_CHARACTERS} (it has {len(document['Statement'])} statements, each "
            f"carrying the list): give at most {fits} entries, e.g. one wider CIDR for the RCS/Pulse machines"
        )
    return document


class PolicyCopyHandler(Handler):
    kind = Kind.POLICY_COPY
    identity_type = PolicyCopy

    def reads(self, identity: PolicyCopy) -> tuple[Read, ...]:
        return (
            Read("policy", "customer_policy", (identity.name, identity.path)),
            Read("source", "managed_policy", (identity.source.name, identity.source.path)),
        )

    def plan(self, identity: PolicyCopy, seen: Observed, draft: Draft, context: PlanContext) -> None:
        if seen.source is None:
            draft.needs_admin(
                f"AWS managed policy {identity.source.name} does not exist in this partition",
                "the IP-restricted mode copies it: leave out the allowed source IPs here",
            )
            return
        document = restricted_copy(identity, seen.source)
        version_tag = f"{seen.source.arn} {seen.source.default_version}"
        if not draft.exists:
            draft.problems.append("policy copy does not exist")
            tags = [{"Key": SOURCE_TAG, "Value": version_tag}] + creation_extras(context.options, False).get("Tags", [])
            draft.act(
                "CreatePolicy",
                {
                    "PolicyName": identity.name,
                    "Path": identity.path,
                    "PolicyDocument": json.dumps(document),
                    "Description": f"{identity.source.name}, allowed only from the RCS/Pulse machines' addresses",
                    "Tags": tags,
                },
                f"create policy {identity.name}: {identity.source.name} allowed only from "
                f"{', '.join(identity.allowed_source_ips)}",
                Stage.CREATE,
                shows_up=Read("policy", "customer_policy", (identity.name, identity.path)),
            )
            return
        assert seen.policy is not None
        if seen.policy.document == document:
            return
        now = sorted(allowed_ips_of(seen.policy.document))
        if set(now) != set(identity.allowed_source_ips):
            draft.problems.append(
                f"allows {', '.join(now) or 'any address'} instead of {', '.join(identity.allowed_source_ips)}"
            )
        else:
            made_from = seen.policy.tags.get(SOURCE_TAG, "an earlier version").rsplit(" ", 1)[-1]
            draft.problems.append(
                f"lags behind {identity.source.name}: made from {made_from}, its default version is now "
                f"{seen.source.default_version}"
            )
        draft.act(
            "CreatePolicyVersion",
            {"PolicyArn": seen.policy.arn, "PolicyDocument": json.dumps(document), "SetAsDefault": True},
            f"update policy {identity.name} to {identity.source.name} {seen.source.default_version} allowed only from "
            f"{', '.join(identity.allowed_source_ips)} (new default version)",
            Stage.CREATE,
        )
        draft.act(
            "TagPolicy",
            {"PolicyArn": seen.policy.arn, "Tags": [{"Key": SOURCE_TAG, "Value": version_tag}]},
            f"tag policy {identity.name} with the version it was made from",
            Stage.CONFIGURE,
        )

    def execute(self, action: Action, run: ApplyRun) -> str:
        if action.operation != "CreatePolicyVersion":
            return super().execute(action, run)
        arn = action.params["PolicyArn"]
        versions = run.gateway.policy_versions(arn)
        pruned = ""
        if len(versions) >= MAX_POLICY_VERSIONS:
            oldest = next(version for version, default in versions if not default)
            run.write(
                Action(
                    "DeletePolicyVersion",
                    {"PolicyArn": arn, "VersionId": oldest},
                    action.identity,
                    f"delete version {oldest} of {arn}",
                    action.stage,
                )
            )
            pruned = f" (deleted its oldest version {oldest}: IAM keeps {MAX_POLICY_VERSIONS})"
        run.write(action)
        return action.summary + pruned

    def permissions(self, identity: PolicyCopy, policy: Permissions) -> None:
        copy_arn = identity.arn(policy.partition, policy.account)
        policy.allow(
            f"policy copy {identity.name}",
            [
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListPolicyVersions",
                "iam:CreatePolicy",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicyVersion",
            ],
            [copy_arn],
        )
        policy.allow(
            f"policy copy {identity.name} tags", ["iam:TagPolicy"], [copy_arn], policy.tag_keys_condition([SOURCE_TAG])
        )
        policy.allow(
            f"policy copy {identity.name} source",
            ["iam:GetPolicy", "iam:GetPolicyVersion"],
            [identity.source.arn(policy.partition)],
        )
