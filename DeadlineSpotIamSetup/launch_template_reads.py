"""The EC2 launch-template reader: what a Spot Fleet group names, its instance profiles (IAM) and the instance
profiles its launch templates name (EC2, in the region in use), read in parallel for the fleet group check
(handlers/fleet_group.py). A part of :class:`gateway.IamGateway` (a read of the Gateway protocol).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import boto3

from .aws_failures import _Caller
from .aws_session import AwsAccess, _client
from .errors import AccessDenied, AwsAccessError, Cancelled, NotFound
from .fleet_config import ProfileRef, TemplateRef
from .values import FleetLookups, ProfileInfo


class LaunchTemplateReads:
    """What the fleet group check reads (``fleet_lookups``), on the gateway's EC2 client and its IAM reads."""

    if TYPE_CHECKING:  # what it uses of the gateway it is part of
        access: AwsAccess
        _session: boto3.session.Session
        _lock: threading.Lock
        _ec2_client: Any
        _call: _Caller

        @property
        def region(self) -> str: ...

        def instance_profile(self, name: str) -> ProfileInfo | None: ...

    def _ec2(self) -> Any:
        with self._lock:
            if self._ec2_client is None:
                self._ec2_client = _client(self._session, "ec2", self.access)
            return self._ec2_client

    def _template_profile(self, template: TemplateRef) -> ProfileRef | str | None:
        """The instance profile a launch template version names; None: it names none; a string: why it could not
        be read."""
        params: dict[str, Any] = {"Versions": [template.version]}
        if template.template_id:
            params["LaunchTemplateId"] = template.template_id
        else:
            params["LaunchTemplateName"] = template.template_name
        try:
            versions = self._call(
                lambda: self._ec2().describe_launch_template_versions(**params)["LaunchTemplateVersions"],
                "ec2:DescribeLaunchTemplateVersions",
                template.describe(),
            )
        except AccessDenied:
            return "the credential in use may not read launch templates (ec2:DescribeLaunchTemplateVersions)"
        except NotFound:
            return f"it does not exist in region {self.region}"
        except Cancelled:
            raise
        except AwsAccessError as error:
            return f"it could not be read in region {self.region} ({error})"
        if not versions:
            return f"it does not exist in region {self.region}"
        profile = versions[0].get("LaunchTemplateData", {}).get("IamInstanceProfile") or {}
        if not (profile.get("Arn") or profile.get("Name")):
            return None
        return ProfileRef(f"{template.describe()} IamInstanceProfile", profile.get("Arn"), profile.get("Name"))

    def fleet_lookups(self, profile_names: tuple[str, ...], templates: tuple[TemplateRef, ...]) -> FleetLookups:
        """What a Spot Fleet group names: its instance profiles (IAM) and its launch templates' profiles (EC2, in
        the region in use), read in parallel."""
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="fleet-read") as pool:
            found = {template: pool.submit(self._template_profile, template) for template in templates}
            template_profiles = {template: future.result() for template, future in found.items()}
            names = list(profile_names)
            for ref in template_profiles.values():
                name = ref.profile_name if isinstance(ref, ProfileRef) else None
                if name and name.lower() not in {n.lower() for n in names}:
                    names.append(name)
            profiles = {name: pool.submit(self.instance_profile, name) for name in names}
            return FleetLookups({name: future.result() for name, future in profiles.items()}, template_profiles)
