"""The embedded AWS stand-in of ``python -m DeadlineSpotIamSetup demo``: moto's server on loopback.

:class:`MotoStandIn` runs moto's server (IAM and friends) in this process on a local port, with the AWS
managed policies loaded and the service-linked role names of the Spot services corrected to match real AWS.
The test suites and the benchmarks use it too; their fault-injecting proxy lives in ``tests/support``.

moto is not a run-time dependency: it comes with the ``demo`` extra (``pip install
'deadline-spot-iam-setup[demo]'``) and is imported by :meth:`MotoStandIn.start`. Importing this module
imports only the standard library and changes no global state; ``start()`` sets moto's environment variable,
patches its service-linked role names and quiets werkzeug's request log. The module is not installed into
Deadline.

Note that moto keeps its state in module-level backends: every :class:`MotoStandIn` started in one process
serves the same state.
"""

from __future__ import annotations

import logging
import os
from typing import Any

__all__ = ["SERVICE_NAME_FIXES", "MotoStandIn"]

#: Corrections applied to moto's table of service-linked role names. Without them,
#: moto names the Spot service-linked roles ``AWSServiceRoleForspot`` and
#: ``AWSServiceRoleForspotfleet``; AWS names them as below.
SERVICE_NAME_FIXES = {
    "spot": "EC2Spot",
    "spotfleet": "EC2SpotFleet",
}

_LOOPBACK = "127.0.0.1"


def _url_host(host: str) -> str:
    """Host to put in a URL for a server bound to ``host``."""
    if host in ("", "0.0.0.0", "::"):
        return _LOOPBACK
    if ":" in host:
        return f"[{host}]"
    return host


class MotoStandIn:
    """An in-process moto server, usable as a context manager.

    >>> with MotoStandIn() as aws:            # doctest: +SKIP
    ...     boto3.client("iam", endpoint_url=aws.endpoint_url, ...)
    """

    def __init__(self, host: str = _LOOPBACK, port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: Any = None  # moto's ThreadedMotoServer, once started

    def start(self) -> MotoStandIn:
        """Start the server (in a daemon thread) and return ``self``."""
        if self._server is not None:
            raise RuntimeError("MotoStandIn is already started")
        # Global state changes here, never at import: must be set before moto is imported, so that the IAM
        # backend carries the AWS managed policies (e.g. AmazonEC2SpotFleetTaggingRole).
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        # One log line per request is noise for the demo and the benchmarks.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)

        # Imported here, not at the top: moto is optional (the ``demo`` extra) and the command line must start
        # without it; importing it also takes 0.4-0.5 s, more than all of the command line's imports (0.26 s).
        import moto.iam.models as iam_models
        from moto.server import ThreadedMotoServer

        iam_models.SERVICE_NAME_CONVERSION.update(SERVICE_NAME_FIXES)

        try:
            server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        except TypeError:  # moto releases without the ``verbose`` argument
            server = ThreadedMotoServer(ip_address=self.host, port=self.port)
        server.start()
        self._server = server
        self.port = server.get_host_and_port()[1]
        return self

    @property
    def endpoint_url(self) -> str:
        """The ``http://HOST:PORT`` URL to pass to boto3 as ``endpoint_url``."""
        if self._server is None:
            raise RuntimeError("MotoStandIn is not started")
        return f"http://{_url_host(self.host)}:{self.port}"

    def stop(self) -> None:
        """Stop the server. Calling it again is harmless."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stop()
        # ThreadedMotoServer.stop() leaves the listening socket open.
        wsgi_server = getattr(server, "_server", None)
        if wsgi_server is not None:
            try:
                wsgi_server.server_close()
            except OSError:
                pass

    def __enter__(self) -> MotoStandIn:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
