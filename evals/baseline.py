"""The pipeline most users build first, measured beside pressbot on the same archive.

LangChain's RecursiveCharacterTextSplitter(1000, 200), the same embedding model, plain
Chroma top-k, and the top passage as the answer (it never abstains). Built from the
releases stored in pressbot's own index, so both see the same texts; cached in a separate
collection keyed by the index fingerprint.
"""

from __future__ import annotations

import logging
import time

from chromadb.api.models.Collection import Collection
from langchain_text_splitters import RecursiveCharacterTextSplitter

from pressbot.index import Index
from pressbot.types import Answer, Citation, Passage

log = logging.getLogger(__name__)


class Baseline:
    def __init__(self, index: Index) -> None:
        self.index = index
        self.collection = self._build()

    def _build(self) -> Collection:
        name = f"{self.index.name}__baseline"
        fp = self.index.fingerprint()
        client = self.index.client
        try:
            col = client.get_collection(name, embedding_function=None)
            if (col.metadata or {}).get("fingerprint") == fp:
                return col
            client.delete_collection(name)
        except Exception:  # absent: build it
            log.debug("no baseline collection yet")
        col = client.create_collection(
            name,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"fingerprint": "building"},
        )
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        t0 = time.perf_counter()
        n = 0
        for rec in self.index.iter_releases(with_text=True):
            pieces = splitter.split_text(rec.text or "")
            if not pieces:
                continue
            meta = {
                "release_id": rec.id,
                "title": rec.title,
                "url": rec.url or "",
                "date": rec.date.isoformat() if rec.date else "",
            }
            col.add(
                ids=[f"{rec.id}:{i}" for i in range(len(pieces))],
                documents=pieces,
                metadatas=[meta] * len(pieces),
                embeddings=self.index.embedder.encode_passages(pieces),
            )
            n += len(pieces)
        col.modify(metadata={"fingerprint": fp})
        log.info("baseline index: %d chunks in %.1f s", n, time.perf_counter() - t0)
        return col

    def answer(self, question: str, k: int) -> tuple[Answer, list[Passage]]:
        import datetime as dt

        t0 = time.perf_counter()
        res = self.collection.query(
            query_embeddings=[self.index.embedder.encode_query(question)],
            n_results=k,
            include=["documents", "metadatas", "distances"],
        )
        passages = [
            Passage(
                chunk_id=cid,
                release_id=m["release_id"],
                text=doc,
                title=m["title"],
                url=m["url"] or None,
                date=dt.date.fromisoformat(m["date"]) if m["date"] else None,
                score=1 - d,
            )
            for cid, doc, m, d in zip(
                res["ids"][0],
                res["documents"][0],
                res["metadatas"][0],  # type: ignore[index]
                res["distances"][0],
                strict=True,
            )  # type: ignore[index]
        ]
        top = passages[0] if passages else None
        cites = (
            [Citation(n=1, release_id=top.release_id, title=top.title, date=top.date, url=top.url, quote=top.text)]
            if top
            else []
        )
        ans = Answer(
            question=question,
            answer=(top.text + " [1]") if top else "",
            abstained=top is None,
            citations=cites,
            timings_ms={"total": (time.perf_counter() - t0) * 1e3},
        )
        return ans, passages
