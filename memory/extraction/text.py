"""Text preparation and the filters every rule shares: sentences, clauses, fillers,
questions, hedges, hypotheticals, negations and explicit "remember that" commands."""

from __future__ import annotations

import re


def wordset(words: str) -> frozenset[str]:
    """A set of words written as one string, to keep long vocabularies readable."""
    return frozenset(words.split())


# --------------------------------------------------------------------------- text preparation

_TYPOGRAPHY = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_CONTRACTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), replacement)
    for pattern, replacement in (
        (r"\bcan't\b", "cannot"),
        (r"\bwon't\b", "will not"),
        (r"\b(\w+)n't\b", r"\1 not"),
        (r"\b(i)'m\b", r"\1 am"),
        (r"\b(we|you|they)'re\b", r"\1 are"),
        (r"\b(i|we|you|they)'ve\b", r"\1 have"),
        (r"\b(i|we|you|they|he|she)'d\b", r"\1 would"),
        (r"\b(i|we|you|they|he|she|it)'ll\b", r"\1 will"),
        (r"\b(it|that|what|there|here|who|where|how)'s\b", r"\1 is"),
        (r"\blet's\b", "let us"),
    )
)


def expand(text: str) -> str:
    text = text.translate(_TYPOGRAPHY).replace("\u2192", "->").replace("\u2014", " - ")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return re.sub(r"[ \t]+", " ", text).strip()


_LIST_ITEM = re.compile(r"^(?:\(?\d{1,2}[.)]|[-*\u2022]|step\s+\d{1,2}:?)\s+", re.IGNORECASE)


def _join_list_lines(text: str) -> list[str]:
    """Lines, with a list's items joined to the line that introduces them (one procedure)."""
    blocks: list[str] = []
    bullet = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        item = _LIST_ITEM.match(line)
        if item and blocks:
            if item.group().strip() in {"-", "*", "\u2022"}:
                bullet += 1
                line = f"{bullet}) {line[item.end() :]}"
            blocks[-1] = f"{blocks[-1]} {line}"
            continue
        bullet = 0
        blocks.append(line)
    return blocks


_ABBREVIATIONS = frozenset({"dr", "mr", "mrs", "ms", "st", "jr", "sr", "vs", "etc", "approx"})
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")


def split_sentences(text: str) -> list[str]:
    """Sentences; "Dr. Patel" and numbered steps ("1. verify 2. check") stay whole."""
    sentences: list[str] = []
    for block in _join_list_lines(text):
        start = 0
        for end in _SENTENCE_END.finditer(block):
            last = block[start : end.start()].rsplit(" ", 1)[-1].lower()
            following = block[end.end() :].lstrip()[:1]
            if end.group() == "." and (
                last in _ABBREVIATIONS
                or (last.isdigit() and len(last) <= 2 and following.islower())
            ):
                continue
            sentences.append(block[start : end.end()].strip())
            start = end.end()
        if block[start:].strip():
            sentences.append(block[start:].strip())
    return [s for s in sentences if s]


_FILLER = re.compile(
    r"^(?:(?:hi|hello|hey|hi there|ok|okay|oh|well|yes|yeah|no|sure|great|thanks|thank you|"
    r"sorry|my bad)\s*[,!:;.-]+|(?:also|and|so|actually|btw|by the way|fyi|just so you know|"
    r"just fyi|plus|now|these days|nowadays)\b[\s,:;-]*|[-*\u2022]\s+)\s*",
    re.IGNORECASE,
)


def strip_fillers(text: str) -> str:
    previous = None
    while previous != text:
        previous, text = text, _FILLER.sub("", text, count=1)
    return text.strip()


def split_clauses(sentence: str) -> list[str]:
    """Split "my name is Priya and I prefer email" into its two statements, and "I used to
    prefer SMS but now I prefer email" into the old one and the current one."""
    parts = re.split(
        r",?\s+(?:and|but)\s+(?=(?:i|my)\b)|,?\s+but\s+(?=now\b)",
        sentence,
        flags=re.IGNORECASE,
    )
    return [part.strip(" ,;") for part in parts if part.strip(" ,;")]


_POLITE_END = re.compile(
    r"[,\s]+(?:thank you|thanks|please|cheers)(?: so much| a lot| very much)?[.!]*$", re.I
)


def clean_end(text: str) -> str:
    text = _POLITE_END.sub("", text.strip())
    return text.rstrip(".!;,: ").strip()


# --------------------------------------------------------------------------- filters

