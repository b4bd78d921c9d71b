"""Do not call: numbers whose caller profile is in the `blacklisted` segment.

The check evaluates the condition of the segment rule named `blacklisted`
(config/segments.yaml) on the stored profile, whatever rules come before
it: a blacklisted caller is never called, even one that the first-match
order would put in another segment (say a VIP who asked not to be called).
A number with no profile, or rules with no `blacklisted` rule, is callable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from fastagi.callers.conditions import EvalContext
from fastagi.callers.directory import CallerDirectory
from fastagi.callers.profile import CallerProfile
from fastagi.callers.segments import SegmentRule, SegmentRules

__all__ = ["DNC_SEGMENT", "DoNotCall"]

#: The segment whose callers campaigns never call.
DNC_SEGMENT = "blacklisted"
_BATCH = 500


class DoNotCall:
    """Tells which numbers must not be called, from their profiles and the segment rules."""

    def __init__(
        self, directory: CallerDirectory, rules: SegmentRules, *, segment: str = DNC_SEGMENT
    ) -> None:
        self.directory = directory
        self.rules = rules
        self.segment = segment
        self.rule: SegmentRule | None = rules.rule(segment)

    def reasons(self, profile: CallerProfile, now: datetime) -> str | None:
        """Why this caller must not be called (the rule's facts in words), or None."""
        if self.rule is None:
            return None
        ctx = EvalContext(profile, now)
        if not self.rule.condition.evaluate(ctx):
            return None
        return "; ".join(self.rule.condition.reasons(ctx)) or f"segment {self.segment!r}"

    async def blocked(self, numbers: Iterable[str], now: datetime) -> Mapping[str, str]:
        """The E.164 `numbers` that must not be called, each with the reason.

        Profiles are read in batches; when the rule counts calls (`called`),
        one by one with those counts. Redis errors are raised.
        """
        if self.rule is None:
            return {}
        wanted = list(dict.fromkeys(numbers))
        windows = self.rule.condition.windows()
        profiles: list[CallerProfile] = []
        if windows:
            for number in wanted:
                profile = await self.directory.get(number, windows=windows)
                if profile is not None:
                    profiles.append(profile)
        else:
            for start in range(0, len(wanted), _BATCH):
                profiles.extend(await self.directory.profiles(wanted[start : start + _BATCH]))
        found: dict[str, str] = {}
        for profile in profiles:
            reason = self.reasons(profile, now)
            if reason is not None:
                found[profile.number] = reason
        return found
