"""Menu `routes`: conditions checked as a call enters a menu, before it plays.

    routes:
      - when: {segment: vip}
        goto: menu:vip
      - when: {has_open_ticket: true}
        goto: tickets

The first route whose condition holds sends the call to its target; when
none does, the menu plays from its start node. Conditions are the segment
rule language (docs/segments.md) plus `segment: name | [names]`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, WithJsonSchema

from fastagi.callers.condition_parser import collect_condition
from fastagi.callers.conditions import Condition
from fastagi.menus.target import Target

__all__ = ["RouteRule"]


def _parse_when(value: Any) -> Condition:
    if isinstance(value, Condition):
        return value
    problems: list[Any] = []
    condition = collect_condition(value, "<menu>", (), problems, allow_segment=True)
    errors = [p for p in problems if getattr(p, "severity", "error") == "error"]
    if condition is None or errors:
        raise ValueError(
            "; ".join(f"{p.message}{f' ({p.hint})' if p.hint else ''}" for p in errors)
        )
    return condition


When = Annotated[
    Condition,
    PlainValidator(_parse_when),
    PlainSerializer(lambda condition: condition.describe(), return_type=str),
    WithJsonSchema(
        {
            "type": "object",
            "description": "A condition: segment, has_tag, field, has_open_ticket, is_new, "
            "called, time_of_day, weekday, all, any, not, always (docs/segments.md).",
        }
    ),
]


class RouteRule(BaseModel):
    """When `when` holds as the call enters the menu, go to `goto` instead of the start."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    when: When = Field(description="The condition (docs/segments.md), plus segment: name.")
    goto: Target = Field(description="A node of this menu, or menu:<name>[/<node>].")
    description: str = Field(default="", description="Free text for admins.")
