"""`pressbot ingest` and `pressbot stats` through the command line: bad input is skipped with its
reason while the run goes on and what is stored stays intact; --strict, --json, --rebuild;
user errors are one clean line and exit code 2, never a traceback."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from bot.cli import _settings, cli
from evals.hash_embeddings import HashEmbeddings
from ingest.cli import register
from pressbot.runtime import open_index
from tests.support import settings_for

ROOT = Path(__file__).resolve().parents[2]
PRESSBOT = str(Path(sys.executable).with_name("pressbot"))
HASH = {"PRESSBOT_EMBEDDING_MODEL": "hash-64", "PRESSBOT_FETCH_RETRIES": "0", "PRESSBOT_MAX_FILE_MB": "0.05"}

register(cli, _settings)  # what bot.cli.main() does before running the group


def run(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """The `pressbot` group in-process (same code as the console script, minus the start-up)."""
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], env={**HASH, **(env or {})})


def run_process(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSBOT_")}
    return subprocess.run([PRESSBOT, "--data-dir", str(data_dir), *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**env, **HASH, "HF_HUB_OFFLINE": "1"})


def assert_user_error(code: int, stderr: str, *needles: str) -> None:
    assert code == 2, stderr
    assert stderr.startswith("error: "), stderr
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in stderr


GOOD = {
    "a.md": "---\ntitle: Border talks resume\ndate: 2024-01-22\nsource_url: https://example.org/a\n---\n\n"
            "Mexico and the United States resumed talks on migration. The delegations met in Washington.\n",
    "b.txt": "Aid to Haiti\n\nThe United States will provide $15 million in humanitarian assistance to Haiti. "
             "The aid includes food and shelter.\n",
    "sub/c.md": "---\ntitle: Climate summit\ndate: 2021-04-22\n---\n\nForty leaders joined the Leaders Summit "
                "on Climate. New targets cut emissions by half by 2030.\n",
    "export.jsonl": json.dumps({"title": "Ukraine support", "text": "The Secretary announced $1 billion in "
                                "security assistance for Ukraine.", "url": "https://example.org/ukraine",
                                "date": "2022-06-15"}) + "\n",
}


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def add_bad_files(root: Path) -> dict[str, int]:
    """Every kind of bad input; returns the skips expected by reason."""
    rng = random.Random(3)
    write(root, {
        "bad/image.txt": b"GIF89a\x00\x01\x00\x00" + bytes(200),
        "bad/empty.md": b"",
        "bad/blank.txt": "  \n\n\t \n",
        "bad/latin.txt": bytes(rng.randrange(128, 256) for _ in range(3000)),
        "bad/huge.md": "---\ntitle: Huge\n---\n\n" + "Too long to read. " * 6000,
        "bad/broken.pdf": b"%PDF-1.7\n this is not really a PDF \n%%EOF\n",
        "bad/lines.jsonl": "\n".join([
            json.dumps({"title": "Good line", "text": "A well-formed record about visas and asylum policy."}),
            '{"title": "cut short", "text": "no closing brace',
            "[1, 2, 3]",
            "",
        ]),
    })
    (root / "bad" / "link.md").symlink_to(root / "bad" / "missing-target.md")  # a broken link
    os.mkfifo(root / "bad" / "pipe.txt")  # reading it would block forever
    # a good file that went bad after it was stored
    (root / "b.txt").write_bytes(b"\x00\x01binary now\x00")
    return {"binary": 2, "empty": 2, "undecodable": 1, "oversized": 1, "unreadable": 3, "malformed_json": 2}


def stored(data_dir: Path) -> dict[str, tuple[str, int, str | None]]:
    index = open_index(settings_for(data_dir.parent, data_dir=data_dir), embedder=HashEmbeddings(64))
    return {r.id: (r.content_hash, r.n_chunks, r.text) for r in index.iter_releases(with_text=True)}


def test_bad_input_is_skipped_with_reasons_and_stored_releases_stay_intact(tmp_path: Path) -> None:
    archive, data = tmp_path / "archive", tmp_path / "data"
    write(archive, GOOD)  # type: ignore[arg-type]
    first = run(data, "ingest", str(archive), "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["added"] == 4
    before = stored(data)
    assert set(before) == {"https://example.org/a", "b.txt", "sub/c.md", "https://example.org/ukraine"}

    expected = add_bad_files(archive)
    second = run(data, "ingest", str(archive), "--prune")
    assert second.exit_code == 0, second.output
    out = second.stdout
    assert "1 added, 0 updated, 3 unchanged, 0 pruned" in out  # the good JSON line is the one added
    for reason, n in expected.items():
        assert f"skipped {n} x {reason}" in out
    locations = ["b.txt: binary", "bad/blank.txt: empty", "bad/broken.pdf: unreadable", "bad/empty.md: empty",
                 "bad/huge.md: oversized", "bad/image.txt: binary", "bad/latin.txt: undecodable",
                 "bad/lines.jsonl#2: malformed_json", "bad/lines.jsonl#3: malformed_json", "bad/link.md: unreadable",
                 "bad/pipe.txt: unreadable"]
    shown = [loc for loc in locations if loc in out]
    assert len(shown) == 10 and "... and 1 more" in out  # the first ten, each with its reason
    after = stored(data)
    # nothing stored was lost or changed, even b.txt whose file is now binary (and --prune was on)
    assert {rid: after[rid] for rid in before} == before
    assert len(after) == 5

    strict = run(data, "ingest", str(archive), "--strict", "--json")
    assert strict.exit_code == 1
    summary = json.loads(strict.stdout)
    assert summary["skipped_by_reason"] == expected
    assert summary["skipped"] == sum(expected.values())
    assert (summary["added"], summary["unchanged"], summary["chunks_embedded"]) == (0, 4, 0)  # b.txt: skipped
    assert stored(data) == after


def test_json_prints_one_line_and_stats_report_the_index(tmp_path: Path) -> None:
    archive, data = tmp_path / "archive", tmp_path / "data"
    write(archive, GOOD)  # type: ignore[arg-type]
    result = run(data, "ingest", str(archive), "--json", "--source-name", "demo")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert summary["source"] == str(archive)
    assert (summary["added"], summary["skipped"], summary["pruned"]) == (4, 0, 0)
    assert summary["chunks_embedded"] >= 4 and summary["skipped_by_reason"] == {}

    stats = run(data, "stats", "--json")
    assert stats.exit_code == 0, stats.output
    figures = json.loads(stats.stdout)
    assert (figures["releases"], figures["sources"], figures["embedding_model"]) == (4, {"demo": 4}, "hash-64")
    assert figures["date_range"] == ["2021-04-22", "2024-01-22"]
    text = run(data, "stats")
    assert text.exit_code == 0 and "releases           4" in text.stdout


def test_progress_bar_shows_rate_and_total(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    write(archive, GOOD)  # type: ignore[arg-type]
    result = run(tmp_path / "data", "ingest", str(archive), "--progress")
    assert result.exit_code == 0, result.output
    assert "ingest: 100%" in result.stderr and "4/4" in result.stderr and "release/s" in result.stderr


def test_rebuild_replaces_an_index_built_with_another_model(tmp_path: Path) -> None:
    archive, data = tmp_path / "archive", tmp_path / "data"
    write(archive, GOOD)  # type: ignore[arg-type]
    assert run(data, "ingest", str(archive)).exit_code == 0

    other = {"PRESSBOT_EMBEDDING_MODEL": "hash-32"}
    refused = run(data, "ingest", str(archive), env=other)
    assert_user_error(refused.exit_code, refused.stderr, "'hash-64'", "--rebuild")

    rebuilt = run(data, "ingest", str(archive), "--rebuild", "--json", env=other)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert json.loads(rebuilt.stdout)["added"] == 4
    figures = json.loads(run(data, "stats", "--json", env=other).stdout)
    assert (figures["embedding_model"], figures["dimension"], figures["releases"]) == ("hash-32", 32, 4)


def test_user_errors_are_clean(tmp_path: Path) -> None:
    data = tmp_path / "data"
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    url = run(data, "ingest", f"http://127.0.0.1:{port}/feed.xml")
    assert_user_error(url.exit_code, url.stderr, f"127.0.0.1:{port}")
    scheme = run(data, "ingest", "ftp://example.org/archive")
    assert_user_error(scheme.exit_code, scheme.stderr, "only http:// and https://")
    field = run(data, "ingest", str(tmp_path), "--field", "headline")
    assert_user_error(field.exit_code, field.stderr, "KEY=NAME")


def test_a_bad_path_is_one_clean_line_from_the_real_command(tmp_path: Path) -> None:
    proc = run_process(tmp_path / "data", "ingest", str(tmp_path / "no-such-folder"))
    assert_user_error(proc.returncode, proc.stderr, "does not exist", "no-such-folder")
    assert proc.stderr.count("\n") == 1 and proc.stdout == ""


def test_stats_on_an_empty_data_dir_is_a_clean_error(tmp_path: Path) -> None:
    proc = run_process(tmp_path / "empty", "stats")
    assert_user_error(proc.returncode, proc.stderr, "pressbot ingest")
    assert proc.stdout == ""
