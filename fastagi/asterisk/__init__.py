"""What the Asterisk config defines, and whether the menus' references to it hold.

`load_inventory(conf_dir)` reads a directory laid out like /etc/asterisk
(extensions.conf and its #includes, queues.conf, voicemail.conf,
musiconhold.conf, pjsip.conf, confbridge.conf, manager.conf);
`validate_asterisk(...)` runs every check and returns Problems.
"""

from fastagi.asterisk.checks import (
    AsteriskReference,
    ReferenceKind,
    check_agi_address,
    check_manager_secret,
    check_references,
    validate_asterisk,
)
from fastagi.asterisk.conffile import ConfEntry, ConfError, ConfSection, Source, read_conf
from fastagi.asterisk.dialplan import AgiTarget, Dialplan, DialplanContext, Extension, Priority
from fastagi.asterisk.inventory import (
    ConfBridgeProfile,
    Endpoint,
    Inventory,
    Mailbox,
    ManagerUser,
    MohClass,
    Queue,
    load_inventory,
)
from fastagi.asterisk.patterns import extension_matches

__all__ = [
    "AgiTarget",
    "AsteriskReference",
    "ConfBridgeProfile",
    "ConfEntry",
    "ConfError",
    "ConfSection",
    "Dialplan",
    "DialplanContext",
    "Endpoint",
    "Extension",
    "Inventory",
    "Mailbox",
    "ManagerUser",
    "MohClass",
    "Priority",
    "Queue",
    "ReferenceKind",
    "Source",
    "check_agi_address",
    "check_manager_secret",
    "check_references",
    "extension_matches",
    "load_inventory",
    "read_conf",
    "validate_asterisk",
]
