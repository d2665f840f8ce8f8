"""What botocore releases between the oldest one supported (1.23.0, boto3 1.20.0) and the newest lack that the
engine relies on: each is filled in here, or refused in one line. README.md, "Supported Deadline versions", says
why such old releases matter: Deadline 10.1 and 10.2 run the event plugin with the boto3 they ship.

* Configured endpoints. From botocore 1.31.0 a client takes its endpoint URL from ``AWS_ENDPOINT_URL_<SERVICE>``,
  then ``AWS_ENDPOINT_URL``, then the AWS config file (a ``services`` section, then the profile's
  ``endpoint_url``), unless ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` / ``ignore_configured_endpoint_urls`` is true
  (botocore's ``configprovider.ConfiguredEndpointProvider.provide``; its CHANGELOG, 1.31.0: "Configure the
  endpoint URL in the shared configuration file or via an environment variable for a specific AWS service or all
  AWS services"). Older botocore ignores them all, and a client would go to AWS's public endpoint where the admin
  named another one. Here the two environment variables are read the way botocore 1.31 reads them; an endpoint in
  the AWS config file is refused, in one line, rather than ignored.
* ``botocore.exceptions.ResponseStreamingError`` is newer than botocore 1.23.0; before it, a reply that breaks
  off while IAM's or STS's (never streamed) body is read surfaces as ``ConnectionClosedError``
  (``botocore/httpsession.py``, ``URLLib3Session.send``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import botocore
import botocore.configprovider
import botocore.exceptions

from .errors import AwsAccessError, InvalidSettings

OLDEST_BOTOCORE = (1, 23, 0)  # what boto3 1.20.0, the oldest boto3 supported, requires

# botocore's own check of the two switches: ``utils.ensure_boolean`` (a bool, or the text "true" in any case).
_IGNORE_VARIABLE = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
_IGNORE_SETTING = "ignore_configured_endpoint_urls"

RESPONSE_STREAMING_ERRORS: tuple[type[Exception], ...] = tuple(
    error
    for error in (getattr(botocore.exceptions, "ResponseStreamingError", None),)
    if isinstance(error, type) and issubclass(error, Exception)
)


def version(text: str) -> tuple[int, ...]:
    """``"1.23.0"`` → ``(1, 23, 0)``; a part that does not start with a number counts as 0."""
    parts = []
    for part in text.split(".")[:3]:
        digits = re.match(r"\d*", part)
        parts.append(int(digits.group(0)) if digits and digits.group(0) else 0)
    return tuple(parts)


def check_version(found: str = botocore.__version__) -> None:
    """Raise AwsAccessError, one line naming what to do, for a botocore older than the oldest supported."""
    if version(found) < OLDEST_BOTOCORE:
        oldest = ".".join(map(str, OLDEST_BOTOCORE))
        raise AwsAccessError(
            f"botocore {found} is older than {oldest} (boto3 1.20.0), the oldest this tool supports: upgrade boto3 "
            "in the Python that runs it (inside Deadline: the boto3 in the repository's pythonsync3 folder, see "
            "README.md, 'Supported Deadline versions')"
        )


def reads_configured_endpoints() -> bool:
    """True when this botocore takes endpoint URLs from the environment and the AWS config file itself."""
    return hasattr(botocore.configprovider, "ConfiguredEndpointProvider")


def configured_endpoint_url(service: str, scoped_config: Mapping[str, Any], environ: Mapping[str, str]) -> str | None:
    """The endpoint URL botocore 1.31 and later would take for ``service`` (``iam``, ``sts``, ``ec2``) from
    ``environ``; None when none is set. Raises InvalidSettings when only the AWS config file names one (its
    profile's ``scoped_config``): this botocore would ignore it."""
    if _is_true(environ.get(_IGNORE_VARIABLE)) or _is_true(scoped_config.get(_IGNORE_SETTING)):
        return None
    for name in (f"AWS_ENDPOINT_URL_{service.upper()}", "AWS_ENDPOINT_URL"):
        if environ.get(name):
            return environ[name]
    if scoped_config.get("endpoint_url") or scoped_config.get("services"):
        raise InvalidSettings(
            f"the AWS config file names an endpoint URL (endpoint_url or services) that botocore "
            f"{botocore.__version__} does not read (botocore reads it from 1.31.0): set the endpoint URL setting "
            "(--endpoint-url, or the plugin's EndpointUrl) or AWS_ENDPOINT_URL instead, or upgrade boto3"
        )
    return None


def _is_true(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")
