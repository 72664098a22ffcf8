"""A second, different team (an IT help desk) runs on the generic code unchanged."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from graphs.app import TeamApp, open_team_app
from memory.bridge import RESULT, TASK
from nodes.context import TeamContext
from nodes.services import Services
from teams.helpdesk.team import HELPDESK_TEAM
from tests.fakes import DeterministicEmbeddings, ScriptedChatModel

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TeamApp]:
    emb = DeterministicEmbeddings(64)
    with open_team_app(tmp_path, embeddings=emb, spec=HELPDESK_TEAM) as team_app:
        yield team_app


def ask(app: TeamApp, text: str, thread: str, **ctx: object) -> dict:
    context = TeamContext(customer_id="E-204", llm="none", **ctx)  # type: ignore[arg-type]
    config = {"configurable": {"thread_id": thread}}
    app.team_graph.invoke({"messages": [("user", text)]}, config, context=context)
    return app.team_graph.get_state(config).values


def test_generic_code_knows_no_team() -> None:
    """nodes/ and the graph builder import nothing from teams/: a team is only data."""
    for path in [*(ROOT / "nodes").glob("*.py"), ROOT / "graphs" / "team.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = [
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        ] + [
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        ]
        assert not [m for m in imported if m.split(".")[0] == "teams"], path


def test_each_specialist_is_a_node_of_its_own(app: TeamApp) -> None:
    nodes = set(app.team_graph.get_graph().nodes)
    assert {"riley", "morgan"} <= nodes
    assert "sam" not in nodes


def test_locked_account_goes_to_riley_and_the_reply_states_the_tool_facts(app: TeamApp) -> None:
    state = ask(app, "My account is locked, I cannot log in", "h1")
    assert state["routing"].specialists == ["riley"]
    riley = state["findings"][0]
    assert [c.tool for c in riley.tool_calls] == ["lookup_employee", "account_status"]
    assert any("locked after 5 failed logins" in f for f in riley.facts)
    assert "locked after 5 failed logins" in state["reply"]
    log = app.log.read(correlation_id=state["correlation_id"])
    assert [(m.source_agent, m.target_agent) for m in log if m.content_type == TASK] == [
        ("casey", "riley")
    ]
    assert {m.source_agent for m in log if m.content_type == RESULT} == {"riley"}
    assert "employee #E-204" in log[0].payload["task"]


def test_vpn_trouble_goes_to_morgan(app: TeamApp) -> None:
    state = ask(app, "The VPN keeps dropping my connection", "h2")
    assert "morgan" in state["routing"].specialists
    morgan = next(f for f in state["findings"] if f.agent == "morgan")
    assert any("vpn service is degraded" in f for f in morgan.facts)


def test_helpdesk_memory_is_its_own_team(app: TeamApp) -> None:
    ask(app, "Remember that employee E-204 prefers a phone call", "h3")
    assert app.team == "helpdesk"
    hits = app.manager("casey").search("how to reach employee E-204", limit=3)
    assert hits and all(h.namespace[1] == "helpdesk" for h in hits)


def test_riley_acts_with_a_tool_calling_model(app: TeamApp) -> None:
    """Riley's agent loop chooses its tools and arguments: here it unlocks the account."""

    def script(messages: list[BaseMessage]) -> str | AIMessage:
        last = messages[-1].text
        if "JSON schema" in last:
            return '{"specialists": ["Riley"], "reason": "locked account"}'
        if "Write the reply" in last:
            return "Priya unlocked your account E-999."  # invented: replaced by the composed one
        done = sum(isinstance(m, ToolMessage) for m in messages)
        steps = [("account_status", {"employee_id": "E-204"}), ("unlock", {"employee_id": "204"})]
        if done < len(steps):
            name, args = steps[done]
            return AIMessage("", tool_calls=[{"name": name, "args": args, "id": f"t{done}"}])
        return "The account of employee E-204 was locked; I unlocked it."

    model = ScriptedChatModel(script=script)
    services = Services(
        data_dir=app.data_dir, chat_model=model, embeddings=DeterministicEmbeddings(64)
    )
    state = ask(app, "I am locked out of my account", "h4", services=services)
    riley = state["findings"][0]
    assert [(c.tool, c.args) for c in riley.tool_calls] == [
        ("account_status", {"employee_id": "E-204"}),
        ("unlock", {"employee_id": "204"}),
    ]
    assert riley.summary == "The account of employee E-204 was locked; I unlocked it."
    assert "E-204 was unlocked" in state["reply"] and "E-999" not in state["reply"]
    assert "synthesis" in state["fallbacks"]
    tool_names = {tool.name for tool in model.bound_tools}
    assert {
        "lookup_employee",
        "account_status",
        "search_memory",
        "remember",
        "forget",
    } <= tool_names
