"""The IP-restricted mode's customer managed copies of the AWS managed admin policies.

Each copy is the AWS managed policy's current default version with every Allow statement restricted to the
allowed source IPs (:mod:`source_ip`), tagged ``DeadlineSpotIamSetup:source`` with the AWS policy and version it was
made from. An edit of a managed policy is a new version, and the default version is the one in effect ("Versioning
IAM policies", IAM User Guide), so a copy is judged by its default version's document:

- what it was made from is the AWS version its record names (or, the record lost or wrong, the current one) and
  the address list its statements carry, and it is accepted as made from them only when its document holds,
  as IAM reads it (:func:`source_ip.compare_copy`), every statement this project writes for them;
- what it holds beyond that (an admin's Deny) is reported as edited by hand, with what differs, and never removed;
- only a newer default version of the AWS policy or another address list makes a new version, and it carries the
  admin's additions (:func:`source_ip.merged_copy`); when they cannot be carried safely, or when one of this
  project's statements was changed, the copy is reported and left as it is. The oldest non-default version is
  deleted first when the copy holds IAM's limit of five.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import product
from typing import Any

from ..desired import PolicyCopy
from ..errors import InvalidSettings
from ..findings import Action, Draft, PlanContext, Read, Stage, made
from ..kinds import Kind
from ..source_ip import (
    MAX_POLICY_CHARACTERS,
    CopyDifference,
    addresses_in,
    compare_copy,
    describe_statement,
    merge_problems,
    merged_copy,
    policy_characters,
    restrict_document,
)
from ..template_parts import TemplateParts, logical_id, ref, tokenized_document
from ..values import Observed, PolicyInfo
from .base import ApplyRun, Handler, Permissions, creation_extras

MAX_POLICY_VERSIONS = 5  # IAM's limit per managed policy
SOURCE_TAG = "DeadlineSpotIamSetup:source"  # "<AWS managed policy ARN> <version>": what a copy was made from
# A policy version's ID (IAM API Reference, GetPolicyVersion: VersionId pattern v[1-9][0-9]*(\.[A-Za-z0-9-]*)?).
_VERSION_ID = re.compile(r"v[1-9][0-9]*(\.[A-Za-z0-9-]*)?")


def restricted_copy(policy_copy: PolicyCopy, source: PolicyInfo) -> dict[str, Any]:
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


def recorded_version(policy_copy: PolicyCopy, tags: Mapping[str, str] | None) -> str | None:
    """The version of the AWS managed policy the copy's record names; None when the record is missing, names another
    policy, or names no version ID."""
    arn, _, version = (tags or {}).get(SOURCE_TAG, "").rpartition(" ")
    if not policy_copy.source.matches(arn) or not _VERSION_ID.fullmatch(version):
        return None
    return version


@dataclass(frozen=True)
class Origin:
    """What a copy was made from: the AWS managed policy's ``version`` and the ``addresses``; ``difference``: how the
    copy's document differs from what this project writes for them."""

    version: str
    addresses: tuple[str, ...]
    difference: CopyDifference


def copy_origin(policy_copy: PolicyCopy, copy_document: dict[str, Any], sources: list[PolicyInfo]) -> Origin:
    """Of the AWS versions known (``sources``: the current default first, then the recorded one) and the address lists
    (the settings', then each one the copy's statements carry), the pair whose document the copy matches best: none of
    this project's statements changed, then the fewest additions; a tie goes to the current version and the settings'
    list (nothing to update)."""
    wanted = policy_copy.allowed_source_ips
    lists = [wanted] + [found for found in addresses_in(copy_document) if set(found) != set(wanted)]
    best: tuple[tuple[int, int, int], Origin] | None = None
    for rank, (source, addresses) in enumerate(product(sources, lists)):
        difference = compare_copy(copy_document, restrict_document(source.document, addresses))
        score = (len(difference.changed), len(difference.added) + len(difference.extra_elements), rank)
        if best is None or score < best[0]:
            best = (score, Origin(source.default_version, addresses, difference))
    assert best is not None
    return best[1]


def _named(statements: tuple[dict[str, Any], ...]) -> str:
    names = [repr(s["Sid"]) if s.get("Sid") else describe_statement(s) for s in statements]
    return f"the statement{'s' if len(names) > 1 else ''} added by hand {', '.join(names)}"


