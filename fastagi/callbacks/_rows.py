"""Reading what Redis holds back into values: stream entries, request hashes.

Request hashes hold times as Unix seconds, attempts as `attempt:<n>` =
`<unix time>|<outcome>|<uniqueid>`, lists as comma-separated text
(docs/callbacks.md). A hash that does not read is reported as damaged by
the store, never half-read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from fastagi.callbacks.request import (
    ATTEMPT_OUTCOMES,
    CLOSE_REASONS,
    EMAIL_STATES,
    AttemptRecord,
    CallbackRequest,
    RequestStatus,
)
from fastagi.callers._util import as_text

__all__ = ["entry_order", "entry_pairs", "moment_of", "request_from_row", "stream_entries"]


def moment_of(value: str | None) -> datetime | None:
    """Unix seconds as text -> an aware UTC datetime; None for nothing."""
    if value is None or value == "":
        return None
    return datetime.fromtimestamp(float(value), UTC)


def entry_order(entry_id: str) -> tuple[int, int]:
    """A stream entry id as a sort key: `1700000000000-3` -> (1700000000000, 3)."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def entry_pairs(pairs: object) -> dict[str, Mapping[str, str] | None]:
    """[(id, fields), ...] -> id -> fields as text (None for an entry deleted meanwhile)."""
    out: dict[str, Mapping[str, str] | None] = {}
    for pair in cast(Sequence[Any], pairs or ()):
        entry_id, fields = pair[0], pair[1]
        out[as_text(entry_id)] = (
            {as_text(k): as_text(v) for k, v in fields.items()} if fields else None
        )
    return out


def stream_entries(reply: object) -> dict[str, Mapping[str, str] | None]:
    """XREADGROUP's reply (RESP2 list or RESP3 dict) as entry id -> fields."""
    out: dict[str, Mapping[str, str] | None] = {}
    if isinstance(reply, dict):
        for pairs in reply.values():
            out.update(entry_pairs(pairs[0] if pairs and isinstance(pairs[0], list) else pairs))
        return out
    for item in cast(Sequence[Any], reply or ()):
        out.update(entry_pairs(item[1]))
    return out


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(part for part in (value or "").split(",") if part)


def _attempts(row: Mapping[str, str]) -> tuple[AttemptRecord, ...]:
    out: list[AttemptRecord] = []
    for n in range(1, int(row.get("attempts") or 0) + 1):
        raw = row.get(f"attempt:{n}")
        if raw is None:
            continue
        at, outcome, uniqueid = [*raw.split("|"), "", ""][:3]
        if outcome not in ATTEMPT_OUTCOMES:
            raise ValueError(f"attempt {n} has an unknown outcome {outcome!r}")
        moment = moment_of(at)
        if moment is None:
            raise ValueError(f"attempt {n} has no time")
        out.append(AttemptRecord(moment, outcome, uniqueid))
    return tuple(out)


def request_from_row(row: Mapping[str, str], contact: Mapping[str, Any]) -> CallbackRequest:
    """A request hash (and the caller's contact fields) as a `CallbackRequest`; ValueError."""
    first_call = moment_of(row["first_call"])
    last_call = moment_of(row.get("last_call")) or first_call
    if first_call is None or last_call is None:
        raise ValueError("no call time")
    status = row.get("status", "open")
    email_state = row.get("email_state") or "none"
    closed_reason = row.get("closed_reason") or None
    if status not in ("open", "closed") or email_state not in EMAIL_STATES:
        raise ValueError(f"unknown status {status!r} or email state {email_state!r}")
    if closed_reason is not None and closed_reason not in CLOSE_REASONS:
        raise ValueError(f"unknown close reason {closed_reason!r}")

    def text(name: str) -> str | None:
        value = contact.get(name)
        return as_text(value) if value not in (None, "") else None

    return CallbackRequest(
        id=int(row["id"]),
        number=row["number"],
        status=cast(RequestStatus, status),
        first_call=first_call,
        last_call=last_call,
        calls=int(row.get("calls") or 1),
        reasons=_csv(row.get("reasons")),
        queue=row.get("queue", ""),
        uniqueids=_csv(row.get("uniqueids")),
        attempts=_attempts(row),
        granted_attempts=int(row.get("granted_attempts") or 0),
        next_at=moment_of(row.get("next_at")),
        lease_until=moment_of(row.get("lease_until")),
        email_state=email_state,
        email_tries=int(row.get("email_tries") or 0),
        email_at=moment_of(row.get("email_at")),
        closed_reason=closed_reason,
        closed_at=moment_of(row.get("closed_at")),
        email=text("email"),
        language=text("language"),
        first_name=text("first_name"),
        last_name=text("last_name"),
    )
