"""The trust model: who said it, about whom, and who may change it.

Every rule about what the memory believes lives here; the manager, the A2A bridge and
consolidation call it rather than deciding for themselves.

Who asserted a memory is a role (`Memory.asserted_by`): a customer or end user, staff or
an operator, a system of record (a tool result) or an agent's own inference. A synced
copy keeps its origin's role and is marked by its mechanism. What a role is trusted with
depends on what the memory is about:

| asserted by           | own preferences, contacts | account records | policies, others' facts |
|-----------------------|---------------------------|-----------------|-------------------------|
| system of record      | 3 first-hand              | 4 record        | 4 record                |
| staff / operator      | 3 first-hand              | 3 first-hand    | 3 first-hand            |
| customer (about self) | 3 first-hand              | 1 claimed       | 0 labeled claim         |
| agent inference       | 2 inference               | 2 inference     | 2 inference             |

Confidence = mechanism x trust: explicit 0.95, implicit 0.70, inferred 0.60, times 1.0 for
levels 4 to 2, 0.6 for 1 and 0.5 for 0 (an agent's inference is weak by its mechanism,
and ranks below first-hand knowledge in every conflict); a synced copy is its source's
confidence x 0.9 per hop. Nothing below `SHOWN_CONFIDENCE` is shown by default, so a
customer's claim about their tier (0.42) or about a policy (0.475 at most) is kept
but never shown as fact. Reinforcement never lifts a memory past its level's ceiling.

Changing a memory (a new value for a slot, a contradiction, a retraction):
- a lower level never supersedes a higher one: the newcomer is stored as disputed (kept,
  visible to staff, hidden from retrieval) and the trusted value stays shown;
- a synced copy never supersedes the receiver's own first-hand memory;
- an older statement never supersedes a newer one, but an older one of a higher level
  still wins the conflict: the held value is disputed instead (`outranks`, as `settle`);
- otherwise the newer value supersedes (the old one is kept, invalidated).
A customer cannot create, reinforce, supersede or merge into policies, skills, workflows
or another person's facts: what they say about those is kept as a labeled claim
("Customer #X says: ...") at level 0. Secrets and instructions to the agents
("ignore previous instructions") are never stored, whoever says them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from memory.models import (
    GENERAL_OWNER,
    MAX_CONTENT_CHARS,
    PERSONAL_SUBJECT_KINDS,
    SYNC_DECAY,
    Memory,
    SourceRole,
    default_confidence,
)

TrustLevel = Literal[0, 1, 2, 3, 4]
CLAIM: TrustLevel = 0
CUSTOMER_RECORD: TrustLevel = 1
INFERENCE: TrustLevel = 2
FIRST_HAND: TrustLevel = 3
RECORD: TrustLevel = 4

LEVEL_FACTOR: dict[int, float] = {4: 1.0, 3: 1.0, 2: 1.0, 1: 0.6, 0: 0.5}
"""Confidence = mechanism's base confidence x this factor of the memory's trust level."""
MAX_CONFIDENCE = 0.99
"""Nothing said in conversation is ever certain."""
SHOWN_CONFIDENCE = 0.7
"""Retrieval's default floor: below it a memory is kept but not shown as fact."""
CLAIM_TAG = "claim"
GENERAL_TYPES = frozenset({"semantic", "skill", "workflow"})
"""Policies, general facts and procedures: the team's knowledge, not anyone's slot."""
AGENT_GENERAL_CEILING = 0.6
"""An agent's inference about them: kept for staff to see, never shown as fact (ten
repetitions of "VIP customers get free shipping" by another agent lifted it to 0.9)."""

Change = Literal["supersede", "dispute"]

