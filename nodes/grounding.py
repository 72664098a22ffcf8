"""Is a text grounded in what it was given? The check behind every user-visible text.

A small model writes fluent text that states things nobody told it: an order number, a
contact channel, a person's name, a date, or vague invented prose ("we have the latest
updates and features of our new product launch"). ``check(text, sources, composed)``
looks for both kinds:

- claims (``unsupported``): numbers and ids ("48", "ORD-1004", "#12345", "3rd", "two"),
  compared by value; contact channels (email, phone, SMS, Signal, ...); capitalised names
  inside a sentence (a sentence's first word is not taken as a name); dates (month and
  weekday names). Any one of them that no source states makes the text unsupported;
- content words (``unsupported_words``): the words of the text that are neither in a
  source (compared by stem: "delayed" is supported by "delay", "deliveries" by
  "delivered") nor in a small closed set of function and conversational words ("sorry",
  "help", "contact", "thanks"). Fluent text uses a stray word of its own now and then, so
  up to ``WORD_TOLERANCE`` (1) is let through; more and the text says what it was not
  given;
- combinations (``unsupported_combinations``): a clause whose claims are each stated
  somewhere, but never together ("the customer who prefers SMS is #12345" when SMS is
  #34567's), or that denies what no source denies ("#12345 is a non-premium member"),
  needs one source sentence stating as much.

``missing(text, required)`` lists the amounts ("48 hours", "$20") and channels of
`required` (the composed reply) that `text` dropped. A text with anything unsupported or
missing is replaced by the composed one. A kept text is written with the canonical
spelling of its channels (``canonical``: "e-mail", "E-Mail", "e mail" -> "email"), the
word the composed reply and the facts use, so a kept reply and a composed one say the
same word.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

logger = logging.getLogger(__name__)

_NUMBER = re.compile(r"(?<![\w-])#?[A-Za-z]*-?\d[\w-]*")
# Spelled-out amounts are claims too ("within two days"); "one" is mostly a pronoun.
NUMBER_WORDS = {
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "fifteen": "15",
    "twenty": "20",
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "hundred": "100",
    "thousand": "1000",
    "second": "2",
    "third": "3",
    "fourth": "4",
    "fifth": "5",
    "twice": "2",
}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")\b", re.I)
_CHANNELS = (
    "email",
    "e-mail",
    "phone",
    "sms",
    "text message",
    "signal",
    "whatsapp",
    "telegram",
    "slack",
    "fax",
    "letter",
)
_CHANNEL = re.compile(r"\b(" + "|".join(re.escape(c) for c in _CHANNELS) + r")\b", re.I)
_DATE_WORDS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
]
_DATE = re.compile(r"\b(" + "|".join(_DATE_WORDS) + r")\b", re.I)
_NAME = re.compile(r"(?<=[a-z,;:] )[A-Z][A-Za-z']*[a-z][A-Za-z']*(?:[ -][A-Z][A-Za-z']+)*\b")
_AMOUNT = re.compile(
    r"[$€£]\s?\d[\d,.]*|\b\d[\d,.]*\s?(?:%|percent|hours?|days?|weeks?|months?|years?|minutes?)",
    re.I,
)
_COMMON_CAPITALISED = frozenset({"I", "I'm", "I'll", "I've", "OK", "Ok"})

WORD_TOLERANCE = 1
"""How many content words of its own a text may use (see the module docstring)."""

_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*[A-Za-z]")
# Words any reply may use without a source saying them. Deliberately no domain words
# (order, refund, delivery...): those must come from the request, the memories or the
# facts, or the text is talking about something it was not told. "may" is here as a verb;
# the month is a date claim checked above.
# Free anywhere: function words, and courtesy (greeting, apology, help, contact).
_FREE_TEXT = """
    a an the and or but nor if then so of to in on at by for with from as is are was were be
    been being am do does did doing have has had having i you he she it we they me my
    mine your yours our ours their theirs his her hers its him them us this that these those
    there here what which who whom whose when where why how not no yes ok okay please thank
    thanks can could would should will shall may might must just also very really about into
    onto than too any some all each every both either neither few many much more most less
    least other another such own same only even still yet already again ever never always
    often sometimes usually soon now today then once up down out off over under above below
    after before during until while since because though although unless whether within
    without upon via per between through across around toward towards among along beside
    like instead rather quite enough almost nearly well back away let lets one ones
    something anything everything nothing someone anyone everyone somebody anybody
    everybody nobody whatever whenever however therefore thus also etc regarding concerning
    i'm i'll i've i'd you're you'll you've you'd we're we'll we've we'd it's that's there's
    here's what's let's don't doesn't didn't can't cannot won't wouldn't shouldn't couldn't
    isn't aren't wasn't weren't haven't hasn't hadn't
    hello hi hey dear welcome greeting greetings regards sincerely kind kindly best
    grateful appreciate appreciation sorry apologize apologise apology apologies regret
    inconvenience trouble frustration frustrate understand understanding hear glad
    unfortunately fortunately luckily sadly happy pleased delighted hope patience
    sure certainly course absolutely definitely indeed great good nice fine feel free
    help helpful assist assistance support reach contact touch reply respond response answer
    ask question know tell say see look make take give get keep find wait further
    additional else way right currently thing part provide share bring follow continue
    assure ensure happen try going come go work working update information info detail
    memory memories care able unable possible
