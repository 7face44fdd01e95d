"""The model run by ONNX Runtime from a graph exported once, offline, from the local weights,
quantised for "onnx-int8", cached with its tokenizer and probe vectors that each load checks."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from pressbot.config import DEFAULT_MODEL
from pressbot.embeddings.base import threads
from pressbot.embeddings.model import ModelEmbeddings, _unloadable, resolve_model_path
from pressbot.embeddings.torch_backend import _load_sentence_transformer, _window
from pressbot.errors import ConfigError

if TYPE_CHECKING:
    import onnxruntime
    import tokenizers
    from sentence_transformers import SentenceTransformer


log = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx", "onnx-int8")


class OnnxEmbeddings(ModelEmbeddings):
    """The model run by ONNX Runtime from a cached export (see the module's docstring)."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        backend: str = "onnx-int8",
        batch_size: int = 64,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        if backend not in BACKENDS[1:]:
            raise ConfigError(f"unknown ONNX backend {backend!r}; use one of {', '.join(BACKENDS[1:])}")
        # float32 ONNX gives torch's vectors; int8 does not, so its index gets its own name
        self.name = f"{model}+{backend}" if backend == "onnx-int8" else model
        self.backend = backend
        self.batch_size = batch_size
        source = _model_dir(model)
        entry = (Path(cache_dir) if cache_dir else default_cache_dir()) / _fingerprint(source)
        int8 = backend == "onnx-int8"
        try:
            self._onnx, manifest = OnnxEncoder.load(entry, int8=int8)
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - not exported yet, or a damaged or stale entry
            self._onnx, manifest = _export_and_load(model, source, entry, int8=int8, problem=exc)
        self._prefixes(model, query_prefix, passage_prefix)
        self.dimension = int(manifest["dimension"])
        # counting sees whole texts: no truncation, no padding
        self._counter = _tokenizer(entry)
        self.max_tokens = int(manifest["window"]) - 2 - self.count_tokens(self.passage_prefix)

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def count_tokens_batch(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=False)]

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._onnx.encode(texts, self.batch_size)


def _model_dir(model: str) -> Path:
    """The local folder of a model: the bundled default, a path, or a hub name already in the
    local Hugging Face cache (nothing is downloaded)."""
    path = resolve_model_path(model)
    if Path(path).is_dir():
        return Path(path)
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(path, local_files_only=True))
    except Exception as exc:  # noqa: BLE001 - not a local model in any form
        raise _unloadable(model, exc) from None


