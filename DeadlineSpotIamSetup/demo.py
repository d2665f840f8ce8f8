"""``python -m DeadlineSpotIamSetup demo``: the whole job against an embedded AWS stand-in.

moto's server runs in this process on loopback (no AWS account, nothing leaves the machine); the demo then
runs the same commands an admin would: check → plan → apply → check, a second apply to show that a
converged account needs no change, a check of a Spot Fleet configuration ("will my fleets start?") and a key
rotation.

The demo stands above the command line: it is given the command line's entry point (``__main__`` wires the
two together) and never imports ``cli``. moto comes with the ``demo`` extra; without it the demo is one
``error:`` line.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from .commands import invocation
from .errors import SetupError
from .interruption import Interruption as Stop
from .standin import MotoStandIn

NEEDS_MOTO = "the demo needs moto: pip install 'deadline-spot-iam-setup[demo]'"
STOPPED = -1  # the code of a step not run: the demo was told to stop

_DEMO_ENV = {
    # moto accepts any credentials; these are the documented AWS example values, not real ones.
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_CLEARED = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_ENDPOINT_URL_STS",
)


@contextmanager
def _demo_environment() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in (*_DEMO_ENV, *_CLEARED)}
    os.environ.update(_DEMO_ENV)
    for name in _CLEARED:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _stand_in() -> Iterator[MotoStandIn]:
    aws = MotoStandIn()
    try:
        aws.start()
    except ModuleNotFoundError:  # moto, or a package of its server extra
        raise SetupError(NEEDS_MOTO) from None
    try:
        yield aws
    finally:
        aws.stop()


def run_demo(out: TextIO, cli: Callable[..., int], keep: bool = False, stop: Stop | None = None) -> int:
    """Run the demo, printing to ``out``; ``cli(argv, out=..., err=...)`` is the command line's entry point.
    ``keep``: afterwards, leave the stand-in running, with the lines that point another shell at it, until ``stop``
    (the command line's Ctrl-C) is set. A Ctrl-C during the walk-through ends it after the step under way."""
    program = invocation()

    def step(title: str, explanation: str, *argv: str) -> int:
        if stop is not None and stop():
            return STOPPED
        shown = " ".join(arg if " " not in arg else repr(arg) for arg in argv)
        print(f"\n=== {title}\n{explanation}\n$ {program} {shown}", file=out, flush=True)
        code = cli([*argv], out=out, err=out)
        print(f"(exit code {code})", file=out, flush=True)
        return code

    with _demo_environment(), _stand_in() as aws, tempfile.TemporaryDirectory() as folder:
        print(
            f"An embedded AWS stand-in runs on {aws.endpoint_url} (moto's server on loopback; no AWS account is used).",
            file=out,
        )
        endpoint = ["--endpoint-url", aws.endpoint_url]
        secret = Path(folder) / "spot-credentials.json"
        codes = [
            step("1. check", "A new account: every identity is missing, so check exits 2.", "check", *endpoint),
            step("2. plan", "What apply would do, in order. Nothing is changed yet.", "plan", *endpoint),
            step(
                "3. apply",
                "Create everything. The new access key's secret goes only to the file, mode 0600.",
                "apply",
                "--secret-out",
                str(secret),
                *endpoint,
            ),
            step("4. check", "Everything in place: check exits 0.", "check", *endpoint),
            step(
                "5. apply again",
                "Idempotent: a converged account needs no write call.",
                "apply",
                "--secret-out",
                str(secret),
                *endpoint,
            ),
        ]
        if secret.exists():
            mode = secret.stat().st_mode & 0o777
            print(f"\nThe secret file exists with mode {mode:o}; the secret itself was never printed.", file=out)
        fleets = Path(folder) / "spot-fleets.json"
        fleets.write_text(json.dumps(_SAMPLE_FLEETS, indent=2), encoding="utf-8")
        codes += [
            step(
                "6. will the fleets start?",
                "The Spot Event Plugin's Spot Fleet configuration, audited against the account: group 'gpu' is right, "
                "group 'cpu' names another account's fleet role and an instance profile that does not exist. The "
                "permission chain is judged from the Spot user's policies. Exit 2, one line per problem with its fix.",
                "check",
                "--spot-config",
                str(fleets),
                *endpoint,
            ),
            step(
                "7. rotate the access key",
                "A new key, verified, recorded, then written to a new file. The old key stays active: you enter the "
                "new one in the Spot Event Plugin's settings and confirm with rotate-key --finish. Exit 2: waiting "
                "for that.",
                "rotate-key",
                "--secret-out",
                str(Path(folder) / "spot-credentials-2.json"),
                *endpoint,
            ),
            step(
                "8. confirm the new key is entered",
                "rotate-key --finish records it. The old key was used moments ago, so it stays active until it has "
                "gone unused long enough for IAM to show any use by something still holding it; a later rotate-key "
                "deactivates it. Exit 2: waiting for that.",
                "rotate-key",
                "--finish",
                *endpoint,
            ),
        ]
        if keep and stop is not None and not stop():
            _keep_running(aws.endpoint_url, program, stop, out)
    expected = [2, 2, 0, 0, 0, 2, 2, 2]
    if stop is not None and stop() and not stop.expected:
        print("\nDemo interrupted.", file=out)
        return 1
    if codes != expected:
        print(f"\nDemo FAILED: exit codes {codes}, expected {expected}.", file=out)
        return 1
    print(f"\nDemo finished: exit codes were as expected ({', '.join(map(str, expected))}).", file=out)
    return 0


def _keep_running(endpoint_url: str, program: str, stop: Stop, out: TextIO) -> None:
    """The stand-in stays up, as the walk-through left it, until Ctrl-C: the lines to paste into another shell make
    every command there talk to it (botocore reads AWS_ENDPOINT_URL from 1.31 on; DeadlineSpotIamSetup/old_botocore.py
    reads it for older ones), with the documented example keys it accepts."""
    variables = {"AWS_ENDPOINT_URL": endpoint_url, **_DEMO_ENV}
    posix = "\n".join(f"  export {name}={value}" for name, value in variables.items())
    powershell = "\n".join(f'  $env:{name} = "{value}"' for name, value in variables.items())
    print(
        f"\nThe stand-in keeps running at {endpoint_url}, as the walk-through left it, until you press Ctrl-C here.\n"
        f"To try any command against it, paste into another shell:\n{posix}\n  unset AWS_PROFILE AWS_SESSION_TOKEN\n"
        f"  {program} check\n(PowerShell:\n{powershell}\n  Remove-Item Env:AWS_PROFILE -ErrorAction Ignore)\n"
        "Press Ctrl-C to stop the stand-in.",
        file=out,
        flush=True,
    )
    stop.expected = True  # Ctrl-C is how this ends, not an interruption
    stop.wait()
    print("Stopped the stand-in.", file=out, flush=True)


_IAM = "arn:aws:iam::123456789012"  # the stand-in's account
_SAMPLE_FLEETS = {
    "gpu": {
        "AllocationStrategy": "capacityOptimized",
        "IamFleetRole": f"{_IAM}:role/aws-ec2-spot-fleet-tagging-role",
        "LaunchSpecifications": [
            {
                "IamInstanceProfile": {"Arn": f"{_IAM}:instance-profile/DeadlineSpotWorker"},
                "ImageId": "ami-0123456789abcdef0",
                "InstanceType": "g4dn.xlarge",
            }
        ],
        "TargetCapacity": 1,
    },
    "cpu": {
        "AllocationStrategy": "capacityOptimized",
        "IamFleetRole": "arn:aws:iam::111111111111:role/aws-ec2-spot-fleet-tagging-role",
        "LaunchSpecifications": [
            {
                "IamInstanceProfile": {"Arn": f"{_IAM}:instance-profile/RenderWorker"},
                "ImageId": "ami-0123456789abcdef0",
                "InstanceType": "c5.4xlarge",
            }
        ],
        "TargetCapacity": 2,
    },
}
