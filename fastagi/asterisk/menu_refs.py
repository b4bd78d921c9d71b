"""What the menus need from the Asterisk config, with the YAML place of each need.

Every action node names its queues, mailboxes, MoH classes, trunks and
conference profiles (`asterisk_refs()`); every `return` result must be an
extension of the dialplan's `ivr-results` context, where the entry context
sends it.
"""

from __future__ import annotations

from fastagi.asterisk.checks import AsteriskReference
from fastagi.menus.model import MenuSet, MenuSource
from fastagi.menus.nodes import ReturnNode

__all__ = ["RESULTS_CONTEXT", "menu_references"]

#: The context the entry context jumps to with IVR_RESULT (dialplan/ivr-entry.conf).
RESULTS_CONTEXT = "ivr-results"


def menu_references(menus: MenuSet) -> list[AsteriskReference]:
    """Every Asterisk name the menus use, each with `file:line:column` of its YAML key."""
    found: list[AsteriskReference] = []
    for name, menu in sorted(menus.items()):
        source = menus.source(name)

        def where(key_path: tuple[str, ...], source: MenuSource = source) -> str:
            line, column = source.locate(key_path)
            return f"{source.file}:{line or 1}:{column or 1}"

        for node_id, node in menu.nodes.items():
            for ref in node.asterisk_refs():
                at = where(("nodes", node_id, *ref.key_path))
                found.append(AsteriskReference(ref.kind, ref.name, at))
            if isinstance(node, ReturnNode) and not node.result.isdigit():
                at = where(("nodes", node_id, "result"))
                found.append(AsteriskReference("context", f"{RESULTS_CONTEXT},{node.result}", at))
    return found