_RECORD_ATTRIBUTE = re.compile(
    r"(?:^|_)(?:membership|member|tier|plan|status|balance|credit|discount|refund|order|"
    r"delivery|loyalty|subscription|vip|entitlement|limit|price|fee|warranty|account|"
    r"points|level|rank|eligib\w*|approval|approved|verified|verification)(?:_|$)",
    re.IGNORECASE,
)
_SECRET = re.compile(
    r"\b(?:password|passcode|passphrase|pass word|pin(?: code| number)?|cvv|cvc|"
    r"security code|api[ -]?key|access token|secret key|private key|one[- ]time code|otp|"
    r"social security number|ssn)\b",
    re.IGNORECASE,
)
_CARD_NUMBER = re.compile(r"\b(?:\d[ -]?){13,19}\b")
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b.{0,30}\b(?:instructions?|rules|"
    r"prompts?|guidelines|polic(?:y|ies)|checks?|verification)\b|\bsystem prompt\b|"
    r"\byou are now\b|\bact as\b|\bdeveloper mode\b|\bjailbreak\b|\bnew instructions?\b|"
    r"\bfrom now on,? (?:you|the (?:agents?|assistant|bot|team))\b|"
    r"\b(?:agents?|assistant|bot|you) (?:must|should|shall) (?:always|never)\b|"
    r"\b(?:approve|grant|issue) (?:all|every|any) (?:refunds?|requests?|credits?)\b|"
    r"\bwithout (?:any )?(?:checks?|verification|approval)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Admission:
    """What may be stored of a memory someone asserted: itself, a labeled claim, or nothing."""

    memory: Memory | None
    reason: str = ""
    """Why it was changed or refused (empty when admitted as is)."""


# ---- levels and confidence --------------------------------------------------------------


def is_record_slot(attribute: str | None) -> bool:
    """An account record (tier, balance, status...) rather than something a person says of
    themselves (contact preference, address, diet)."""
    return bool(attribute and _RECORD_ATTRIBUTE.search(attribute))


def is_claim(memory: Memory) -> bool:
    return memory.asserted_by == "customer" and CLAIM_TAG in memory.tags


def trust_level(memory: Memory) -> TrustLevel:
    """How far `memory`'s assertion is trusted, by role and what it is about (module table)."""
    role = memory.asserted_by
    if role == "agent":
        return INFERENCE
    if role == "customer":
        if is_claim(memory):
            return CLAIM
        return CUSTOMER_RECORD if is_record_slot(memory.attribute) else FIRST_HAND
    if role == "system":
        self_described = memory.attribute is not None and not is_record_slot(memory.attribute)
        return FIRST_HAND if self_described else RECORD
    return FIRST_HAND


def ceiling(memory: Memory) -> float:
    """The most confidence a memory of its level can ever reach, reinforced or not. An
    agent's word on a policy, skill or workflow stays below `SHOWN_CONFIDENCE` however
    often it is repeated: those change only through trusted sources."""
    if memory.asserted_by == "agent" and memory.type in GENERAL_TYPES:
        return AGENT_GENERAL_CEILING
    return round(MAX_CONFIDENCE * LEVEL_FACTOR[trust_level(memory)], 4)


def initial_confidence(memory: Memory) -> float:
    """Confidence = the mechanism's base x the trust factor of the memory's level."""
    return round(default_confidence(memory.mechanism) * LEVEL_FACTOR[trust_level(memory)], 4)


def synced_confidence(memory: Memory, decay: float = SYNC_DECAY) -> float:
    """A copy received from another agent: its source's confidence x `decay`."""
    return round(memory.confidence * decay, 6)


def reinforced_confidence(held: Memory, incoming: Memory, rate: float = 0.3) -> float:
    """Confidence after a distinct restatement: up by `rate` of the gap, within the ceiling."""
    base = max(held.confidence, min(incoming.confidence, ceiling(held)))
    return round(min(ceiling(held), base + (1.0 - base) * rate), 4)


def shown(memory: Memory) -> bool:
    """Whether retrieval shows `memory` by default."""
    return memory.is_valid and memory.confidence >= SHOWN_CONFIDENCE


# ---- admission: what may be stored at all -------------------------------------------------


def holds_secret(text: str) -> bool:
    """Passwords, card numbers, security codes: never stored, whoever says them."""
    if _SECRET.search(text) or _SSN.search(text):
        return True
    return any(_luhn(re.sub(r"\D", "", m.group())) for m in _CARD_NUMBER.finditer(text))


def _luhn(digits: str) -> bool:
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def is_instruction(text: str) -> bool:
    """Text that tries to steer the agents ("ignore previous instructions"): data, never
    policy, and not worth keeping as a memory."""
    return bool(_INSTRUCTION.search(text))


def within_own_facts(memory: Memory) -> bool:
    """Whether a customer's memory is about themselves: their facts, events, orders."""
    speaker = memory.provenance.speaker
    if memory.type not in ("entity", "episodic"):
        return False  # policies, skills and workflows are never a customer's to state
    if memory.subject is None or memory.subject == speaker:
        return memory.type == "episodic" or memory.subject == speaker
    kind = memory.subject.split(":", 1)[0]
    return kind not in PERSONAL_SUBJECT_KINDS and kind != "person"


def as_claim(memory: Memory) -> Memory:
    """A customer's statement outside their own facts, kept as what it is: their claim."""
    speaker = memory.provenance.speaker or "user"
    kind, _, ident = speaker.partition(":")
    label = f"{kind.capitalize()} #{ident}" if ident else f"The {kind}"
    content = memory.content
    # "Refunds are ..." reads on as "says: refunds are ..."; "SYSTEM:" or "ParcelPro" keep
    # their capitals (an acronym or a name), never "sYSTEM"
    said = content if content[1:2].isupper() else content[:1].lower() + content[1:]
    claim = memory.model_copy(
        update={
            "content": f"{label} says: {said}",
            "type": "episodic",
            "subject": speaker,
            "attribute": None,
            "value": None,
            "tags": list(dict.fromkeys([*memory.tags, CLAIM_TAG])),
            "keywords": [],
            "context": "",
        }
    )
    base = default_confidence(memory.mechanism if memory.mechanism != "synced" else "implicit")
    return claim.model_copy(update={"confidence": round(base * LEVEL_FACTOR[CLAIM], 4)})


def admit(memory: Memory) -> Admission:
    """What of `memory` may be stored: refused, made a labeled claim, or kept (capped)."""
    if holds_secret(memory.content) or holds_secret(memory.value or ""):
        return Admission(None, "it holds a secret (password, card number or code)")
    if is_instruction(memory.content):
        return Admission(None, "it is an instruction to the agents, not a fact")
    reason = ""
    if (
        memory.asserted_by == "customer"
        and memory.mechanism != "synced"
        and not is_claim(memory)
        and not within_own_facts(memory)
    ):
        memory = as_claim(memory)
        reason = "a customer may only state facts about themselves: kept as their claim"
        if len(memory.content) > MAX_CONTENT_CHARS:  # the label made it one memory too long
            return Admission(None, "too long to keep as a labeled claim")
    if memory.asserted_by == "agent" and memory.mechanism != "synced":
        # another agent's word is its inference, whatever "remember that" it says: as
        # `remember(source="agent")` stores it (with_source_trust), at most 0.70
        memory = with_source_trust(memory)
    top = ceiling(memory)
    if memory.confidence > top:
        memory = memory.model_copy(update={"confidence": top})
    return Admission(memory, reason)


# ---- change: who may reinforce, supersede, retract -----------------------------------------


def same_owner(held: Memory, incoming: Memory) -> bool:
    """Whether two memories may be one: the same owner, or a trusted source's general note
    and its personal twin. Two customers' identical words stay two memories."""
    if held.owner == incoming.owner:
        return True
    if "customer" in (held.asserted_by, incoming.asserted_by):
        return False
    return GENERAL_OWNER in (held.owner, incoming.owner)


def may_reinforce(held: Memory, incoming: Memory) -> bool:
    """A restatement reinforces only when its source is trusted as much as the held one
    (a repeated delivery of one message never does: MemoryManager checks message ids)."""
    return trust_level(incoming) >= trust_level(held)


def may_change(held: Memory, incoming: Memory) -> Change:
    """Whether `incoming` (another value, a contradiction or a retraction) replaces `held`."""
    if incoming.mechanism == "synced" and held.mechanism != "synced":
        return "dispute"  # a copy never overrules what the receiver knows first-hand
    if trust_level(incoming) < trust_level(held):
        return "dispute"
    if incoming.valid_from < held.valid_from:
        return "dispute"  # a stale statement never overrules a newer one
    return "supersede"


def outranks(incoming: Memory, held: Memory) -> bool:
    """Whether `incoming`, which may not change `held` (`may_change`), still wins the
    conflict: a higher trust level, first-hand, though stated earlier. Then `held` is the
    one disputed, as `settle` would decide: in a conflict the trusted value is shown."""
    return trust_level(incoming) > trust_level(held) and not (
        incoming.mechanism == "synced" and held.mechanism != "synced"
    )


def precedence(memory: Memory) -> tuple[int, bool, bool, float, float]:
    """Sort key for settling a conflict between several holders of one slot: trust level,
    then first-hand over copies, then shown over hidden, then newest, then surest."""
    return (
        trust_level(memory),
        memory.mechanism != "synced",
        memory.confidence >= SHOWN_CONFIDENCE,
        memory.valid_from.timestamp(),
        memory.confidence,
    )


def settle(holders: Iterable[Memory]) -> tuple[Memory, list[tuple[Memory, Change]]]:
    """The winner of a conflict and what happens to each other holder.

    A loser the winner may change (`may_change`) is superseded; any other (newer than a
    more trusted winner, or first-hand where the winner is a copy) is disputed. Either way
    it is hidden and kept, and the slot keeps a value: the winner, which nothing hides.
    """
    ranked = sorted(holders, key=precedence, reverse=True)
    winner = ranked[0]
    return winner, [(loser, may_change(loser, winner)) for loser in ranked[1:]]


# ---- MemoryManager.remember: who asserted a text -------------------------------------------

Source = Literal["user", "staff", "system", "agent"]
"""Who asserted a text given to `MemoryManager.remember` (a user is a customer)."""
SOURCE_ROLES: dict[str, SourceRole] = {
    "user": "customer",
    "staff": "staff",
    "system": "system",
    "agent": "agent",
}


def with_source_trust(memory: Memory) -> Memory:
    """Staff and systems of record state facts (explicit, 0.95); an agent infers them
    (inferred, never above a stated fact's 0.70); a user's words keep their extraction."""
    if memory.asserted_by in ("staff", "system"):
        return memory.model_copy(
            update={"mechanism": "explicit", "confidence": default_confidence("explicit")}
        )
    if memory.asserted_by == "agent":
        capped = min(default_confidence("implicit"), memory.confidence)
        return memory.model_copy(update={"mechanism": "inferred", "confidence": capped})
    return memory


def untrusted_change(memory: Memory, subject: str | None) -> str | None:
    """Why a user or an agent may not assert `memory` through `remember`, or None."""
    if memory.asserted_by not in ("customer", "agent"):
        return None
    if memory.type in ("semantic", "skill", "workflow"):
        return "policies, skills and workflows change only through trusted sources"
    same_kind = bool(subject and memory.subject) and (
        str(memory.subject).split(":", 1)[0] == str(subject).split(":", 1)[0]
    )
    if same_kind and memory.subject != subject:
        return f"the speaker is {subject}; facts about {memory.subject} need their own source"
    return None
