"""Streaming in the web UI, in a real browser, with a model that invents: the page shows
the model's draft while it streams, then the grounded reply replaces it.

`langgraph dev` serves the support team built with the scripted fake chat model
(tests/scripted_server_graph.py, named by a langgraph.json of this test's own), the web UI
and the seed's memories (put through the server's store API). Debian's chromium, driven by
Playwright, records every text the reply box shows while the run streams.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from memory.namespaces import memory_namespace
from teams.support.demo import DEMO_CUSTOMER_ID, DEMO_REQUEST
from teams.support.memories import demo_memories
from tests.scripted_server_graph import INVENTED_ORDER, INVENTED_REPLY, INVENTED_TASK
from tests.test_langgraph_server import ROOT, DevServer
from tests.test_webui_live import LAPTOP, UI_TIMEOUT_MS, _open, browser  # noqa: F401

pytestmark = pytest.mark.integration

# Every text the reply box shows, while the run streams and after.
RECORD_REPLY_BOX = """() => {
  window.replyTexts = [];
  new MutationObserver(() => {
    const box = document.querySelector('.msg-agent .msg-text');
    if (box && box.textContent !== window.replyTexts.at(-1)) {
      window.replyTexts.push(box.textContent);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def scripted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    workdir = tmp_path_factory.mktemp("webui-scripted")
    for name in ("graphs", "webui", "tests"):
        (workdir / name).symlink_to(ROOT / name, target_is_directory=True)
    config = json.loads((ROOT / "langgraph.json").read_text())
    config["graphs"] = {**config["graphs"], "team": "./tests/scripted_server_graph.py:graph"}
    (workdir / "langgraph.json").write_text(json.dumps(config))
    dev = DevServer(workdir=workdir, memory_dir=workdir / ".a2a-memory")
    try:
        dev.start()
        shared = list(memory_namespace("support", "shared"))
        client = dev.client()
        for memory in demo_memories("support"):
            client.store.put_item(shared, memory.memory_id, memory.to_store_value())
        yield dev
    finally:
        dev.stop()


def test_the_streamed_draft_is_replaced_by_the_grounded_reply(
    scripted_server: DevServer,
    browser: Any,  # noqa: F811  (the shared chromium fixture)
) -> None:
    page = _open(browser, f"{scripted_server.url}/", LAPTOP)
    try:
        page.click("#use-demo")
        assert page.input_value("#customer") == DEMO_CUSTOMER_ID
        assert page.input_value("#message") == DEMO_REQUEST
        page.evaluate(RECORD_REPLY_BOX)
        page.click("#send")
        page.wait_for_function(
            "document.querySelector('#send') && !document.querySelector('#send').disabled"
            " && document.querySelector('.msg-agent .msg-text:not([aria-busy])')",
            timeout=UI_TIMEOUT_MS,
        )
        shown: list[str] = page.evaluate("window.replyTexts")
        reply = page.inner_text(".msg-agent .msg-text")
        # the model's tokens reached the page as they streamed...
        assert any(INVENTED_REPLY in text for text in shown), shown
        # ...and the reply that stays is the grounded one: what memory says of the customer
        # (the channel, the tier), nothing the model invented
        assert INVENTED_ORDER not in reply and "Mustermann" not in reply, reply
        assert "email" in reply and "SMS" not in reply and "premium member" in reply, reply
        assert shown[-1] == reply
        # the live log: the events arrived; the tasks and results the agents exchanged are
        # the grounded ones, and each replaced text says so, with why (not the draft)
        page.click("nav a[data-page=log]")
        turn = page.locator(".turn").first
        turn.wait_for()
        a2a = turn.locator(".kind-a2a").all_inner_texts()
        tasks = [t for t in a2a if "TASK" in t.upper()]
        results = [t for t in a2a if "RESULT" in t.upper()]
        assert tasks and results, a2a
        assert any("Check the order status" in t for t in tasks), tasks  # Sam's declared task
        assert not [t for t in a2a if INVENTED_ORDER in t or INVENTED_TASK in t], a2a
        checks = turn.locator(".kind-grounding").all_inner_texts()
        for step in ("task:sam", "findings:sam", "findings:jordan", "synthesis"):
            assert any(step in t and "replaced" in t.lower() for t in checks), (step, checks)
        assert INVENTED_REPLY not in turn.inner_text()
        (ROOT / "reports").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "reports" / "webui-grounding.png"), full_page=True)
        assert not page.errors, page.errors
    finally:
        page.close()
        print(f"--- langgraph dev output (tail) ---\n{scripted_server.log_tail()}")
