"""The scripted telephony applications: Queue, Dial, VoiceMail, MixMonitor, ConfBridge,
ReceiveFax, Originate, UserEvent - on a bare channel and over a real FastAGI connection."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from fastagi.testing import (
    AsteriskEmulator,
    CallerScript,
    Channel,
    ConferenceScript,
    DialScript,
    FaxScript,
    HangUp,
    QueueEvent,
    QueueScript,
    TelephonyScript,
    VoicemailScript,
    default_applications,
)

if TYPE_CHECKING:
    from conftest import CallRunner, Conversation

APPS = default_applications()


def make_channel(
    telephony: TelephonyScript | None = None,
    *,
    variables: dict[str, str] | None = None,
    caller: CallerScript | None = None,
    max_duration: float = 3600.0,
) -> Channel:
    return Channel(
        name="PJSIP/trunk-00000001",
        uniqueid="1700000000.1",
        env={"agi_callerid": "79161234567"},
        variables=variables or {},
        caller=caller or CallerScript(),
        prompt_duration=lambda name: 3.0,
        file_exists=lambda name, language: True,
        applications=APPS,
        subroutines={},
        database={},
        max_duration=max_duration,
        telephony=telephony,
    )


def run(ch: Channel, app: str, data: str = "") -> int:
    handler = ch.find_application(app)
    assert handler is not None
    return handler(ch, data)


def queues(**scripts: QueueScript) -> TelephonyScript:
    return TelephonyScript(queues=scripts)


def dials(**scripts: DialScript) -> TelephonyScript:
    return TelephonyScript(dials={f"PJSIP/{k}": v for k, v in scripts.items()})


# -- Queue -------------------------------------------------------------------------------


def test_queue_answered_agent_hangs_up_with_c_continues() -> None:
    ch = make_channel(queues(support=QueueScript.answered(12, talk=30)), variables={"X": "1"})
    ch.set_variable("QUEUE_PRIO", "5")
    ch.set_variable("CHANNEL(musicclass)", "jazz")
    ch.now = 4.0
    assert run(ch, "Queue", "support,c,,,120") == 0
    assert ch.variables["QUEUESTATUS"] == "CONTINUE"
    assert ch.now == pytest.approx(46.0)
    assert not ch.hung_up
    [entry] = ch.telephony_log.queue_log
    assert (entry.queue, entry.priority, entry.music_class, entry.timeout) == (
        "support",
        5,
        "jazz",
        120,
    )
    assert (entry.joined_at, entry.left_at, entry.wait, entry.talk) == (4.0, 46.0, 12.0, 30.0)
    assert (entry.outcome, entry.status, entry.answered) == ("COMPLETEAGENT", "CONTINUE", True)
    assert entry.events == (
        QueueEvent(4.0, "ENTERQUEUE", "NONE", ("", "79161234567", "1")),
        QueueEvent(16.0, "CONNECT", "PJSIP/agent", ("12", "1700000000.1-agent", "0")),
        QueueEvent(46.0, "COMPLETEAGENT", "PJSIP/agent", ("12", "30", "1")),
    )
    assert [(e.at, e.detail) for e in ch.timeline if e.kind == "queue"] == [
        (4.0, "join support prio=5 position=1"),
        (4.0, "music jazz"),
        (16.0, "connect support PJSIP/agent"),
        (46.0, "leave support: COMPLETEAGENT CONTINUE"),
    ]


def test_queue_answered_agent_hangs_up_without_c_returns_minus_one() -> None:
    ch = make_channel(queues(support=QueueScript.answered(3, talk=10)))
    ch.variables["QUEUESTATUS"] = "OLD"
    assert run(ch, "Queue", "support,,,,120") == -1
    assert ch.variables["QUEUESTATUS"] == "OLD"  # untouched, as in app_queue
    assert not ch.hung_up  # the call goes on only in the dialplan's hands
    assert ch.telephony_log.queue_log[0].outcome == "COMPLETEAGENT"
    assert ch.telephony_log.queue_log[0].status is None


def test_queue_answered_caller_hangs_up() -> None:
    script = QueueScript.answered(3, talk=10, hangup_by="caller")
    ch = make_channel(queues(support=script))
    assert run(ch, "Queue", "support,c") == -1
    assert ch.hung_up and ch.hung_up_by == "caller"
    assert "QUEUESTATUS" not in ch.variables
    [entry] = ch.telephony_log.queue_log
    assert (entry.outcome, entry.wait, entry.talk, entry.left_at) == (
        "COMPLETECALLER",
        3.0,
        10.0,
        13.0,
    )
    assert entry.events[-1].data == ("3", "10", "1")


def test_queue_caller_script_hangs_up_during_the_talk() -> None:
    caller = CallerScript([HangUp(after=8.0)])
    ch = make_channel(queues(support=QueueScript.answered(3, talk=60)), caller=caller)
    ch.start_command()
    assert run(ch, "Queue", "support,c") == -1
    entry = ch.telephony_log.queue_log[0]
    assert (entry.outcome, entry.talk, ch.now) == ("COMPLETECALLER", 5.0, 8.0)


def test_queue_nobody_answers_times_out() -> None:
    ch = make_channel()  # an unscripted queue: nobody answers
    assert run(ch, "Queue", "sales,,,,120") == 0
    assert ch.variables["QUEUESTATUS"] == "TIMEOUT"
    assert ch.now == pytest.approx(120.0)
    [entry] = ch.telephony_log.queue_log
    assert (entry.outcome, entry.wait, entry.answered) == ("EXITWITHTIMEOUT", 120.0, False)
    assert [e.event for e in entry.events] == ["ENTERQUEUE", "EXITWITHTIMEOUT"]
    assert entry.events[-1].data == ("1", "1", "120")


def test_queue_timeout_beats_a_late_answer() -> None:
    ch = make_channel(queues(support=QueueScript.answered(130)))
    assert run(ch, "Queue", "support,,,,120") == 0
    assert ch.variables["QUEUESTATUS"] == "TIMEOUT"
    assert ch.now == pytest.approx(120.0)


def test_queue_r_option_rings_instead_of_music() -> None:
    ch = make_channel()
    assert run(ch, "Queue", "support,r,,,5") == 0
    assert "ringing" in [e.detail for e in ch.timeline if e.kind == "queue"]


def test_queue_timeout_zero_expires_at_once() -> None:
    # app_queue sets expire = start + atoi(timeout): "0" is already expired
    ch = make_channel(queues(support=QueueScript.answered(1)))
    assert run(ch, "Queue", "support,,,,0") == 0
    assert (ch.variables["QUEUESTATUS"], ch.now) == ("TIMEOUT", 0.0)


def test_queue_caller_hangs_up_while_waiting() -> None:
    ch = make_channel(queues(support=QueueScript.abandoned(30, waiting=2)))
    ch.set_variable("QUEUE_PRIO", "10")
    assert run(ch, "Queue", "support,,,,120") == -1
    assert ch.hung_up and ch.hung_up_by == "caller"
    assert "QUEUESTATUS" not in ch.variables
    [entry] = ch.telephony_log.queue_log
    assert (entry.priority, entry.wait, entry.outcome, entry.status) == (10, 30.0, "ABANDON", None)
    assert entry.events[-1] == QueueEvent(30.0, "ABANDON", "NONE", ("3", "3", "30"))


def test_queue_caller_gives_up_by_max_duration() -> None:
    ch = make_channel(max_duration=50.0)
    assert run(ch, "Queue", "support") == -1  # no timeout: waits until the caller leaves
    entry = ch.telephony_log.queue_log[0]
    assert (entry.outcome, entry.wait, ch.hung_up_by) == ("ABANDON", 50.0, "caller")


@pytest.mark.parametrize("status", ["FULL", "JOINEMPTY", "JOINUNAVAIL"])
def test_queue_refuses_to_join(status: str) -> None:
    ch = make_channel(queues(support=QueueScript.forced(status)))
    ch.now = 2.0
    assert run(ch, "Queue", "support,,,,120") == 0
    assert ch.variables["QUEUESTATUS"] == status
    assert ch.now == 2.0
    [entry] = ch.telephony_log.queue_log
    assert (entry.outcome, entry.status, entry.wait, entry.events) == (status, status, 0.0, ())


@pytest.mark.parametrize("status", ["LEAVEEMPTY", "LEAVEUNAVAIL"])
def test_queue_empties_while_waiting(status: str) -> None:
    ch = make_channel(queues(support=QueueScript.forced(status, after=7)))
    assert run(ch, "Queue", "support,,,,120") == 0
    assert (ch.variables["QUEUESTATUS"], ch.now) == (status, 7.0)
    entry = ch.telephony_log.queue_log[0]
    assert (entry.outcome, entry.status) == ("EXITEMPTY", status)
    assert entry.events[-1].event == "EXITEMPTY"


def test_queue_priority_and_name_quirks() -> None:
    ch = make_channel(queues(Support=QueueScript.forced("FULL")), variables={"QUEUE_PRIO": "x"})
    assert run(ch, "Queue", "SUPPORT") == 0  # queue names are case-insensitive
    assert ch.variables["QUEUESTATUS"] == "FULL"
    assert ch.telephony_log.queue_log[0].priority == 0  # not a number: 0, as sscanf fails


def test_queue_on_a_hung_up_channel_or_without_a_name() -> None:
    ch = make_channel()
    assert run(ch, "Queue", "") == -1
    ch.hangup("caller")
    assert run(ch, "Queue", "support,,,,10") == -1
    assert ch.telephony_log.queue_log == []


def test_queue_functions() -> None:
    ch = make_channel(queues(support=QueueScript.no_answer(waiting=3, holdtime=45)))
    assert ch.get_variable("QUEUE_WAITING_COUNT(support)") == "3"
    assert ch.get_variable("QUEUE_WAITING_COUNT(other)") == "0"
    assert ch.substitute("${QUEUE_VARIABLES(support)}") == "0"
    assert (ch.variables["QUEUEHOLDTIME"], ch.variables["QUEUECALLS"]) == ("45", "3")
    assert ch.get_variable("QUEUE_WAITING_COUNT()") is None


def test_queue_script_validation() -> None:
    with pytest.raises(ValueError, match="status"):
        QueueScript.forced("TIMEOUT")
    with pytest.raises(ValueError, match="seconds"):
        QueueScript.answered(-1)


# -- Dial --------------------------------------------------------------------------------


def test_dial_answered_callee_hangs_up() -> None:
    ch = make_channel(dials(**{"201": DialScript.answer(5, talk=60)}))
    assert run(ch, "Dial", "PJSIP/201,30") == -1  # no "g": the bridge's end ends Dial
    assert not ch.hung_up
    v = ch.variables
    assert (v["DIALSTATUS"], v["ANSWEREDTIME"], v["DIALEDTIME"]) == ("ANSWER", "60", "65")
    assert (v["ANSWEREDTIME_MS"], v["DIALEDPEERNUMBER"]) == ("60000", "201")
    [dial] = ch.telephony_log.dials
    assert (dial.targets, dial.timeout, dial.status, dial.answered_by) == (
        ("PJSIP/201",),
        30.0,
        "ANSWER",
        "PJSIP/201",
    )
    assert (dial.ring, dial.talk, dial.ended_at) == (5.0, 60.0, 65.0)


def test_dial_g_continues_after_the_callee_hangs_up() -> None:
    ch = make_channel(dials(**{"201": DialScript.answer(2, talk=10)}))
    assert run(ch, "Dial", "PJSIP/201,30,gT") == 0
    assert ch.variables["DIALSTATUS"] == "ANSWER"


def test_dial_answered_caller_hangs_up() -> None:
    ch = make_channel(dials(**{"201": DialScript.answer(2, talk=10, hangup_by="caller")}))
    assert run(ch, "Dial", "PJSIP/201,30,g") == -1
    assert (ch.hung_up_by, ch.variables["DIALSTATUS"], ch.now) == ("caller", "ANSWER", 12.0)


@pytest.mark.parametrize(
    ("script", "status", "at"),
    [
        (DialScript.busy(3), "BUSY", 3.0),
        (DialScript.congestion(1), "CONGESTION", 1.0),
        (DialScript.unavailable(), "CHANUNAVAIL", 0.0),
        (DialScript.no_answer(), "NOANSWER", 20.0),
        (DialScript.answer(25), "NOANSWER", 20.0),  # answers too late
    ],
)
def test_dial_failures(script: DialScript, status: str, at: float) -> None:
    target = "PJSIP/+79161234567@trunk-main"
    ch = make_channel(TelephonyScript(dials={target: script}))
    assert run(ch, "Dial", f"{target},20") == 0
    assert (ch.variables["DIALSTATUS"], ch.now) == (status, at)
    assert "ANSWEREDTIME" not in ch.variables
    assert ch.telephony_log.dials[0].status == status


def test_dial_unknown_target_is_unavailable() -> None:
    ch = make_channel()
    assert run(ch, "Dial", "PJSIP/999,20") == 0
    assert (ch.variables["DIALSTATUS"], ch.now) == ("CHANUNAVAIL", 0.0)
    assert run(ch, "Dial", "nonsense,20") == 0  # no technology: no channel either
    assert ch.variables["DIALSTATUS"] == "CHANUNAVAIL"


def test_dial_caller_hangs_up_while_ringing_is_cancel() -> None:
    ch = make_channel(dials(**{"201": DialScript.no_answer()}), max_duration=12.0)
    assert run(ch, "Dial", "PJSIP/201") == -1  # no timeout: rings until the caller leaves
    assert (ch.variables["DIALSTATUS"], ch.now, ch.hung_up_by) == ("CANCEL", 12.0, "caller")


def test_dial_without_targets_is_invalidargs() -> None:
    ch = make_channel()
    assert run(ch, "Dial", ",20") == -1
    assert ch.variables["DIALSTATUS"] == "INVALIDARGS"


def test_dial_several_targets_ring_together() -> None:
    script = dials(
        **{"201": DialScript.busy(1), "202": DialScript.answer(8), "203": DialScript.no_answer()}
    )
    ch = make_channel(script)
    run(ch, "Dial", "PJSIP/201&PJSIP/202&PJSIP/203,30,g")
    assert ch.telephony_log.dials[0].answered_by == "PJSIP/202"
    assert ch.telephony_log.dials[0].ring == 8.0
    # everyone failed: busy wins over congestion and unavailable, at the last failure
    ch = make_channel(
        dials(**{"201": DialScript.busy(4), "202": DialScript.congestion(6), "203": DialScript()})
    )
    assert run(ch, "Dial", "PJSIP/201&PJSIP/202&PJSIP/999,30") == 0
    assert (ch.variables["DIALSTATUS"], ch.now) == ("BUSY", 6.0)
    ch = make_channel(dials(**{"202": DialScript.congestion(2)}))
    assert run(ch, "Dial", "PJSIP/202&PJSIP/999,30") == 0
    assert ch.variables["DIALSTATUS"] == "CONGESTION"


# -- VoiceMail ---------------------------------------------------------------------------


def test_voicemail_message_then_hangup() -> None:
    ch = make_channel(TelephonyScript(voicemail=VoicemailScript.leaves_message(20, greeting=4)))
    assert run(ch, "VoiceMail", "100@default,u") == -1
    assert (ch.variables["VMSTATUS"], ch.now, ch.hung_up_by) == ("SUCCESS", 24.0, "caller")
    [vm] = ch.telephony_log.voicemails
    assert (vm.mailbox, vm.options, vm.message, vm.status) == ("100@default", "u", 20.0, "SUCCESS")


def test_voicemail_message_ended_by_pound() -> None:
    ch = make_channel(TelephonyScript(voicemail=VoicemailScript.leaves_message(8, hangs_up=False)))
    assert run(ch, "VoiceMail", "100@default,s") == 0
    assert (ch.variables["VMSTATUS"], ch.now, ch.hung_up) == ("SUCCESS", 13.0, False)


def test_voicemail_hangup_during_greeting() -> None:
    ch = make_channel(TelephonyScript(voicemail=VoicemailScript.hangs_up_in_greeting(2)))
    assert run(ch, "VoiceMail", "100@default,b") == -1
    assert (ch.variables["VMSTATUS"], ch.now) == ("FAILED", 2.0)
    assert ch.telephony_log.voicemails[0].message == 0.0


def test_voicemail_user_exit_and_failure() -> None:
    ch = make_channel(TelephonyScript(voicemail=VoicemailScript.exits("0", after=3)))
    assert run(ch, "VoiceMail", "100@default") == 0
    assert (ch.variables["VMSTATUS"], ch.now) == ("USEREXIT", 3.0)
    ch = make_channel(TelephonyScript(voicemail=VoicemailScript.fails()))
    assert run(ch, "VoiceMail", "100@default") == 0
    assert (ch.variables["VMSTATUS"], ch.now) == ("FAILED", 0.0)


def test_voicemail_defaults_leave_a_message() -> None:
    ch = make_channel()
    assert run(ch, "VoiceMail", "100") == -1
    assert ch.variables["VMSTATUS"] == "SUCCESS"
    assert ch.telephony_log.voicemails[0].message == 10.0


# -- MixMonitor, ConfBridge, ReceiveFax, Originate, UserEvent ---------------------------


def test_mixmonitor_records_file_names() -> None:
    ch = make_channel()
    assert run(ch, "MixMonitor", "ivr/1700000000.1.wav,b") == 0
    assert ch.variables["MIXMONITOR_FILENAME"] == "/var/spool/asterisk/monitor/ivr/1700000000.1.wav"
    ch.wait(5)
    assert run(ch, "StopMixMonitor") == 0
    assert run(ch, "MixMonitor", "/tmp/other.wav") == 0
    first, second = ch.telephony_log.mix_monitors
    assert (first.file, first.options, first.started_at, first.stopped_at) == (
        "ivr/1700000000.1.wav",
        "b",
        0.0,
        5.0,
    )
    assert (second.path, second.stopped_at) == ("/tmp/other.wav", None)
    assert ch.recordings == []  # RECORD FILE's list stays apart
    assert run(ch, "MixMonitor", "") == -1


@pytest.mark.parametrize("result", ["KICKED", "ENDMARKED", "DTMF", "TIMEOUT"])
def test_confbridge_leaves_with_a_result(result: str) -> None:
    script = TelephonyScript(conferences={"room1": ConferenceScript(result, after=30)})  # type: ignore[arg-type]
    ch = make_channel(script)
    assert run(ch, "ConfBridge", "room1,default_bridge,default_user") == 0
    assert (ch.variables["CONFBRIDGE_RESULT"], ch.now) == (result, 30.0)
    [conf] = ch.telephony_log.conferences
    assert (conf.room, conf.bridge_profile, conf.user_profile, conf.result) == (
        "room1",
        "default_bridge",
        "default_user",
        result,
    )


def test_confbridge_hangup_and_failure() -> None:
    ch = make_channel()
    assert run(ch, "ConfBridge", "room1") == -1
    assert (ch.variables["CONFBRIDGE_RESULT"], ch.now, ch.hung_up) == ("HANGUP", 60.0, True)
    ch = make_channel(TelephonyScript(conference=ConferenceScript("FAILED")))
    assert run(ch, "ConfBridge", "room1") == -1
    assert (ch.variables["CONFBRIDGE_RESULT"], ch.now) == ("FAILED", 0.0)


def test_receive_fax() -> None:
    fax = FaxScript(pages=3, duration=40, remote_station="+74950000000")
    ch = make_channel(TelephonyScript(fax=fax))
    assert run(ch, "ReceiveFax", "faxes/1700000000.1.tif") == 0
    v = ch.variables
    assert (v["FAXSTATUS"], v["FAXPAGES"], v["FAXERROR"]) == ("SUCCESS", "3", "NO_ERROR")
    assert v["REMOTESTATIONID"] == "+74950000000"
    [record] = ch.telephony_log.faxes
    assert (record.file, record.pages, record.ended_at) == ("faxes/1700000000.1.tif", 3, 40.0)


def test_receive_fax_failure_and_sender_hangup() -> None:
    fax = FaxScript("FAILED", pages=0, duration=10, error="T30_ERR", caller_hangs_up=True)
    ch = make_channel(TelephonyScript(fax=fax))
    assert run(ch, "ReceiveFax", "f.tif") == -1
    v = ch.variables
    assert (v["FAXSTATUS"], v["FAXPAGES"], v["FAXERROR"]) == ("FAILED", "0", "T30_ERR")
    assert ch.hung_up_by == "caller"


def test_originate() -> None:
    ch = make_channel(dials(**{"301": DialScript.answer(4), "302": DialScript.busy(2)}))
    assert run(ch, "Originate", "PJSIP/301,app,ConfBridge,room1,,30") == 0
    assert (ch.variables["ORIGINATE_STATUS"], ch.now) == ("SUCCESS", 4.0)
    assert run(ch, "Originate", "PJSIP/302,exten,ctx,s,1") == 0
    assert ch.variables["ORIGINATE_STATUS"] == "BUSY"
    assert run(ch, "Originate", "PJSIP/303,app,Wait,1,,5") == 0
    assert ch.variables["ORIGINATE_STATUS"] == "FAILED"
    ch.now = 0.0
    assert run(ch, "Originate", "PJSIP/301,app,ConfBridge,room1,,30,a") == 0
    assert (ch.variables["ORIGINATE_STATUS"], ch.now) == ("SUCCESS", 0.0)  # does not wait
    first, *_, last = ch.telephony_log.originates
    assert (first.kind, first.args, first.timeout) == ("app", ("ConfBridge", "room1", ""), 30.0)
    assert (last.options, last.target_status) == ("a", "ANSWER")
    assert run(ch, "Originate", "PJSIP/301,nothing") == -1


def test_user_event() -> None:
    ch = make_channel()
    data = "IvrCallbackRequested,Number: 79161234567,Queue: support"
    assert run(ch, "UserEvent", data) == 0
    [event] = ch.telephony_log.user_events
    assert event.name == "IvrCallbackRequested"
    assert event.fields == {"Number": "79161234567", "Queue": "support"}
    assert run(ch, "UserEvent", "") == -1


def test_music_on_hold_is_still_emulated() -> None:
    ch = make_channel()
    assert run(ch, "MusicOnHold", "jazz,15") == 0
    assert ch.now == 15.0
    assert ("music", "on jazz") in [(e.kind, e.detail) for e in ch.timeline]


# -- over FastAGI ------------------------------------------------------------------------


@pytest.mark.system
def test_queue_and_dial_over_agi(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask("SET VARIABLE QUEUE_PRIO 7") == "200 result=1"
        assert await conv.ask("SET VARIABLE CHANNEL(musicclass) jazz") == "200 result=1"
        assert await conv.ask("GET FULL VARIABLE ${QUEUE_WAITING_COUNT(support)}") == (
            "200 result=1 (4)"
        )
        assert await conv.ask("EXEC Queue support,c,,,120") == "200 result=0"
        assert await conv.ask("GET VARIABLE QUEUESTATUS") == "200 result=1 (CONTINUE)"
        assert await conv.ask("EXEC Dial PJSIP/201,20") == "200 result=0"
        assert await conv.ask("GET VARIABLE DIALSTATUS") == "200 result=1 (BUSY)"
        assert await conv.ask("EXEC MixMonitor call.wav") == "200 result=0"
        assert await conv.ask('EXEC UserEvent "Done,Why: test"') == "200 result=0"
        conv.close()

    emulator = AsteriskEmulator(telephony=dials(**{"201": DialScript.busy(2)}))
    telephony = TelephonyScript(
        queues={"support": QueueScript.answered(15, talk=45, waiting=4)},
        dials={"PJSIP/201": DialScript.busy(2)},
    )
    result, _ = agi_call(script, emulator=emulator, telephony=telephony)
    [entry] = result.telephony.queue_log
    assert (entry.priority, entry.music_class, entry.wait, entry.position) == (7, "jazz", 15.0, 5)
    assert [d.status for d in result.telephony.dials] == ["BUSY"]
    assert [m.file for m in result.telephony.mix_monitors] == ["call.wav"]
    assert result.telephony.user_events[0].fields == {"Why": "test"}
    assert result.virtual_duration == pytest.approx(62.0)
    assert result.agi_status == "SUCCESS"


@pytest.mark.system
def test_queue_abandon_over_agi(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        lines = await conv.ask_lines("EXEC Queue support,,,,120", 2)
        assert lines == ["200 result=-1", "HANGUP"]
        assert await conv.ask("GET VARIABLE QUEUESTATUS") == "200 result=0"
        conv.close()

    emulator = AsteriskEmulator(telephony=queues(support=QueueScript.abandoned(40)))
    result, _ = agi_call(script, emulator=emulator)  # the emulator-wide script
    assert result.telephony.queue_log[0].outcome == "ABANDON"
    assert result.telephony.queue_log[0].wait == 40.0
    assert (result.hangup_at, result.hung_up_by, result.agi_status) == (40.0, "caller", "HANGUP")


@pytest.mark.system
def test_unscripted_call_defaults(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask("EXEC Queue support,,,,30") == "200 result=0"
        assert await conv.ask("GET VARIABLE QUEUESTATUS") == "200 result=1 (TIMEOUT)"
        assert await conv.ask("EXEC Dial PJSIP/201,20") == "200 result=0"
        assert await conv.ask("GET VARIABLE DIALSTATUS") == "200 result=1 (CHANUNAVAIL)"
        conv.close()

    result, _ = agi_call(script)
    assert result.virtual_duration == pytest.approx(30.0)
    assert [e.detail for e in result.timeline if e.kind == "queue"] == [
        "join support prio=0 position=1",
        "music default",
        "leave support: EXITWITHTIMEOUT TIMEOUT",
    ]
