"""Every prompt comes from nodes/prompts.py, and the memory layer can use it."""

from __future__ import annotations

import subprocess
import sys

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from memory.extraction import ExtractionContext
from memory.extraction.llm_extractor import LLMExtractor
from memory.sessions import SessionPolicy, compact
from nodes.prompts import extraction_prompt, session_summary_prompt
from tests.fakes import ScriptedChatModel


def _texts(messages: list) -> list[tuple[str, str]]:
    return [(m.type, m.text) for m in messages]


def test_extraction_sends_the_extraction_prompt() -> None:
    model = ScriptedChatModel(script=lambda messages: '{"memories": []}')
    text = "I prefer email."
    LLMExtractor(model).extract(text, ExtractionContext(source_agent="alex"))
    sent = model.calls[0]
    expected = extraction_prompt(text)
    assert _texts(sent[: len(expected)]) == _texts(expected)


def test_the_session_summary_sends_the_summary_prompt() -> None:
    model = ScriptedChatModel(script=lambda messages: "The user prefers email for order 77.")
    turns = []
    for i in range(60):
        turns += [HumanMessage(f"I prefer email for order 77, note {i}."), AIMessage("Noted.")]
    policy = SessionPolicy(budget_tokens=1000, summary_ratio=0.1)
    result = compact([SystemMessage("You are Alex."), *turns], policy, llm=model)
    assert result.summary and model.calls
    sent = model.calls[0]
    excerpt = sent[-1].text.split("Conversation excerpt to fold in:\n", 1)[1]
    words = int(sent[0].text.split("at most ")[1].split(" words")[0])
    assert _texts(sent) == _texts(session_summary_prompt(excerpt, None, words))


def test_the_prompts_module_imports_no_node_and_the_memory_layer_no_prompt() -> None:
    """The memory layer imports the prompts module lazily, and that module pulls in only
    LangChain's message classes: no cycle, and no graph code behind memory's back."""
    code = (
        "import sys, memory.extraction, memory.sessions, memory.manager\n"
        "assert not [m for m in sys.modules if m.startswith('nodes')], 'memory imported nodes'\n"
        "import nodes.prompts\n"
        "assert set(m for m in sys.modules if m.startswith('nodes')) == "
        "{'nodes', 'nodes.prompts'}, sorted(m for m in sys.modules if m.startswith('nodes'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
