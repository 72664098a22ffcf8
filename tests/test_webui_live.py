"""The web UI in a real browser and A2A with the official client, against `langgraph dev`.

One dev server (tests/test_langgraph_server.py's ``DevServer``: offline, ``A2A_LLM=none``,
the embedded MiniLM) serves the project's graphs, store and the UI's custom routes. The
seed's shared memories are loaded through the server's store API, as an operator would.

Browser: Debian's ``chromium`` (``make install`` installs it when missing) driven by
Playwright for Python; screenshots of each page go to ``reports/webui-*.png``.
A2A: ``a2a-sdk`` (the version pinned in pyproject.toml) finds the team's card at the
server's root, and sends, streams and gets tasks; the reply comes back as an artifact.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from memory.namespaces import memory_namespace
from teams.support.demo import DEMO_CUSTOMER_ID, DEMO_REQUEST
from teams.support.memories import demo_memories
from tests.test_langgraph_server import (
    BOUND_CUSTOMER_KEY,
    RUN_TIMEOUT_S,
    STAFF_KEY,
    DevServer,
    dev_server_in,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "reports"
UI_TIMEOUT_MS = RUN_TIMEOUT_S * 1000
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    dev = dev_server_in(tmp_path_factory.mktemp("webui-dev"))
    try:
        dev.start()
        client = dev.client()
        shared = list(memory_namespace("support", "shared"))
        for memory in demo_memories("support"):
            client.store.put_item(shared, memory.memory_id, memory.to_store_value())
        yield dev
    finally:
        dev.stop()


@pytest.fixture
def show_log(ui_server: DevServer) -> Iterator[None]:
    yield
    print(f"--- langgraph dev output (tail) ---\n{ui_server.log_tail()}")


def _chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail(
            "the browser tests need Debian's chromium: make install (or apt-get install chromium)"
        )
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def _failed(request: Any, errors: list[str]) -> None:
    # Chromium reports a fetch whose body was read as a stream as ERR_ABORTED once read to
    # the end; the tests check what the stream delivered instead.
    if not (request.url.endswith("/runs/stream") and request.failure == "net::ERR_ABORTED"):
        errors.append(f"failed: {request.url} {request.failure}")


def _search_memory(page: Any, query: str) -> None:
    """Search the memory page and wait until its results are shown: the listing the page
    made on opening may answer later than the click, and is then dropped."""
    page.fill("#memory-query", query)
    page.click("#memory-form button[type=submit]")
    page.wait_for_selector("#memory-list:not([aria-busy])", state="attached")


def _open(browser: Any, url: str, viewport: dict[str, int], api_key: str = STAFF_KEY) -> Any:
    """A page of the UI, with `api_key` saved in the browser as a user enters it."""
    page = browser.new_page(viewport=viewport, locale="en-US", timezone_id="UTC")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda r: _failed(r, errors))
    page.errors = errors
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#api-key", api_key)
    page.click("#key-form button")
    page.wait_for_selector("#notice:not([hidden])")
    return page


def _lane_texts(page: Any, lane: str) -> list[str]:
    return [
        t.strip() for t in page.locator(f".turn >> nth=0 >> .entry.lane-{lane}").all_inner_texts()
    ]


# ---- the browser -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def team_page(ui_server: DevServer, browser: Any) -> Any:
    """The Team page after the seed's request, sent as customer #12345 with the keyboard."""
    REPORTS.mkdir(exist_ok=True)
    page = _open(browser, f"{ui_server.url}/", LAPTOP)
    assert page.url.endswith("/ui/")
    page.click("#use-demo")
    assert page.input_value("#customer") == DEMO_CUSTOMER_ID
    assert page.input_value("#message") == DEMO_REQUEST
    page.focus("#message")
    page.keyboard.press("Control+Enter")
    page.wait_for_function(
        "document.querySelector('#send') && !document.querySelector('#send').disabled"
        " && document.querySelector('.msg-agent .msg-text:not([aria-busy])')",
        timeout=UI_TIMEOUT_MS,
    )
    return page


