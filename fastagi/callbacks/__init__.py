"""Missed-call callbacks: which calls are lost, the rules for calling back, the requests in Redis.

    rules = load_callback_rules("config/callbacks.yaml", hours=hours)
    reason = callback_reason(facts, rules)                # fastagi.callbacks.lost
    store = CallbackStore.for_rules(redis, rules, hours)  # fastagi.callbacks.store
    step = plan(request, rules, hours, now)               # fastagi.callbacks.planner
    await CallbackMailer(store, rules, zone=...).send(request.id)

The rules are described in docs/callbacks.md, with every Redis key.
"""

from fastagi.callbacks.lost import CallFacts, callback_reason, lost_reason
from fastagi.callbacks.mailer import CallbackMailer, Letter, build_message, render_letter
from fastagi.callbacks.planner import Attempt, Close, SendEmail, Step, Wait, plan
from fastagi.callbacks.request import AttemptRecord, CallbackRequest
from fastagi.callbacks.rules import (
    DEFAULT_CALLBACKS_PATH,
    LOST_REASONS,
    CallbackRules,
    load_callback_rules,
    parse_callback_rules,
)
from fastagi.callbacks.smtp import (
    MailDeferred,
    MailError,
    MailRejected,
    MailUncertain,
    SmtpTransport,
)
from fastagi.callbacks.store import CallbackStore, RequestConflict, RequestNotFound

__all__ = [
    "DEFAULT_CALLBACKS_PATH",
    "LOST_REASONS",
    "Attempt",
    "AttemptRecord",
    "CallFacts",
    "CallbackMailer",
    "CallbackRequest",
    "CallbackRules",
    "CallbackStore",
    "Close",
    "Letter",
    "MailDeferred",
    "MailError",
    "MailRejected",
    "MailUncertain",
    "RequestConflict",
    "RequestNotFound",
    "SendEmail",
    "SmtpTransport",
    "Step",
    "Wait",
    "build_message",
    "callback_reason",
    "load_callback_rules",
    "lost_reason",
    "parse_callback_rules",
    "plan",
    "render_letter",
]
