"""The Memory record: what one remembered fact, event or procedure looks like.

Types follow the seed: declarative memories (semantic, entity, episodic) say what is
known; procedural ones (skill, workflow) say how to do something. Every memory carries
its scope, how it was created, how far to trust it and where it came from, plus the
A-MEM note fields (keywords, tags, a one-line context, links).
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

if TYPE_CHECKING:  # langgraph.store.base costs ~1 s of CLI start-up; annotations only
    from langgraph.store.base import Item

MemoryType = Literal["semantic", "entity", "episodic", "skill", "workflow"]
MemoryFamily = Literal["declarative", "procedural"]
Scope = Literal["private", "shared"]
Mechanism = Literal["explicit", "implicit", "inferred", "synced"]
SourceRole = Literal["customer", "staff", "system", "agent"]
"""Who asserted a memory (memory/trust.py says how far each is trusted): a customer or end
user, staff or an operator, a system of record (a tool result), an agent's own inference.
A synced copy keeps its origin's role; its mechanism says it is a copy."""

MEMORY_TYPES: tuple[MemoryType, ...] = ("semantic", "entity", "episodic", "skill", "workflow")
DECLARATIVE_TYPES: frozenset[MemoryType] = frozenset({"semantic", "entity", "episodic"})
PROCEDURAL_TYPES: frozenset[MemoryType] = frozenset({"skill", "workflow"})

EXPLICIT_CONFIDENCE = 0.95
"""A direct "remember that ..." is the surest source (the seed's figure)."""
IMPLICIT_CONFIDENCE = 0.70
"""A stated preference or fact, not asked to be remembered."""
INFERRED_CONFIDENCE = 0.60
"""A fact the LLM concluded rather than read."""
SYNC_DECAY = 0.9
"""A copy received from another agent is trusted 0.9 times its source, per hop."""


MAX_CONTENT_CHARS = 4000
"""The longest memory content accepted: a memory is one self-contained statement, and
embedding and extraction slow down with length (a 5 MB memory took 93 s to add)."""
MAX_FIELD_CHARS = 500
"""subject, attribute, value, ids and names."""
MAX_CONTEXT_CHARS = 1000
MAX_LIST_ITEMS = 64
"""keywords, tags and links each."""

_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$"
Name = Annotated[str, StringConstraints(pattern=_NAME_PATTERN, max_length=MAX_FIELD_CHARS)]
"""An id or agent name: no spaces, no control characters, not empty."""
ShortText = Annotated[str, StringConstraints(max_length=MAX_FIELD_CHARS)]
Tag = Annotated[str, StringConstraints(max_length=200)]


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters (newline, tab and carriage return aside). One regex scan: a
character-by-character check cost a search ~1 ms (every memory read back is checked)."""


def check_text(text: str, what: str) -> str:
    """`text` if it is valid Unicode without control characters (newline and tab aside)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode (it holds a lone surrogate)") from None
    if _CONTROL.search(text):
        raise ValueError(f"{what} holds control characters")
    return text


SUBJECT_KIND_ALIASES = {"client": "customer"}
"""Other words for a subject kind, written as the kind itself."""
_SPACES = re.compile(r"\s+")


def canonical_subject(subject: str) -> str:
    """`subject` as the memory writes and compares it: "Customer: #12345 " ->
    "customer:12345".

    Whose fact a memory is follows from its subject (`Memory.owner`), and retrieval in a
    customer's context compares that text exactly: a second spelling of one customer
    would be another owner, or no person at all (general knowledge, shown to everyone).
    So spellings fold to one: Unicode compatibility forms (full-width digits), spacing,
    and the case of a "kind:id" subject (extraction writes ids in lower case); a name
    without a kind ("Caroline") keeps its case. A blank subject, or a kind without an id,
    is a ValueError.
    """
    if not isinstance(subject, str):
        raise ValueError(
            f"a subject must be a string like 'customer:12345', got {type(subject).__name__}"
        )
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", subject)).strip()
    kind, colon, ident = text.partition(":")
    if colon:
        kind = kind.strip().lower()
        ident = ident.strip().lstrip("#").strip().lower()
        if not kind or not ident:
            raise ValueError(f"subject {subject!r} needs a kind and an id, e.g. 'customer:12345'")
        text = f"{SUBJECT_KIND_ALIASES.get(kind, kind)}:{ident}"
    if not text:
        raise ValueError("a subject must not be blank (leave it out: None)")
    return text


