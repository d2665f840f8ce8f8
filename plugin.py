#!/usr/bin/env python3
"""Deadline event plugin: verifies, on RCS/Pulse start and every CheckIntervalHours, the IAM identities the Spot
Event Plugin needs; creates what is missing when CreateMissing is on; hands a new access key to the Spot plugin.

Installed as <repository>/custom/events/DeadlineSpotIamSetup/DeadlineSpotIamSetup.py by
`python -m DeadlineSpotIamSetup install --repository PATH`. The work is done in lib/ (see README.md).

The first line makes Deadline 10.1 and 10.2, which carry Python 2 and Python 3 side by side, run this file under
their Python 3 (Thinkbox's "Python 3 Upgrade Guide"; a public report: ynput/OpenPype issue 4395). The code in lib/
needs Python 3.7 or later; this file alone is written so that Python 2.7 and 3.6 can load it too, and then it only
logs the one line that says what it needs (README.md, "Supported Deadline versions").
"""

import importlib
import os
import platform
import sys

from Deadline.Events import DeadlineEventListener
from Deadline.Scripting import RepositoryUtils

_HERE = os.path.dirname(os.path.realpath(__file__))
_PLUGIN_NAME = os.path.basename(_HERE)
OLDEST_PYTHON = (3, 7)
SUPPORTED = "Deadline 10.1.12 or later running Python 3.7 or later"
# The oldest boto3 the code in lib/ supports (lib/DeadlineSpotIamSetup/old_botocore.py).
OLDEST_BOTO3 = "boto3 1.20.0 (botocore 1.23.0)"


def unsupported_python_line():
    """The one line logged when this Python cannot run the plugin's code; None when it can."""
    if sys.version_info[:2] >= OLDEST_PYTHON:
        return None
    return "{0}: needs {1}; it was loaded by Python {2}, so it does nothing (see its README)".format(
        _PLUGIN_NAME, SUPPORTED, platform.python_version()
    )


def load_failure_line(error):
    """The one line logged when lib/ cannot be imported: boto3 missing from Deadline's Python, or a broken install."""
    missing = getattr(error, "name", None) if isinstance(error, ImportError) else None
    if missing and missing.split(".")[0] in ("boto3", "botocore"):
        return (
            "{0}: needs {1} or later in the Python that Deadline runs it with (Python {2}), which cannot import "
            "{3}: {4} (see its README)".format(_PLUGIN_NAME, OLDEST_BOTO3, platform.python_version(), missing, error)
        )
    return "{0}: cannot load its code from {1}: {2}; reinstall it".format(
        _PLUGIN_NAME, os.path.join(_HERE, "lib"), error
    )


def _load_runner():
    """Import lib/spot_iam_plugin. The engine package under lib/ shares this plugin's name, and the host may
    have registered this very file in sys.modules under that name: then make way for the package."""
    lib = os.path.join(_HERE, "lib")
    if lib not in sys.path:
        sys.path.insert(0, lib)
    registered = sys.modules.get("DeadlineSpotIamSetup")
    if registered is not None and not hasattr(registered, "__path__"):
        del sys.modules["DeadlineSpotIamSetup"]
    return importlib.import_module("spot_iam_plugin.runner")


def GetDeadlineEventListener():
    return SpotIamSetupListener()


def CleanupDeadlineEventListener(eventListener):
    eventListener.Cleanup()


class SpotIamSetupListener(DeadlineEventListener):
    def __init__(self):
        super(SpotIamSetupListener, self).__init__()  # the spelling Python 2 parses too
        self.OnHouseCleaningCallback += self.OnHouseCleaning

    def Cleanup(self):
        del self.OnHouseCleaningCallback

    def OnHouseCleaning(self):
        unsupported = unsupported_python_line()
        if unsupported is not None:
            self.LogWarning(unsupported)
            return
        try:
            runner = _load_runner()
        except Exception as error:  # never raise into Deadline
            self.LogWarning(load_failure_line(error))
            return
        runner.on_house_cleaning(self, RepositoryUtils, _PLUGIN_NAME)
