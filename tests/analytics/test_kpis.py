"""KPI definitions on hand-made events: categories, funnel, callbacks, conversion, bad entries."""

from __future__ import annotations

from fastagi.analytics.kpis import compute_report
from fastagi.analytics.stream import StoredEvent, decode_entry


def _call(
    uid: str, *events: tuple[str, str, str, dict[str, str]], at: float = 1000.0
) -> list[StoredEvent]:
    out = [StoredEvent(uid, "call_start", "", "", at, {"script": "main"})]
    for offset, (kind, menu, node, data) in enumerate(events, start=1):
        out.append(StoredEvent(uid, kind, menu, node, at + offset, data))
    return out


def test_each_call_is_counted_once_in_the_first_category_that_applies() -> None:
    events = [
        # closed, then gave up in the queue-less voicemail path: after hours wins
        *_call(
            "a",
            ("hours", "main", "h", {"state": "closed"}),
            ("voicemail", "main", "vm", {"status": "SUCCESS"}),
            ("outcome", "main", "vm", {"kind": "return", "result": "x"}),
        ),
        # answered by a transfer although the caller hung up later
        *_call(
            "b",
            ("transfer", "vip", "t", {"status": "ANSWER"}),
            ("outcome", "vip", "t", {"kind": "caller_hangup"}),
        ),
        # timed out in the queue and asked for a callback: lost in queue
        *_call(
            "c",
            ("queue", "main", "q", {"event": "leave", "outcome": "timeout", "wait": "120"}),
            ("callback", "main", "cb", {"queue": "support"}),
            ("outcome", "main", "bye", {"kind": "hangup"}),
        ),
        *_call(
            "d",
            ("node", "main", "welcome", {}),
            ("outcome", "main", "welcome", {"kind": "caller_hangup"}),
        ),
        *_call("e", ("outcome", "blocked", "notice", {"kind": "hangup"})),
        *_call("f", ("outcome", "main", "op", {"kind": "return", "result": "operator"})),
    ]
    report = compute_report(events).as_dict()
    assert (report["contacts"], report["answered"], report["lost_after_hours"]) == (6, 1, 1)
    assert (report["lost_queue"], report["lost_ivr"], report["self_service"]) == (1, 1, 1)
    assert report["handed_off"] == 1
    assert report["callbacks"]["requested"] == 1
    assert report["service_level"] == {"20s": 0.0, "120s": 0.0}  # the one visit timed out


def test_the_funnel_counts_keys_timeouts_invalid_and_hang_ups_per_node() -> None:
    events = [
        *_call(
            "a",
            ("node", "main", "welcome", {}),
            ("digits", "main", "welcome", {"digits": "7"}),
            ("invalid", "main", "welcome", {"digits": "7"}),
            ("digits", "main", "welcome", {"digits": "2"}),
            ("node", "main", "support", {}),
            ("timeout", "main", "support", {}),
            ("outcome", "main", "support", {"kind": "caller_hangup"}),
        ),
        *_call(
            "b",
            ("node", "main", "welcome", {}),
            ("digits", "main", "welcome", {"digits": "2"}),
            ("node", "main", "support", {}),
            ("outcome", "main", "support", {"kind": "caller_hangup"}),
        ),
    ]
    funnel = {(n["menu"], n["node"]): n for n in compute_report(events).as_dict()["funnel"]}
    assert funnel[("main", "welcome")] == {
        "menu": "main",
        "node": "welcome",
        "entered": 2,
        "digits": {"2": 2, "7": 1},
        "invalid": 1,
        "timeouts": 0,
        "hung_up": 0,
    }
    assert funnel[("main", "support")]["hung_up"] == 2
    assert funnel[("main", "support")]["timeouts"] == 1


def test_conversion_per_segment_and_per_tag() -> None:
    events = []
    for i in range(10):
        tags = "wholesale, VIP" if i < 4 else ""
        result = "sales_new_order" if i in (0, 5) else "operator"
        events += _call(
            f"c{i}",
            ("caller", "main", "", {"segment": "regular", "tags": tags}),
            ("outcome", "main", "x", {"kind": "return", "result": result}),
        )
    conversion = compute_report(events).as_dict()["conversion"]
    assert conversion["segment:regular"] == {"calls": 10, "converted": 2, "rate": 0.2}
    assert conversion["tag:vip"] == {"calls": 4, "converted": 1, "rate": 0.25}
    assert conversion["tag:wholesale"] == conversion["tag:vip"]


def test_callbacks_and_campaign_conversion() -> None:
    outbound = [
        StoredEvent("cb-1", "callback_attempt", "", "", 1.0, {"outcome": "no_answer"}),
        StoredEvent("cb-1", "callback_attempt", "", "", 2.0, {"outcome": "answered"}),
        *(
            StoredEvent(
                f"cp-{i}",
                "campaign_result",
                "",
                "",
                3.0,
                {"campaign": "reminders", "result": "confirmed" if i < 2 else "cancelled"},
            )
            for i in range(10)
        ),
    ]
    report = compute_report(outbound).as_dict()
    assert report["callbacks"] == {
        "requested": 0,
        "attempts": 2,
        "answered": 1,
        "success_rate": 0.5,
    }
    assert report["conversion"]["campaign:reminders"] == {"calls": 10, "converted": 2, "rate": 0.2}
    assert report["contacts"] == 0


def test_entries_of_another_schema_or_broken_are_skipped_not_fatal() -> None:
    good = {
        b"v": b"1",
        b"at": b"12.5",
        b"events": b'[["x","node","m","n",12.5,{"type":"menu"}],'
        b'["y","digits","m","n",13,{"digits":"1"}]]',
    }
    events = decode_entry(b"1-0", good)
    assert events is not None
    assert [(e.uid, e.kind, e.at, dict(e.data)) for e in events] == [
        ("x", "node", 12.5, {"type": "menu"}),
        ("y", "digits", 13.0, {"digits": "1"}),  # two calls in one entry
    ]
    assert decode_entry(b"1-0", {**good, b"v": b"2"}) is None
    assert decode_entry(b"1-0", {**good, b"events": b"{}"}) is None
    assert decode_entry(b"1-0", {**good, b"events": b"[[1, 2]]"}) is None
    assert decode_entry(b"1-0", {**good, b"events": b"not json"}) is None