def family_of(memory_type: MemoryType) -> MemoryFamily:
    """Declarative (what is known) or procedural (how to do it)."""
    return "procedural" if memory_type in PROCEDURAL_TYPES else "declarative"


def default_confidence(mechanism: Mechanism) -> float:
    """The starting confidence for a memory created by `mechanism` (synced: see SYNC_DECAY)."""
    return {
        "explicit": EXPLICIT_CONFIDENCE,
        "implicit": IMPLICIT_CONFIDENCE,
        "inferred": INFERRED_CONFIDENCE,
        "synced": IMPLICIT_CONFIDENCE * SYNC_DECAY,
    }[mechanism]


def new_memory_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class Provenance(BaseModel):
    """Where a memory came from."""

    model_config = ConfigDict(extra="forbid")

    source_agent: Name
    """The agent that wrote this copy (for a synced copy: the sender)."""
    thread_id: ShortText | None = None
    """The conversation thread it was learned in."""
    message_id: ShortText | None = None
    """The message it was extracted from, or the A2A message that delivered it."""
    origin_memory_id: Name | None = None
    """For a synced copy: the memory it was copied from (the first one in the chain)."""
    origin_agent: Name | None = None
    """For a synced copy: the agent that first learned it."""
    hops: int = Field(default=0, ge=0, le=1000, strict=True)
    """How many A2A syncs separate this copy from the original (0 for an original)."""
    speaker: Tag | None = None
    """The subject of the customer or user who said it ("customer:12345"), when one did."""
    turn: int | None = Field(default=None, ge=0, strict=True)
    """The stating message's position in its thread (0-based), when the writer knows it:
    search reads memories stated a turn apart in one thread as context for each other."""

    @field_validator("speaker")
    @classmethod
    def _canonical_speaker(cls, speaker: str | None) -> str | None:
        return None if speaker is None else canonical_subject(check_text(speaker, "speaker"))


