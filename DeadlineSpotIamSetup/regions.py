"""The AWS regions botocore knows, read from its own endpoint data: each partition of ``endpoints.json`` lists its
regions (``partitions[].regions``), in every botocore release from the oldest supported (1.23) on. A region name
botocore does not know is a typo far more often than a region launched after the installed botocore: it is refused,
naming the closest known region, unless the front end is told it is such a new region (IAM is global, so botocore
still reaches IAM's endpoint for a region of the ``aws`` partition it does not know)."""

from __future__ import annotations

import functools
import threading
from typing import Any

import botocore
import botocore.session

from .errors import InvalidSettings

_LOADER_LOCK = threading.Lock()
_LOADER: Any = None


def data_loader() -> Any:
    """The botocore data loader this process shares: every botocore session of aws_session gets it, and the region
    checks read it, so that each data file (endpoints.json, a service model) is read and parsed once per process
    (botocore otherwise parses them again for each session: about 40 ms of CPU for endpoints.json alone). It is the
    loader botocore would make (``Session.get_component("data_loader")``: its search path with the ``data_path``
    setting, from ``AWS_DATA_PATH`` or the config file)."""
    global _LOADER
    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = botocore.session.Session(include_builtin_handlers=False).get_component("data_loader")
        return _LOADER


@functools.lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Every region of every partition in the installed botocore's endpoint data, read with this process's loader
    (:func:`data_loader`), from which every session's clients resolve their endpoints too."""
    endpoints = data_loader().load_data("endpoints")
    return frozenset(region for partition in endpoints.get("partitions", ()) for region in partition.get("regions", {}))


def check_region(region: str, named: str, allow_unknown: str) -> None:
    """Refuse ``region`` when botocore does not know it, naming the closest known region. ``named`` says where the
    name came from (``--region``, ``AWS_DEFAULT_REGION``, the plugin's Region); ``allow_unknown`` how to let a region
    newer than the installed botocore through."""
    known = known_regions()
    if region in known:
        return
    import difflib  # only for this message

    close = difflib.get_close_matches(region, sorted(known), n=1, cutoff=0.6)
    meant = f": did you mean {close[0]!r}?" if close else "."
    raise InvalidSettings(
        f"{named} {region!r} is not a region this botocore ({botocore.__version__}) knows{meant} For a region newer "
        f"than this botocore, {allow_unknown}"
    )
