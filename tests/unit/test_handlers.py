"""Every identity kind has exactly one handler, and an identity no handler knows is an error everywhere:
observing, planning, and rendering the bootstrap policy or a CloudFormation template never skip it silently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from DeadlineSpotIamSetup.bootstrap_policy import bootstrap_policy
from DeadlineSpotIamSetup.cloudformation import template
from DeadlineSpotIamSetup.desired import DesiredState, Settings, desired_state
from DeadlineSpotIamSetup.handlers import HANDLERS, Handler, handler_for
from DeadlineSpotIamSetup.kinds import Kind
from DeadlineSpotIamSetup.observe import observe
from DeadlineSpotIamSetup.plan import make_plan
from DeadlineSpotIamSetup.values import Observation, Observed


@dataclass(frozen=True)
class Stranger:
    kind: ClassVar[str] = "stranger"
    name: str = "X"


@dataclass(frozen=True)
class Impostor:
    """Claims a known kind without being that kind's identity type."""

    kind: ClassVar[Kind] = Kind.SPOT_USER
    name: str = "X"


def test_every_kind_has_its_handler_and_every_handler_its_kind():
    assert set(HANDLERS) == set(Kind)
    assert all(kind is handler.kind for kind, handler in HANDLERS.items())


def test_every_handler_says_how_its_identity_appears_in_a_cloudformation_template():
    """Created there, or named in its Metadata as not created: the renderer (cloudformation.py) knows no kind."""
    silent = [str(kind) for kind, handler in HANDLERS.items() if type(handler).cloudformation is Handler.cloudformation]
    assert silent == []


def test_every_identity_of_the_desired_state_finds_its_handler():
    for settings in (Settings(), Settings(spot_role="RcsRole"), Settings(resource_tracker=False)):
        for identity in desired_state(settings):
            assert handler_for(identity).kind is identity.kind


@pytest.mark.parametrize("identity", [Stranger(), Impostor()], ids=["unknown-kind", "wrong-type"])
def test_an_identity_no_handler_knows_is_refused_everywhere(identity):
    desired = DesiredState((identity,))
    with pytest.raises(TypeError, match="no handler"):
        handler_for(identity)
    with pytest.raises(TypeError, match="no handler"):
        make_plan(desired, Observation({identity: Observed(False)}), "aws")
    with pytest.raises(TypeError, match="no handler"):
        bootstrap_policy(desired)
    with pytest.raises(TypeError, match="no handler"):
        template(desired)
    with pytest.raises(TypeError, match="no handler"):
        observe(object(), desired)