@pytest.mark.usefixtures("show_log")
def test_the_reply_streams_into_the_team_page(team_page: Any) -> None:
    reply = team_page.inner_text(".msg-agent .msg-text")
    assert "3rd delivery delay" in reply and "email" in reply and "48 hours" in reply, reply
    assert team_page.inner_text(".msg-user .msg-who") == f"Customer #{DEMO_CUSTOMER_ID}"
    assert "routed to Sam and Jordan" in team_page.inner_text("#activity")
    team_page.screenshot(path=str(REPORTS / "webui-team.png"), full_page=True)
    assert not team_page.errors, team_page.errors


@pytest.mark.usefixtures("show_log")
def test_the_live_log_shows_the_team_collaborating(team_page: Any) -> None:
    page = team_page
    page.click("nav a[data-page=log]")
    turn = page.locator(".turn").first
    routing = turn.locator(".kind-routing").inner_text()
    assert "Sam" in routing and "Jordan" in routing and "router" in routing
    alex, sam, jordan = (_lane_texts(page, n) for n in ("alex", "sam", "jordan"))
    assert any("A2A TASK" in t.upper() and "Alex → Sam" in t for t in alex)
    assert any("A2A TASK" in t.upper() and "Alex → Jordan" in t for t in alex)
    assert any("A2A RESULT" in t.upper() and "Sam → Alex" in t for t in sam)
    assert any("A2A RESULT" in t.upper() and "Jordan → Alex" in t for t in jordan)
    written = [t for t in sam if "MEMORY ADDED" in t.upper() and "3rd occurrence" in t]
    assert written, sam
    syncs = [t for t in sam if "MEMORY SYNC" in t.upper() and "3rd occurrence" in t]
    assert any("Sam → Alex" in t for t in syncs) and any("Sam → Jordan" in t for t in syncs)
    assert any("READ" in t.upper() and "confidence 0.95" in t for t in alex)
    assert any("READ" in t.upper() and "score" in t for t in jordan)
    assert turn.locator(".kind-fallback").count() >= 1  # no LLM: every fallback is shown
    assert "ms" in turn.locator(".kind-node").first.inner_text()
    assert "in parallel" in turn.locator(".timeline").inner_text()
    assert "3rd delivery delay" in turn.locator(".kind-reply").inner_text()
    page.screenshot(path=str(REPORTS / "webui-log.png"), full_page=True)
    assert not page.errors, page.errors


@pytest.mark.usefixtures("show_log")
def test_the_memory_page_shows_the_episode_and_its_copies(team_page: Any) -> None:
    page = team_page
    page.click("nav a[data-page=memory]")
    _search_memory(page, "delivery delay customer 12345")
    page.wait_for_selector(".memory")
    cards = page.locator(".memory", has_text="3rd occurrence")
    assert cards.count() == 3, page.inner_text("#memory-list")  # shared + Alex's + Jordan's
    assert cards.filter(has_text="copy from Sam").count() == 2
    shared = cards.filter(has_text="shared · by Sam").first
    shared.locator("summary").click()
    fields = shared.locator(".fields").inner_text()
    assert "Source" in fields and "Event time" in fields and "Thread" in fields
    page.screenshot(path=str(REPORTS / "webui-memory.png"), full_page=True)
    link = shared.locator("button.link-id").first
    linked_id = link.get_attribute("title").removeprefix("Show memory ")
    link.click()
    page.wait_for_function("document.querySelector('#memory-count').textContent.includes('Linked')")
    assert linked_id in page.inner_text("#memory-count")
    assert page.locator(".memory").count() >= 1
    assert not page.errors, page.errors


@pytest.mark.usefixtures("show_log")
def test_past_turns_are_browsable_by_thread_at_phone_width(
    ui_server: DevServer, browser: Any, team_page: Any
) -> None:
    thread_id = team_page.inner_text("#thread-id")
    page = _open(browser, f"{ui_server.url}/ui/#log", PHONE)
    page.locator(f'.thread[data-thread="{thread_id}"]').click()
    page.wait_for_selector(".turn")
    turn = page.locator(".turn").first
    assert DEMO_REQUEST in turn.locator(".request").inner_text()
    text = turn.inner_text()
    for expected in (
        "Alex → Sam",
        "Alex → Jordan",
        "Sam → Alex",
        "Jordan → Alex",
        "3rd occurrence",
    ):
        assert expected in text, expected
    assert "memory sync" in text.lower()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(REPORTS / "webui-log-phone.png"), full_page=True)
    assert not page.errors, page.errors


