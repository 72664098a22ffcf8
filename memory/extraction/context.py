"""Who said the text being read, and what a rule found in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import get_args

from memory.models import MemoryType, Scope, SourceRole, utcnow


@dataclass(frozen=True)
class ExtractionContext:
    """Who said the text, where, and whose facts first-person statements are."""

    source_agent: str
    """The agent that received the text and will own the memories."""
    thread_id: str | None = None
    message_id: str | None = None
    speaker_subject: str = "user"
    """The subject of the speaker's own facts ("my email is ..."), e.g. "customer:12345"."""
    scope: Scope = "shared"
    speaker_role: SourceRole = "customer"
    """Who is speaking: text from a conversation is a customer's (or end user's) unless
    the caller knows it comes from staff, an operator or a system (memory/trust.py)."""
    message_time: datetime | None = None
    """When the text was said: dates in it ("yesterday") resolve against this (None: now)."""
    turn: int | None = None
    """The message's position in its thread (0-based), when known (Provenance.turn)."""

    @property
    def reference_time(self) -> datetime:
        return self.message_time or utcnow()

    def __post_init__(self) -> None:
        if not isinstance(self.source_agent, str) or not self.source_agent.strip():
            raise ValueError(f"source_agent must be a non-empty string, got {self.source_agent!r}")
        if not isinstance(self.speaker_subject, str) or not self.speaker_subject.strip():
            raise ValueError(
                f"speaker_subject must be a non-empty string, got {self.speaker_subject!r}"
            )
        if self.speaker_role not in get_args(SourceRole):
            raise ValueError(
                f"speaker_role must be one of {get_args(SourceRole)}, got {self.speaker_role!r}"
            )
        if self.scope not in ("private", "shared"):
            raise ValueError(f"scope must be 'private' or 'shared', got {self.scope!r}")
        if self.message_time is not None and self.message_time.tzinfo is None:
            raise ValueError("message_time must be timezone-aware (UTC)")
        if self.turn is not None and (
            isinstance(self.turn, bool) or not isinstance(self.turn, int) or self.turn < 0
        ):
            raise ValueError(f"turn must be a non-negative integer or None, got {self.turn!r}")


@dataclass(frozen=True)
class Found:
    """One memory found by a rule, before provenance and confidence are attached."""

    type: MemoryType
    content: str
    subject: str | None = None
    attribute: str | None = None
    value: str | None = None
    tag: str = "fact"
