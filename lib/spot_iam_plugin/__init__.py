"""The Deadline side of DeadlineSpotIamSetup: settings from the event plugin's configuration, run bookkeeping,
the logging bridge and the hand-off of a new access key to the Spot Event Plugin.

Nothing here imports Deadline: the event plugin passes in its listener and Deadline's RepositoryUtils, so this
code runs (and is tested) on any Python 3.7+ with boto3 1.20+.
"""

from __future__ import annotations
