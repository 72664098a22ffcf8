"""Time: dates resolved against the message's time, episodes as events, time-aware search."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from langgraph.store.base import BaseStore

from memory.extraction import ExtractionContext, extract_memories
from memory.extraction.dates import find_dates, long_date, query_window, resolve_dates
from memory.extraction.forget_requests import detect_forget_request
from memory.manager import MemoryManager, recency_factor
from memory.models import Memory, Provenance, utcnow

MONDAY = datetime(2025, 3, 3, 15, 30, tzinfo=UTC)
TEAM = "support"


@pytest.mark.parametrize(
    ("phrase", "day", "granularity"),
    [
        ("it broke on 2024-05-01", date(2024, 5, 1), "day"),
        ("on Jan 5 it broke", date(2025, 1, 5), "day"),
        ("March 3rd it broke", date(2025, 3, 3), "day"),
        ("on Dec 24 it broke", date(2024, 12, 24), "day"),  # not in the future
        ("on 5 January 2024 it broke", date(2024, 1, 5), "day"),
        ("yesterday it broke", date(2025, 3, 2), "day"),
        ("it broke the day before yesterday", date(2025, 3, 1), "day"),
        ("it broke today", date(2025, 3, 3), "day"),
        ("it broke two weeks ago", date(2025, 2, 17), "day"),
        ("it broke 3 days ago", date(2025, 2, 28), "day"),
        ("it broke last Friday", date(2025, 2, 28), "day"),
        ("it breaks next Friday", date(2025, 3, 7), "day"),
        ("it broke last week", date(2025, 2, 24), "week"),
        ("it broke last month", date(2025, 2, 1), "month"),
        ("it broke in March", date(2025, 3, 1), "month"),
        ("it broke in November", date(2024, 11, 1), "month"),
        ("it broke last year", date(2024, 1, 1), "year"),
    ],
)
def test_dates_resolve_against_the_message_time(phrase: str, day: date, granularity: str) -> None:
    [mention] = find_dates(phrase, MONDAY)
    assert (mention.when.date(), mention.granularity) == (day, granularity)


@pytest.mark.parametrize("hours", [-10, -8, -5, 0, 5.5, 9, 13])
@pytest.mark.parametrize("utc_hour", [0, 6, 15, 23])
def test_relative_dates_count_from_the_speakers_own_calendar_day(
    hours: float, utc_hour: int
) -> None:
    """ "Yesterday", said at 17:30 on March 2 in California (01:30 UTC on March 3), is
    March 1: the day before the speaker's day, whatever the day is in UTC."""
    said = datetime(2025, 3, 3, utc_hour, 30, tzinfo=UTC).astimezone(
        timezone(timedelta(hours=hours))
    )
    local_day = said.date()
    [yesterday] = find_dates("yesterday it broke", said)
    [today] = find_dates("it broke today", said)
    [week] = find_dates("it broke last week", said)
    assert yesterday.when.date() == local_day - timedelta(days=1)
    assert today.when.date() == local_day
    assert week.when.date() == local_day - timedelta(days=local_day.weekday() + 7)
    [(_, content, event_day)] = extract("Yesterday my package arrived damaged.", said)
    assert event_day == local_day - timedelta(days=1)
    assert long_date(local_day - timedelta(days=1)) in content


@pytest.mark.parametrize(
    ("said", "stored"),
    [
        ("From January 1, 2026 refunds take 30 days", "From Thursday, January 1, 2026 refunds"),
        ("since last month it breaks", "since February 2025 it breaks"),
        ("until next Friday the desk is closed", "until Friday, March 7, 2025 the desk"),
        ("starting March 10, 2025 we ship daily", "starting Monday, March 10, 2025 we ship"),
        ("as of yesterday it works", "as of Sunday, March 2, 2025 it works"),
        ("On Jan 5 it broke", "On Sunday, January 5, 2025 it broke"),
    ],
)
def test_a_date_after_a_preposition_reads_as_written(said: str, stored: str) -> None:
    """ "From January 1" is stored "From Thursday, January 1, 2026", never "From on ..."."""
    assert resolve_dates(said, MONDAY).text.startswith(stored[:1].upper() + stored[1:])


def test_no_date_is_invented() -> None:
    for text in ("May I ask something?", "My order #2025 is late", "I have 3 orders"):
        assert find_dates(text, MONDAY) == [], text
    with pytest.raises(ValueError, match="timezone-aware"):
        find_dates("yesterday", datetime(2025, 3, 3))


def test_content_states_the_absolute_date() -> None:
    dated = resolve_dates("Yesterday my package arrived damaged", MONDAY)
    assert dated.text == "On Sunday, March 2, 2025 my package arrived damaged"
    assert dated.undated == "my package arrived damaged"
    assert query_window("what went wrong last week?", MONDAY) == (
        datetime(2025, 2, 24, tzinfo=UTC),
        datetime(2025, 3, 3, tzinfo=UTC),
    )
    assert query_window("what is my order status?", MONDAY) is None