class Memory(BaseModel):
    """One memory. Invalid records are rejected when built, with a message naming the field."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    memory_id: Name = Field(default_factory=new_memory_id)
    content: str = Field(max_length=MAX_CONTENT_CHARS)
    """The memory in one self-contained sentence."""
    type: MemoryType
    scope: Scope = "shared"
    mechanism: Mechanism = "implicit"
    confidence: float = IMPLICIT_CONFIDENCE
    """How far to trust it, in [0, 1]."""
    subject: ShortText | None = None
    """What it is about, normalised, e.g. "customer:12345"."""
    attribute: ShortText | None = None
    """Which slot of the subject it fills, e.g. "contact_preference"."""
    value: ShortText | None = None
    """The slot's value, e.g. "email": a new value for the same slot supersedes the old."""
    asserted_by: SourceRole = "staff"
    """Who asserted it, as a role. Memories written through the API without one are the
    operator's; everything read from a conversation says who spoke (see memory/trust.py)."""
    provenance: Provenance
    created_at: AwareDatetime = Field(default_factory=utcnow)
    """Times are timezone-aware: a naive one is refused (it cannot be compared)."""
    updated_at: AwareDatetime = Field(default_factory=utcnow)
    valid_from: AwareDatetime = Field(default_factory=utcnow)
    """When the record took effect (record time)."""
    event_time: AwareDatetime | None = None
    """When it happened or became true, if the text said ("yesterday", "on Jan 5"): event
    time, resolved against the message's time. Recency counts from it when known."""
    invalidated_at: AwareDatetime | None = None
    """Set when superseded or retracted; the memory is kept but hidden by default."""
    superseded_by: Name | None = None
    disputed_by: Name | None = None
    """Set when a more trusted memory holds a different value: this one is kept (staff can
    see it) but not believed, so it is hidden like an invalidated one."""
    mention_count: int = Field(default=1, ge=1, strict=True)
    """How many distinct statements asserted it; restating a fact reinforces it."""
    keywords: list[Tag] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    context: str = Field(default="", max_length=MAX_CONTEXT_CHARS)
    """A one-line summary of the situation it belongs to (A-MEM)."""
    links: list[Name] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    """memory_ids of related memories (A-MEM)."""
    message_ids: list[ShortText] = Field(default_factory=list)
    """The messages that stated it (the first one and each reinforcement): a message
    replayed (a resumed turn, a redelivery) is recognised and never counted twice."""

    @field_validator("content")
    @classmethod
    def _content_not_empty(cls, content: str) -> str:
        content = check_text(content, "memory content").strip()
        if not content:
            raise ValueError("memory content must not be empty")
        return content

    @field_validator("context", "attribute", "value")
    @classmethod
    def _valid_text(cls, text: str | None) -> str | None:
        return None if text is None else check_text(text, "text")

    @field_validator("subject")
    @classmethod
    def _canonical_subject(cls, subject: str | None) -> str | None:
        return None if subject is None else canonical_subject(check_text(subject, "subject"))

    @field_validator("confidence", mode="before")
    @classmethod
    def _confidence_is_a_number(cls, confidence: Any) -> Any:
        if isinstance(confidence, bool) or not isinstance(confidence, int | float):
            raise ValueError(f"confidence must be a number in [0, 1], got {confidence!r}")
        return confidence

    @field_validator("confidence")
    @classmethod
    def _confidence_in_range(cls, confidence: float) -> float:
        if not 0.0 <= confidence <= 1.0 or confidence != confidence:
            raise ValueError(f"confidence must be within [0, 1], got {confidence}")
        return confidence

    @model_validator(mode="after")
    def _slot_needs_subject(self) -> Memory:
        if self.attribute and not self.subject:
            raise ValueError("a memory with an attribute needs a subject")
        return self

    @model_validator(mode="after")
    def _customer_needs_speaker(self) -> Memory:
        if self.asserted_by == "customer" and not self.provenance.speaker:
            raise ValueError(
                "a memory asserted by a customer needs provenance.speaker (who said it, e.g. "
                "'customer:12345'): a customer may only state facts about themselves"
            )
        return self

    @property
    def owner(self) -> str:
        """The customer or user whose fact this is, or "" for the team's general knowledge.

        What a customer said is theirs whatever it names; otherwise a memory about a
        customer or user belongs to them, and one about a record (an order, a ticket) to
        the person the conversation was about (`provenance.speaker`), else to the record.
        Retrieval in a customer's context reads only their own memories and general ones
        (a store filter on this key).
        """
        if self.asserted_by == "customer" and self.provenance.speaker:
            return self.provenance.speaker
        kind = self.subject.split(":", 1)[0] if self.subject else ""
        if kind in PERSONAL_SUBJECT_KINDS:
            return self.subject or GENERAL_OWNER
        if kind in RECORD_SUBJECT_KINDS:
            # An order or a ticket is someone's: the person the conversation was about,
            # else the record alone (seen only where no subject filter applies), never
            # general knowledge that any other customer's search could return.
            speaker = self.provenance.speaker or ""
            personal = speaker.split(":", 1)[0] in PERSONAL_SUBJECT_KINDS
            return speaker if personal else self.subject or GENERAL_OWNER
        return GENERAL_OWNER

    @property
    def family(self) -> MemoryFamily:
        return family_of(self.type)

    @property
    def is_valid(self) -> bool:
        """Believed: neither invalidated (superseded, retracted) nor disputed."""
        return self.invalidated_at is None and self.disputed_by is None

    def to_store_value(self) -> dict[str, Any]:
        """The JSON document kept in a LangGraph store.

        Derived keys (family, valid, content_key, owner, event_stamp) are stored too so that
        store filters can select on them; they are dropped again when the record is read
        back.
        """
        value = self.model_dump(mode="json")
        # A record made by `model_copy` (which skips validation) is checked before it is
        # stored: one that could not be read back would be acknowledged, then skipped.
        type(self).model_validate(value)
        value.update((key, derive(self)) for key, derive in _DERIVED.items())
        return value

    def store_fields(self, keys: Iterable[str]) -> dict[str, Any]:
        """Those keys of `to_store_value()` (what a store filter on them would see), without
        dumping and checking the whole record: listing 10k memories spent most of its time
        there."""
        wanted = set(keys)
        plain = wanted - DERIVED_KEYS
        out = self.model_dump(mode="json", include=plain) if plain else {}
        out.update((key, _DERIVED[key](self)) for key in wanted & DERIVED_KEYS)
        return out

    @classmethod
    def from_store_value(cls, value: dict[str, Any]) -> Memory:
        data = {k: v for k, v in value.items() if k not in DERIVED_KEYS}
        return cls.model_validate(data)

    @classmethod
    def from_item(cls, item: Item) -> Memory:
        """The memory a store item holds: a record this layer wrote, or a plain
        ``{"content": ...}`` item written by standard LangGraph means (LangMem's memory
        tools, the store API, Studio's memory panel), read with ``PLAIN_ITEM_DEFAULTS``
        and the subject its text names first ("customer #12345": theirs, see `owner`).
        Anything else is a ValueError naming the item."""
        if is_memory_record(item.value):
            return cls.from_store_value(item.value)
        content = item.value.get("content")
        if isinstance(content, dict):  # LangMem's structured memories: {"content": {...}}
            content = content.get("content") or json.dumps(content, sort_keys=True)
        if not isinstance(content, str) or not content.strip():
            raise ValueError(
                f"store item {item.key!r} in {'/'.join(item.namespace)} is not a memory: "
                "it needs a non-empty 'content' text (or a full memory record)"
            )
        private = len(item.namespace) > 3 and item.namespace[2] == "agent"
        from memory.extraction.subjects import normalize_subject  # imports this module

        return cls(
            memory_id=item.key,
            content=content,
            # a note naming a customer or their order is theirs, never general knowledge
            subject=normalize_subject(content),
            scope="private" if private else "shared",
            provenance=Provenance(source_agent=item.namespace[3] if private else PLAIN_ITEM_SOURCE),
            created_at=item.created_at,
            updated_at=item.updated_at,
            valid_from=item.created_at,
            tags=["plain-item"],
            **PLAIN_ITEM_DEFAULTS,
        )