_QUESTION_START = re.compile(
    r"^(?:what|where|why|who|whom|which|whose|"
    r"how (?:do|does|did|can|could|should|would|will|is|are|was|much|many|long|often|come)|"
    r"(?:do|does|did|is|are|was|were|can|could|would|will|should|shall|have|has|am|may|might)"
    r"\s+(?:you|i|we|they|he|she|it|my|our|your|the|this|that|there|customer|order|any))\b",
    re.IGNORECASE,
)
_HYPOTHETICAL_START = re.compile(
    r"^(?:if|suppose|supposing|imagine|hypothetically|what if|in case|assuming|unless)\b",
    re.IGNORECASE,
)
_HEDGE = re.compile(
    r"\b(?:maybe|perhaps|possibly|probably|might|i think|i guess|i suppose|i believe|"
    r"not sure|i wonder|wondering|if i were|if we were|if i was|in theory|i may)\b",
    re.IGNORECASE,
)
# "I'd prefer" and "I'd rather" state a preference; any other "would" is conditional or a
# polite request ("I'd like a refund"), neither of which is a lasting fact.
_CONDITIONAL = re.compile(r"\bwould\b(?!\s+(?:prefer|rather)\b)", re.IGNORECASE)
IMPERATIVE = re.compile(
    r"^(?:please\s+)?(?:cancel|send|call|check|transfer|tell|let|look|email|text|update|find|"
    r"help|show|give|get|change|book|schedule|reply|forward|escalate|connect|put|hold|stop|"
    r"make|add|remove|delete|open|close|fix|track|confirm|resend|reset|contact|reach|ring|"
    r"message|notify|remind|set|move|switch|upgrade|downgrade|arrange|hurry|wait|pick|read|"
    r"go|see|never mind|forget)\b",
    re.IGNORECASE,
)


def is_question(sentence: str) -> bool:
    return sentence.rstrip().endswith("?") or bool(_QUESTION_START.match(sentence))


def is_hedged(clause: str) -> bool:
    return bool(_HEDGE.search(clause))


def is_hypothetical(clause: str) -> bool:
    return bool(_HYPOTHETICAL_START.match(clause) or _CONDITIONAL.search(clause))


_NEGATION = re.compile(r"\b(?:not|never|no longer|cannot|nobody|no one)\b", re.IGNORECASE)


def is_negated(text: str) -> bool:
    return bool(_NEGATION.search(text))


# --------------------------------------------------------------------------- explicit commands

_EXPLICIT = re.compile(
    r"^(?:please\s+)?(?:remember|do not forget|never forget|(?:please\s+)?note|make a note|"
    r"take note|keep in mind|bear in mind|for future reference|for the record|save this|"
    r"commit to memory)(?:\s+(?:that|this))?\s*[:,-]?\s*",
    re.IGNORECASE,
)
# "Remember to ..." is an instruction for now; "remember when/what ..." asks about the past.
_NOT_A_FACT_AFTER_COMMAND = re.compile(
    r"^(?:to|when|what|where|how|if|whether|who|why|it|this|that|me)\b", re.IGNORECASE
)


def split_explicit(clause: str) -> tuple[bool, str | None]:
    """(is explicit, the statement to remember); None when the command holds no fact."""
    match = _EXPLICIT.match(clause)
    if match is None:
        return False, clause
    body = clause[match.end() :].strip()
    if len(body.split()) < 3 or _NOT_A_FACT_AFTER_COMMAND.match(body):
        return True, None
    return True, body


FIRST_PERSON_WORD = re.compile(r"\b(?:i|me|my|mine)\b", re.IGNORECASE)


_EVALUATIVE = (
    r"rough|long|exhausting|hectic|slow|crazy|busy|tough|boring|lovely|great|nice|beautiful|"
    r"awful|terrible|gloomy|perfect|fun|so much fun|amazing|overrated|underrated|the best|"
    r"the worst|a bit much|fine|weird|funny|wonderful|horrible|cool|awesome|bad|good|sunny|"
    r"rainy|cold|hot|windy|grey|gray|humid|freezing|mild|annoying|stressful|relaxing|"
    r"exciting|interesting|brutal|insane|wild|tiring|lovely weather|a drag|a pain|the same"
)
_SMALL_TALK = re.compile(
    r"^[\w' -]{1,40}?\s+(?:is|are|was|were|has been|have been|seems?|looks?|feels?|gets?)\s+"
    r"(?:(?:so|always|really|very|too|such|a bit|kind of|pretty|quite|just|totally|"
    r"absolutely|honestly|usually|often|never|sometimes|getting|a|an|super|way)\s+)*"
    rf"(?:{_EVALUATIVE})(?:\s+(?:lately|today|again|sometimes|these days|this week|outside|"
    r"right now|now|as usual|as always|in here|out there))*$",
    re.IGNORECASE,
)


def is_small_talk(clause: str) -> bool:
    """An opinion about the day, the weather or the week ("Mondays are always rough"):
    how people talk, never a fact, policy or preference worth keeping."""
    return bool(_SMALL_TALK.match(clause))