@pytest.mark.usefixtures("show_log")
def test_talking_to_one_agent_and_forgetting_a_memory(ui_server: DevServer, browser: Any) -> None:
    page = _open(browser, f"{ui_server.url}/ui/#team", LAPTOP)
    page.select_option("#target", "chat:jordan")
    assert page.is_disabled("#customer")
    page.fill("#message", "Remember that customer #8080 prefers carrier pigeons")
    page.click("#send")
    page.wait_for_function("!document.querySelector('#send').disabled", timeout=UI_TIMEOUT_MS)
    assert page.locator(".msg-agent .msg-who").inner_text() == "Jordan"

    page.click("nav a[data-page=memory]")
    _search_memory(page, "customer 8080 pigeons")
    card = page.locator(".memory", has_text="8080").first
    card.wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    card.locator("button", has_text="Forget").click()
    page.wait_for_function("document.querySelector('#notice').textContent.includes('Forgot')")
    assert "Forgot 1 memory" in page.inner_text("#notice")  # a chat turn syncs to no one
    hits = ui_server.client().store.search_items(["team", "support"], query="customer 8080 pigeons")
    assert not [h for h in hits["items"] if "8080" in h["value"].get("content", "")]


@pytest.mark.usefixtures("show_log")
def test_another_team_works_in_its_own_lanes(ui_server: DevServer, browser: Any) -> None:
    page = _open(browser, f"{ui_server.url}/ui/#team", LAPTOP)
    page.select_option("#target", "team:helpdesk")
    assert page.inner_text("#customer-label") == "As employee"
    page.fill("#customer", "E-204")
    page.fill("#message", "The VPN keeps dropping my connection")
    page.click("#send")
    page.wait_for_function("!document.querySelector('#send').disabled", timeout=UI_TIMEOUT_MS)
    assert page.inner_text(".msg-user .msg-who") == "Employee #E-204"
    assert page.inner_text(".msg-agent .msg-who").startswith("Casey")
    page.click("nav a[data-page=log]")
    turn = page.locator(".turn").first
    heads = turn.locator(".lane-head").all_inner_texts()
    assert heads == ["Casey", "Riley", "Morgan"], heads
    assert "Casey → Morgan" in turn.inner_text()
    assert any("vpn" in t.lower() for t in _lane_texts(page, "morgan"))
    assert not page.errors, page.errors


@pytest.mark.usefixtures("show_log")
def test_the_supersede_history_of_a_slot(ui_server: DevServer, browser: Any) -> None:
    client = ui_server.client()
    for channel in ("email", "SMS"):
        thread = client.threads.create()["thread_id"]
        text = f"Remember that customer #4545 prefers {channel}"
        client.runs.wait(thread, "chat", input={"messages": [{"role": "user", "content": text}]})
    page = _open(browser, f"{ui_server.url}/ui/#memory", LAPTOP)
    _search_memory(page, "customer 4545 prefers")
    page.wait_for_selector(".memory")
    current = page.locator(".memory", has_text="4545")
    assert current.count() == 1 and "SMS" in current.inner_text()
    page.check("#show-invalid")
    page.wait_for_selector(".memory.invalid")
    old = page.locator(".memory.invalid", has_text="4545")
    assert "email" in old.inner_text() and "SUPERSEDED" in old.inner_text().upper()
    page.locator(".memory:not(.invalid)", has_text="4545").locator(
        "button", has_text="History"
    ).click()
    history = page.locator(".history li")
    history.first.wait_for()
    assert history.count() == 2
    assert "email" in history.nth(0).inner_text() and "superseded" in history.nth(0).inner_text()
    assert "SMS" in history.nth(1).inner_text() and "current" in history.nth(1).inner_text()
    assert not page.errors, page.errors


