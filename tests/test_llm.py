"""The chat model seam: the factory's choice and errors, context windows, and the safe calls.

A stub Ollama server on 127.0.0.1 answers /api/tags (and /api/chat with a canned reply), so
the auto path truly probes a server and the real ChatOllama sends real requests; nothing is
generated in unit tests. The embedded SmolLM2 runs only in the integration tests.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_ollama import ChatOllama
from pydantic import BaseModel, Field

from memory import llama as llama_module
from memory import llm as llm_module
from memory.llama import EmbeddedChatModel, to_llama_messages
from memory.llm import (
    DEFAULT_OLLAMA_NUM_CTX,
    ChatModelUnavailableError,
    context_window,
    make_chat_model,
    model_label,
)
from memory.llm_calls import first_json_object, structured_call, text_call
from tests.fakes import ScriptedChatModel

ENV_VARS = ("A2A_LLM", "A2A_OLLAMA_MODEL", "OLLAMA_BASE_URL", "A2A_CONTEXT_TOKENS")


class Route(BaseModel):
    specialists: list[str] = Field(min_length=1)
    reason: str


@dataclass
class OllamaStub:
    url: str
    reply: str = "Hello from the stub."
    requests: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    """Assistant messages to answer /api/chat with, in order, before `reply`."""
    models: list[str] = field(default_factory=lambda: ["phi4-mini:latest", "qwen2.5:0.5b"])
    """What GET /api/tags reports as pulled."""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def ollama_stub() -> Iterator[OllamaStub]:
    stub = OllamaStub(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            stub.requests.append(("GET", self.path, None))
            models = [{"name": name, "model": name} for name in stub.models]
            self._send(200 if self.path == "/api/tags" else 404, {"models": models})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            stub.requests.append(("POST", self.path, body))
            self._send(
                200,
                {
                    "model": body.get("model", ""),
                    "created_at": "2026-01-01T00:00:00Z",
                    "message": stub.messages.pop(0)
                    if stub.messages
                    else {"role": "assistant", "content": stub.reply},
                    "done": True,
                    "done_reason": "stop",
                },
            )

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode() + b"\n"
            self.send_response(status)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stub
    server.shutdown()
    server.server_close()


@pytest.fixture
def dead_url() -> str:
    """A local URL where nothing listens (a port just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- the factory -------------------------------------------------------------------------


def test_auto_detects_the_server_from_env(
    ollama_stub: OllamaStub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OLLAMA_BASE_URL", ollama_stub.url + "/")
    with caplog.at_level(logging.INFO, logger="memory.llm"):
        model = make_chat_model()
    assert isinstance(model, ChatOllama)
    assert (model.model, model.base_url, model.num_ctx) == (
        "phi4-mini",
        ollama_stub.url,
        DEFAULT_OLLAMA_NUM_CTX,
    )
    assert model.temperature == 0.0
    assert ("GET", "/api/tags", None) in ollama_stub.requests
    assert f"Ollama at {ollama_stub.url}" in caplog.text
    assert model_label(model) == "ollama:phi4-mini"
    assert context_window(model) == DEFAULT_OLLAMA_NUM_CTX


def test_env_chooses_ollama_model_and_window(
    ollama_stub: OllamaStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("A2A_LLM", "ollama")
    monkeypatch.setenv("A2A_OLLAMA_MODEL", "qwen2.5:0.5b")
    monkeypatch.setenv("A2A_CONTEXT_TOKENS", "4096")
    model = make_chat_model(base_url=ollama_stub.url)
    assert isinstance(model, ChatOllama)
    assert (model.model, model.num_ctx) == ("qwen2.5:0.5b", 4096)
    explicit = make_chat_model(model="phi4-mini", base_url=ollama_stub.url, num_ctx=2048)
    assert (getattr(explicit, "model", None), context_window(explicit)) == ("phi4-mini", 2048)


def test_explicit_ollama_without_a_server_says_what_to_do(dead_url: str) -> None:
    with pytest.raises(RuntimeError, match="no Ollama server answers") as error:
        make_chat_model("ollama", base_url=dead_url)
    assert dead_url in str(error.value)
    assert "ollama serve" in str(error.value)


def test_auto_without_a_server_builds_the_embedded_model(
    dead_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    built: list[int | None] = []
    stand_in = ScriptedChatModel(script=[])

    def fake_embedded(model_path: str | None, *, num_ctx: int | None, temperature: float) -> Any:
        built.append(num_ctx)
        return stand_in

    monkeypatch.setattr(llm_module, "make_embedded_chat_model", fake_embedded)
    with caplog.at_level(logging.INFO, logger="memory.llm"):
        assert make_chat_model("auto", base_url=dead_url, num_ctx=1024) is stand_in
    assert built == [1024]
    assert f"no Ollama server at {dead_url}" in caplog.text


def test_auto_skips_an_ollama_server_without_the_model(
    ollama_stub: OllamaStub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ollama_stub.models = ["llama3:8b"]
    stand_in = ScriptedChatModel(script=[])
    monkeypatch.setattr(llm_module, "make_embedded_chat_model", lambda *a, **k: stand_in)
    with caplog.at_level(logging.WARNING, logger="memory.notice"):
        assert make_chat_model("auto", base_url=ollama_stub.url) is stand_in
    assert "no model 'phi4-mini'" in caplog.text and "ollama pull phi4-mini" in caplog.text
    assert "llama3:8b" in caplog.text  # what the server does have


def test_explicit_ollama_without_the_model_names_it_and_how_to_pull(
    ollama_stub: OllamaStub,
) -> None:
    ollama_stub.models = []
    with pytest.raises(ChatModelUnavailableError) as error:
        make_chat_model("ollama", model="phi4-mini", base_url=ollama_stub.url)
    assert "no model 'phi4-mini'" in str(error.value)
    assert "`ollama pull phi4-mini`" in str(error.value)


def test_a_tagged_model_name_matches_exactly(ollama_stub: OllamaStub) -> None:
    assert isinstance(
        make_chat_model("ollama", model="qwen2.5:0.5b", base_url=ollama_stub.url), ChatOllama
    )
    with pytest.raises(ChatModelUnavailableError, match=r"qwen2\.5:7b"):
        make_chat_model("ollama", model="qwen2.5:7b", base_url=ollama_stub.url)


def test_unknown_kind_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A2A_LLM", "gpt")
    with pytest.raises(ValueError, match="ollama, embedded or auto; got 'gpt'"):
        make_chat_model()


def test_embedded_without_llama_cpp_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    llama_module._load_llama.cache_clear()
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    with pytest.raises(RuntimeError, match="pip install llama-cpp-python"):
        make_chat_model("embedded")


def test_embedded_with_a_missing_model_file_names_it() -> None:
    with pytest.raises(RuntimeError, match=r"/nowhere/model\.gguf does not exist"):
        make_chat_model("embedded", model="/nowhere/model.gguf")


# --- context windows and labels ----------------------------------------------------------


def test_context_window_prefers_what_the_model_runs_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert context_window(ChatOllama(model="phi4-mini:latest")) == 128_000
    assert context_window(ChatOllama(model="phi4-mini", num_ctx=16_384)) == 16_384
    scripted = ScriptedChatModel(script=[])
    assert context_window(ChatOllama(model="some-new-model")) == 8192
    assert context_window(scripted) == 8192
    monkeypatch.setenv("A2A_CONTEXT_TOKENS", "2048")
    assert context_window(scripted) == 2048
    monkeypatch.setenv("A2A_CONTEXT_TOKENS", "lots")
    with pytest.raises(ValueError, match="A2A_CONTEXT_TOKENS='lots' is not an integer"):
        context_window(scripted)


def test_model_labels() -> None:
    assert model_label(ChatOllama(model="phi4-mini")) == "ollama:phi4-mini"
    assert model_label(ScriptedChatModel(script=[])) == "scripted"
    assert model_label(None).startswith("none")


# --- structured_call ---------------------------------------------------------------------

VALID = '{"specialists": ["sam"], "reason": "a late parcel"}'


@pytest.mark.parametrize(
    "reply",
    [
        VALID,
        f"Sure! Here it is:\n```json\n{VALID}\n```\nHope that helps.",
        'Routing {"specialists": ["sam"], "reason": "braces {in} strings"} as asked.',
        AIMessage(content=VALID),
    ],
)
def test_structured_call_extracts_and_validates(reply: str | AIMessage) -> None:
    model = ScriptedChatModel(script=[reply])
    result = structured_call(model, Route, "Where is my parcel?", step="routing")
    assert isinstance(result, Route)
    assert result.specialists == ["sam"]


def test_structured_call_puts_the_schema_and_example_in_the_prompt() -> None:
    model = ScriptedChatModel(script=[VALID])
    example = Route(specialists=["jordan"], reason="the API is down")
    structured_call(model, Route, [SystemMessage("You route.")], step="routing", example=example)
    (prompt,) = model.calls
    assert prompt[0].content == "You route."
    instruction = str(prompt[-1].content)
    assert json.dumps(Route.model_json_schema(), separators=(",", ":")) in instruction
    assert example.model_dump_json() in instruction


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("I would send it to Sam.", "no JSON object in the reply"),
        ('{"specialists": ["sam"], "reason": ', "no JSON object in the reply"),
        ('{"specialists": [], "reason": "none"}', "schema violation: specialists"),
        ('{"specialists": ["sam"]}', "schema violation: reason: Field required"),
    ],
)
def test_structured_call_falls_back_on_bad_output(
    reply: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="memory.llm"):
        result = structured_call(ScriptedChatModel(script=[reply]), Route, "x", step="routing")
    assert result is None
    assert f"routing: LLM output invalid ({reason}" in caplog.text
    assert "using fallback" in caplog.text


def test_structured_call_survives_a_failing_model_or_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(messages: list[Any]) -> str:
        raise ConnectionError("server went away")

    with caplog.at_level(logging.WARNING, logger="memory.llm"):
        assert structured_call(ScriptedChatModel(script=boom), Route, "x", step="routing") is None
        assert structured_call(None, Route, "x", step="note") is None
    assert "routing: LLM output invalid (ConnectionError: server went away)" in caplog.text
    assert "note: LLM output invalid (no model)" in caplog.text


def test_structured_call_constrains_ollama_to_the_schema(ollama_stub: OllamaStub) -> None:
    ollama_stub.reply = VALID
    model = make_chat_model("ollama", base_url=ollama_stub.url)
    result = structured_call(model, Route, "Where is my parcel?", step="routing")
    assert result == Route(specialists=["sam"], reason="a late parcel")
    (body,) = [body for method, path, body in ollama_stub.requests if path == "/api/chat"]
    assert body is not None
    assert body["format"] == Route.model_json_schema()
    assert body["model"] == "phi4-mini"
    assert body["options"]["num_ctx"] == DEFAULT_OLLAMA_NUM_CTX
    assert body["options"]["temperature"] == 0.0


# --- text_call ---------------------------------------------------------------------------


def test_text_call_strips_and_bounds_the_reply() -> None:
    model = ScriptedChatModel(script=["  Your parcel left the depot today.  \n", "word " * 500])
    assert text_call(model, "status?", step="synthesis") == "Your parcel left the depot today."
    assert text_call(model, "status?", step="synthesis", max_chars=40) == "word " * 8
    assert model.calls[0] == [HumanMessage("status?")]


@pytest.mark.parametrize("reply", ["", "   ", "ok."])
def test_text_call_rejects_empty_or_degenerate_replies(
    reply: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="memory.llm"):
        assert text_call(ScriptedChatModel(script=[reply]), "x", step="synthesis") is None
    assert "synthesis: LLM output invalid (reply too short" in caplog.text


def test_text_call_survives_a_failing_model(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="memory.llm"):
        assert text_call(ScriptedChatModel(script=[]), "x", step="summary") is None
        assert text_call(None, "x", step="summary") is None
    assert "summary: LLM output invalid (RuntimeError: ScriptedChatModel ran out" in caplog.text


# --- helpers -----------------------------------------------------------------------------


def test_first_json_object() -> None:
    assert first_json_object('a {"k": "}"} b {"z": 1}') == '{"k": "}"}'
    assert first_json_object('[1, 2] then {"a": {"b": 2}}') == '{"a": {"b": 2}}'
    assert first_json_object('{not json} {"ok": true}') == '{"ok": true}'
    assert first_json_object("no object {here") is None


def test_llama_messages_render_tool_turns_as_text() -> None:
    call = {"name": "get_order", "args": {"order_id": "A1"}, "id": "c1", "type": "tool_call"}
    rendered = to_llama_messages(
        [
            SystemMessage("You are Sam."),
            HumanMessage("Where is A1?"),
            AIMessage(content="", tool_calls=[call]),
            ToolMessage("shipped", tool_call_id="c1", name="get_order"),
        ]
    )
    assert [m["role"] for m in rendered] == ["system", "user", "assistant", "tool"]
    assert json.loads(rendered[2]["content"].removeprefix("Tool calls: ")) == [
        {"tool": "get_order", "args": {"order_id": "A1"}}
    ]
    assert rendered[3]["content"] == "Result of get_order: shipped"


# --- the real embedded model -------------------------------------------------------------


@pytest.fixture(scope="module")
def smollm() -> EmbeddedChatModel:
    model = make_chat_model("embedded")
    assert isinstance(model, EmbeddedChatModel)
    return model


@pytest.mark.integration
def test_embedded_model_loads_once_and_replies(smollm: EmbeddedChatModel) -> None:
    assert model_label(smollm) == "embedded:SmolLM2-135M-Instruct"
    assert context_window(smollm) == 8192  # the trained length, read from the GGUF
    again = make_chat_model("embedded")
    assert isinstance(again, EmbeddedChatModel)
    assert again._loaded is smollm._loaded
    assert again._loaded.llama.chat_format == "chat_template.default"  # the GGUF's template
    reply = smollm.invoke("What is the capital of France? Answer in one sentence.", max_tokens=24)
    assert isinstance(reply, AIMessage)
    assert str(reply.text).strip()
    assert reply.usage_metadata is not None
    assert 0 < reply.usage_metadata["output_tokens"] <= 24


@pytest.mark.integration
def test_structured_call_on_the_embedded_model_never_raises(smollm: EmbeddedChatModel) -> None:
    short = smollm.model_copy(update={"max_tokens": 64})
    result = structured_call(
        short,
        Route,
        [SystemMessage("Route requests: sam handles orders, jordan handles systems.")],
        step="routing",
    )
    assert result is None or isinstance(result, Route)


@pytest.mark.integration
def test_parallel_branches_share_the_embedded_model_safely(smollm: EmbeddedChatModel) -> None:
    # LangGraph runs Send branches in threads; llama.cpp contexts must take turns.
    prompts = ["Name a colour.", "Name a fruit.", "Name an animal."]
    with ThreadPoolExecutor(max_workers=3) as pool:
        replies = list(pool.map(lambda p: smollm.invoke(p, max_tokens=8), prompts))
    assert all(str(reply.text).strip() for reply in replies)


def test_text_call_cuts_loops_and_role_labels() -> None:
    from memory.llm_calls import text_call, without_repetition
    from tests.fakes import ScriptedChatModel

    reply = "Your refund is on its way. We will email you."
    looped = f"Customer: {reply}\nChat: {reply}"
    assert without_repetition(looped) == "Your refund is on its way. We will email you."
    assert text_call(ScriptedChatModel(script=[looped]), "x", step="s") == (
        "Your refund is on its way. We will email you."
    )
    assert without_repetition("Fine. Fine.") == "Fine."


def test_a_specialist_agent_loop_over_ollamas_tool_calling_api(
    ollama_stub: OllamaStub, tmp_path: Path
) -> None:
    """Ollama's /api/chat contract: tools sent with the request, tool_calls in the reply,
    tool results sent back as role "tool" messages."""
    from memory.llm import supports_tools
    from nodes.specialist import run_agent_loop
    from teams.support.desk import SupportDesk
    from teams.support.team import SAM
    from teams.support.tools import make_tools

    ollama_stub.messages = [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"function": {"name": "track_shipment", "arguments": {"order_id": "ORD-1004"}}}
            ],
        },
        {"role": "assistant", "content": "Order ORD-1004 is delayed with the carrier."},
    ]
    model = make_chat_model("ollama", base_url=ollama_stub.url)
    assert supports_tools(model)
    tools = make_tools(SupportDesk(tmp_path / "desk.sqlite"))
    calls, summary = run_agent_loop(
        model, SAM, [tools["track_shipment"]], [HumanMessage("Where is ORD-1004?")]
    )
    assert [(c.tool, c.args) for c in calls] == [("track_shipment", {"order_id": "ORD-1004"})]
    assert calls[0].result["shipment"]["status"] == "delayed"
    assert summary == "Order ORD-1004 is delayed with the carrier."
    chats = [body for method, path, body in ollama_stub.requests if path == "/api/chat"]
    assert (
        chats
        and chats[0] is not None
        and chats[0]["tools"][0]["function"]["name"] == ("track_shipment")
    )
    assert chats[1] is not None and chats[1]["messages"][-1]["role"] == "tool"
    assert "ORD-1004" in chats[1]["messages"][-1]["content"]
