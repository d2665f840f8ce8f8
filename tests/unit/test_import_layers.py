"""The engine's import graph follows its flow: each module imports only modules of a lower layer, so there is no
cycle and the pure planning code never reaches boto3."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "DeadlineSpotIamSetup"

# Bottom to top. A module may import modules of lower layers only (handlers/* may also import handlers.base).
LAYERS: list[set[str]] = [
    {"compat", "kinds", "errors", "waits", "values", "trust", "commands", "yaml_writer"},  # plain names and values;
    # newer Pythons' built-ins; how a message names a command of this tool; YAML text of plain data
    {"source_ip", "policy_eval", "fleet_config"},  # policy documents; fleet configs
    {"desired", "gateway_protocol"},  # settings → desired state; what the engine asks of the gateway
    # What a plan is made of; the calls the Spot plugin makes, as IAM judges them; what a CloudFormation template is
    # made of; the records of the keys; the hand-over of a new key.
    {"findings", "permission_chain", "template_parts", "key_records", "key_delivery"},
    {"handlers.base"},
    {
        "handlers.spot_user",
        "handlers.access_key",
        "handlers.spot_role",
        "handlers.service_role",
        "handlers.instance_profile",
        "handlers.service_linked_role",
        "handlers.policy_copy",
        "handlers.spot_permissions",
        "handlers.fleet_group",
    },
    {"handlers"},  # the registry
    {"plan", "observe", "bootstrap_policy", "report"},  # pure: planning and rendering
    {"cloudformation"},  # pure: templates of the desired state (and of the bootstrap policy)
    {"apply", "rotation"},  # run a plan, or the key rotation, through a gateway they are given
    {"retry", "call_deadline", "old_botocore", "regions"},  # botocore plumbing; what old botocore lacks; its regions
    {"aws_failures"},  # botocore's failures as one-line errors
    {"aws_session"},  # sessions and clients, bounded in time
    {"permission_reads", "launch_template_reads"},  # the gateway's readers that read in parallel rounds
    {"gateway"},  # the one module that talks to AWS
    {"engine", "ec2_check"},  # observe → plan → apply → observe; the dry run against EC2
    {"accounts"},  # the check, once per account of a list, in a bounded pool
    {"secret_file", "install", "standin", "interruption", "cli_accounts"},  # files, plugin, stand-in, signals, accounts
    {"cli"},
    {"demo"},  # the demo drives the command line it is given, on the stand-in
    {"__main__"},
]
PURE = {
    "commands",
    "compat",
    "kinds",
    "errors",
    "waits",
    "values",
    "trust",
    "source_ip",
    "policy_eval",
    "fleet_config",
    "key_records",
    "desired",
    "gateway_protocol",
    "findings",
    "permission_chain",
    "plan",
    "report",
    "bootstrap_policy",
    "cloudformation",
    "template_parts",
    "yaml_writer",
}


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> tuple[set[str], set[str]]:
    """(modules of this package it imports, top-level names of other packages it imports)."""
    name = module_name(path)
    package_parts = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    inside, outside = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - (node.level - 1)] if node.level > 1 else package_parts
                target = ".".join([*base, *([node.module] if node.module else [])])
                for alias in node.names:
                    candidate = f"{target}.{alias.name}" if target else alias.name
                    inside.add(
                        candidate
                        if (PACKAGE / Path(*candidate.split("."))).with_suffix(".py").exists()
                        or (PACKAGE / Path(*candidate.split("."))).is_dir()
                        else target
                    )
            else:
                outside.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.Import):
            outside.update(alias.name.split(".")[0] for alias in node.names)
    inside.discard("")
    return inside, outside


def layer_of(name: str) -> int:
    for number, layer in enumerate(LAYERS):
        if name in layer:
            return number
    raise AssertionError(f"module {name} has no layer: add it to LAYERS")


def modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if module_name(p) != "__init__"]


def test_every_module_has_a_layer():
    for path in modules():
        layer_of(module_name(path))


def test_modules_import_only_lower_layers():
    wrong = []
    for path in modules():
        name = module_name(path)
        inside, _ = imports_of(path)
        for target in inside - {"", "__init__"}:
            if target == "__version__":
                continue
            if layer_of(target) >= layer_of(name):
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_pure_modules_never_import_boto3_or_botocore():
    for path in modules():
        name = module_name(path)
        if name in PURE or name.startswith("handlers"):
            _, outside = imports_of(path)
            assert not outside & {"boto3", "botocore"}, name
