"""Checkpoints are data: reading one back never imports and calls a class the file names.

LangGraph's serializer rebuilds objects from (module, class, args) triples stored in the
checkpoint; by default it allows any class (with a warning). The project's savers read
with a strict allowlist (memory/backends.py, `checkpoint_serde`).
"""

from __future__ import annotations

from pathlib import Path

import ormsgpack
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.serde.jsonplus import EXT_CONSTRUCTOR_SINGLE_ARG, JsonPlusSerializer

from memory.backends import checkpoint_serde, open_checkpointer
from nodes.state import CHECKPOINT_TYPES, Finding


def _tampered(target: Path) -> tuple[str, bytes]:
    """A checkpoint value that, read by a permissive serializer, runs a shell command."""
    call = ormsgpack.packb(("os", "system", f"touch {target}"))
    return "msgpack", ormsgpack.packb(ormsgpack.Ext(EXT_CONSTRUCTOR_SINGLE_ARG, call))


def test_a_tampered_checkpoint_runs_no_code(tmp_path: Path) -> None:
    strict_target, open_target = tmp_path / "strict", tmp_path / "permissive"
    value = checkpoint_serde().loads_typed(_tampered(strict_target))
    assert value == f"touch {strict_target}"  # the raw data, never the call
    assert not strict_target.exists()
    # the same bytes through LangGraph's permissive default do run: the test can fail
    JsonPlusSerializer(allowed_msgpack_modules=True).loads_typed(_tampered(open_target))
    assert open_target.exists()


def test_state_classes_and_messages_read_back_as_themselves(tmp_path: Path) -> None:
    serde = checkpoint_serde()
    finding = Finding(
        agent="sam",
        summary="ORD-1 is late",
        facts=["ORD-1 is late"],
        started=1.0,
        finished=2.0,
        task_message_id="t-1",
    )
    message = HumanMessage("hello", id="m-1")
    assert serde.loads_typed(serde.dumps_typed(finding)) == finding
    assert serde.loads_typed(serde.dumps_typed([message])) == [message]
    assert {cls.__module__ for cls in CHECKPOINT_TYPES} == {"nodes.state"}
    with open_checkpointer(tmp_path) as saver:
        assert isinstance(saver.serde, JsonPlusSerializer)
        assert saver.serde.loads_typed(_tampered(tmp_path / "x")) == f"touch {tmp_path / 'x'}"
    assert not (tmp_path / "x").exists()