class PolicyCopyHandler(Handler):
    kind = Kind.POLICY_COPY
    identity_type = PolicyCopy

    def reads(self, identity: PolicyCopy) -> tuple[Read, ...]:
        return (
            Read("policy", "customer_policy", (identity.name, identity.path)),
            Read("source", "managed_policy", (identity.source.name, identity.source.path)),
        )

    def later_reads(self, identity: PolicyCopy, answers: Mapping[str, Any]) -> tuple[Read, ...]:
        """The AWS managed policy at the version the copy's record names, once AWS has published a newer one: what
        the copy is compared with to tell AWS's change from an admin's."""
        copy, source = answers.get("policy"), answers.get("source")
        if copy is None or source is None:
            return ()
        version = recorded_version(identity, copy.tags)
        if version is None or version == source.default_version:
            return ()
        return (Read("origin", "policy_version", (source.arn, version)),)

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
                makes=(made("policy", identity.name),),
            )
            return
        assert seen.policy is not None
        sources = [seen.source] + ([seen.origin] if seen.origin is not None else [])
        origin = copy_origin(identity, seen.policy.document, sources)
        if origin.difference.changed:
            self._leave_edited_copy(identity, seen, origin, draft)
            return
        difference = origin.difference
        if difference.added or difference.extra_elements:
            draft.needs_admin(
                f"edited by hand: {difference.additions()}",
                "left as it is, never overwritten (a new version for a newer AWS version or another address list "
                "keeps it too): to keep it for good, move it into a policy of your own attached to the Spot "
                "credentials, then remove it from this copy (a new version without it, set as default)",
            )
        current = origin.version == seen.source.default_version
        same_addresses = set(origin.addresses) == set(identity.allowed_source_ips)
        if current and same_addresses:
            shown = seen.policy.tags.get(SOURCE_TAG)
            # No record at all is no problem while the document proves the current version: a CloudFormation stack's
            # copy has none (AWS::IAM::ManagedPolicy has no Tags property). A wrong record is this project's to mend.
            if shown is not None and recorded_version(identity, seen.policy.tags) != origin.version:
                draft.problems.append(f"its record {SOURCE_TAG} says {shown!r}, but it was made from {origin.version}")
                self._record(identity, seen.policy.arn, version_tag, draft)
            return
        if not same_addresses:
            draft.problems.append(
                f"allows {', '.join(origin.addresses)} instead of {', '.join(identity.allowed_source_ips)}"
            )
        if not current:
            draft.problems.append(
                f"lags behind {identity.source.name}: made from {origin.version}, its default version is now "
                f"{seen.source.default_version}"
            )
        blocked = merge_problems(document, difference)
        if blocked:
            draft.needs_admin(
                f"cannot be updated keeping what was added by hand: {'; '.join(blocked)}",
                "left as it is: move what was added by hand into a policy of your own attached to the Spot "
                "credentials and remove it from this copy; apply then updates it",
            )
            return
        kept = f", keeping {_named(difference.added)}" if difference.added else ""
        if kept:
            draft.problems[-1] += kept
        draft.act(
            "CreatePolicyVersion",
            {
                "PolicyArn": seen.policy.arn,
                "PolicyDocument": json.dumps(merged_copy(document, difference)),
                "SetAsDefault": True,
            },
            f"update policy {identity.name} to {identity.source.name} {seen.source.default_version} allowed only from "
            f"{', '.join(identity.allowed_source_ips)}{kept} (new default version)",
            Stage.CREATE,
            makes=(made("policy-version", identity.name),),
        )
        self._record(identity, seen.policy.arn, version_tag, draft)

    def _record(self, identity: PolicyCopy, arn: str, version_tag: str, draft: Draft) -> None:
        draft.act(
            "TagPolicy",
            {"PolicyArn": arn, "Tags": [{"Key": SOURCE_TAG, "Value": version_tag}]},
            f"tag policy {identity.name} with the version it was made from",
            Stage.CONFIGURE,
            needs=(made("policy-version", identity.name),),  # when this run makes one: the record says which
        )

    def _leave_edited_copy(self, identity: PolicyCopy, seen: Observed, origin: Origin, draft: Draft) -> None:
        """One of this project's statements of the copy is lacking or changed: report what differs, write nothing."""
        assert seen.policy is not None and seen.source is not None
        recorded = recorded_version(identity, seen.policy.tags)
        known = recorded is not None and (recorded == seen.source.default_version or seen.origin is not None)
        problem = (
            f"edited by hand: {origin.difference.description()} (compared with what this project writes for "
            f"{identity.source.name} {origin.version} and {', '.join(origin.addresses)})"
        )
        if not known:
            shown = seen.policy.tags.get(SOURCE_TAG)
            problem += (
                f"; its record {SOURCE_TAG} is missing" if shown is None
                else f"; its record {SOURCE_TAG} ({shown!r}) names no version of {identity.source.name} IAM holds"
            )
        if origin.version != seen.source.default_version:
            problem += f"; not updated to {identity.source.name} {seen.source.default_version} while so"
        remedy = (
            f"left as it is, never overwritten: make the version this project wrote the default again "
            f"(aws iam list-policy-versions --policy-arn {seen.policy.arn}, then set-default-policy-version), moving "
            "your change into a policy of your own attached to the Spot credentials; or delete the copy for apply "
            "to make it anew"
        )
        if not known:
            remedy += (
                f"; if it was made from an earlier version of {identity.source.name}, tag it {SOURCE_TAG} = "
                f"'{seen.source.arn} vN' naming that version, and apply updates it"
            )
        draft.needs_admin(problem, remedy)

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

    def cloudformation_names(self, identity: PolicyCopy, template: TemplateParts) -> None:
        template.policy_ids[identity.name] = logical_id(identity.name)

    def cloudformation(self, identity: PolicyCopy, template: TemplateParts) -> None:
        document = template.sources.get(identity.source.name)
        if document is None:
            raise InvalidSettings(
                f"the IP-restricted copy {identity.name} needs the document of AWS managed policy "
                f"{identity.source.name} (read it from IAM)"
            )
        restricted = restricted_copy(identity, PolicyInfo("", "", document))
        properties: dict[str, Any] = {
            "ManagedPolicyName": identity.name,
            "Path": identity.path,
            "Description": f"{identity.source.name}, allowed only from the RCS/Pulse machines' addresses",
            "PolicyDocument": tokenized_document(restricted, template.partition) if template.agnostic else restricted,
        }
        if template.existing_role_parameter:
            properties["Roles"] = [ref(template.existing_role_parameter)]
        template.resources[template.policy_ids[identity.name]] = {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": properties,
        }
        template.notes.append(
            f"policy-copy {identity.name}: {identity.source.name} as it was when this template was rendered, allowed "
            f"only from {', '.join(identity.allowed_source_ips)}; `check` reports it once AWS publishes a newer "
            "version (render the template again and update the stack: the copy carries no record of the version it "
            "was made from, so `apply` leaves it to you)"
        )
        template.untagged(f"policy-copy {identity.name}", always=True)