PLAIN_ITEM_SOURCE = "store-api"
"""The source agent of a plain item in the shared namespace (its writer is not recorded)."""
PLAIN_ITEM_DEFAULTS: dict[str, Any] = {
    "type": "semantic",
    "mechanism": "implicit",
    "confidence": IMPLICIT_CONFIDENCE,
}
"""How a plain ``{"content": ...}`` item is read: a general fact, stated (not asked to be
remembered), trusted like any implicit statement (0.70, at the search threshold); its
scope is its namespace's (shared, or the agent's own)."""


def is_memory_record(value: dict[str, Any]) -> bool:
    """Whether a store value is a full memory record (as ``to_store_value`` writes)."""
    return "type" in value and "provenance" in value


_DERIVED: dict[str, Callable[[Memory], Any]] = {
    "family": lambda m: m.family,
    "valid": lambda m: m.is_valid,
    "content_key": lambda m: content_key(m.content),
    "owner": lambda m: m.owner,
    "event_stamp": lambda m: event_stamp(m.event_time) if m.event_time else UNDATED,
}
"""How each derived key of a stored record is computed from the memory."""
DERIVED_KEYS = frozenset(_DERIVED)
PERSONAL_SUBJECT_KINDS = frozenset({"customer", "user", "employee", "person"})
"""Subject kinds that name one person whose facts are private to them."""
RECORD_SUBJECT_KINDS = frozenset(
    {"order", "ticket", "account", "invoice", "case", "shipment", "package"}
)
"""Subject kinds that name one person's record: its facts are that person's (the
conversation's subject when stated), never general knowledge."""
GENERAL_OWNER = ""
"""The owner of general knowledge (policies, skills, workflows, system facts)."""


def content_key(content: str) -> str:
    """Content with case, punctuation and spacing folded: equal keys are exact duplicates."""
    words = re.findall(r"[^\W_]+", content.lower())
    return " ".join(words)


UNDATED = 0
"""The event stamp of a memory without an event time: before every window."""


def event_stamp(moment: datetime) -> int:
    """`moment` (UTC) as the number YYYYMMDDhhmmss, the store's filterable event time.

    A number of 14 digits for every year from 1000 to 9999, so it compares the same as a
    number (InMemoryStore, the FAISS store's SQL) and as text (PostgresStore compares
    ``value->>key`` as text): a time window is one ``$gte``/``$lt`` store filter.
    """
    t = moment.astimezone(UTC)
    return int(f"{t.year:04d}{t.month:02d}{t.day:02d}{t.hour:02d}{t.minute:02d}{t.second:02d}")
