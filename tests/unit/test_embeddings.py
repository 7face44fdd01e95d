"""The ONNX backends: exported once from the bundled weights (with torch), then loaded without
torch or sentence-transformers, tokenizing exactly as the model does, checked at each load."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pressbot.config import Settings
from pressbot.embeddings import OnnxEmbeddings, SentenceTransformerEmbeddings, build_embeddings
from pressbot.errors import ConfigError

TEXTS = [
    "Mexico will invest $180 million in Guatemala, Honduras and El Salvador.",
    "Se invertirán 180 millones de dólares en Centroamérica: ñandú, acción, pingüino.",
    "Ok.",
    "",
    "word " * 600,  # beyond the model's window: truncated when encoding, counted whole
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="module")
def int8(cache: Path) -> OnnxEmbeddings:
    return OnnxEmbeddings(cache_dir=cache)  # exports (torch) into the empty cache: ~10 s, once


@pytest.fixture(scope="module")
def torch_model() -> SentenceTransformerEmbeddings:
    return SentenceTransformerEmbeddings()


def test_int8_vectors_stay_close_to_torch_and_float32_onnx_equals_it(int8, torch_model, cache) -> None:
    want = torch_model.encode_passages(TEXTS)
    cosines = np.sum(int8.encode_passages(TEXTS) * want, axis=1)
    assert cosines.min() > 0.95 and cosines.mean() > 0.975  # "Ok." alone: 0.961
    fp32 = OnnxEmbeddings(backend="onnx", cache_dir=cache)
    assert np.allclose(fp32.encode_passages(TEXTS), want, atol=1e-4)
    assert (int8.name, fp32.name) == ("all-MiniLM-L6-v2+onnx-int8", "all-MiniLM-L6-v2")
    assert int8.dimension == fp32.dimension == torch_model.dimension == 384


def test_tokens_are_counted_as_the_models_own_tokenizer_counts_them(int8, torch_model) -> None:
    assert int8.count_tokens_batch(TEXTS) == torch_model.count_tokens_batch(TEXTS)
    assert [int8.count_tokens(t) for t in TEXTS] == [torch_model.count_tokens(t) for t in TEXTS]
    assert int8.count_tokens(TEXTS[-1]) == 600  # counting never truncates
    assert int8.max_tokens == torch_model.max_tokens == 254


def test_a_cached_export_loads_without_torch(int8, cache) -> None:
    code = (
        "import sys, json; from pressbot.embeddings import OnnxEmbeddings;"
        f"e = OnnxEmbeddings(cache_dir={str(cache)!r});"
        "print(json.dumps([e.encode_query('Which countries receive the program?').tolist(),"
        " sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules)]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    vector, heavy = json.loads(out.stdout)
    assert heavy == []
    assert np.allclose(vector, int8.encode_query("Which countries receive the program?"), atol=1e-6)


@pytest.mark.parametrize("damage", ["model", "probes"])
def test_a_damaged_export_is_exported_again(int8, cache, damage, caplog) -> None:
    (entry,) = [p for p in cache.iterdir() if p.is_dir()]
    if damage == "model":
        (entry / "model.int8.onnx").write_bytes(b"not a model")
    else:  # the graph no longer gives the vectors torch gave when it was exported
        manifest = json.loads((entry / "manifest.json").read_text())
        manifest["probes"] = (-np.asarray(manifest["probes"])).tolist()
        (entry / "manifest.json").write_text(json.dumps(manifest))
    with caplog.at_level(logging.WARNING, logger="pressbot.embeddings"):
        again = OnnxEmbeddings(cache_dir=cache)
    assert "exporting it again" in caplog.text
    assert np.allclose(again.encode_passages(TEXTS), int8.encode_passages(TEXTS), atol=1e-6)


def test_settings_choose_the_backend(cache) -> None:
    onnx = build_embeddings(Settings(embedding_cache_dir=cache))
    assert isinstance(onnx, OnnxEmbeddings) and onnx.backend == "onnx-int8"
    with pytest.raises(ConfigError, match="unknown ONNX backend"):
        OnnxEmbeddings(backend="tensorrt", cache_dir=cache)
    with pytest.raises(ConfigError, match="PRESSBOT_EMBEDDING_MODEL"):
        OnnxEmbeddings("no-such-model-anywhere", cache_dir=cache)


def test_a_process_exporting_meanwhile_is_waited_for_and_not_exported_again(int8, cache, tmp_path,
                                                                             monkeypatch) -> None:
    """Two processes start on an empty cache (replicas, test workers): the one that holds the
    export lock writes the entry; the other waits for the lock and loads that entry."""
    import threading

    from filelock import FileLock

    import pressbot.embeddings.onnx_backend as onnx_backend

    (done,) = [p for p in cache.iterdir() if p.is_dir()]
    entry = tmp_path / done.name
    exports: list[Path] = []
    monkeypatch.setattr(onnx_backend, "_export_entry", lambda model, source, where, **kw: exports.append(where))
    got: list[OnnxEmbeddings] = []
    with FileLock(f"{entry}.lock"):  # "the other process", mid-export
        waiter = threading.Thread(target=lambda: got.append(OnnxEmbeddings(cache_dir=tmp_path)))
        waiter.start()
        waiter.join(1.0)
        assert waiter.is_alive()  # it waits for the lock: no second export into the same entry
        shutil.copytree(done, entry)  # the other process's export, complete
    waiter.join(60)
    assert not waiter.is_alive() and exports == []
    assert np.allclose(got[0].encode_passages(TEXTS), int8.encode_passages(TEXTS), atol=1e-6)