@pytest.mark.usefixtures("show_log")
def test_trust_event_time_and_disputes_are_shown_when_a_record_has_them(
    ui_server: DevServer, browser: Any
) -> None:
    from memory.models import Memory, Provenance

    memory = Memory(
        content="Customer #7070 says they are a platinum member",
        type="entity",
        subject="customer:7070",
        attribute="tier",
        value="platinum",
        provenance=Provenance(source_agent="alex"),
    ).to_store_value()
    # fields a newer record may carry: shown under their own names, never hidden
    memory |= {"source_role": "customer", "disputed": True, "event_time": "2026-01-05T10:00:00Z"}
    ui_server.client().store.put_item(["team", "support", "shared"], "m-7070", memory)
    page = _open(browser, f"{ui_server.url}/ui/#memory", LAPTOP)
    _search_memory(page, "customer 7070 platinum")
    card = page.locator(".memory", has_text="7070").first
    card.wait_for()
    assert "DISPUTED" in card.locator(".memory-head").inner_text().upper()
    card.locator("summary").click()
    fields = card.locator(".fields").inner_text()
    assert "source role: customer" in fields
    assert "1/5/2026, 10:00:00 AM" in fields.split("Event time")[1].split("Recorded")[0]
    assert not page.errors, page.errors


@pytest.mark.usefixtures("show_log")
def test_every_control_is_labelled_and_reachable_by_keyboard(
    ui_server: DevServer, browser: Any
) -> None:
    page = _open(browser, f"{ui_server.url}/ui/#team", LAPTOP)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label'))
            .map((c) => c.id || c.outerHTML)"""
    )
    assert unlabelled == []
    page.focus("body")
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")
        )
    assert {"Team", "Live log", "Memory", "api-key", "target", "message"} <= set(reached), reached
    page.keyboard.press("Escape")
    page.focus("nav a[data-page=memory]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#page-memory:not([hidden])")
    assert not page.errors, page.errors


@pytest.mark.usefixtures("show_log")
def test_a_customer_key_works_under_the_servers_rules(ui_server: DevServer, browser: Any) -> None:
    page = _open(browser, f"{ui_server.url}/ui/#team", LAPTOP, api_key=BOUND_CUSTOMER_KEY)
    page.fill("#customer", "23456")  # bound to #12345: asking about another customer
    page.fill("#message", "Where is my order?")
    page.click("#send")
    page.wait_for_selector(".msg-error", timeout=UI_TIMEOUT_MS)
    assert "The run failed" in page.inner_text(".msg-error")

    page.click("#new-thread")
    page.fill("#customer", DEMO_CUSTOMER_ID)
    page.fill("#message", "Where is my order?")
    page.click("#send")
    page.wait_for_function("!document.querySelector('#send').disabled", timeout=UI_TIMEOUT_MS)
    assert "ORD-1004" in page.inner_text(".msg-agent .msg-text")

    page.click("nav a[data-page=memory]")
    page.wait_for_selector("#memory-list li")
    assert "not allowed" in page.inner_text("#memory-list")  # customers have no store access
    assert not page.errors, page.errors


# ---- A2A with the official client ------------------------------------------------------------
def _a2a_message(text: str, customer_id: str | None = None) -> Any:
    """A user message; the customer it is about goes in a data part {"customer_id": ...}."""
    from a2a.types import Message, Part, Role
    from google.protobuf.json_format import ParseDict
    from google.protobuf.struct_pb2 import Value

    parts = [Part(text=text)]
    if customer_id:
        parts.append(Part(data=ParseDict({"customer_id": customer_id}, Value())))
    return Message(role=Role.ROLE_USER, message_id=uuid.uuid4().hex, parts=parts)


def _texts(artifacts: Any) -> str:
    return "\n".join(part.text for artifact in artifacts for part in artifact.parts if part.text)


def _in_own_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run an async check on a thread of its own: Playwright's sync API holds this one's loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


@pytest.mark.usefixtures("show_log")
def test_the_official_a2a_client_sends_streams_and_gets_tasks(ui_server: DevServer) -> None:
    _in_own_loop(_send_stream_and_get(ui_server))


@pytest.mark.usefixtures("show_log")
def test_a2a_messages_name_their_customer_under_the_servers_rules(ui_server: DevServer) -> None:
    _in_own_loop(_customers_by_key(ui_server))


async def _a2a_client(http: httpx.AsyncClient, url: str, *, streaming: bool) -> Any:
    from a2a.client import A2ACardResolver, ClientConfig, ClientFactory

    card = await A2ACardResolver(http, url).get_agent_card()
    return card, ClientFactory(ClientConfig(httpx_client=http, streaming=streaming)).create(card)


async def _send(client: Any, text: str, customer_id: str | None = None) -> Any:
    from a2a.types import SendMessageRequest

    request = SendMessageRequest(message=_a2a_message(text, customer_id))
    events = [event async for event in client.send_message(request)]
    assert len(events) == 1 and events[0].HasField("task"), events
    return events[0].task


def _keyed(api_key: str) -> httpx.AsyncClient:
    # The client's default 5 s timeout is shorter than a team turn: give it a real one.
    return httpx.AsyncClient(timeout=RUN_TIMEOUT_S, headers={"x-api-key": api_key})


async def _send_stream_and_get(ui_server: DevServer) -> None:
    from a2a.types import GetTaskRequest, SendMessageRequest, TaskState

    async with _keyed(BOUND_CUSTOMER_KEY) as http:  # a customer channel, bound to #12345
        card, sender = await _a2a_client(http, ui_server.url, streaming=False)
        assert card.name == "A2A Memory support team"
        assert {s.id for s in card.skills} >= {
            "support-team",
            "specialist-sam",
            "specialist-jordan",
        }
        [interface] = card.supported_interfaces
        assert interface.protocol_version == "0.3.0" and "/a2a/" in interface.url
        scheme = card.security_schemes["apiKey"].api_key_security_scheme
        assert scheme.name == "x-api-key" and scheme.location == "header"

        task = await _send(sender, DEMO_REQUEST, DEMO_CUSTOMER_ID)
        assert task.status.state == TaskState.TASK_STATE_COMPLETED
        reply = _texts(task.artifacts)
        assert "customer #12345" in reply and "3rd delivery delay" in reply, reply

        fetched = await sender.get_task(GetTaskRequest(id=task.id))
        assert fetched.status.state == TaskState.TASK_STATE_COMPLETED
        assert _texts(fetched.artifacts) == reply

        _, streamer = await _a2a_client(http, ui_server.url, streaming=True)
        request = SendMessageRequest(message=_a2a_message(DEMO_REQUEST, DEMO_CUSTOMER_ID))
        events = [event async for event in streamer.send_message(request)]
        kinds = [event.WhichOneof("payload") for event in events]
        assert kinds[0] == "task" and "artifact_update" in kinds, kinds
        streamed = _texts(
            e.artifact_update.artifact for e in events if e.HasField("artifact_update")
        )
        assert "3rd delivery delay" in streamed
        final = [e.status_update.status.state for e in events if e.HasField("status_update")]
        assert final[-1] == TaskState.TASK_STATE_COMPLETED


async def _customers_by_key(ui_server: DevServer) -> None:
    from a2a.types import TaskState

    staff_state = ui_server.client().threads.get_state
    async with _keyed(STAFF_KEY) as http:  # staff may name any customer, or none
        _, client = await _a2a_client(http, ui_server.url, streaming=False)
        task = await _send(client, "My order is late")
        assert staff_state(task.context_id)["values"]["customer_id"] is None
        task = await _send(client, "Where is my order?", "#23456")
        assert staff_state(task.context_id)["values"]["customer_id"] == "23456"
    async with _keyed(BOUND_CUSTOMER_KEY) as http:  # bound to #12345: no one else
        _, client = await _a2a_client(http, ui_server.url, streaming=False)
        task = await _send(client, "Where is my order?", "23456")
        assert task.status.state == TaskState.TASK_STATE_FAILED
        values = staff_state(task.context_id)["values"]  # refused before anyone worked on it
        assert not values.get("reply") and not values.get("routing")
