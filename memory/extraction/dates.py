"""Dates in text, resolved against the time the text was said.

"Yesterday my package arrived damaged", read 40 days later, must still say which day:
so every date phrase is resolved against the message's time and rewritten as an
absolute date in the stored content ("On 2025-03-02 my package arrived damaged"), and
the resolved moment becomes the memory's event time.

Understood: ISO dates (2024-05-01), month and day with or without a year ("Jan 5",
"March 3rd", "5 January 2024"), a month alone ("in March"), and relative phrases
("today", "yesterday", "the day before yesterday", "last week/month/year", "this
week", "N days/weeks/months ago" with N a digit or a word, "last/next/this Friday",
"on Friday" (the most recent one)). A month/day without a year is the latest such day
not after the reference time. Each phrase has a granularity (day, week, month, year)
so a question's window ("last week", "in March") can be matched against events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

Granularity = Literal["day", "week", "month", "year"]

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "a couple of": 2,
    "a few": 3,
}

_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_WEEKDAY = r"(?P<weekday>" + "|".join(WEEKDAYS) + r")"
_NUMBER = r"(?P<n>\d{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"

_ANCHOR_WORDS: tuple[str, ...] = (*MONTHS, *WEEKDAYS, "today", "tonight", "tomorrow")
_ANCHOR_WORDS += ("yesterday", "morning", "afternoon", "evening", "night", "ago", "week")
_ANCHOR_WORDS += ("month", "year")
_ANCHORS = r"(?:19|20)\d\d-[01]\d|\b(?:" + "|".join(_ANCHOR_WORDS) + ")"
_MAYBE_A_DATE = re.compile(_ANCHORS, re.I)
"""What every pattern below holds (an ISO date's start, a month, a weekday, or one of those
words): a text without any holds no date phrase, and most questions have none (testing
the twelve patterns on one cost ~50 us per search)."""

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(?:on\s+)?(?P<iso>(?:19|20)\d\d-[01]\d-[0-3]\d)\b", re.I)),
    (
        "month_day",
        re.compile(rf"\b(?:on\s+)?{_MONTH}\s+{_DAY}\b(?:,?\s+{_YEAR}\b)?", re.I),
    ),
    (
        "day_month",
        re.compile(rf"\b(?:on\s+)?(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR}\b)?", re.I),
    ),
    ("month", re.compile(rf"\b(?:in|during|since|early|late)\s+{_MONTH}(?:\s+{_YEAR})?\b", re.I)),
    ("day_before", re.compile(r"\b(?:the\s+)?day before yesterday\b", re.I)),
    ("day_after", re.compile(r"\b(?:the\s+)?day after tomorrow\b", re.I)),
    ("today", re.compile(r"\b(?:today|this (?:morning|afternoon|evening)|tonight)\b", re.I)),
    ("yesterday", re.compile(r"\b(?:yesterday|last night)\b", re.I)),
    ("tomorrow", re.compile(r"\btomorrow\b", re.I)),
    ("ago", re.compile(rf"\b{_NUMBER}\s+(?P<unit>day|week|month|year)s?\s+ago\b", re.I)),
    ("relative_weekday", re.compile(rf"\b(?P<rel>last|next|this|on)\s+{_WEEKDAY}\b", re.I)),
    ("relative_unit", re.compile(r"\b(?P<rel>last|next|this)\s+(?P<unit>week|month|year)\b", re.I)),
]


@dataclass(frozen=True)
class DateMention:
    """One date phrase in a text and what it resolved to."""

    start: int
    end: int
    text: str
    when: datetime
    """The start of the period meant (UTC midnight for a day)."""
    granularity: Granularity

    @property
    def until(self) -> datetime:
        """The end of the period meant (exclusive)."""
        return period_end(self.when, self.granularity)

    def absolute(self) -> str:
        """How the stored content states it: "on Sunday, March 2, 2025", "in March 2025"."""
        day = self.when.date()
        if self.granularity == "day":
            return f"on {long_date(day)}"
        if self.granularity == "week":
            return f"in the week of {long_date(day)}"
        if self.granularity == "month":
            return f"in {day.strftime('%B %Y')}"
        return f"in {day.year}"


def long_date(day: date) -> str:
    """ "Monday, January 5, 2026": the weekday and month by name, unambiguous later."""
    return f"{day.strftime('%A, %B')} {day.day}, {day.year}"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def period_end(start: datetime, granularity: Granularity) -> datetime:
    if granularity == "day":
        return start + timedelta(days=1)
    if granularity == "week":
        return start + timedelta(days=7)
    if granularity == "month":
        year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
        return start.replace(year=year, month=month, day=1)
    return start.replace(year=start.year + 1, month=1, day=1)


def _shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _resolve(kind: str, match: re.Match[str], today: date) -> tuple[date, Granularity] | None:
    groups = match.groupdict()
    if kind == "iso":
        parsed = _safe_date(*(int(p) for p in groups["iso"].split("-")))
        return (parsed, "day") if parsed else None
    if kind in ("month_day", "day_month"):
        month, day = MONTHS[groups["month"].lower().rstrip(".")], int(groups["day"])
        if groups.get("year"):
            parsed = _safe_date(int(groups["year"]), month, day)
            return (parsed, "day") if parsed else None
        parsed = _safe_date(today.year, month, day)
        if parsed is not None and parsed > today:  # "Jan 5" said in March: this January
            parsed = _safe_date(today.year - 1, month, day)
        return (parsed, "day") if parsed else None
    if kind == "month":
        month = MONTHS[groups["month"].lower().rstrip(".")]
        year = int(groups["year"]) if groups.get("year") else today.year
        if not groups.get("year") and month > today.month:
            year -= 1
        return date(year, month, 1), "month"
    if kind in ("today", "yesterday", "tomorrow", "day_before", "day_after"):
        offset = {"today": 0, "yesterday": -1, "tomorrow": 1, "day_before": -2, "day_after": 2}
        return today + timedelta(days=offset[kind]), "day"
    if kind == "ago":
        raw = groups["n"].lower()
        n = int(raw) if raw.isdigit() else NUMBER_WORDS[raw]
        unit = groups["unit"].lower()
        if unit == "day":
            return today - timedelta(days=n), "day"
        if unit == "week":
            return today - timedelta(weeks=n), "day"
        if unit == "month":
            shifted = _shift_months(today, -n)
            return shifted, "month"
        return date(today.year - n, 1, 1), "year"
    if kind == "relative_weekday":
        rel, target = groups["rel"].lower(), WEEKDAYS.index(groups["weekday"].lower())
        back = (today.weekday() - target) % 7
        if rel in ("last", "on"):
            # "on Friday" in a past-tense report is the most recent Friday (today counts);
            # "last Friday" is the one before today.
            back = back or (7 if rel == "last" else 0)
            return today - timedelta(days=back), "day"
        ahead = (target - today.weekday()) % 7 or (7 if rel == "next" else 0)
        return today + timedelta(days=ahead), "day"
    if kind == "relative_unit":
        rel, unit = groups["rel"].lower(), groups["unit"].lower()
        step = {"last": -1, "this": 0, "next": 1}[rel]
        if unit == "week":
            monday = today - timedelta(days=today.weekday())
            return monday + timedelta(weeks=step), "week"
        if unit == "month":
            return _shift_months(today, step), "month"
        return date(today.year + step, 1, 1), "year"
    return None


def day_mention(moment: datetime) -> DateMention:
    """The day of `moment` on its own calendar (its timezone), as if the text had named it."""
    day = _midnight(moment.date())
    return DateMention(0, 0, "", day, "day")


def find_dates(text: str, reference: datetime) -> list[DateMention]:
    """The date phrases in `text`, resolved against `reference` (the message's time),
    in order, without overlaps (the first pattern to claim a span keeps it)."""
    if reference.tzinfo is None:
        raise ValueError("the reference time must be timezone-aware")
    # the speaker's own calendar day: "yesterday" said at 17:30 in California is the day
    # before theirs, though it is already tomorrow in UTC (a day is then stamped UTC midnight)
    if not _MAYBE_A_DATE.search(text):
        return []
    today = reference.date()
    claimed: list[tuple[int, int]] = []
    found: list[DateMention] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < e and s < end for s, e in claimed):
                continue
            resolved = _resolve(kind, match, today)
            if resolved is None:
                continue
            day, granularity = resolved
            claimed.append((start, end))
            found.append(DateMention(start, end, match.group(0), _midnight(day), granularity))
    return sorted(found, key=lambda m: m.start)


@dataclass(frozen=True)
class DatedText:
    """A text with its date phrases made absolute."""

    text: str
    """The text, each date phrase replaced by its absolute form."""
    undated: str
    """The text without its date phrases (what the event rules read)."""
    event: DateMention | None
    """The first date phrase: when the thing it tells happened."""


_PREPOSITION_BEFORE = re.compile(
    r"\b(?:from|since|until|till|by|before|after|starting|beginning|as of|through)\s+$",
    re.IGNORECASE,
)
_LEADING_PREPOSITION = re.compile(r"^(?:on|in) ")


def resolve_dates(text: str, reference: datetime) -> DatedText:
    """`text` with every date phrase rewritten as an absolute date (see the module doc)."""
    mentions = find_dates(text, reference)
    if not mentions:
        return DatedText(text, text, None)
    absolute, undated, last = [], [], 0
    for mention in mentions:
        written = mention.absolute()
        if _PREPOSITION_BEFORE.search(text[last : mention.start]):
            # "from January 1": "from Thursday, January 1, 2026", never "from on ..."
            written = _LEADING_PREPOSITION.sub("", written)
        absolute += [text[last : mention.start], written]
        undated.append(text[last : mention.start])
        last = mention.end
    absolute.append(text[last:])
    undated.append(text[last:])
    joined = re.sub(r"\s{2,}", " ", "".join(undated)).strip(" ,")
    rewritten = "".join(absolute).strip()
    return DatedText(rewritten[:1].upper() + rewritten[1:], joined, mentions[0])


def query_window(query: str, now: datetime) -> tuple[datetime, datetime] | None:
    """The period a question asks about ("last week", "in March", "yesterday"), if any."""
    mentions = find_dates(query, now)
    if not mentions:
        return None
    first = mentions[0]
    return first.when, first.until
