#!/usr/bin/env python3
"""Runs DeadlineSpotIamSetup's command line with Deadline's own Python, from the plugin's folder in the repository:

    deadlinecommand -ExecuteScriptNoGui "<repository>/custom/events/DeadlineSpotIamSetup/command.py" bootstrap-policy

Deadline calls ``__main__`` with the arguments that follow the script (the convention AWS's RFDK relies on:
aws/aws-rfdk packages/aws-rfdk/lib/deadline/scripts/python/configure_identity_registration_settings.py, "This function
is named to be compatible with deadlinecommand ExecuteScriptNoGui"). The command line is the engine installed beside
this file in lib/ (Python 3.7+ with boto3, as Deadline ships); nothing needs installing on the machine. The first line
makes Deadline 10.1 and 10.2 run it under their Python 3 (see the plugin file's documentation).
"""

import os
import sys

_LIB = os.path.join(os.path.dirname(os.path.realpath(__file__)), "lib")


def __main__(*args):
    if _LIB not in sys.path:
        sys.path.insert(0, _LIB)
    from spot_iam_plugin.messages import command_line_in_deadline

    from DeadlineSpotIamSetup import cli, commands

    commands.use(command_line_in_deadline(os.path.dirname(_LIB)))  # its messages name this way of running it
    try:
        return cli.main([str(argument) for argument in args])
    except SystemExit as stop:  # argparse's usage errors and --help: a status, not a traceback in Deadline's console
        return stop.code
