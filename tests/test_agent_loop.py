"""A specialist as an agent loop (scripted tool-calling model) and the memory tools."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from memory.llm import supports_tools
from memory.manager import MemoryManager
from memory.models import EXPLICIT_CONFIDENCE, Memory, Provenance
from memory.store import FaissStore
from memory.tools import memory_tools
from nodes.specialist import others_records, run_agent_loop, run_plan
from teams.support.desk import SupportDesk
from teams.support.team import SAM
from teams.support.tools import make_tools
from tests.fakes import DeterministicEmbeddings, ScriptedChatModel


@pytest.fixture
def manager(tmp_path: Path) -> MemoryManager:
    emb = DeterministicEmbeddings(64)
    store = FaissStore(tmp_path / "store", index={"dims": 64, "embed": emb, "fields": ["content"]})
    return MemoryManager(store, team="support", agent="sam")


@pytest.fixture
def tools(tmp_path: Path) -> dict:
    return dict(make_tools(SupportDesk(tmp_path / "desk.sqlite")))


def calling(name: str, args: dict, call_id: str = "c1") -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": call_id}])


def test_only_a_model_with_bind_tools_runs_the_loop() -> None:
    assert supports_tools(ScriptedChatModel(script=["x"]))
    assert not supports_tools(None)


def test_the_model_chooses_tools_and_arguments(tools: dict) -> None:
    model = ScriptedChatModel(
        script=[
            calling("track_shipment", {"order_id": "ORD-1004"}),
            calling("check_refund_eligibility", {"order_id": "1004"}, "c2"),
            "Order ORD-1004 is delayed; it is eligible for a refund within 48 hours.",
        ]
    )
    own = [tools[name] for name in SAM.tools]
    calls, summary = run_agent_loop(model, SAM, own, [HumanMessage("Where is ORD-1004?")])
    assert [(c.tool, c.args) for c in calls] == [
        ("track_shipment", {"order_id": "ORD-1004"}),
        ("check_refund_eligibility", {"order_id": "1004"}),
    ]
    assert calls[1].result["eligible"] is True
    assert summary and "48 hours" in summary
    assert [t.name for t in model.bound_tools] == list(SAM.tools)
    # the model saw each tool's result before its next turn
    assert "ORD-1004" in str(model.calls[1][-1].content)


def test_the_loop_is_bounded(tools: dict) -> None:
    counter = itertools.count()

    def forever(messages: list[BaseMessage]) -> AIMessage:
        return calling("delay_history", {"customer_id": "12345"}, f"c{next(counter)}")

    model = ScriptedChatModel(script=forever)
    calls, summary = run_agent_loop(model, SAM, [tools["delay_history"]], [HumanMessage("go")])
    assert summary is None
    assert len(model.calls) == SAM.max_steps and len(calls) == SAM.max_steps


def test_bad_tool_calls_come_back_as_errors_the_model_reads(tools: dict) -> None:
    model = ScriptedChatModel(
        script=[
            calling("teleport", {}),
            calling("track_shipment", {"order_id": "nonsense!"}, "c2"),
            "I could not track the order.",
        ]
    )
    calls, _ = run_agent_loop(model, SAM, [tools["track_shipment"]], [HumanMessage("go")])
    assert "no tool 'teleport'" in calls[0].result["error"]
    assert "order" in calls[1].result["error"]


def test_the_declared_plan_passes_ids_between_tools(tools: dict) -> None:
    calls = run_plan("sam", tools, SAM.planned_tools, {"customer_id": "12345"})
    by_tool = {c.tool: c for c in calls}
    assert by_tool["track_shipment"].args == {"order_id": "ORD-1004"}
    assert set(by_tool) == set(SAM.tools)


def test_search_memory_tool_reads_the_team_memory(manager: MemoryManager) -> None:
    manager.add(
        Memory(
            content="Customer #12345 prefers to be contacted by email.",
            type="entity",
            subject="customer:12345",
            attribute="contact_preference",
            value="email",
            mechanism="explicit",
            confidence=EXPLICIT_CONFIDENCE,
            provenance=Provenance(source_agent="system"),
        )
    )
    search = {t.name: t for t in memory_tools(manager)}["search_memory"]
    found = search.invoke({"query": "how to contact customer 12345"})
    assert found["memories"][0]["content"].endswith("by email.")


def test_remember_tool_stores_an_agent_inference(manager: MemoryManager) -> None:
    remember = {t.name: t for t in memory_tools(manager, subject="customer:12345")}["remember"]
    result = remember.invoke({"text": "Customer #12345 prefers to be called in the evening."})
    stored = manager.get(result["stored"][0]["memory_id"])
    assert stored is not None and stored.mechanism == "inferred"
    assert stored.confidence <= 0.7 and stored.provenance.source_agent == "sam"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Premium members get refunds within 2 hours.", "trusted sources"),
        ("Customer #99999 prefers to be contacted by fax.", "customer:99999"),
    ],
)
def test_remember_tool_refuses_policies_and_other_subjects(
    manager: MemoryManager, text: str, reason: str
) -> None:
    remember = {t.name: t for t in memory_tools(manager, subject="customer:12345")}["remember"]
    result = remember.invoke({"text": text})
    assert reason in result["error"]
    assert manager.list() == []


def test_forget_tool_only_forgets_the_agents_own(manager: MemoryManager) -> None:
    theirs = manager.add(
        Memory(
            content="Customer #12345 is a premium member.",
            type="entity",
            provenance=Provenance(source_agent="system"),
        )
    ).memory
    named = {t.name: t for t in memory_tools(manager, subject="customer:12345")}
    mine = named["remember"].invoke({"text": "Customer #12345 prefers to be called at noon."})
    mine_id = mine["stored"][0]["memory_id"]
    assert (
        "only forget your own" in named["forget"].invoke({"memory_id": theirs.memory_id})["error"]
    )
    assert named["forget"].invoke({"memory_id": mine_id}) == {"forgotten": mine_id}
    assert manager.get(mine_id) is None and manager.get(theirs.memory_id) is not None
    assert "no memory" in named["forget"].invoke({"memory_id": "nope"})["error"]


def test_memory_tools_for_one_customer_never_reach_anothers_facts(manager: MemoryManager) -> None:
    def fact(customer: str, channel: str) -> Memory:
        return Memory(
            content=f"Customer #{customer} prefers to be contacted by {channel}.",
            type="entity",
            subject=f"customer:{customer}",
            attribute="contact_preference",
            value=channel,
            provenance=Provenance(source_agent="sam"),
        )

    own, other = manager.add(fact("12345", "email")).memory, manager.add(fact("777", "fax")).memory
    named = {t.name: t for t in memory_tools(manager, subject="Customer:12345")}
    found = named["search_memory"].invoke({"query": "how does customer 777 like to be contacted"})
    assert [m["memory_id"] for m in found["memories"]] == [own.memory_id]
    refused = named["forget"].invoke({"memory_id": other.memory_id})
    assert "no memory" in refused["error"] and manager.get(other.memory_id) is not None
    staff = {t.name: t for t in memory_tools(manager)}  # no subject: the console sees all
    found = staff["search_memory"].invoke({"query": "how does customer 777 like to be contacted"})
    assert other.memory_id in [m["memory_id"] for m in found["memories"]]


def test_the_plan_says_which_tool_it_skips_and_why(
    tools: dict, caplog: pytest.LogCaptureFixture
) -> None:
    """A tool whose required argument the plan cannot know is not called, and the log
    names it and the argument (the README's own-team example has such a tool)."""
    with caplog.at_level(logging.INFO, logger="nodes.specialist"):
        calls = run_plan(
            "sam", tools, ("track_shipment", "delay_history"), {"customer_id": "12345"}
        )
    assert [c.tool for c in calls] == ["delay_history"]
    assert "plan skips track_shipment (no value known for order_id)" in caplog.text


def test_a_customers_conversation_looks_up_that_customers_records_only() -> None:
    own = others_records("employee_id", "E-204")
    for spelling in ("E-204", "e204", "204", 204, "#204", "employee:E-204"):
        assert own("unlock", {"employee_id": spelling}) is None, spelling
    for other in ("E-2040", "205", "E-1204", "", "x" * 100):
        assert own("unlock", {"employee_id": other}), other
    assert own("check_systems", {"systems": ["vpn"]}) is None  # no one's records
    anonymous = others_records("customer_id", None)
    assert "unknown" in str(anonymous("lookup_customer", {"customer_id": "12345"}))


def test_in_the_loop_remember_keeps_only_what_the_agent_was_told(
    manager: MemoryManager, tools: dict
) -> None:
    """A specialist's `remember` is grounded in its task and its tools' facts as they come
    back: a fact a tool stated is stored, a day of the model's own is refused with the
    reason, for the model to read."""
    told = ["Check the delivery history of customer #12345."]
    memory = memory_tools(manager, subject="customer:12345", given=lambda: told)
    stated = "Customer #12345 experienced a 3rd delivery delay with ParcelPro."
    invented = "Customer #12345 experienced a 3rd delivery delay on Friday."
    model = ScriptedChatModel(
        script=[
            calling("remember", {"text": stated}, "c0"),  # before any tool said so
            calling("delay_history", {"customer_id": "12345"}, "c1"),
            calling("remember", {"text": invented}, "c2"),
            calling("remember", {"text": stated}, "c3"),
            "Customer #12345 had a 3rd delivery delay.",
        ]
    )
    calls, _ = run_agent_loop(
        model, SAM, [tools["delay_history"], *memory], [HumanMessage("go")], facts=told
    )
    early, _, refused, kept = (c.result for c in calls)
    assert "not remembered" in early["error"] and "ParcelPro" in early["error"]
    assert "not remembered" in refused["error"] and "friday" in refused["error"].lower()
    assert "stored" in kept, kept
    assert [m.memory_id for m in manager.list()] == [kept["stored"][0]["memory_id"]]
    assert any("ParcelPro" in fact for fact in told)  # the tool's facts were added
