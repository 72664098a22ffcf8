"""The web UI's server side, offline: routes, agent card, the tasks/get artifact, customers.

The browser and the official A2A client against a real `langgraph dev` are in
tests/test_webui_browser.py and tests/test_a2a_client.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from nodes.customer import CustomerNotAllowedError, RunCaller, resolve_customer, run_caller
from teams.helpdesk.team import HELPDESK_TEAM
from teams.support.team import SUPPORT_TEAM
from webui.a2a_tasks import reply_artifact, with_reply_artifact
from webui.agent_card import A2A_PROTOCOL_VERSION, build_agent_card
from webui.app import STATIC_DIR, app, default_assistant_id

TEAM_ID = default_assistant_id("team")
COORDINATOR = SUPPORT_TEAM.coordinator
SPECIALISTS = {s.name: s for s in SUPPORT_TEAM.specialists}


@pytest.fixture
def client() -> TestClient:
    return TestClient(app)


# ---- routes --------------------------------------------------------------------------------
def test_root_and_ui_lead_to_the_page_with_its_assets(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/"
    page = client.get("/ui/")
    assert page.status_code == 200 and "<title>" in page.text
    for asset in re.findall(r'(?:src|href)="(/ui/static/[^"]+)"', page.text):
        assert client.get(asset).status_code == 200, asset
    assert (
        client.get("/ui/static/js/main.js")
        .headers["content-type"]
        .startswith(("text/javascript", "application/javascript"))
    )


def test_every_asset_is_shipped_and_nothing_loads_from_the_network() -> None:
    files = [p for p in STATIC_DIR.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} >= {".html", ".css", ".js"}
    for path in files:
        text = path.read_text()
        assert not re.search(r"https?://", text), f"{path.name} refers to the network"
        assert "innerHTML" not in text, f"{path.name} builds HTML from strings"
    imported = set()
    for path in (STATIC_DIR / "js").glob("*.js"):
        imported |= set(re.findall(r'from "\./([\w-]+\.js)"', path.read_text()))
    assert imported <= {p.name for p in (STATIC_DIR / "js").glob("*.js")}


def test_config_describes_the_team_from_its_declaration(client: TestClient) -> None:
    config = client.get("/ui/config.json").json()
    support, helpdesk = config["teams"]
    assert (support["graph_id"], support["team"]) == ("team", "support")
    assert [a["name"] for a in support["agents"]] == [COORDINATOR.name, *SPECIALISTS]
    assert [a["name"] for a in support["agents"] if a["coordinator"]] == [COORDINATOR.name]
    assert helpdesk["graph_id"] == "helpdesk"
    assert [a["name"] for a in helpdesk["agents"]] == [a.name for a in HELPDESK_TEAM.agents]
    assert (config["chat_graph"], config["chat_team"]) == ("chat", "support")
    assert config["api_key_header"] == "x-api-key"
    assert config["demo"]["customer_id"] == "12345"
    assert config["auth_required"] is False


# ---- the agent card ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/.well-known/agent-card.json",
        "/.well-known/agent.json",
        f"/.well-known/agent-card.json?assistant_id={TEAM_ID}",
        f"/a2a/{TEAM_ID}/.well-known/agent-card.json",
    ],
)
def test_the_team_card_is_where_clients_look(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.text
    card = response.json()
    assert card["protocolVersion"] == A2A_PROTOCOL_VERSION == "0.3.0"
    assert card["url"] == f"http://testserver/a2a/{TEAM_ID}"
    assert card["preferredTransport"] == "JSONRPC"
    assert card["capabilities"]["streaming"] is True
    skill_ids = [s["id"] for s in card["skills"]]
    assert skill_ids == ["support-team", *(f"specialist-{n}" for n in SPECIALISTS)]
    assert card["skills"][0]["examples"]  # the seed's request
    for name, spec in SPECIALISTS.items():
        skill = next(s for s in card["skills"] if s["id"] == f"specialist-{name}")
        assert skill["description"] == spec.description
        assert spec.role.lower() in skill["tags"]
    assert "customer_id" in card["description"]
    assert "securitySchemes" not in card  # no auth configured


def test_the_chat_card_offers_one_skill_per_agent(client: TestClient) -> None:
    card = client.get(f"/a2a/{default_assistant_id('chat')}/.well-known/agent-card.json").json()
    assert [s["id"] for s in card["skills"]] == [
        f"chat-{n}" for n in (COORDINATOR.name, *SPECIALISTS)
    ]
    assert card["url"].endswith(f"/a2a/{default_assistant_id('chat')}")


def test_another_team_gets_a_card_of_its_own(client: TestClient) -> None:
    card = client.get(f"/a2a/{default_assistant_id('helpdesk')}/.well-known/agent-card.json").json()
    assert card["name"] == "A2A Memory helpdesk team"
    assert [s["id"] for s in card["skills"]] == [
        "helpdesk-team",
        *(f"specialist-{s.name}" for s in HELPDESK_TEAM.specialists),
    ]
    assert "which employee" in card["description"]


def test_an_unknown_assistant_has_no_card(client: TestClient) -> None:
    response = client.get("/.well-known/agent-card.json?assistant_id=not-an-assistant")
    assert response.status_code == 404
    assert "not-an-assistant" in response.json()["error"]


def test_card_declares_the_api_key_when_the_server_authenticates() -> None:
    card = build_agent_card(
        SUPPORT_TEAM, "team", "http://h/a2a/x", version="1", api_key_header="x-api-key"
    )
    assert card["securitySchemes"] == {
        "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}
    }
    assert card["security"] == [{"apiKey": []}]


def test_card_parses_with_the_official_client_as_a_0_3_card() -> None:
    a2a = pytest.importorskip("a2a.client.card_resolver")
    card = a2a.parse_agent_card(
        json.loads(
            json.dumps(build_agent_card(SUPPORT_TEAM, "team", "http://h/a2a/x", version="1"))
        )
    )
    [interface] = card.supported_interfaces
    assert (interface.url, interface.protocol_binding) == ("http://h/a2a/x", "JSONRPC")
    assert interface.protocol_version == "0.3.0"
    assert len(card.skills) == 1 + len(SPECIALISTS)


# ---- tasks/get gets its artifact -------------------------------------------------------------
def _task(history: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "id": "ctx:run",
        "contextId": "ctx",
        "status": {"state": "completed"},
        "history": history,
        **extra,
    }


def test_the_reply_of_a_completed_task_becomes_its_artifact() -> None:
    history = [
        {"role": "user", "taskId": "ctx:run", "parts": [{"kind": "text", "text": "help"}]},
        {"role": "agent", "taskId": "ctx:old", "parts": [{"kind": "text", "text": "earlier"}]},
        {"role": "agent", "taskId": "ctx:run", "parts": [{"kind": "text", "text": "the reply"}]},
    ]
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": _task(history)}).encode()
    patched = json.loads(with_reply_artifact(body))
    [artifact] = patched["result"]["artifacts"]
    assert artifact["parts"] == [{"kind": "text", "text": "the reply"}]
    assert artifact["artifactId"]


@pytest.mark.parametrize(
    "answer",
    [
        {"jsonrpc": "2.0", "id": 1, "error": {"code": -32001, "message": "Task not found"}},
        {
            "jsonrpc": "2.0",
            "id": 1,
            "result": _task([], artifacts=[{"artifactId": "a", "parts": []}]),
        },
        {
            "jsonrpc": "2.0",
            "id": 1,
            "result": _task([{"role": "user", "taskId": "ctx:run", "parts": []}]),
        },
    ],
)
def test_answers_without_a_reply_to_add_are_left_alone(answer: dict[str, Any]) -> None:
    body = json.dumps(answer).encode()
    assert with_reply_artifact(body) == body
    assert with_reply_artifact(b"not json") == b"not json"


def test_no_artifact_from_another_tasks_reply() -> None:
    history = [{"role": "agent", "taskId": "ctx:other", "parts": [{"text": "x"}]}]
    assert reply_artifact(_task(history)) is None


# ---- which customer a turn is about ----------------------------------------------------------
def test_the_customer_comes_from_the_input_or_the_context() -> None:
    assert resolve_customer("#12345", None) == "12345"
    assert resolve_customer(None, "customer:12345") == "12345"
    assert resolve_customer("12345", "12345") == "12345"
    assert resolve_customer(None, None) is None
    assert resolve_customer("", None) is None
    # as people and clients write it: any case, full-width digits, '#' after the colon
    for written in ("Customer #12345", "CUSTOMER:12345", "customer: #12345", "#\uff11\uff12345"):
        assert resolve_customer(written, "12345") == "12345", written


def test_conflicting_or_malformed_customers_are_refused() -> None:
    with pytest.raises(ValueError, match="input names customer 12345 but the run context"):
        resolve_customer("12345", "23456")
    with pytest.raises(ValueError, match="malformed customer_id"):
        resolve_customer("robert'); drop table", None)
    with pytest.raises(ValueError, match="must be a string or an integer"):
        resolve_customer(["12345"], None)
    assert resolve_customer(12345, "customer #12345") == "12345"


def test_a_bound_customer_caller_speaks_only_about_themselves() -> None:
    caller = run_caller(
        {
            "langgraph_auth_permissions": ["role:customer"],
            "langgraph_auth_user_id": "customer:12345",
        }
    )
    assert caller == RunCaller("customer", "12345")
    assert resolve_customer(None, None, caller) == "12345"
    assert resolve_customer("#12345", "12345", caller) == "12345"
    with pytest.raises(CustomerNotAllowedError, match="only ask about themselves"):
        resolve_customer("23456", None, caller)


def test_an_unbound_customer_caller_cannot_name_a_customer() -> None:
    caller = RunCaller("customer", None)
    assert resolve_customer(None, None, caller) is None
    with pytest.raises(CustomerNotAllowedError, match="not bound to a customer id"):
        resolve_customer("12345", None, caller)


def test_staff_agents_and_python_callers_may_name_any_customer() -> None:
    staff = run_caller(
        {"langgraph_auth_permissions": ["role:staff"], "langgraph_auth_user_id": "staff:ops"}
    )
    assert staff == RunCaller("staff", "ops")
    assert resolve_customer("23456", None, staff) == "23456"
    assert resolve_customer("23456", None, RunCaller("agent", "sam")) == "23456"
    assert run_caller({}) is None
    assert resolve_customer("23456", None, None) == "23456"


def test_static_dir_is_packaged() -> None:
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert 'webui = ["static/*.html", "static/*.css", "static/js/*.js"]' in pyproject


def _echo_server(answer: dict[str, Any]) -> Any:
    """A stand-in for the server's A2A route: records the body it got, returns `answer`."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from webui.a2a_tasks import TaskArtifactsMiddleware

    seen: list[dict[str, Any]] = []

    async def a2a(request: Request) -> JSONResponse:
        seen.append(await request.json())
        return JSONResponse(answer)

    app = Starlette(
        routes=[Route("/a2a/{assistant_id}", a2a, methods=["POST"])],
        middleware=[Middleware(TaskArtifactsMiddleware)],
    )
    app.state.seen = seen
    return app


def test_the_middleware_patches_only_get_task_answers() -> None:
    history = [{"role": "agent", "taskId": "ctx:run", "parts": [{"kind": "text", "text": "hi"}]}]
    answer = {"jsonrpc": "2.0", "id": 1, "result": _task(history)}
    app = _echo_server(answer)
    client = TestClient(app)
    get = {"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"id": "ctx:run"}}
    patched = client.post("/a2a/some-assistant", json=get)
    assert patched.json()["result"]["artifacts"][0]["parts"] == [{"kind": "text", "text": "hi"}]
    assert int(patched.headers["content-length"]) == len(patched.content)
    send = {"jsonrpc": "2.0", "id": 2, "method": "message/send", "params": {"message": {}}}
    untouched = client.post("/a2a/some-assistant", json=send)
    assert "artifacts" not in untouched.json()["result"]
    assert app.state.seen == [get, send]  # the server got each request body unchanged
