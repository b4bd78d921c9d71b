"""Actions that need no subroutine: `fax` (arm detection), `language`, `dialplan`."""

from __future__ import annotations

from fastagi.menus.action_nodes import DialplanNode, FaxNode, LanguageNode
from fastagi.menus.handlers import next_step, node_handler
from fastagi.menus.session import LANGUAGE_VARIABLE, Finish, Session, Step

__all__ = ["FAX_FOLDER_VARIABLE", "GOTO_VARIABLE"]

#: The entry context jumps here after the AGI (docs/asterisk.md).
GOTO_VARIABLE = "IVR_GOTO"
#: Read by the entry context's `fax` extension when a fax tone is heard.
FAX_FOLDER_VARIABLE = "IVR_FAX_FOLDER"


@node_handler(FaxNode)
async def run_fax(session: Session, node: FaxNode) -> Step:
    # From here Asterisk listens for CNG; on a fax tone it moves the channel to
    # the `fax` extension of the entry context, which receives into the folder.
    await session.set_variable(FAX_FOLDER_VARIABLE, node.folder)
    await session.set_variable("FAXOPT(faxdetect)", "yes")
    return next_step(node.next)


@node_handler(LanguageNode)
async def run_language(session: Session, node: LanguageNode) -> Step:
    await session.set_variable(LANGUAGE_VARIABLE, node.language)
    return next_step(node.next)


@node_handler(DialplanNode)
async def run_dialplan(session: Session, node: DialplanNode) -> Step:
    await session.play(node.prompt)
    target = f"{node.context},{node.extension},{node.priority}"
    await session.set_variable(GOTO_VARIABLE, target)
    return Finish("return", target)
