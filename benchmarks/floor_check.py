"""The floor of a warm check: start the interpreter, import boto3, make one IAM client, and make the check's 19
distinct reads in the 2 rounds they need (the 17 by name at once, then the 2 policy versions GetPolicy names).

Usage: python benchmarks/floor_check.py ENDPOINT_URL"""

from __future__ import annotations

import sys

import boto3
from botocore.config import Config
from floor_calls import check_reads

iam = boto3.client("iam", endpoint_url=sys.argv[1], config=Config(max_pool_connections=24))
check_reads(iam)
