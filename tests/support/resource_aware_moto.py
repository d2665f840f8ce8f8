"""Makes moto's server authorize each IAM call on the resource IAM authorizes it on.

moto's server, when it enforces authorization (``INITIAL_NO_AUTH_ACTION_COUNT``), matches a policy's actions, but
matches its resources against "*" for every IAM call except one naming a role that exists, so a policy scoped to
resources, as the bootstrap policy is, allows nothing there. Imported in the server's process before it serves,
this module has moto match each IAM call's resource as IAM does: the user, role or instance profile it names, at
the path it has (at the root while it does not exist, at the requested path for a create), the service-linked role
a CreateServiceLinkedRole makes, the policy a policy call names. moto still reads no condition and checks only the
called action (not the iam:PassRole that AddRoleToInstanceProfile needs as well): those are proven by
tests/wire/test_bootstrap_policy_on_the_wire.py.

Test tool only: imports moto (the main interpreter's test environment), never imported by the Python 3.10 suites.
"""

from __future__ import annotations

from moto.iam import models as iam_models
from moto.iam.responses import IamResponse

_NAMED = (
    ("InstanceProfileName", "instance-profile"),
    ("UserName", "user"),
    ("RoleName", "role"),
    ("GroupName", "group"),
)
_CREATES = {"CreateUser": "UserName", "CreateRole": "RoleName", "CreateInstanceProfile": "InstanceProfileName"}
_POLICY_CALLS = ("GetPolicy", "GetPolicyVersion", "ListPolicyVersions", "CreatePolicyVersion", "DeletePolicyVersion")


def _path(response: IamResponse, kind: str, name: str) -> str:
    lookup = {
        "user": response.backend.get_user,
        "role": response.backend.get_role,
        "instance-profile": response.backend.get_instance_profile,
        "group": response.backend.get_group,
    }[kind]
    try:
        return lookup(name).path
    except Exception:  # moto's NoSuchEntity: IAM knows no path for what does not exist
        return "/"


def resource_of(response: IamResponse) -> str:
    params = {key: values[0] for key, values in response.querystring.items() if values}
    action = response._get_action()
    iam = f"arn:{response.partition}:iam::{response.current_account}"
    if action == "CreateServiceLinkedRole":
        service = params["AWSServiceName"]
        prefix = service.split(".")[0]
        name = "AWSServiceRoleFor" + iam_models.SERVICE_NAME_CONVERSION.get(prefix, prefix)
        return f"{iam}:role/aws-service-role/{service}/{name}"
    if action == "CreatePolicy":
        return f"{iam}:policy{params.get('Path', '/')}{params['PolicyName']}"
    if action in _POLICY_CALLS or action == "TagPolicy":
        return params["PolicyArn"]
    if action == "GetAccessKeyLastUsed":  # authorized on the key's user, which the request does not name
        user = response.backend.get_access_key_last_used(params["AccessKeyId"])["user_name"]
        return f"{iam}:user{_path(response, 'user', user)}{user}"
    if action in _CREATES:
        kind = dict((param, kind) for param, kind in _NAMED)[_CREATES[action]]
        return f"{iam}:{kind}{params.get('Path', '/')}{params[_CREATES[action]]}"
    for param, kind in _NAMED:
        if param in params:
            return f"{iam}:{kind}{_path(response, kind, params[param])}{params[param]}"
    return "*"


IamResponse._determine_resource = resource_of  # type: ignore[method-assign]