"""
# Free where no claim is made; beside a claim they say what is true of it ("the refund is
# done", "order 2 was resolved", "you will receive it shortly", "step 3", "#12345 wants"),
# so there a source sentence must say them too.
_SERVICE_TEXT = """
    cause concern issue problem matter request case situation note check review confirm
    need want wish day team service time moment shortly quickly
    promptly asap next step remember recall record handle resolve priority important send
    receive done message chat conversation assistant agent staff colleague specialist
    customer user person member
"""
_FREE_WORDS = frozenset(_FREE_TEXT.split())
_CLOSED_WORDS = _FREE_WORDS | frozenset(_SERVICE_TEXT.split())


# "e-mail", "E-Mail", "e mail", "e‑mail" (any dash): one channel, spelt "email"
_EMAIL_VARIANT = re.compile(r"\b([eE])(?:[-‐‑‒–—]| )([mM][aA][iI][lL])")


def canonical(text: str) -> str:
    """`text` with each channel in its canonical spelling ("e-mail" -> "email", "E-Mail" ->
    "Email"); nothing else changes."""
    return _EMAIL_VARIANT.sub(lambda m: m.group(1) + m.group(2).lower(), text)


def _norm(text: str) -> str:
    return " ".join(canonical(text).lower().split())


def _digits(token: str) -> str:
    return re.sub(r"\D", "", token)


def claims(text: str) -> list[str]:
    """The checkable claims of `text`: numbers and ids, channels, names and dates."""
    found = [m.group(0).rstrip(".-") for m in _NUMBER.finditer(text)]
    found += [m.group(1).lower() for m in _NUMBER_WORD.finditer(text)]
    found += [m.group(1).lower() for m in _CHANNEL.finditer(text)]
    found += [m.group(0) for m in _NAME.finditer(text) if m.group(0) not in _COMMON_CAPITALISED]
    found += [m.group(1).lower() for m in _DATE.finditer(text)]
    return list(dict.fromkeys(found))


def _unstated(found: Iterable[str], source: str) -> list[str]:
    """The claims of `found` that `source` does not state."""
    given = _norm(source)
    given_numbers = {_digits(m.group(0)) for m in _NUMBER.finditer(given)}
    given_numbers |= {NUMBER_WORDS[m.group(1)] for m in _NUMBER_WORD.finditer(given)}
    out = []
    for claim in found:
        value = NUMBER_WORDS.get(claim) or _digits(claim)
        if value:
            if value not in given_numbers:
                out.append(claim)
        elif not re.search(r"\b" + re.escape(_norm(claim)) + r"\b", given):
            out.append(claim)
    return out


def unsupported(text: str, sources: Iterable[str]) -> list[str]:
    """The claims of `text` that none of `sources` states."""
    return _unstated(claims(text), " ".join(sources))


# A sentence of a source, and a clause of a text: where claims must meet.
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+|(?:^|\s)-\s+")
_CLAUSE = re.compile(
    r"(?<=[.!?;])\s+|\n+|,\s+(?:and|but|so|while)\s+"
    r"|\s+(?:and|but|so)\s+(?=(?:we|you|i|it|they|he|she|our|your|this|that)\b)",
    re.I,
)
_NEGATION = re.compile(
    r"\b(?:no|not|non|never|none|nor|cannot|without|unable|impossible)\b|n't\b", re.I
)
# Tokens for a number's neighbours: punctuation is a token of its own, so "order; 2)"
# has no word next to its 2, and "the order 2" has "order".
_TOKEN = re.compile(r"[$€£%]|[#\w'’-]+|[^\s\w]")
_BARE_NUMBER = re.compile(r"#?(\d(?:[\d,.]*\d)?)(?:st|nd|rd|th)?(?:['’]s)?", re.I)
# What a number counts or measures, written after it: "48 hours", "20 dollars", "10 %".
_UNIT_WORDS = "% percent hour day week month year minute dollar euro pound cent time item"


def _number_value(token: str) -> str | None:
    """The value of a bare number token ("#12345", "29th", "3", "two"); None for anything
    else (ids with letters such as "ORD-1004" name their kind themselves)."""
    if token.lower() in NUMBER_WORDS:
        return NUMBER_WORDS[token.lower()]
    match = _BARE_NUMBER.fullmatch(token)
    return re.sub(r"\D", "", match.group(1)) if match else None


def _is_label(word: str) -> bool:
    """`word`, right before a number, says what the number is ("order", "customer", "$")."""
    if word in ("$", "€", "£"):
        return True
    return word.isalpha() and word not in _FREE_WORDS and word not in NUMBER_WORDS


def bindings(text: str) -> set[tuple[str, str]]:
    """What each bare number of `text` is bound to: the word right before it ("order 2",
    "customer #12345", "$20") and its unit right after ("48 hours"), as (stem, value).

    A function word ("within 48", "on 29") binds nothing; the same number with another
    label or unit ("order 2" for step 2 of a list, "48 days" for 48 hours) is another fact.
    """
    tokens = _TOKEN.findall(canonical(text))
    out: set[tuple[str, str]] = set()
    for i, token in enumerate(tokens):
        value = _number_value(token)
        if value is None:
            continue
        if i > 0 and _is_label(before := tokens[i - 1].lower()):
            out.add((stem(before), value))
        if i + 1 < len(tokens) and stem(after := tokens[i + 1].lower()) in _UNIT_STEMS:
            out.add((stem(after), value))
    return out


def one_sentence(*texts: str) -> str:
    """`texts` as one source sentence: everything they say may be stated together (a
    declared task with the request it quotes, about one subject)."""
    return _SENTENCE.sub(", ", " ".join(texts))


@dataclass(frozen=True)
class _SourceSentence:
    """One sentence of a source, read once: its text, words and number bindings."""

    text: str
    stems: set[str]
    bindings: set[tuple[str, str]]
    negated: bool

    @classmethod
    def read(cls, text: str) -> _SourceSentence:
        stems = {stem(w) for w in _WORD.findall(canonical(text))}
        return cls(text, stems, bindings(text), bool(_NEGATION.search(text)))

    def states(self, found: list[str], words: list[str], bound: set[tuple[str, str]]) -> bool:
        """It states every claim of `found`, uses every word of `words` (or one of its
        family) and binds every number as `bound` does."""
        return (
            not _unstated(found, self.text)
            and all(_related(w, self.stems) for w in words)
            and bound <= self.bindings
        )


_FRAGMENT_WORDS = frozenset(
    ["a", "an", "the", "on", "at", "by", "in", "for", "of", "to", "and", "or", "is", "it's"]
)


def _fragment(clause: str, found: list[str]) -> bool:
    """`clause` is only claims ("November 29, 2026.", "By email."): it says something of
    the clause next to it, not on its own."""
    said = {w.lower() for claim in found for w in [claim, *_WORD.findall(claim)]}
    return all(w in said or w in _FRAGMENT_WORDS for w in map(str.lower, _WORD.findall(clause)))


def unsupported_combinations(text: str, sources: Iterable[str]) -> list[str]:
    """The clauses of `text` that state a claim no single source sentence states as the
    clause does: with the clause's other claims, its words and its numbers' labels and
    units, and denied when the clause denies it.

    Each claim and each word may be stated somewhere while the clause is still false: "the
    customer who prefers SMS is #12345" (SMS is #34567's), "your refund arrives on November
    29" (the date of the order's delay: "refund" and "arrive" are said elsewhere), "order
    2" (step 2 of a workflow), "refunds within 48 days" (48 hours), "#12345 is a
    non-premium member". A claim is a fact only with what the clause says about it, so a
    clause with a claim needs one source sentence stating all of it. Clauses without a
    claim are held to the text's word tolerance instead (``unsupported_words``).
    """
    units = [
        _SourceSentence.read(u) for source in sources for u in _SENTENCE.split(source) if u.strip()
    ]
    out = []
    clauses = [c.strip() for c in _CLAUSE.split(text) if c.strip()]
    for i, clause in enumerate(clauses):
        found = claims(clause)
        if not found:
            continue
        if _fragment(clause, found) and len(clauses) > 1:
            # "Your refund. November 29." states the date of the clause it follows
            clause = " ".join(clauses[i - 1 : i + 1] if i else clauses[:2])
            found = claims(clause)
        words = list(dict.fromkeys(stem(w) for w in _content_words(clause, beside_claim=True)))
        bound = bindings(clause)
        negated = bool(_NEGATION.search(clause))
        if not any(u.states(found, words, bound) and (u.negated or not negated) for u in units):
            out.append(clause.strip())
    return out


def stem(word: str) -> str:
    """A crude English stem, enough to match a word with its inflections:
    "deliveries" -> "delivery", "arrived"/"arrives"/"arriving" -> "arriv"."""
    word = word.lower().replace("’", "'").removesuffix("'s")
    if len(word) > 4 and word.endswith(("ies", "ied")):
        return word[:-3] + "y"
    for suffix in ("ing", "ed"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
                word = word[:-1]  # "shipped" -> "shipp" -> "ship"
            break
    else:
        if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
    if len(word) > 4 and word.endswith("ly"):
        word = word[:-2]
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


_CLOSED_STEMS = frozenset(stem(w) for w in _CLOSED_WORDS)
_FREE_STEMS = frozenset(stem(w) for w in _FREE_WORDS)
_UNIT_STEMS = frozenset(stem(w) for w in _UNIT_WORDS.split())


def _content_words(text: str, *, beside_claim: bool = False) -> list[str]:
    """The words of `text` a source must say; `beside_claim`: of a clause with a claim,
    where only function words and courtesy go unsaid."""
    closed, stems = (_FREE_WORDS, _FREE_STEMS) if beside_claim else (_CLOSED_WORDS, _CLOSED_STEMS)
    words = (w for w in _WORD.findall(canonical(text)) if len(w) > 2)
    # spelled-out numbers are claims, checked by value in `unsupported`
    return [
        w
        for w in words
        if w.lower() not in NUMBER_WORDS and not _inflected(w.lower(), closed, stems)
    ]


def _inflected(word: str, closed: frozenset[str], stems: frozenset[str]) -> bool:
    """`word` is one of `closed`, or an inflection of one: the stem catches most; a short
    word's inflection ("asked", "helps") its suffix alone."""
    if word in closed or stem(word) in stems:
        return True
    return any(word.endswith(s) and word[: -len(s)] in closed for s in ("ed", "d", "s", "ing"))


