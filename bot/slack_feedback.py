"""Feedback on Slack answers, in SQLite: which answers helped and which did not.

Every answer posted is recorded (`answers`) and its feedback buttons carry the answer's id;
a click adds a row to `feedback` with the question, the answer, its citations, the user,
the verdict and the time. The "not helpful" ones can be exported as golden-set candidates:
JSON Lines in the golden format of docs/design.md, with empty `must_include`/`sources` for a
curator to fill in (the bot's answer and citations are kept alongside, under keys the
golden loader ignores).

The database is `settings.feedback_db`, else `<data_dir>/feedback.sqlite3`. One connection
per operation keeps it safe to use from Bolt's listener threads.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, TextIO

from pressbot.config import Settings
from pressbot.errors import ConfigError
from pressbot.types import Answer

VERDICTS = ("helpful", "not_helpful")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    citations TEXT NOT NULL,          -- JSON list of Citation
    filters TEXT NOT NULL,            -- JSON object, as in the Answer
    channel TEXT,
    thread_ts TEXT,
    asked_by TEXT,
    ts TEXT NOT NULL                  -- ISO 8601, UTC
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    user TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('helpful', 'not_helpful')),
    ts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_answer ON feedback (answer_id);
"""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def default_path(settings: Settings) -> Path:
    return settings.feedback_db or settings.data_dir / "feedback.sqlite3"


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"cannot open the feedback database {self.path}: {exc}; "
                "set PRESSBOT_FEEDBACK_DB to a writable file path"
            ) from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedbackStore:
        return cls(default_path(settings))

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.row_factory = sqlite3.Row
            with db:  # one transaction
                yield db

    def record_answer(
        self, ans: Answer, *, channel: str | None = None, thread_ts: str | None = None, asked_by: str | None = None
    ) -> str:
        """Remember a posted answer; returns the id its feedback buttons carry."""
        answer_id = uuid.uuid4().hex[:16]
        citations = json.dumps([c.model_dump(mode="json") for c in ans.citations])
        with self._connect() as db:
            db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (answer_id, ans.question, ans.answer, int(ans.abstained), citations, json.dumps(ans.filters),
                 channel, thread_ts, asked_by, _now()),
            )
        return answer_id

    def add_feedback(self, answer_id: str, *, user: str, verdict: str, answer_text: str = "") -> dict[str, Any]:
        """Store one click. An answer this store never saw (another replica, a wiped database)
        is stored with the message text Slack sent back and an empty question."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict {verdict!r} is not one of {VERDICTS}")
        with self._connect() as db:
            row = db.execute("SELECT question, answer, citations FROM answers WHERE id = ?", (answer_id,)).fetchone()
            question, answer, citations = (row[0], row[1], row[2]) if row else ("", answer_text, "[]")
            record = {"answer_id": answer_id, "question": question, "answer": answer,
                      "citations": citations, "user": user, "verdict": verdict, "ts": _now()}
            db.execute(
                "INSERT INTO feedback (answer_id, question, answer, citations, user, verdict, ts) "
                "VALUES (:answer_id, :question, :answer, :citations, :user, :verdict, :ts)",
                record,
            )
        return {**record, "citations": json.loads(citations), "known_answer": row is not None}

    def feedback(self) -> list[dict[str, Any]]:
        """All clicks, oldest first."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM feedback ORDER BY id").fetchall()
        return [{**dict(r), "citations": json.loads(r["citations"])} for r in rows]

    def golden_candidates(self) -> list[dict[str, Any]]:
        """One golden-set candidate per answer that someone last judged "not helpful"."""
        with self._connect() as db:
            rows = db.execute(
                """
                WITH latest AS (   -- each user's last verdict on each answer
                    SELECT f.* FROM feedback f
                    WHERE f.id = (SELECT max(g.id) FROM feedback g WHERE g.answer_id = f.answer_id AND g.user = f.user)
                )
                SELECT l.answer_id, l.question, l.answer, l.citations, min(l.ts) AS first_ts, max(l.ts) AS last_ts,
                       group_concat(l.user) AS users, count(*) AS votes, a.abstained, a.filters, a.ts AS asked_ts
                FROM latest l LEFT JOIN answers a ON a.id = l.answer_id
                WHERE l.verdict = 'not_helpful' AND l.question != ''
                GROUP BY l.answer_id
                ORDER BY min(l.id)
                """
            ).fetchall()
        return [_candidate(r) for r in rows]

    def export_golden(self, out: TextIO) -> int:
        """Write the candidates as JSON Lines; returns how many."""
        candidates = self.golden_candidates()
        for item in candidates:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
        return len(candidates)


def _candidate(r: sqlite3.Row) -> dict[str, Any]:
    filters = json.loads(r["filters"]) if r["filters"] else {}
    as_of = filters.get("as_of") or (r["asked_ts"] or r["first_ts"])[:10]
    return {
        # the golden format: a curator writes the reference answer, the facts and the sources
        "id": f"feedback-{r['answer_id']}",
        "question": r["question"],
        "answer": "",
        "must_include": [],
        "sources": [],
        "type": "factoid",
        "as_of": as_of,  # relative words in the question ("last week") meant this date
        # context for the curator (unknown keys are ignored by the golden loader)
        "needs_review": True,
        "bot_answer": r["answer"],
        "bot_abstained": bool(r["abstained"]) if r["abstained"] is not None else None,
        "bot_citations": [
            {k: c.get(k) for k in ("n", "release_id", "title", "date", "url")} for c in json.loads(r["citations"])
        ],
        "feedback": {"not_helpful_votes": r["votes"], "users": sorted(set(r["users"].split(","))),
                     "last_ts": r["last_ts"]},
    }
