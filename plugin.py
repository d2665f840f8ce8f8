"""Deadline event plugin: verifies, on RCS/Pulse start and every CheckIntervalHours, the IAM identities the Spot
Event Plugin needs; creates what is missing when CreateMissing is on; hands a new access key to the Spot plugin.

Installed as <repository>/custom/events/DeadlineSpotIamSetup/DeadlineSpotIamSetup.py by
`python -m DeadlineSpotIamSetup install --repository PATH`. The work is done in lib/ (see README.md).
"""

import importlib
import sys
from pathlib import Path

from Deadline.Events import DeadlineEventListener
from Deadline.Scripting import RepositoryUtils

_HERE = Path(__file__).resolve().parent
_PLUGIN_NAME = _HERE.name


def _load_runner():
    """Import lib/spot_iam_plugin. The engine package under lib/ shares this plugin's name, and the host may
    have registered this very file in sys.modules under that name: then make way for the package."""
    lib = str(_HERE / "lib")
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
        super().__init__()
        self.OnHouseCleaningCallback += self.OnHouseCleaning

    def Cleanup(self):
        del self.OnHouseCleaningCallback

    def OnHouseCleaning(self):
        try:
            runner = _load_runner()
        except Exception as error:  # never raise into Deadline
            self.LogWarning(f"{_PLUGIN_NAME}: cannot load its code from {_HERE / 'lib'}: {error}; reinstall it")
            return
        runner.on_house_cleaning(self, RepositoryUtils, _PLUGIN_NAME)