def extract(text: str, at: datetime = MONDAY) -> list[tuple[str, str, date | None]]:
    ctx = ExtractionContext(source_agent="alex", speaker_subject="customer:12345", message_time=at)
    return [
        (m.type, m.content, m.event_time.date() if m.event_time else None)
        for m in extract_memories(text, ctx)
    ]


def test_the_seeds_episodes_are_extracted_as_dated_episodes() -> None:
    assert extract("On Jan 5 we resolved John's shipping issue by reshipping with express") == [
        (
            "episodic",
            "We resolved John's shipping issue by reshipping with express "
            "(on Sunday, January 5, 2025).",
            date(2025, 1, 5),
        )
    ]
    explicit = extract(
        "Remember that on Jan 5 we resolved John's shipping issue by reshipping with express"
    )
    assert [(t, d) for t, _, d in explicit] == [("episodic", date(2025, 1, 5))]
    assert extract("Customer #12345 had a 3rd delivery delay") == [
        (
            "episodic",
            "Customer #12345 had a 3rd delivery delay (reported on Monday, March 3, 2025).",
            date(2025, 3, 3),
        )
    ]


def test_relative_dates_are_stored_absolute() -> None:
    [(kind, content, day)] = extract("Yesterday my package arrived damaged")
    assert (kind, day) == ("episodic", date(2025, 3, 2))
    assert "March 2, 2025" in content and "esterday" not in content
    [(kind, content, day)] = extract("Last month I was charged twice")
    assert (kind, day) == ("episodic", date(2025, 2, 1)) and "February 2025" in content
    [(kind, _, day)] = extract("My email is jo@example.com")
    assert (kind, day) == ("entity", None)  # a fact, not an event


def remember(manager: MemoryManager, text: str, at: datetime, message_id: str) -> str:
    ctx = ExtractionContext(
        source_agent="alex",
        speaker_subject="customer:12345",
        message_time=at,
        message_id=message_id,
    )
    [memory] = extract_memories(text, ctx)
    return manager.add(memory).memory.memory_id


def test_two_occurrences_stay_two_and_none_supersedes(store: BaseStore) -> None:
    alex = MemoryManager(store, team=TEAM, agent="alex")
    first = remember(alex, "My order arrived late", MONDAY, "m1")
    second = remember(alex, "My order arrived late", MONDAY + timedelta(days=9), "m2")
    third = remember(alex, "Customer #12345 had a 3rd delivery delay", MONDAY, "m3")
    fourth = remember(alex, "Customer #12345 had a 4th delivery delay", MONDAY, "m4")
    episodes = alex.list()
    assert {m.memory_id for m in episodes} == {first, second, third, fourth}
    assert all(m.is_valid and m.mention_count == 1 for m in episodes)


def test_a_named_period_is_preferred_and_recency_counts_from_event_time(
    store: BaseStore,
) -> None:
    alex = MemoryManager(store, team=TEAM, agent="alex")
    now = utcnow()
    remember(alex, "My package arrived damaged", now - timedelta(days=40), "old")
    remember(alex, "My router stopped working", now - timedelta(days=1), "new")
    hits = alex.search("did I have a problem yesterday?", limit=2, min_confidence=0.0)
    assert "router" in hits[0].memory.content
    month_ago = alex.search("my package arrived damaged a month ago", limit=2, min_confidence=0.0)
    assert "package" in month_ago[0].memory.content
    [old] = [h for h in month_ago if "package" in h.memory.content]
    assert old.memory.event_time is not None
    assert recency_factor(old.memory.event_time, now) < recency_factor(old.memory.updated_at, now)
    when = alex.search("when did my package arrive damaged?", limit=1, min_confidence=0.0)
    day = (now - timedelta(days=40)).date()
    expected = f"{day.strftime('%B')} {day.day}, {day.year}"
    assert expected in when[0].memory.content  # the answer to "when" is in the memory


def event(content: str, when: datetime, message_id: str) -> Memory:
    return Memory(
        content=content,
        type="episodic",
        event_time=when,
        provenance=Provenance(source_agent="alex", message_id=message_id),
    )