def _related(word: str, given: set[str]) -> bool:
    """`word`'s stem, or one of its family ("deliver" / "delivery"), is among `given`."""
    if word in given:
        return True
    if len(word) < 4:
        return False
    return any(len(g) >= 4 and (g.startswith(word) or word.startswith(g)) for g in given)


def unsupported_words(text: str, sources: Iterable[str]) -> list[str]:
    """The content words of `text` that no source uses and no conversation needs."""
    given = {stem(w) for w in _WORD.findall(canonical(" ".join(sources)))}
    out = [w for w in _content_words(text) if not _related(stem(w), given)]
    return list(dict.fromkeys(w.lower() for w in out))


def missing(text: str, required: str) -> list[str]:
    """The amounts (48 hours, $20, 10%) and channels `required` states that `text` leaves
    out; ids may go unsaid, promises and channels may not."""
    said = _norm(text)
    out = [
        m.group(0)
        for m in _AMOUNT.finditer(required)
        if not re.search(r"\b" + re.escape(_norm(m.group(0))), said)
    ]
    out += [
        c.group(1).lower()
        for c in _CHANNEL.finditer(required)
        if not re.search(r"\b" + re.escape(_norm(c.group(1))), said)
    ]
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class Verdict:
    """What the check found in a model's text, and the text to show instead of it."""

    draft: str | None
    """The model's text (None: it gave none)."""
    shown: str
    """The draft in canonical spelling when it is grounded, else the composed text."""
    claims: list[str] = field(default_factory=list)
    """Numbers, ids, channels, names and dates of the draft that no source states."""
    words: list[str] = field(default_factory=list)
    """Content words of the draft that no source uses (past the tolerance, all listed)."""
    missing: list[str] = field(default_factory=list)
    """Amounts and channels of the composed text the draft leaves out."""
    combinations: list[str] = field(default_factory=list)
    """Clauses of the draft whose claims no one source sentence states together."""

    @property
    def replaced(self) -> bool:
        return self.draft is None or bool(self.problems)

    @property
    def problems(self) -> list[str]:
        out = [f"unsupported {c!r}" for c in self.claims]
        if len(self.words) > WORD_TOLERANCE:
            out.append("unsupported words " + ", ".join(repr(w) for w in self.words))
        out += [f"unsupported combination {c!r}" for c in self.combinations]
        out += [f"missing {c!r}" for c in self.missing]
        return out if self.draft is not None else ["no text"]


