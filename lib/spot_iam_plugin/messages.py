"""What the event plugin says in Deadline's log: every sentence in one place, so the wording (and the numbers it
quotes from DeadlineSpotIamSetup.waits) is stated once."""

from __future__ import annotations

import os
from datetime import timedelta

from DeadlineSpotIamSetup.commands import command
from DeadlineSpotIamSetup.waits import PLUGIN_RETRY_AFTER_FAILURE

from .settings import PluginSettings
from .status import RunStatus

CONFIGURE = "Monitor > Tools > Configure Events"
# The script, in the installed plugin's folder, that runs this tool's command line with Deadline's own Python:
# `deadlinecommand -ExecuteScriptNoGui <script> ARGS` calls its __main__(*args) with ARGS (the convention of AWS's
# RFDK, aws/aws-rfdk packages/aws-rfdk/lib/deadline/scripts/python/configure_identity_registration_settings.py:
# "This function is named to be compatible with deadlinecommand ExecuteScriptNoGui").
COMMAND_SCRIPT = "command.py"


def command_line_in_deadline(plugin_folder: str) -> str:
    """How the command line is run on a Deadline machine: the engine installed with the plugin, Deadline's Python."""
    return f'deadlinecommand -ExecuteScriptNoGui "{os.path.join(plugin_folder, COMMAND_SCRIPT)}"'


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} minutes" if minutes < 120 else f"{minutes // 60} hours"


RETRY = f"the next attempt comes in {_duration(PLUGIN_RETRY_AFTER_FAILURE)}"


def checking(reason: str) -> str:
    return f"Checking the Spot Event Plugin's IAM identities ({reason})."


def credential(settings: PluginSettings) -> str:
    if settings.uses_bootstrap_keys:
        source = f"bootstrap access key {settings.bootstrap_access_key_id}"
    elif settings.bootstrap_profile:
        source = f"AWS profile {settings.bootstrap_profile!r}"
    else:
        source = "this machine's default AWS credentials"
    if settings.bootstrap_role_arn:
        source += f", assuming {settings.bootstrap_role_arn}"
    return source


def using(settings: PluginSettings, endpoint: str) -> str:
    return f"Using {credential(settings)} against {endpoint}."


def settings_invalid(error: Exception, plugin_name: str) -> str:
    return f"Settings are not valid, nothing checked: {error}. Fix them in {CONFIGURE} > {plugin_name}."


def delivery_settings_invalid(error: Exception, plugin_name: str) -> str:
    return (
        f"Admin to do: no access key is created while the key cannot be delivered: {error} "
        f"({CONFIGURE} > {plugin_name}). Everything else is checked and created as usual."
    )


def left_as_they_are(missing: list[str]) -> str:
    return (
        "Left as they are, CreateMissing is off: "
        + ", ".join(missing)
        + ". Set CreateMissing to True (with a bootstrap credential allowed to create them, see "
        + command("bootstrap-policy")
        + "), or run "
        + command("apply")
        + " as an IAM admin."
    )


def fleets_not_audited(why: str) -> str:
    return f"The Spot Fleet configuration is not audited: {why}."


def fleets_audited_from(source: str) -> str:
    return f"The Spot Fleet configuration audited is the one in {source}."


def admin_to_do(item: str) -> str:
    return f"Admin to do: {item}"


def rotation_note(note: str) -> str:
    return f"Key rotation: {note}."


def rotation_waiting(why: str) -> str:
    return f"Key rotation not finished: {why}; the next check goes on with it."


def rotation_failed(error: Exception) -> str:
    return f"Check failed during the key rotation: {error}"


def key_in_use(spot: str, key_id: str, user: str) -> str:
    return f"The {spot} event plugin uses access key {key_id} of user {user}."


def key_not_in_use(spot: str, user: str, in_use: str | None, active: list[str], destination: str) -> str:
    have = f"it has {in_use}" if in_use else "it has no access key set"
    return (
        f"Admin to do: the {spot} event plugin does not use an access key of user {user} ({have}), and the secret of "
        f"the existing key {', '.join(active)} cannot be read back from AWS. Either enter that key in {CONFIGURE} > "
        f"{spot} > Security Credentials, or delete it in IAM: the next check (restart RCS/Pulse, or after "
        f"CheckIntervalHours) creates a new key and delivers it to {destination}."
    )


def profile_written(key_id: str, profile: str, path: object) -> str:
    return (
        f"Wrote access key {key_id} (delivered by this farm's plugin) into profile [{profile}] of {path}, the profile "
        "the Spot event plugin uses on this machine."
    )


def time_limit(limit: float) -> str:
    return (
        f"Check did not finish within {limit:.0f} s (AWS slow or unreachable); stopped waiting so house cleaning can "
        f"go on. It starts nothing new from now on; {RETRY}."
    )


def still_running(seconds: float) -> str:
    return (
        f"The check left at the time limit {seconds:.0f} s ago is still running (it starts nothing new); no second "
        "check is started beside it."
    )


def left_behind_finished(status: RunStatus) -> str:
    return f"The check left at the time limit finished since: {status} (its lines are above)."


def forgot_bootstrap(key_id: str) -> str:
    return (
        "Bootstrap credential removed from this plugin's settings (ForgetBootstrapCredential). Deactivate or delete "
        f"access key {key_id} in IAM if nothing else uses it."
    )


def forget_deferred() -> str:
    return (
        "ForgetBootstrapCredential: the bootstrap credential is kept until this machine sees the Spot plugin's key "
        "delivered and accepted by AWS (another machine may still need it to deliver)."
    )


def forget_failed(error: Exception) -> str:
    return (
        f"The check succeeded, but it could not clear the bootstrap credential from this plugin's settings "
        f"({type(error).__name__}: {error}): clear it in {CONFIGURE}."
    )


def bookkeeping_failed(error: Exception) -> str:
    return (
        f"The check ran, but it could not be recorded in this plugin's metadata ({type(error).__name__}: {error}): "
        "the next house cleaning checks again."
    )


def unexpected(error: Exception, after_check: bool) -> str:
    what = "after the check ran" if after_check else "before any AWS call, nothing changed by it"
    return f"Unexpected failure {what}: {type(error).__name__}: {error}"


def finished(seconds: float, status: RunStatus, interval_hours: int) -> str:
    if status is RunStatus.FAILED:
        after = RETRY
    elif interval_hours:
        after = f"next check in {interval_hours} h"
    else:
        after = "next check when RCS/Pulse restarts"
    return f"Finished in {seconds:.1f} s: {status}; {after}."


def role_mode_available(plugin_name: str) -> str:
    return (
        "This machine runs on EC2 with an instance role (the AWS credentials in use come from it), so the Spot Event "
        "Plugin can use a role instead of a long-lived access key: set Spot Credentials (SpotCredentialsMode) to IAM "
        f"Role and Spot Role Name (SpotRoleName) to that role's name in {CONFIGURE} > {plugin_name}; the plugin then "
        "gives the role the Spot admin policies and creates no user or key. Leave the Spot plugin's access key "
        "fields empty and Use Local Credentials off. (Said once after RCS/Pulse starts.)"
    )
