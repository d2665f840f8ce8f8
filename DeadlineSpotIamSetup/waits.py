"""Every wait, timeout and backoff of the engine and the event plugin, named, with why it has its value.

One polling helper (:func:`poll`) serves every "wait until IAM shows it" loop; its clock and sleep are
injected so tests run it without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Timeouts:
    """Bounds on one AWS call.

    ``connect``/``read`` bound each socket operation; ``call_budget`` is the time after which no retry
    starts; ``call_deadline`` is the hard limit on the whole call, retries and a trickling reply included
    (the connection is cut when it passes).
    """

    connect: float
    read: float
    call_budget: float
    call_deadline: float
    max_attempts: int


# The command line: generous enough for a distant endpoint and IAM's throttling, and still an unreachable,
# silent or trickling endpoint ends in a one-line error in under 30 s (the deadline of the first round of reads).
CLI_TIMEOUTS = Timeouts(connect=3.0, read=6.0, call_budget=15.0, call_deadline=20.0, max_attempts=10)

# A refused connection (nothing listens on the endpoint's port: a wrong --endpoint-url, a local server that is down) is
# tried once more after this delay, for a server that is restarting, then reported: botocore's standard backoff would
# spend the whole call budget on an answer that does not change.
REFUSED_CONNECTION_RETRY_DELAY = 0.5

# Inside RCS/Pulse every call is bounded tighter: a whole run must end within PLUGIN_RUN_LIMIT.
PLUGIN_TIMEOUTS = Timeouts(connect=2.0, read=4.0, call_budget=8.0, call_deadline=10.0, max_attempts=8)

# Deadline runs event plugins in the house-cleaning process; a run that took much longer than this would hold
# up house cleaning. After it the run is told to stop before its next call.
PLUGIN_RUN_LIMIT = 38.0

# After a failed or timed-out run, the plugin waits this long before the next attempt instead of trying at every
# house cleaning (which comes every minute or so) against an endpoint that just failed.
PLUGIN_RETRY_AFTER_FAILURE = timedelta(minutes=15)


@dataclass(frozen=True)
class ApplyWaits:
    """How long apply waits on IAM's eventual consistency."""

    # For IAM to show a just-created user, role or instance profile, and for a write that depends on one
    # (NoSuchEntity) to succeed. Terraform's AWS provider allows 2 minutes; IAM usually needs seconds.
    visibility: float
    # For a new access key to be accepted by STS (it takes a few seconds to propagate).
    key_verification: float


CLI_APPLY_WAITS = ApplyWaits(visibility=30.0, key_verification=20.0)
# Inside the plugin's run limit.
PLUGIN_APPLY_WAITS = ApplyWaits(visibility=10.0, key_verification=8.0)

# Polling IAM for something it should show: the first look is immediate (moto and, mostly, IAM answer at once,
# so a wait costs one round trip), then 0.5 s, doubling up to 4 s between looks.
POLL_FIRST_DELAY = 0.5
POLL_MAX_DELAY = 4.0

# A new key that STS still rejects is looked at again after about a second (jittered, so racing runs spread).
KEY_VERIFY_DELAY = 1.0

# Racing runs creating the Spot user's one access key: this many rounds, and a loser backs off a random
# 0.3-1.5 s times the round number before looking again, so tied runs come apart.
KEY_RACE_ROUNDS = 4
KEY_RACE_BACKOFF = (0.3, 1.5)

# After a CreateAccessKey whose reply was lost, wait this long before listing the keys: a racing run's own
# keep-or-delete step (one list call) settles by then, so what is left is what stays.
KEY_LOST_REPLY_SETTLE = 1.0


# The check after an apply that raced for the key: a racing run's extra key lives until that run's own
# keep-or-delete step (a list call and a delete) is done. Wait this long for it before reporting two active keys.
KEY_RACE_SETTLE = 5.0


# The Spot user's access key over its life. A key older than KEY_MAX_AGE_DAYS is due for rotation (90 days is the
# usual audit limit: CIS AWS Foundations 1.14). An active key not used for KEY_UNUSED_LIMIT since it was made is
# reported: the Spot Event Plugin signs calls with its key every few minutes while it runs, so a key it has not
# used for a month is probably not the one it is configured with.
KEY_MAX_AGE_DAYS = 90
KEY_UNUSED_LIMIT = timedelta(days=30)
# After a rotation, the old key is deactivated, and deleted by a run after this grace period, unless something tried
# to use it since (an inactive key can be switched on again in IAM if something still needed it).
KEY_RETIRE_GRACE = timedelta(days=7)
# The command line retires the old key only once an admin confirmed the new key is entered (rotate-key --finish) and
# the old key has gone unused for this long since its last recorded use: IAM records a key's use at most once per
# 15 minutes ("When an access key is used more than once in a 15-minute span, only the first use is recorded", IAM
# User Guide, Getting credential reports), and IAM's last-used data shows recent activity "usually within four hours"
# (IAM API Reference, GenerateServiceLastAccessedDetails): a use by something still holding the old key shows up
# within this time, and the old key is kept.
KEY_IDLE_BEFORE_RETIRING = timedelta(hours=4)
# A rotation run that marked itself on the Spot user ends within this many call deadlines after the mark: its
# CreateAccessKey, the new key's verification, its hand-over and record, and the clean-up of a key it cannot hand
# over. It starts no step that could end later. Past that the mark is void, whatever ended the run.
ROTATION_RUN_CALLS = 6
# Named-profile delivery puts the key in each RCS/Pulse machine's own credentials file: the event plugin deactivates
# the old key only once every machine that ran a check within this time holds the new one (a machine retired from
# the farm stops counting after it).
KEY_HOLDER_REPORT_WINDOW = timedelta(days=7)


# Writing a private file on Windows: icacls restricts its ACL (it answers in well under a second; a hung one must
# not hold the run), and a replace refused because another process holds the target open (an AWS tool reading the
# credentials file, an antivirus scan) is tried again for about 3 s in all before giving up.
PRIVATE_FILE_COMMAND_TIMEOUT = 10.0
REPLACE_RETRY_ATTEMPTS = 8
REPLACE_RETRY_FIRST_DELAY = 0.05
REPLACE_RETRY_MAX_DELAY = 1.0


@dataclass(frozen=True)
class Clock:
    """Where a run reads the time and waits: the real clocks, or those of a test that moves time itself.
    ``aws_now`` None: AWS's time as the gateway reads it from AWS's replies."""

    aws_now: Callable[[], datetime] | None = None
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


REAL_CLOCK = Clock()


def poll(
    attempt: Callable[[], T | None],
    timeout: float,
    first_delay: float = POLL_FIRST_DELAY,
    max_delay: float = POLL_MAX_DELAY,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T | None:
    """Call ``attempt`` now and then with a doubling delay until it returns something other than None, or until
    ``timeout`` seconds have passed (then None). Never sleeps past the timeout."""
    deadline = clock() + timeout
    delay = first_delay
    while True:
        answer = attempt()
        if answer is not None:
            return answer
        left = deadline - clock()
        if left <= 0:
            return None
        sleep(min(delay, left))
        delay = min(delay * 2, max_delay)
