"""The Spot user's one active access key: the secret the Spot Event Plugin signs its calls with.

IAM has no conditional create and shows a key's secret only in CreateAccessKey's reply, so creating the key
follows a protocol that stays correct when several runs race and when a reply is lost:

- Racing runs: after creating, a run lists the keys again and keeps its key only if it is strictly the oldest
  active one; otherwise it deletes its own and backs off (ties make every tied run step back and look again).
  At most one key survives, and IAM's limit of two keys per user is never exceeded.
- A lost reply: CreateAccessKey is never retried blindly (the gateway raises ReplyLost instead). The run waits
  for racing runs to settle, lists the keys, and deletes what it cannot account for: a key whose secret nobody
  holds is worse than none. When two or more unknown keys remain, the strictly oldest is a racing run's kept
  key (that run delivers it) and stays.
- Cancelled (the event plugin's time limit): nothing new starts; a key created but not yet handed off is
  deleted again.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..commands import command
from ..desired import AccessKey
from ..errors import AwsAccessError, Cancelled, LimitExceeded, ReplyLost, stop_reason
from ..findings import Action, Draft, PlanContext, Read, Stage, made
from ..key_delivery import deliver_new_key
from ..key_records import (
    ENTERED,
    ROTATING_TAG,
    KeyRecord,
    RotationMark,
    format_time,
    key_records,
    parse_mark,
)
from ..kinds import Kind
from ..template_parts import TemplateParts
from ..values import AccessKeyInfo, NewAccessKey, Observed, as_utc
from ..waits import KEY_LOST_REPLY_SETTLE, KEY_RACE_BACKOFF, KEY_RACE_ROUNDS, KEY_UNUSED_LIMIT
from .base import ApplyRun, Handler, Permissions, Sleep

if TYPE_CHECKING:
    from ..gateway_protocol import Gateway


def rotate_hint() -> str:
    return (
        f"{command('rotate-key --secret-out FILE')}, or let the event plugin do it (Rotate Key After Days, with "
        "Create Missing Identities on)"
    )


MAX_KEYS_PER_USER = 2  # IAM's quota


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.max.replace(tzinfo=timezone.utc)
    return as_utc(moment)


class AccessKeyHandler(Handler):
    kind = Kind.ACCESS_KEY
    identity_type = AccessKey

    def __init__(self, sleep: Sleep = time.sleep, rounds: int = KEY_RACE_ROUNDS) -> None:
        self._sleep = sleep
        self._rounds = rounds

    def reads(self, identity: AccessKey) -> tuple[Read, ...]:
        # The user's tags: which keys this project made, and the mark of a rotation run (key_records).
        return (
            Read("keys", "access_keys_with_usage", (identity.user_name,)),
            Read("tags", "user_tags", (identity.user_name,)),
        )

    def plan(self, identity: AccessKey, seen: Observed, draft: Draft, context: PlanContext) -> None:
        draft.exists = bool(seen.keys)  # "missing" when there is no key at all, "drift" when all are inactive
        tags = seen.tags or {}
        self._plan_rotation_mark(identity, parse_mark(tags.get(ROTATING_TAG)), draft, context)
        active = [k for k in seen.keys if k.active]
        if len(active) > 1:
            self._plan_two_keys(identity, active, key_records(tags), draft)
        if active:
            self._plan_lifecycle(identity, [k for k in seen.keys if k.active], draft, context)
            return
        if not seen.exists:
            draft.problems.append("no access key (the user does not exist yet)")
        elif seen.keys:
            draft.problems.append(f"all {len(seen.keys)} access keys of the user are inactive")
        else:
            draft.problems.append("the user has no access key")
        if len(seen.keys) >= MAX_KEYS_PER_USER:
            draft.leave_to_admin(
                f"the user already has {len(seen.keys)} inactive access keys, IAM's limit",
                "delete one that is no longer used, then run again",
            )
        elif context.deliver_key:
            draft.act(
                "CreateAccessKey",
                {"UserName": identity.user_name},
                f"create an access key for user {identity.user_name}",
                Stage.ACCESS_KEY,
                needs=(made("user", identity.user_name),),
            )
        else:
            draft.leave_to_admin(
                "no access key is created without somewhere safe to deliver its secret",
                "give the key a destination (the command line's --secret-out, the plugin's KeyDelivery)",
            )

    @staticmethod
    def _plan_rotation_mark(identity: AccessKey, mark: Any, draft: Draft, context: PlanContext) -> None:
        """A rotation run's mark outlives its run only when the run was killed or lost a reply: report it."""
        if mark is None or not mark.over(context.now):
            return
        run = f"run {mark.run} at {format_time(mark.at)}" if isinstance(mark, RotationMark) else f"'{mark.text}'"
        draft.needs_admin(
            f"an interrupted key rotation ({run}) left its mark on the user",
            f"run {command('rotate-key')} (or let the event plugin's next check do it): it deletes the key that run "
            "made if nothing uses it, and removes the mark",
        )

    @staticmethod
    def _plan_two_keys(
        identity: AccessKey, active: list[AccessKeyInfo], records: dict[str, KeyRecord], draft: Draft
    ) -> None:
        newest = max(active, key=lambda k: _utc(k.created))
        others = ", ".join(k.access_key_id for k in active if k is not newest)
        record = records.get(newest.access_key_id)
        if record is None:
            ids = ", ".join(k.access_key_id for k in active)
            draft.needs_admin(
                f"the user has {len(active)} active access keys ({ids})",
                "the Spot Event Plugin uses one of them: deactivate and delete the other in IAM "
                f"(aws iam delete-access-key --user-name {identity.user_name} --access-key-id ID)",
            )
        elif record.state == ENTERED:
            draft.needs_admin(
                f"a key rotation is under way: the new access key {newest.access_key_id} is entered in the Spot Event "
                f"Plugin; the old key {others} stays active until it has gone unused for a while",
                f"run {command('rotate-key')} again later: it deactivates the old key once nothing uses it",
            )
        else:
            draft.needs_admin(
                f"a key rotation is under way: the old key {others} stays active until the Spot Event Plugin is shown "
                f"to hold the new access key {newest.access_key_id}",
                "enter the new key in the Spot Event Plugin's settings, then run "
                f"{command('rotate-key --finish')} (a rotation the event plugin started, it finishes itself)",
            )

    @staticmethod
    def _plan_lifecycle(identity: AccessKey, active: list[AccessKeyInfo], draft: Draft, context: PlanContext) -> None:
        """An active key past its age limit is due for rotation; one that has not been used in the month since it
        was made is probably not the key the Spot Event Plugin is configured with."""
        for key in active:
            if key.created is None:
                continue
            age = context.now - _utc(key.created)
            if identity.max_age_days and age > timedelta(days=identity.max_age_days):
                draft.needs_admin(
                    f"access key {key.access_key_id} is {age.days} days old (limit {identity.max_age_days})",
                    f"rotate it: {rotate_hint()}",
                )
            if key.usage is not None and key.usage.last_used is None and age >= KEY_UNUSED_LIMIT:
                draft.needs_admin(
                    f"access key {key.access_key_id} has never been used in the {age.days} days since it was made",
                    "the Spot Event Plugin does not seem to use it: compare its Security Credentials with this key, "
                    "and delete the key if nothing uses it",
                )

    def permissions(self, identity: AccessKey, policy: Permissions) -> None:
        user = policy.anywhere("user", identity.user_name)
        policy.allow(
            "spot user access key",
            [
                "iam:ListAccessKeys",
                "iam:CreateAccessKey",
                "iam:DeleteAccessKey",
                "iam:UpdateAccessKey",
                "iam:GetAccessKeyLastUsed",
            ],
            user,
        )
        # Reading and writing the records of its keys on the user is granted with the user's tags (spot_user.py).

    def cloudformation(self, identity: AccessKey, template: TemplateParts) -> None:
        template.notes.append(
            f"access-key {identity.user_name}: not created (a secret does not belong in a template): the event "
            "plugin creates the key and delivers it to the Spot Event Plugin, or run `apply --secret-out FILE`; "
            "or use an existing role as the Spot credentials (--spot-role), which needs no key"
        )

    # -- apply ----------------------------------------------------------------------------------------
    def execute(self, action: Action, run: ApplyRun) -> str:
        user = action.params["UserName"]
        gateway = run.gateway
        for round_number in range(self._rounds):
            if run.cancelled():
                raise Cancelled(f"stopped before {action.summary}: {stop_reason(run.cancelled)}")
            before = gateway.access_keys(user) or ()
            if any(k.active for k in before):
                return self._left_to_another_run(action, run)
            try:
                key = gateway.create_access_key(user)
            except LimitExceeded:
                continue  # a racing run's key filled the quota: look again
            except ReplyLost:
                if self._clean_up_lost_reply(user, before, run):
                    return self._left_to_another_run(action, run)
                continue
            # STS is asked whether it accepts the key while the protocol goes on (the race check, the hand-over's
            # record): its answer only adds a note once the key is delivered, and a key deleted again is no longer
            # asked about.
            verification = run.start_verifying(key)
            try:
                oldest = self._oldest_active(run, key)
            except BaseException:
                verification.abandon()
                # Whatever stops this run between creating its key and handing it over (a refused or unanswered
                # ListAccessKeys, the time limit, Ctrl-C), the key must not outlive it: nobody else has its secret.
                self._delete_own(gateway, key)
                raise
            if oldest:
                # Staged, recorded as this project's, then made final; whatever stops that deletes the key again, so
                # that a --secret-out file never holds a deleted key.
                try:
                    deliver_new_key(key, gateway, run)
                except BaseException:
                    verification.abandon()  # deleted again by deliver_new_key
                    raise
                verification.finish()  # the key is this run's now: nothing from here on deletes it
                return f"{action.summary}: {key.access_key_id}"
            # Another run's key is older or as old: step back so that at most one key survives.
            verification.abandon()
            self._delete_own(gateway, key)
            if run.cancelled():
                raise Cancelled(f"stopped during {action.summary}: {stop_reason(run.cancelled)}")
            self._sleep(random.uniform(*KEY_RACE_BACKOFF) * (round_number + 1))
        if any(k.active for k in gateway.access_keys(user) or ()):
            return self._left_to_another_run(action, run)
        raise AwsAccessError(
            f"could not create a single access key for user {user}: other runs kept racing; run apply again"
        )

    @staticmethod
    def _oldest_active(run: ApplyRun, key: NewAccessKey) -> bool:
        """Whether the key just created is strictly the oldest active one, and so the one to keep; False: another
        run's key is older or as old."""
        others = [
            k for k in run.gateway.access_keys(key.user_name) or () if k.active and k.access_key_id != key.access_key_id
        ]
        return all(_utc(k.created) > _utc(key.created) for k in others)

    @staticmethod
    def _delete_own(gateway: Gateway, key: NewAccessKey) -> None:
        """Delete the key this run created; allowed even once the run is cancelled (cleaning up is not new
        work)."""
        gateway.delete_access_key(key.user_name, key.access_key_id, cleanup=True)

    @staticmethod
    def _left_to_another_run(action: Action, run: ApplyRun) -> str:
        run.result.key_left_to_another_run = True
        return f"{action.summary}: another run created it; that run delivers it"

    def _clean_up_lost_reply(self, user: str, before: tuple[AccessKeyInfo, ...], run: ApplyRun) -> bool:
        """After a CreateAccessKey whose reply was lost: delete the keys this run cannot account for. Returns
        True when a racing run's kept key remains (that run delivers it)."""
        self._sleep(KEY_LOST_REPLY_SETTLE)
        known = {k.access_key_id for k in before}
        unknown = sorted(
            (k for k in run.gateway.access_keys(user) or () if k.active and k.access_key_id not in known),
            key=lambda k: _utc(k.created),
        )
        kept_by_racer = None
        if len(unknown) >= 2 and _utc(unknown[0].created) < _utc(unknown[1].created):
            kept_by_racer = unknown.pop(0)
        for stray in unknown:
            run.gateway.delete_access_key(user, stray.access_key_id, cleanup=True)
            run.result.notes.append(
                f"deleted access key {stray.access_key_id} of user {user}: IAM created it but the reply with its "
                "secret was lost"
            )
        return kept_by_racer is not None
