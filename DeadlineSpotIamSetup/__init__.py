"""Check, plan and apply the AWS IAM identities that Deadline's Spot Event Plugin needs.

The engine is importable without Deadline and runs on Python 3.7 or later with only boto3/botocore (1.20 or
later), so the same code serves the command line (``python -m DeadlineSpotIamSetup``) and the Deadline event plugin.
"""

from __future__ import annotations

__version__ = "0.1.0"
