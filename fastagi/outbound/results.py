"""The outbound call's own record of its result: a durable side channel next to AMI.

AMI events are not durable: an answered callback that also ends while the
manager connection is down leaves no OriginateResponse, no report and no
Hangup behind, and the dialer would count it as failed (and call the client
again). So the call also reports itself, over FastAGI, into Redis
(dialplan/ivr-outbound.conf):

    AGI(${IVR_AGI}/outbound/result,${IVR_KIND},${IVR_ID},${IVR_ATTEMPT},ANSWER)

- client first and campaign calls: as the answered call starts (`ANSWER`);
- agent first: in the `h` extension of the agent's call, with the client's
  `${DIALSTATUS}` (whoever hung up first).

The script writes one key with one command (`SET ... EX`):

    <prefix>outbound:result:<kind>:<id>  =  "<status> <attempt>"   (kept RESULT_TTL)

`<kind>` is `callback` or `campaign`, `<id>` the dialplan report id (`cb-17`,
`cp-5`), `<attempt>` the Originate's ChannelId, which the dialer passes as
`IVR_ATTEMPT`: a record left by an earlier attempt of the same request is
never taken for this one. Every argument is checked against a strict pattern
before anything is written, so channel data never shapes a key. If Redis or
the server is down the AGI fails quickly and the dialplan goes on.

The dialer reads the key only when AMI lost the call (no OriginateResponse,
and CoreShowChannels no longer lists it): the normal path costs nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from redis.exceptions import RedisError

from fastagi.callers.keys import DEFAULT_PREFIX, check_prefix
from fastagi.outbound.originate import ATTEMPT_VARIABLE, DialOutcome, dialstatus_outcome
from fastagi.server.router import CallStatus, Handler

if TYPE_CHECKING:
    from fastagi.call import Call

__all__ = [
    "ATTEMPT_VARIABLE",
    "RESULT_SCRIPT",
    "RESULT_TTL",
    "OutboundResultRoute",
    "OutboundResults",
    "RecordedResult",
    "parse_result_args",
    "result_key",
]

log = logging.getLogger("fastagi.outbound")

#: The FastAGI script path (a slash: no menu can be named like it).
RESULT_SCRIPT: Final = "outbound/result"
#: How long a record is kept, in seconds (two days).
RESULT_TTL: Final = 2 * 24 * 3600

#: IVR_KIND -> the prefix its report ids carry (callback_call, campaign_call).
_ID_PREFIX: Final = {"callback": "cb", "campaign": "cp"}
_KIND_OF_PREFIX: Final = {prefix: kind for kind, prefix in _ID_PREFIX.items()}
_REPORT_ID: Final = re.compile(r"(cb|cp)-[1-9][0-9]{0,17}")
_ATTEMPT: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,63}")
#: ANSWER (the answered leg itself) and every DIALSTATUS app_dial.c sets.
STATUSES: Final = frozenset(
    {"ANSWER", "BUSY", "NOANSWER", "CANCEL", "CONGESTION", "CHANUNAVAIL", "DONTCALL",
     "TORTURE", "INVALIDARGS"}
)  # fmt: skip


@dataclass(frozen=True)
class RecordedResult:
    """One call's own report: `kind`, `report_id` (`cb-17`), `attempt`, `status`."""

    kind: str
    report_id: str
    attempt: str
    status: str

    @property
    def outcome(self) -> DialOutcome:
        return dialstatus_outcome(self.status)


def kind_of(report_id: str) -> str:
    """`callback` for `cb-17`, `campaign` for `cp-5`; ValueError for anything else."""
    if not _REPORT_ID.fullmatch(report_id):
        raise ValueError(f"not an outbound report id (cb-<n> or cp-<n>): {_shown(report_id)}")
    return _KIND_OF_PREFIX[report_id[:2]]


