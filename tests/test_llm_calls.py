"""The chat model seam: factory choice and errors, and the validated LLM calls."""

from __future__ import annotations

import http.server
import logging
import threading
from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from memory.llm import first_json_object, make_chat_model, structured_call, text_call
from tests.fakes import ScriptedChatModel


class Route(BaseModel):
    specialists: list[str]
    reason: str = ""


@pytest.fixture
def ollama_stub() -> Iterator[str]:
    """A local HTTP server answering /api/tags as Ollama does (no generation)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200 if self.path == "/api/tags" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"models": []}')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_auto_picks_ollama_when_a_server_answers(ollama_stub: str) -> None:
    model = make_chat_model("auto", base_url=ollama_stub)
    assert type(model).__name__ == "ChatOllama"
    assert model.model == "phi4-mini"  # type: ignore[attr-defined]
    assert model.base_url == ollama_stub  # type: ignore[attr-defined]
    assert model.num_ctx == 128_000  # type: ignore[attr-defined]


def test_explicit_ollama_without_server_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="no Ollama server answers"):
        make_chat_model("ollama", base_url="http://127.0.0.1:1")


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="ollama, embedded or auto"):
        make_chat_model("gpt")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "reply",
    [
        '{"specialists": ["sam"], "reason": "orders"}',
        'Sure! ```json\n{"specialists": ["sam"], "reason": "orders"}\n``` hope it helps',
        'I think {"specialists": ["sam"], "reason": "a {nested} brace"} is right',
    ],
)
def test_structured_call_finds_and_validates_json(reply: str) -> None:
    result = structured_call(ScriptedChatModel(script=[reply]), Route, "route", step="routing")
    assert result is not None and result.specialists == ["sam"]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [("no json here", "no JSON"), ('{"reason": "x"}', "invalid"), ("{broken", "no JSON")],
)
def test_structured_call_failures_return_none_and_log(
    reply: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert structured_call(ScriptedChatModel(script=[reply]), Route, "x", step="routing") is None
    assert "routing: LLM output invalid" in caplog.text


def test_model_exceptions_never_escape(caplog: pytest.LogCaptureFixture) -> None:
    def boom(messages: list) -> str:
        raise ConnectionError("server went away")

    with caplog.at_level(logging.WARNING):
        assert structured_call(ScriptedChatModel(script=boom), Route, "x", step="routing") is None
        assert text_call(ScriptedChatModel(script=boom), "x", step="synthesis") is None
    assert "server went away" in caplog.text


def test_text_call_rejects_empty_and_bounds_length() -> None:
    assert text_call(ScriptedChatModel(script=["  ok "]), "x", step="s") is None
    long = "word " * 1000
    assert len(text_call(ScriptedChatModel(script=[long]), "x", step="s", max_chars=50) or "") == 50
    assert text_call(None, "x", step="s") is None


def test_first_json_object() -> None:
    assert first_json_object('a {"k": "}"} b {"z": 1}') == '{"k": "}"}'
    assert first_json_object("none") is None


@pytest.mark.integration
def test_embedded_model_answers_and_never_raises() -> None:
    model = make_chat_model("embedded")
    assert text_call(model, "Say hello in five words.", step="probe") is not None
    result = structured_call(model, Route, "Pick specialists for a late parcel.", step="probe")
    assert result is None or isinstance(result, Route)