@pytest.mark.parametrize("period", ["last week", "in March", "on Jan 5", "yesterday"])
def test_a_named_period_is_a_filter_where_candidates_are_drawn(
    store: BaseStore, period: str
) -> None:
    """The one event of the period is found although 80 memories outside it match the
    question better than it does (more than the hybrid search's candidate pool)."""
    alex = MemoryManager(store, team=TEAM, agent="alex")
    now = utcnow()
    window = query_window(f"did the router stop working {period}?", now)
    assert window is not None
    start, end = window
    for n in range(80):  # before the window, and saying more of the question's words
        when = start - timedelta(days=2 * n + 1)
        alex.add(
            event(f"On {long_date(when.date())} the router stopped working again", when, f"d{n}")
        )
    inside = start + (end - start) / 2
    target = alex.add(event(f"On {long_date(inside.date())} the router rebooted", inside, "t"))
    undated = alex.search("did the router stop working?", limit=5, min_confidence=0.0)
    assert target.memory.memory_id not in {h.memory.memory_id for h in undated}
    hits = alex.search(f"did the router stop working {period}?", limit=5, min_confidence=0.0)
    assert hits[0].memory.memory_id == target.memory.memory_id
    assert long_date(inside.date()) in hits[0].memory.content  # and it says when


@pytest.mark.parametrize(
    ("text", "kind", "attributes"),
    [
        ("Please don't remember anything about this call.", "not_this_thread", None),
        ("Don't save that, it was a test.", "not_this_turn", None),
        ("This is off the record: my wife is expecting.", "not_this_turn", None),
        ("Forget my phone number.", "forget", ("phone_number",)),
        ("Please forget my address and my phone number", "forget", ("address", "phone_number")),
        ("Can you delete my email address from your records?", "forget", ("email",)),
        ("Please delete everything you know about me.", "forget", None),
        ("Delete all my data please", "forget", None),
    ],
)
def test_memory_requests_are_recognised(
    text: str, kind: str, attributes: tuple[str, ...] | None
) -> None:
    request = detect_forget_request(text)
    assert request is not None and (request.kind, request.attributes) == (kind, attributes)


@pytest.mark.parametrize(
    "text",
    [
        "I want to delete my order",
        "Please remove the item from my cart",
        "I forgot my password",
        "I don't remember my order number.",
        "Don't forget that I'm allergic to shellfish.",
        "Remember that I prefer email",
        "Don't call me before 9",
    ],
)
def test_look_alikes_are_not_memory_requests(text: str) -> None:
    assert detect_forget_request(text) is None


_EVERY_KIND = [
    *(f"on {month} 5" for month in ("January", "feb", "Sept", "may", "December")),
    *(f"last {day}" for day in ("Monday", "friday", "SUNDAY")),
    "today", "tonight", "this morning", "this evening", "yesterday", "last night", "tomorrow",
    "the day before yesterday", "the day after tomorrow", "3 days ago", "two weeks ago",
    "a few months ago", "last week", "next month", "this year", "2024-05-01",
    "in March", "early June 2024", "the 5th of January 2024",
]  # fmt: skip


@pytest.mark.parametrize("phrase", _EVERY_KIND)
def test_the_quick_check_never_hides_a_date_phrase(phrase: str) -> None:
    """find_dates skips texts holding none of its patterns' words (most questions): each
    kind of phrase it understands still gets through, in any case."""
    for text in (f"It happened {phrase}.", f"IT HAPPENED {phrase.upper()}"):
        assert find_dates(text, MONDAY), text


def test_a_question_without_a_date_word_has_no_window() -> None:
    assert query_window("Has order 10592 shipped yet, and with which carrier?", MONDAY) is None


def test_a_question_counts_its_days_from_the_askers_calendar(store: BaseStore) -> None:
    """At 17:30 in California it is already the next day in UTC: "yesterday" asked
    there is the Californian yesterday, as extraction reads it in a message."""
    sam = MemoryManager(store, team="support", agent="sam")
    for day in (2, 3):
        sam.add(
            Memory(
                content=f"The Lisbon depot flooded on March {day} and parcels were held.",
                type="episodic",
                mechanism="explicit",
                confidence=0.95,
                event_time=datetime(2025, 3, day, tzinfo=UTC),
                provenance=Provenance(source_agent="sam"),
            )
        )
    california = timezone(timedelta(hours=-8))
    asked = datetime(2025, 3, 3, 17, 30, tzinfo=california)  # 2025-03-04 01:30 UTC
    question = "What happened at the Lisbon depot yesterday?"
    there = sam.search(question, limit=1, now=asked)
    in_utc = sam.search(question, limit=1, now=asked.astimezone(UTC))
    assert there[0].memory.event_time == datetime(2025, 3, 2, tzinfo=UTC)
    assert in_utc[0].memory.event_time == datetime(2025, 3, 3, tzinfo=UTC)


@pytest.mark.parametrize("now", [datetime(2025, 3, 3), "yesterday", 5])
def test_a_search_refuses_a_moment_without_a_timezone(store: BaseStore, now: object) -> None:
    sam = MemoryManager(store, team="support", agent="sam")
    with pytest.raises(ValueError, match="now must be"):
        sam.search("anything", now=now)  # type: ignore[arg-type]