def result_key(prefix: str, kind: str, report_id: str) -> str:
    """`<prefix>outbound:result:<kind>:<id>`; ValueError unless kind and id are ours."""
    if kind not in _ID_PREFIX:
        raise ValueError(f"IVR_KIND must be callback or campaign, not {_shown(kind)}")
    if kind_of(report_id) != kind:
        raise ValueError(f"IVR_ID {report_id} is not a {kind} id ({_ID_PREFIX[kind]}-<n>)")
    return f"{check_prefix(prefix)}outbound:result:{kind}:{report_id}"


def parse_result_args(args: Sequence[str]) -> RecordedResult:
    """The script's arguments (kind, id, attempt, status), checked; ValueError says why not."""
    if len(args) != 4:
        raise ValueError(f"expected 4 arguments (kind, id, attempt, status), got {len(args)}")
    kind, report_id, attempt, status = (arg.strip() for arg in args)
    result_key(DEFAULT_PREFIX, kind, report_id)  # checks kind and id
    if not _ATTEMPT.fullmatch(attempt):
        raise ValueError(f"IVR_ATTEMPT is not a channel id: {_shown(attempt)}")
    if status not in STATUSES:
        raise ValueError(f"status must be ANSWER or a DIALSTATUS, not {_shown(status)}")
    return RecordedResult(kind, report_id, attempt, status)


def _shown(value: str) -> str:
    """A value for a log line: quoted with escapes (no line breaks), at most 40 characters."""
    return repr(value[:40]) + ("..." if len(value) > 40 else "")


class OutboundResults:
    """The records in Redis: `record` (the script's side) and `read` (the dialer's)."""

    def __init__(
        self, redis: Any, prefix: str = DEFAULT_PREFIX, *, ttl: int = RESULT_TTL,
        timeout: float = 2.0,
    ) -> None:  # fmt: skip
        self.redis = redis
        self.prefix = check_prefix(prefix)
        self.ttl = ttl
        self.timeout = timeout

    async def record(self, result: RecordedResult) -> None:
        """Write one record (one SET with a TTL). Raises RedisError, OSError, TimeoutError."""
        key = result_key(self.prefix, result.kind, result.report_id)
        async with asyncio.timeout(self.timeout):
            await self.redis.set(key, f"{result.status} {result.attempt}", ex=self.ttl)

    async def read(self, report_id: str, attempt: str) -> RecordedResult | None:
        """This attempt's record, or None: none, another attempt's, unreadable, or Redis failed."""
        try:
            kind = kind_of(report_id)
            async with asyncio.timeout(self.timeout):
                raw = await self.redis.get(result_key(self.prefix, kind, report_id))
        except (ValueError, RedisError, OSError, TimeoutError) as exc:
            log.warning("outbound result of %s not read: %s", report_id, exc or type(exc).__name__)
            return None
        if raw is None:
            return None
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        status, _, recorded_attempt = text.partition(" ")
        if recorded_attempt != attempt or status not in STATUSES:
            return None  # an earlier attempt of the same request (or not ours)
        return RecordedResult(kind, report_id, attempt, status)


class OutboundResultRoute:
    """Handles the `outbound/result` script path: checks the arguments, writes the record.

    Returns IVRSTATUS SUCCESS when written, FAILED otherwise (bad arguments,
    Redis down or slow); the dialplan goes on either way.
    """

    def __init__(self, results: OutboundResults) -> None:
        self.results = results

    def match(self, script: str) -> Handler | None:
        return self._record if script == RESULT_SCRIPT else None

    async def _record(self, call: Call) -> str:
        args = call.env.args
        try:
            result = parse_result_args(args)
        except ValueError as exc:
            call.log.warning("outbound/result refused, nothing recorded: %s", exc)
            return CallStatus.FAILED
        try:
            await self.results.record(result)
        except (RedisError, OSError, TimeoutError) as exc:
            call.log.warning("outbound result %s %s not recorded: %s", result.report_id,
                             result.status, exc or type(exc).__name__)  # fmt: skip
            return CallStatus.FAILED
        call.log.info("outbound %s %s: %s recorded", result.kind, result.report_id, result.status)
        return CallStatus.SUCCESS