def default_cache_dir() -> Path:
    """Where exported ONNX models are kept when no cache directory is configured."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pressbot" / "onnx"


# probe texts of different lengths: padding inside a batch must not change a vector
_PROBES = [
    "Mexico and the U.S. continue migration talks.",
    "The program of $180 million supports Guatemala, Honduras and El Salvador with jobs and training.",
    "Ok.",
]
MAX_ONNX_BATCH = 32
_EXPORT_FORMAT = "2"  # bump when the export recipe changes: old cache entries are then ignored


def _tokenizer(entry: Path) -> tokenizers.Tokenizer:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(entry / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


class OnnxEncoder:
    """A sentence-transformers model (transformer + pooling) run by ONNX Runtime.

    The graph is exported from the loaded model's own weights with torch's ONNX exporter (no
    download), optionally quantised to int8 with ONNX Runtime's dynamic quantisation (per
    channel, which keeps the vectors at ~0.994 cosine of torch's; per tensor drops to ~0.95),
    and cached under `cache_dir/<model files fingerprint>/` with the tokenizer the model uses
    and a manifest (dimension, window, torch's vectors of the probe texts) written last.
    """

    def __init__(self, session: onnxruntime.InferenceSession, tokenizer: tokenizers.Tokenizer) -> None:
        # both may be used from several threads at once: their settings never change after this
        self.session = session
        self.tokenizer = tokenizer
        self.input_names = [i.name for i in session.get_inputs()]

    @classmethod
    def load(cls, entry: Path, *, int8: bool) -> tuple[OnnxEncoder, dict[str, Any]]:
        """The cached export and its manifest; FileNotFoundError when there is none yet."""
        try:
            import onnxruntime as ort
        except ImportError:
            raise ConfigError(
                "the ONNX embedding backends need onnxruntime (pip install onnxruntime), "
                "or set PRESSBOT_EMBEDDING_BACKEND=torch"
            ) from None
        manifest = json.loads((entry / "manifest.json").read_text())  # written last: the entry is complete
        path = entry / ("model.int8.onnx" if int8 else "model.onnx")
        if not path.exists():
            raise FileNotFoundError(path)
        options = ort.SessionOptions()
        if n := threads():  # PRESSBOT_TORCH_THREADS: 1 per answering thread
            options.intra_op_num_threads = n
        # no busy-waiting between ops: the ingest's parsing thread and other processes need the cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # a memory pattern pre-plans every intermediate of a run at once: +1.07 GB of peak RSS for
        # 64 texts of 256 tokens, +0.54 GB without it, at the same speed
        options.enable_mem_pattern = False
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        tokenizer = _tokenizer(entry)
        tokenizer.enable_truncation(int(manifest["window"]))
        tokenizer.enable_padding(pad_id=int(manifest["pad_id"]), pad_token=str(manifest["pad_token"]))
        encoder = cls(session, tokenizer)
        encoder._check(np.asarray(manifest["probes"], dtype=np.float32), path, min_cosine=0.97 if int8 else 0.9999)
        return encoder, manifest

    def _check(self, want: np.ndarray, path: Path, *, min_cosine: float) -> None:
        """Compare with torch's vectors of the probes: a broken or stale export must not go unnoticed."""
        got = self.encode(_PROBES, batch_size=len(_PROBES))
        worst = float(np.min(np.sum(want * got, axis=1)))
        if worst < min_cosine:
            raise ValueError(f"{path} disagrees with the torch model (cosine {worst:.4f} < {min_cosine})")

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        # activations grow with the batch (+270 MB for 32 texts of 256 tokens) while throughput
        # stops growing well before 32 on CPU
        batch_size = min(batch_size, MAX_ONNX_BATCH)
        # longest first, so each batch pads to texts of about its own length (as sentence-transformers does)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), 0), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            enc = self.tokenizer.encode_batch([texts[i] for i in idx])
            inputs = {
                "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
            }
            vectors = self.session.run(None, {k: inputs[k] for k in self.input_names})[0]
            if out.shape[1] == 0:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[idx] = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return out


def _fingerprint(source: Path) -> str:
    """Same model files and export recipe, same cache entry, whatever path they were found at.
    Folders of other exports a hub repository may carry (onnx/, openvino/) are not read."""
    h = hashlib.sha256(_EXPORT_FORMAT.encode())
    for f in sorted(p for p in source.rglob("*") if p.is_file()):
        rel = f.relative_to(source)
        if rel.parts[0] in {"onnx", "openvino", ".cache"}:
            continue
        h.update(str(rel).encode())
        with open(f, "rb") as fh:
            h.update(hashlib.file_digest(fh, "sha256").digest())
    return h.hexdigest()[:16]


def _export_and_load(
    model: str, source: Path, entry: Path, *, int8: bool, problem: Exception
) -> tuple[OnnxEncoder, dict[str, Any]]:
    """Export the entry that failed to load (`problem`), then load it. Under a lock beside the
    entry: processes starting together (replicas, test workers) export once, the others wait and
    load what it wrote, and none deletes an entry another is writing."""
    from filelock import FileLock

    entry.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{entry}.lock"):
        if isinstance(problem, FileNotFoundError):
            try:  # exported meanwhile by the lock's previous holder?
                return OnnxEncoder.load(entry, int8=int8)
            except ConfigError:
                raise
            except Exception as exc:  # noqa: BLE001 - as in OnnxEmbeddings.__init__
                problem = exc
        if not isinstance(problem, FileNotFoundError):
            log.warning("the cached ONNX model in %s is unusable (%s); exporting it again", entry, problem)
            shutil.rmtree(entry, ignore_errors=True)
        _export_entry(model, source, entry, int8=int8)
        try:
            return OnnxEncoder.load(entry, int8=int8)
        except Exception as again:  # noqa: BLE001 - onnxruntime raises its own kinds
            raise ConfigError(
                f"the ONNX export of {model!r} in {entry} does not work ({type(again).__name__}: {again}); "
                f"delete {entry} to export it again, or set PRESSBOT_EMBEDDING_BACKEND=torch"
            ) from None


def _export_entry(model: str, source: Path, entry: Path, *, int8: bool) -> None:
    """Export the model with torch (once per model and cache directory)."""
    st = _load_sentence_transformer(model, str(source))
    entry.mkdir(parents=True, exist_ok=True)
    fp32 = entry / "model.onnx"
    if not fp32.exists():
        log.info("exporting the embedding model to ONNX under %s (once)", entry)
        _atomic(fp32, lambda tmp: _export(st, tmp))
    if int8:
        _atomic(entry / "model.int8.onnx", lambda tmp: _quantize(fp32, tmp))
    _atomic(entry / "tokenizer.json", lambda tmp: tmp.write_text(st.tokenizer.backend_tokenizer.to_str()))
    probes = st.encode(_PROBES, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    manifest = {
        "model": model,
        "dimension": int(st.get_embedding_dimension() or 0),
        "window": _window(st),
        "pad_id": int(st.tokenizer.pad_token_id or 0),
        "pad_token": str(st.tokenizer.pad_token),
        "probes": probes.tolist(),
    }
    _atomic(entry / "manifest.json", lambda tmp: tmp.write_text(json.dumps(manifest)))


def _atomic(target: Path, write: Any) -> None:
    """Write via a temporary file and rename: a killed export never leaves a half file behind."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache may be shared
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _export(model: SentenceTransformer, target: Path) -> None:
    import torch

    transformer = model[0]
    hf = getattr(transformer, "model", None) or getattr(transformer, "auto_model", None)
    sample = model.tokenizer(_PROBES[:2], padding=True, return_tensors="pt")
    names = list(sample.keys())

    class Pipeline(torch.nn.Module):
        """The model's own modules (transformer, pooling...) with plain tensors in and out."""

        def __init__(self) -> None:
            super().__init__()
            self.st = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            out = self.st(dict(zip(names, inputs, strict=True)))
            return cast(torch.Tensor, out["sentence_embedding"])

    previous = getattr(getattr(hf, "config", None), "_attn_implementation", None)
    if hf is not None and hasattr(hf, "set_attn_implementation"):
        hf.set_attn_implementation("eager")  # plain matmul/softmax: a graph ONNX Runtime can fuse
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # the TorchScript exporter warns about its own deprecation and about traced shapes;
            # the export is checked against torch after loading instead
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Pipeline().eval(),
                tuple(sample[k] for k in names),
                str(target),
                input_names=names,
                output_names=["sentence_embedding"],
                dynamic_axes={**{k: {0: "batch", 1: "tokens"} for k in names}, "sentence_embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,  # the dynamo exporter needs onnxscript; this one needs nothing more
            )
    except Exception as exc:  # the exporter raises many kinds for unsupported architectures
        raise ConfigError(
            f"cannot export the embedding model to ONNX ({type(exc).__name__}: {exc}); "
            "set PRESSBOT_EMBEDDING_BACKEND=torch"
        ) from None
    finally:
        if previous and hf is not None and hasattr(hf, "set_attn_implementation"):
            hf.set_attn_implementation(previous)


def _quantize(source: Path, target: Path) -> None:
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        raise ConfigError(
            "the onnx-int8 embedding backend needs the onnx package (pip install onnx), "
            "or set PRESSBOT_EMBEDDING_BACKEND=onnx"
        ) from None
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        # DefaultTensorType: the exported graph has ops whose types shape inference cannot name
        extra_options={"MatMulConstBOnly": True, "DefaultTensorType": 1},  # 1 = float32
    )
