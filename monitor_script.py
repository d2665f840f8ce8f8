#!/usr/bin/env python3
"""Spot IAM Setup: DeadlineSpotIamSetup's Monitor script (Monitor > Scripts > General).

Installed by ``install`` as <repository>/custom/scripts/General/SpotIamSetup.py, where Monitor lists General scripts,
and written the way Thinkbox's own are (ThinkboxSoftware/Deadline Custom/scripts/General/QueryFarmLimits.py; Deadline's
scripts/General/ScriptUIExample.py for the dialog): Monitor runs the file and calls its ``__main__``; the dialog is a
``DeadlineUI.Controls.Scripting.DeadlineScriptDialog``.

It shows the last result of every RCS/Pulse machine running the DeadlineSpotIamSetup event plugin (when, each
identity's state, what needs an admin, with the fixes), read from the plugin's metadata with
``RepositoryUtils.GetEventPluginConfigMetaDataDictionary``, and offers Check now, which asks every machine to check at
its next house cleaning, through the plugin's CheckNowRequest setting (``RepositoryUtils.
AddOrUpdateEventPluginConfigSetting``). See lib/spot_iam_plugin/farm_view.py for where each is kept and why. It reads
no setting of the plugin (so no secret reaches this workstation) and makes no AWS call.

The first line makes Deadline 10.1 and 10.2 run it under their Python 3; the code it loads from the plugin's folder
needs Python 3.7 or later, like the plugin.
"""

import getpass
import os
import sys

from Deadline.Scripting import RepositoryUtils
from DeadlineUI.Controls.Scripting.DeadlineScriptDialog import DeadlineScriptDialog

# The install keeps this file only while it holds this mark: DeadlineSpotIamSetup's Monitor script
PLUGIN_NAME = "DeadlineSpotIamSetup"
TITLE = "Spot IAM Setup"

scriptDialog = None
asked = []  # the Check now asked from this dialog


def _plugin_code():
    """The plugin's farm_view and bookkeeping modules, from its folder in the repository (None: not installed)."""
    folder = RepositoryUtils.GetEventPluginDirectory(PLUGIN_NAME)
    lib = os.path.join(str(folder), "lib") if folder else ""
    if not lib or not os.path.isdir(lib):
        return None
    if lib not in sys.path:
        sys.path.insert(0, lib)
    from spot_iam_plugin import bookkeeping, farm_view

    return bookkeeping, farm_view


def _metadata_reader():
    metadata = RepositoryUtils.GetEventPluginConfigMetaDataDictionary(PLUGIN_NAME)

    def read(key):
        try:
            return metadata[key]  # a .NET dictionary: a missing key raises
        except Exception:
            return None

    return read


def report_text():
    """What the dialog shows: every machine's last result, and the Check now asked from here."""
    code = _plugin_code()
    if code is None:
        return "The DeadlineSpotIamSetup event plugin is not installed in this repository (custom/events).\n"
    bookkeeping, farm_view = code
    read = _metadata_reader()
    hosts = [host for host in str(read(bookkeeping.HOSTS_KEY) or "").split() if host]
    request = asked[-1] if asked else None
    waiting = bookkeeping.waiting_hosts(read, hosts, request)
    from datetime import datetime, timezone

    return farm_view.farm_text(farm_view.read_results(read, hosts), request, waiting, datetime.now(timezone.utc))


def _requester():
    try:
        return getpass.getuser()
    except Exception:
        return ""


def check_now():
    """Ask every RCS/Pulse machine to check at its next house cleaning."""
    code = _plugin_code()
    if code is None:
        return False
    farm_view = code[1]
    request = farm_view.new_check_now_request(_requester())
    RepositoryUtils.AddOrUpdateEventPluginConfigSetting(PLUGIN_NAME, farm_view.CHECK_NOW_SETTING, request.text())
    asked.append(request)
    return True


def __main__(*args):
    global scriptDialog

    scriptDialog = DeadlineScriptDialog()
    scriptDialog.SetTitle(TITLE)
    scriptDialog.SetSize(900, 600)
    scriptDialog.AddGrid()
    scriptDialog.AddControlToGrid("ReportBox", "MultiLineTextControl", report_text(), 0, 0, colSpan=4)
    checkButton = scriptDialog.AddControlToGrid("CheckNowButton", "ButtonControl", "Check now", 1, 0, expand=False)
    checkButton.ValueModified.connect(CheckNowPressed)
    refreshButton = scriptDialog.AddControlToGrid("RefreshButton", "ButtonControl", "Refresh", 1, 1, expand=False)
    refreshButton.ValueModified.connect(RefreshPressed)
    scriptDialog.AddHorizontalSpacerToGrid("Spacer", 1, 2)
    closeButton = scriptDialog.AddControlToGrid("CloseButton", "ButtonControl", "Close", 1, 3, expand=False)
    closeButton.ValueModified.connect(ClosePressed)
    scriptDialog.EndGrid()
    scriptDialog.ShowDialog(False)


def CheckNowPressed(*args):
    if check_now():
        message = "Each RCS/Pulse machine checks at its next house cleaning (within a few minutes). Press Refresh then."
    else:
        message = "The DeadlineSpotIamSetup event plugin is not installed in this repository."
    scriptDialog.SetValue("ReportBox", report_text())
    scriptDialog.ShowMessageBox(message, TITLE)


def RefreshPressed(*args):
    scriptDialog.SetValue("ReportBox", report_text())


def ClosePressed(*args):
    scriptDialog.CloseDialog()
