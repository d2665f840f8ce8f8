"""The permission chain's reader: every policy document that decides what the Spot credentials (a user or a role)
may do, read in parallel rounds, for :mod:`permission_chain` to judge. A part of :class:`gateway.IamGateway` (a
read of the Gateway protocol), over its IAM reads.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from .trust import parse_policy
from .values import PolicyInfo, PrincipalPolicies

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class PermissionChainReads:
    """What the permission chain reads (``principal_policies``), on the gateway's reads."""

    if TYPE_CHECKING:  # what it uses of the gateway it is part of
        _iam: Any

        @property
        def partition(self) -> str: ...

        def _read(self, fn: Callable[[], T], operation: str, subject: str) -> T | None: ...

        def _listed(self, operation: str, field_name: str, **params: str) -> list[Any]: ...

        def _attached(self, operation: str, subject: str, **params: str) -> frozenset[str] | None: ...

        def _policy(self, arn: str, subject: str) -> PolicyInfo | None: ...

        def _read_ahead(self, reads: dict[K, Callable[[], T]]) -> dict[K, Future[T]]: ...

    def _inline_policies(self, noun: str, name: str) -> list[tuple[str, dict[str, Any]]]:
        """The inline policies of a user, role or group (``noun``: User, Role, Group), labelled."""
        params = {f"{noun}Name": name}
        subject = f"{noun.lower()} {name}"
        get = getattr(self._iam, f"get_{noun.lower()}_policy")
        names = self._read(
            lambda: self._listed(f"List{noun}Policies", "PolicyNames", **params), f"iam:List{noun}Policies", subject
        )
        documents = []
        for policy_name in names or ():

            def read(policy_name: str = policy_name) -> Any:
                return parse_policy(get(**params, PolicyName=policy_name)["PolicyDocument"])

            label = f"inline policy {policy_name} of {subject}"
            document = self._read(read, f"iam:Get{noun}Policy", label)
            if document is not None:
                documents.append((label, document))
        return documents

    def _group_policies(self, user_name: str) -> tuple[set[str], list[tuple[str, dict[str, Any]]]]:
        """The managed policies' ARNs and the inline documents of every group the user is in."""
        groups = self._read(
            lambda: [g["GroupName"] for g in self._listed("ListGroupsForUser", "Groups", UserName=user_name)],
            "iam:ListGroupsForUser",
            f"user {user_name}",
        )
        arns: set[str] = set()
        documents: list[tuple[str, dict[str, Any]]] = []
        for group in groups or ():
            arns |= self._attached("ListAttachedGroupPolicies", f"group {group}", GroupName=group) or frozenset()
            documents += self._inline_policies("Group", group)
        return arns, documents

    def principal_policies(self, principal: str, name: str, expected: tuple[str, ...] = ()) -> PrincipalPolicies | None:
        """Every policy document deciding what user or role ``name`` may do (``principal``: "user" or "role"), read
        in parallel rounds; None when it does not exist. The documents of the AWS managed policies ``expected`` to
        be attached (by name) are read at once, alongside the lists, and kept only if they are attached: a check
        then waits for two round trips, not three."""
        noun = "User" if principal == "user" else "Role"
        params = {f"{noun}Name": name}
        subject = f"{principal} {name}"

        def head() -> tuple[str, str | None, str | None, tuple[tuple[str, str], ...]]:
            # GetUser / GetRole answer the entity's unique ID and its tags too (aws:userid, aws:PrincipalTag/*).
            entity = getattr(self._iam, f"get_{principal}")(**params)[noun]
            boundary = (entity.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
            tags = tuple((str(t["Key"]), str(t["Value"])) for t in entity.get("Tags") or ())
            return entity["Arn"], boundary, entity.get(f"{noun}Id"), tags

        # The expected policies' reads are not waited for when they are not needed (the principal does not exist,
        # or they are not attached): what they read is kept (the gateway's versions) for the next read of the same
        # version, and the gateway's close waits for them.
        early = self._read_ahead(
            {
                arn: partial(self._labelled_policy, arn)
                for arn in (f"arn:{self.partition}:iam::aws:policy/{policy}" for policy in expected)
            }
        )
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="iam-policies") as pool:
            found = pool.submit(self._read, head, f"iam:Get{noun}", subject)
            attached = pool.submit(self._attached, f"ListAttached{noun}Policies", subject, **params)
            inline = pool.submit(self._inline_policies, noun, name)
            groups = pool.submit(self._group_policies, name) if principal == "user" else None
            answer = found.result()
            arns = set(attached.result() or ())
            documents = list(inline.result())
            if groups is not None:
                group_arns, group_documents = groups.result()
                arns |= group_arns
                documents += group_documents
            if answer is None:
                return None
            arn, boundary_arn, principal_id, tags = answer
            managed = [
                (policy_arn, early.get(policy_arn) or pool.submit(self._labelled_policy, policy_arn))
                for policy_arn in sorted(arns)
            ]
            boundary = pool.submit(self._labelled_policy, boundary_arn) if boundary_arn else None
            results = [future.result() for _, future in managed]
            documents += [document for document in results if document is not None]
            boundary_document = boundary.result() if boundary is not None else None
        if boundary_document is not None:
            boundary_document = (f"permissions boundary {boundary_document[0]}", boundary_document[1])
        if boundary_arn and boundary_document is None:  # a boundary that does not exist allows nothing
            boundary_document = (f"permissions boundary {boundary_arn} (does not exist)", {})
        return PrincipalPolicies(arn, tuple(documents), boundary_document, frozenset(arns), principal_id, tags)

    def _labelled_policy(self, arn: str) -> tuple[str, dict[str, Any]] | None:
        aws_managed = ":iam::aws:policy/" in arn
        name = arn.rsplit("/", 1)[-1]
        info = self._policy(arn, f"{'AWS managed ' if aws_managed else ''}policy {name}")
        if info is None:
            return None
        return f"{'AWS managed ' if aws_managed else ''}policy {name} {info.default_version}", info.document