def check(text: str | None, sources: Iterable[str], composed: str, *, keep: bool = True) -> Verdict:
    """Check `text` against `sources` (and `composed`, which is grounded by construction);
    with `keep`, it must also keep the amounts and channels `composed` states."""
    if text is None:
        return Verdict(None, composed)
    given = [*sources, composed]
    verdict = Verdict(
        draft=text,
        shown=canonical(text),
        claims=unsupported(text, given),
        words=unsupported_words(text, given),
        missing=missing(text, composed) if keep else [],
        combinations=unsupported_combinations(text, given),
    )
    if verdict.problems:
        return replace(verdict, shown=composed)
    return verdict


def ground(
    text: str | None,
    sources: Iterable[str],
    composed: str,
    *,
    agent: str,
    step: str,
    keep: bool = True,
) -> Verdict:
    """``check`` a text about to be shown, and ``report`` what was found."""
    verdict = check(text, sources, composed, keep=keep)
    report(verdict, agent=agent, step=step)
    return verdict


def report(verdict: Verdict, *, agent: str, step: str) -> None:
    """Tell the log and live views (a ``grounding`` event) what the check of `step` found:
    the draft, whether it was replaced, and why."""
    from nodes.events import GroundingEvent, emit

    if verdict.replaced:
        problems = "; ".join(verdict.problems)
        logger.info("%s (%s): the grounded text is shown (%s)", step, agent, problems)
    emit(
        GroundingEvent(
            agent=agent,
            step=step,
            draft=verdict.draft,
            replaced=verdict.replaced,
            claims=verdict.claims,
            words=verdict.words,
            missing=verdict.missing,
            combinations=verdict.combinations,
        )
    )


def grounded(
    text: str | None, sources: Iterable[str], composed: str, *, keep: bool = True
) -> tuple[str, list[str]]:
    """`text` (in canonical spelling) if it states nothing unsupported (and, with `keep`,
    drops nothing `composed` states), else `composed`; with the problems found (empty when
    `text` was kept)."""
    verdict = check(text, sources, composed, keep=keep)
    return verdict.shown, verdict.problems
