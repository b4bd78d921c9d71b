"""Fixtures for the Asterisk config tests: a writer for small .conf files and a sample PBX."""

from __future__ import annotations

from pathlib import Path

import pytest
from asterisk_helpers import WriteFile

SAMPLE: dict[str, str] = {
    "extensions.conf": """
        [general]
        static=yes

        [globals]
        IVR_AGI=agi://127.0.0.1:4573

        [internal]
        exten => _2XX,1,Dial(PJSIP/${EXTEN},30)
         same => n,Hangup()

        #include "dialplan/ivr.conf"
        """,
    # Lives in the symlinked directory, as asterisk-conf/dialplan -> ../dialplan.
    "../dialplan/ivr.conf": """
        [ivr-entry]
        exten => _X.,1,NoOp(call from trunk)
         same => n,Answer()
         same => n,AGI(${IVR_AGI}/main)
         same => n(fallback),Queue(support,,,,120)
         same => n(route),Goto(ivr-results,${IVR_RESULT},1)
        exten => fax,1,Gosub(ivr-fax,s,1(inbox))

        [ivr-queue]
        exten => s,1,Set(IVR_ACTION_STARTED=${EPOCH})
         same => n,Queue(${ARG1},${ARG5},,,${ARG4})
         same => n,Set(IVR_ACTION_STATUS=${QUEUESTATUS})
         same => n,Return()

        [ivr-fax]
        exten => s,1,ReceiveFax(${ARG1}/${UNIQUEID}.tif)
         same => n,Return()
        """,
    "queues.conf": """
        [general]
        persistentmembers=yes

        [queue-tmpl](!)
        strategy=ringall
        musicclass=default

        [support](queue-tmpl)
        member => PJSIP/201,0,Anna
        member => PJSIP/202,0,Boris

        [sales](queue-tmpl)
        strategy=leastrecent
        musicclass=jazz
        """,
    "voicemail.conf": """
        [general]
        format=wav49

        [zonemessages]
        eastern=America/New_York|'vm-received' Q 'digits/at' IMp

        [default]
        1000 => 1234,Reception,reception@example.com
        1001 => 4321,Night line

        [sales]
        2000 => 0000,Sales team,sales@example.com,,attach=yes
        """,
    "musiconhold.conf": """
        [general]

        [default]
        mode=files
        directory=moh

        [jazz]
        mode=files
        directory=moh/jazz
        """,
    "pjsip.conf": """
        [transport-udp]
        type=transport
        protocol=udp
        bind=0.0.0.0

        [phone](!)
        type=endpoint
        context=internal
        disallow=all
        allow=ulaw

        [201](phone)
        aors=201
        [201]
        type=aor
        max_contacts=1

        [202](phone)
        aors=202

        [trunk-main]
        type=endpoint
        context=ivr-entry
        aors=trunk-main
        [trunk-main]
        type=aor
        contact=sip:sip.provider.example:5060
        [trunk-main-identify]
        type=identify
        endpoint=trunk-main
        match=203.0.113.10
        """,
    "confbridge.conf": """
        [general]

        [team_bridge]
        type=bridge
        max_members=20

        [team_user]
        type=user
        music_on_hold_when_empty=yes

        [team_menu]
        type=menu
        *=playback_and_continue(conf-usermenu)
        """,
    "manager.conf": """
        [general]
        enabled=yes
        port=5038

        [ivr]
        secret=CHANGE_ME
        read=all
        write=all

        [monitor]
        secret=s3cret-Value
        read=system
        """,
}


@pytest.fixture
def sample_dir(tmp_path: Path, write: WriteFile) -> Path:
    """A small PBX in tmp_path/asterisk-conf, its dialplan/ a symlink to ../dialplan."""
    conf_dir = tmp_path / "asterisk-conf"
    conf_dir.mkdir()
    (tmp_path / "dialplan").mkdir()
    (conf_dir / "dialplan").symlink_to("../dialplan", target_is_directory=True)
    for name, text in SAMPLE.items():
        write(f"asterisk-conf/{name}" if not name.startswith("..") else name[3:], text)
    return conf_dir
