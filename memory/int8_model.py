"""The embedder's int8 model: made once from the packaged weights, cached on disk, verified.

The packaged MiniLM ONNX stores its weights as int8 expanded by ``Cast``/``Mul`` nodes, and
onnxruntime folds those back into fp32 constants when it loads the model: every query then
runs fp32 matrix products. A per-channel *dynamically* quantized export (onnxruntime's own
``quantize_dynamic``: int8 weights with one scale per output channel, activations quantized
per call) runs the products in int8, several times faster on a CPU.

No hub download: the int8 model is made on first use from the packaged model, with
onnxruntime's quantization tools, into a cache directory (env ``A2A_MODEL_CACHE``, else
``$XDG_CACHE_HOME/a2a-memory``, else ``~/.cache/a2a-memory``). Its file name carries the
recipe version and a digest of the source model's path, size and time, so a new package or
recipe makes a new file. A sidecar JSON records the made file (size, time and content
digest) and how closely its vectors agree with the reference model's, measured before the
file is first used; a file that does not match its sidecar is made again, never trusted.

Beside it, onnxruntime's graph-optimized copy of the int8 model (`optimized_session`): the
graph optimizations run once, not at every load (every CLI command loads the model).

Nothing loaded here executes code: an ONNX file is a graph of standard operators.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from onnxruntime import InferenceSession, SessionOptions

logger = logging.getLogger(__name__)

ENV_MODEL_CACHE: Final = "A2A_MODEL_CACHE"
RECIPE_VERSION: Final = 1
"""Bumped whenever the quantization recipe changes, so old cached files are not reused."""
MIN_MEAN_COSINE: Final = 0.985
MIN_COSINE: Final = 0.95
"""How closely the int8 vectors must agree with the reference's on the probe texts
(measured: mean 0.993, min 0.978 on the two-letter "ok", 0.989 or more on every sentence);
a model that agrees less is refused, never used."""


@dataclass(frozen=True)
class Agreement:
    """Cosine similarity of the int8 model's vectors to the reference's, over probe texts."""

    mean_cosine: float
    min_cosine: float
    probes: int

    @property
    def acceptable(self) -> bool:
        return self.mean_cosine >= MIN_MEAN_COSINE and self.min_cosine >= MIN_COSINE


class Int8ModelError(RuntimeError):
    """The int8 model could not be made, or its vectors disagree with the reference."""


def model_cache_dir() -> Path:
    configured = os.environ.get(ENV_MODEL_CACHE, "").strip()
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "a2a-memory"


def _digest(path: Path) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def _identity(path: Path) -> str:
    """Size and modification time: what tells a file apart from a replaced one, read
    without hashing tens of megabytes on every start (the embedder loads in every CLI run)."""
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def int8_model_path(source: Path, cache_dir: Path) -> Path:
    """Where the int8 model made from `source` is cached."""
    tag = hashlib.blake2b(
        f"{source.resolve()}|{_identity(source)}".encode(), digest_size=8
    ).hexdigest()
    return cache_dir / f"minilm-dynint8-r{RECIPE_VERSION}-{tag}.onnx"


def optimized_model_path(model: Path, runtime_version: str) -> Path:
    """Where onnxruntime `runtime_version`'s graph-optimized copy of `model` is cached:
    beside it, named after the model file's identity and the runtime's version, so a new
    model or another onnxruntime makes a new copy instead of reusing a stale one."""
    tag = hashlib.blake2b(
        f"{model.name}|{_identity(model)}|{runtime_version}".encode(), digest_size=8
    ).hexdigest()
    return model.with_name(f"{model.stem}-optimized-{tag}.onnx")


def optimized_session(model: Path, options: Callable[[], SessionOptions]) -> InferenceSession:
    """A session of `model` loaded from a copy onnxruntime optimized once, cached beside it.

    Optimizing the graph (constant folding, attention, GELU and layer-norm fusions) takes
    onnxruntime tens of milliseconds at every load, which every CLI command pays. The
    first load saves the optimized graph; later loads take it as is, with optimization
    off. The copy is made at the EXTENDED level: the ALL level adds layouts specific to
    the CPU that made it (for convolutions, which this model has none of), wrong on
    another machine sharing the cache. Same operators, same weights: the same vectors.
    `options` makes fresh session options (threads, spinning) for each attempt.
    """
    import onnxruntime as ort

    providers = ["CPUExecutionProvider"]
    copy = optimized_model_path(model, ort.__version__)
    if copy.is_file():
        cached = options()
        cached.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            return ort.InferenceSession(str(copy), cached, providers=providers)
        except Exception as exc:  # onnxruntime's own error types: a damaged copy
            logger.warning("optimized model %s is unreadable (%s); making it again", copy, exc)
    making = options()
    making.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    scratch = copy.with_name(f".{copy.name}.{os.getpid()}.tmp")
    making.optimized_model_filepath = str(scratch)
    try:
        session = ort.InferenceSession(str(model), making, providers=providers)
    except Exception as exc:  # the copy could not be written (a read-only cache)
        logger.info("optimized model %s not cached (%s)", copy, exc)
        scratch.unlink(missing_ok=True)
        plain = options()
        plain.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        return ort.InferenceSession(str(model), plain, providers=providers)
    try:
        os.replace(scratch, copy)  # whole or not at all, whoever else is making it
    except OSError as exc:
        logger.info("optimized model %s not cached (%s)", copy, exc)
        scratch.unlink(missing_ok=True)
    return session


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def verified_int8_model(
    source: Path, cache_dir: Path, measure: Callable[[Path], Agreement]
) -> tuple[Path, Agreement]:
    """The cached, verified int8 model of `source`; made and verified first when missing.

    `measure(path)` embeds probe texts with the model at `path` and with the reference,
    and returns their agreement. Raises Int8ModelError when the made model disagrees.
    """
    target = int8_model_path(source, cache_dir)
    recorded = _read_sidecar(target)
    if recorded is not None:
        return target, recorded
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".int8-") as scratch:
        candidate = Path(scratch) / "model.onnx"
        quantize_per_channel(source, candidate, Path(scratch))
        agreement = measure(candidate)
        if not agreement.acceptable:
            raise Int8ModelError(
                f"the int8 model made from {source} disagrees with it (cosine mean "
                f"{agreement.mean_cosine:.4f}, min {agreement.min_cosine:.4f}; needs "
                f">= {MIN_MEAN_COSINE} and >= {MIN_COSINE}): use "
                "MiniLMEmbeddings(precision='reference')"
            )
        # Model first, then its sidecar: a reader that sees the sidecar sees the model.
        os.replace(candidate, target)
        record = {"file": _identity(target), "digest": _digest(target), **asdict(agreement)}
        sidecar_tmp = Path(scratch) / "sidecar.json"
        sidecar_tmp.write_text(json.dumps(record, indent=2) + "\n")
        os.replace(sidecar_tmp, _sidecar(target))
    logger.info(
        "made the int8 embedding model %s (cosine to reference: mean %.4f, min %.4f)",
        target,
        agreement.mean_cosine,
        agreement.min_cosine,
    )
    return target, agreement


def _read_sidecar(target: Path) -> Agreement | None:
    """The recorded agreement when `target` is exactly the file that was verified."""
    sidecar = _sidecar(target)
    if not (target.is_file() and sidecar.is_file()):
        return None
    try:
        record: dict[str, Any] = json.loads(sidecar.read_text())
        agreement = Agreement(
            mean_cosine=float(record["mean_cosine"]),
            min_cosine=float(record["min_cosine"]),
            probes=int(record["probes"]),
        )
        identity = str(record["file"])
    except (OSError, ValueError, KeyError, TypeError):
        logger.warning("int8 model record %s is unreadable; making the model again", sidecar)
        return None
    if identity != _identity(target) or not agreement.acceptable:
        logger.warning("cached int8 model %s does not match its record; making it again", target)
        return None
    return agreement


def quantize_per_channel(source: Path, target: Path, scratch: Path) -> None:
    """Per-channel dynamic int8 quantization of `source`'s weights, written to `target`.

    The packaged weights are int8 already, expanded by Cast and Mul nodes at run time:
    onnxruntime's basic graph optimisation folds those constants into fp32 weights (what it
    does at every load anyway); the folded graph is then quantized per output channel.
    """
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folded = scratch / "folded.onnx"
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    # quantize_dynamic warns on the root logger to run its pre-processing, which is meant
    # for static quantization of image models; the agreement check is what matters here.
    root = logging.getLogger()
    quiet = _DropQuantizationAdvice()
    root.addFilter(quiet)
    try:
        quantize_dynamic(
            folded,
            target,
            per_channel=True,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gather"],
        )
    finally:
        root.removeFilter(quiet)


class _DropQuantizationAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()
