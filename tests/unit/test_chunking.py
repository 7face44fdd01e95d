"""Chunking: whole sentences (English and Spanish rules), within the model's token limit as the
model's own tokenizer counts it, with overlap, title/date context, and nothing lost."""

from __future__ import annotations

import datetime as dt
import re
import tracemalloc
from pathlib import Path

import pytest

from evals.hash_embeddings import HashEmbeddings
from ingest.chunking import MAX_WORD_CHARS, Chunker
from ingest.sources import Skip, open_source
from pressbot.config import Settings
from pressbot.embeddings import PressbotEmbeddings, SentenceTransformerEmbeddings
from pressbot.sentences import split_sentences
from pressbot.types import Chunk, Release, sentences_at

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "evals" / "sample_archive"
_WS = re.compile(r"\s+")


@pytest.fixture(scope="module")
def real_model() -> SentenceTransformerEmbeddings:
    return SentenceTransformerEmbeddings()  # the default all-MiniLM-L6-v2, offline


@pytest.fixture(scope="module", params=["hash", "minilm"])
def embedder(request: pytest.FixtureRequest) -> PressbotEmbeddings:
    if request.param == "hash":
        return HashEmbeddings(64)
    return request.getfixturevalue("real_model")


def model_tokens(embedder: PressbotEmbeddings, text: str) -> int:
    """What the model itself sees: its tokenizer, special tokens included, no truncation."""
    if isinstance(embedder, SentenceTransformerEmbeddings):
        return len(embedder.model.tokenizer(text, add_special_tokens=True, verbose=False)["input_ids"])
    return embedder.count_tokens(text)


def model_limit(embedder: PressbotEmbeddings) -> int:
    if isinstance(embedder, SentenceTransformerEmbeddings):
        return int(embedder.model.max_seq_length)  # beyond this sentence-transformers truncates
    return embedder.max_tokens


def assert_lossless(text: str, chunks: list[Chunk], *, whole_words: bool = True) -> None:
    """Every chunk is a contiguous piece of the text (ignoring whitespace), in order, and the
    pieces cover the whole text: nothing lost, nothing invented, nothing reordered."""
    norm = _WS.sub("", text)
    covered_to = 0
    search_from = 0
    for chunk in chunks:
        piece = _WS.sub("", chunk.text)
        # the furthest place it can sit without leaving a gap (overlap may start it earlier)
        pos = norm.rfind(piece, search_from, covered_to + len(piece))
        if pos < 0:
            later = norm.find(piece, search_from)
            assert later >= 0, f"chunk {chunk.id} is not a piece of the text: {chunk.text[:80]!r}"
            raise AssertionError(f"text lost before chunk {chunk.id}: {norm[covered_to:later][:80]!r}")
        covered_to = max(covered_to, pos + len(piece))
        search_from = pos + 1
    assert covered_to == len(norm), f"text lost at the end: {norm[covered_to:][:80]!r}"
    if not whole_words:
        return  # a "word" longer than a chunk is necessarily cut
    # and in plain words: every word of the release is in some chunk
    words = set(re.findall(r"\w+", " ".join(c.text for c in chunks)))
    assert set(re.findall(r"\w+", text)) <= words


def assert_fits(embedder: PressbotEmbeddings, chunks: list[Chunk]) -> None:
    limit = model_limit(embedder)
    for chunk in chunks:
        n = model_tokens(embedder, chunk.embed_text)
        assert n <= limit, f"{chunk.id}: {n} tokens > {limit}"


def release(text: str, *, language: str = "en", title: str = "A title", rid: str = "r1", **kw: object) -> Release:
    return Release(id=rid, title=title, text=text, language=language, **kw)  # type: ignore[arg-type]


def sample_releases() -> list[Release]:
    """Real releases of the sample archive: the seed, the Spanish transcript (the longest text),
    and the longest English ones."""
    paths = [SAMPLE / "seed" / "mexico-and-the-us-continue-migration-talks.txt"]
    paths += sorted((SAMPLE / "mananeras").rglob("*.txt"), key=lambda p: p.stat().st_size)[-1:]
    paths += sorted((SAMPLE / "whitehouse").rglob("*.md"), key=lambda p: p.stat().st_size)[-6:]
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    out = [item for p in paths for item in open_source(str(p), settings) if not isinstance(item, Skip)]
    assert len(out) == len(paths), "a sample file did not parse"
    return out


@pytest.fixture(scope="module")
def real_releases() -> list[Release]:
    return sample_releases()


def test_real_releases_fit_the_model_and_lose_nothing(embedder: PressbotEmbeddings, real_releases) -> None:
    chunker = Chunker(embedder, chunk_tokens=160, overlap_sentences=1)
    languages = set()
    for rel in real_releases:
        chunks = chunker.chunk(rel)
        assert chunks, rel.id
        languages.add(rel.language)
        assert_fits(embedder, chunks)
        assert_lossless(rel.text, chunks)
        assert [c.id for c in chunks] == [f"{rel.id}:{n}" for n in range(len(chunks))]
        assert_sentence_ends(rel, chunks)
    assert {"en", "es"} <= languages  # English and Spanish releases were both exercised


def assert_sentence_ends(rel: Release, chunks: list[Chunk]) -> None:
    """The sentence ends a chunk records cut its text into the release's own sentences (or the
    pieces of one too long for a chunk), nothing left over: these are the sentences whose
    vectors ingest stores and answerers read."""
    whole = set(split_sentences(rel.text, rel.language))
    for chunk in chunks:
        pieces = sentences_at(chunk.text, chunk.sentence_ends)
        assert " ".join(pieces) == chunk.text
        assert chunk.sentence_ends[-1] == len(chunk.text)
        long_pieces = [p for p in pieces if p not in whole]
        assert all(any(p in s for s in whole) for p in long_pieces), long_pieces[:2]
        meta = chunk.metadata()["sentence_ends"]
        assert [int(x) for x in str(meta).split(",")] == chunk.sentence_ends


def test_chunk_tokens_above_the_model_limit_are_capped(real_model) -> None:
    text = " ".join(f"Sentence number {i} talks about the border program and its funding." for i in range(300))
    chunks = Chunker(real_model, chunk_tokens=4096, overlap_sentences=1).chunk(release(text))
    assert len(chunks) > 5
    assert_fits(real_model, chunks)
    assert_lossless(text, chunks)


def test_embed_text_is_title_and_date_then_the_passage(embedder) -> None:
    rel = release(
        "The program invests $180 million. It supports eight countries.",
        title="Mexico and the U. S. continue migration talks",
        date=dt.date(2024, 1, 22),
        url="https://example.org/seed",
        source="seed",
    )
    [chunk] = Chunker(embedder, 160).chunk(rel)
    assert chunk.embed_text == "Mexico and the U. S. continue migration talks (2024-01-22)\n" + chunk.text
    assert chunk.text == rel.text
    # the chunk carries what a citation needs
    assert (chunk.title, chunk.date, chunk.url, chunk.source, chunk.release_id) == (
        rel.title, rel.date, rel.url, "seed", "r1"
    )
    assert chunk.content_hash == rel.content_hash


def test_undated_release_has_no_invented_date(embedder) -> None:
    [chunk] = Chunker(embedder, 160).chunk(release("Some text.", title="Undated"))
    assert chunk.embed_text == "Undated\nSome text."
    assert chunk.date is None and "date" not in chunk.metadata() and chunk.metadata()["date_ord"] == 0


def test_a_very_long_title_is_shortened_not_the_text(embedder) -> None:
    title = " ".join(f"word{i}" for i in range(600))
    rel = release("The body is short. It must be kept whole.", title=title)
    chunks = Chunker(embedder, 160).chunk(rel)
    assert_fits(embedder, chunks)
    assert " ".join(c.text for c in chunks) == rel.text
    assert chunks[0].embed_text.startswith("word0 word1")


# --- sentences --------------------------------------------------------------------------

ENGLISH = [
    "Washington, D.C. — The U.S. Department of State said Mr. Smith met Gov. Abbott at 3 p.m. on Jan. 5.",
    "They agreed to expand legal pathways for migrants.",
    "The program, worth $180 million, supports Guatemala, Honduras and El Salvador.",
    "Dr. Jones of the U.N. welcomed the announcement.",
    "Officials will meet again in Mexico City next month.",
    "The joint statement was released on Monday.",
]
SPANISH = [
    "El gobierno de EE. UU. anunció 180 millones de dólares.",
    "El Lic. Pérez habló con los cancilleres de la región.",
    "¿Qué países recibirán los recursos?",
    "Guatemala, Honduras, El Salvador, Colombia, Ecuador, Venezuela, Cuba y Haití.",
    "La Sra. Ruiz llegó al Palacio Nacional con el Dr. Soto.",
    "¡Es un programa histórico!",
]


@pytest.mark.parametrize(("language", "sentences"), [("en", ENGLISH), ("es", SPANISH)])
def test_chunks_are_whole_sentences(embedder, language: str, sentences: list[str]) -> None:
    other = "es" if language == "en" else "en"
    text = " ".join(sentences * 4)
    # the text has abbreviations the other language's rules would split on (so the test can fail)
    assert split_sentences(text, other) != sentences * 4
    assert split_sentences(text, language) == sentences * 4
    chunks = Chunker(embedder, chunk_tokens=40, overlap_sentences=1).chunk(release(text, language=language))
    assert len(chunks) > 4
    joined_runs = {
        " ".join((sentences * 4)[i:j]) for i in range(len(sentences) * 4) for j in range(i + 1, len(sentences) * 4 + 1)
    }
    for chunk in chunks:
        assert chunk.text in joined_runs, f"{chunk.id} does not start and end on sentence boundaries: {chunk.text!r}"
    assert_lossless(text, chunks)


def test_neighbouring_chunks_overlap_by_a_sentence(embedder) -> None:
    text = " ".join(ENGLISH * 5)
    chunks = Chunker(embedder, chunk_tokens=80, overlap_sentences=1).chunk(release(text))
    assert len(chunks) > 3
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        last = split_sentences(prev.text)[-1]
        assert nxt.text.startswith(last), (prev.text, nxt.text)

    no_overlap = Chunker(embedder, chunk_tokens=80, overlap_sentences=0).chunk(release(text))
    assert " ".join(c.text for c in no_overlap) == " ".join(split_sentences(text))
    assert len(no_overlap) < sum(len(split_sentences(c.text)) for c in chunks)


# --- text without sentence boundaries ---------------------------------------------------


def test_a_giant_sentence_without_punctuation_is_split_not_truncated(embedder) -> None:
    text = " ".join(f"word{i}" for i in range(3000))
    chunks = Chunker(embedder, chunk_tokens=160).chunk(release(text))
    assert len(chunks) > 10
    assert_fits(embedder, chunks)
    assert_lossless(text, chunks)
    assert chunks[-1].text.endswith("word2999")


def test_a_giant_word_of_uneven_token_density_is_cut_to_fit(real_model) -> None:
    # letters then punctuation: the average chars-per-token misjudges both halves
    text = "a" * 5000 + "-a" * 3000 + " then a normal sentence."
    chunks = Chunker(real_model, chunk_tokens=160).chunk(release(text))
    assert_fits(real_model, chunks)
    assert_lossless(text, chunks, whole_words=False)


def test_a_long_run_without_spaces_is_cut_into_chunks_that_fit(embedder) -> None:
    # a 100+ letter "word" is one [UNK] token to the model and one word to the hash stand-in:
    # counted as such, the whole run once made a single chunk of any size
    text = "An intro sentence. " + "a" * 200_000 + " A closing sentence."
    chunks = Chunker(embedder, chunk_tokens=160).chunk(release(text))
    assert_fits(embedder, chunks)
    assert_lossless(text, chunks, whole_words=False)
    assert max(len(c.text) for c in chunks) <= 160 * (MAX_WORD_CHARS + 1)
    assert chunks[0].text.startswith("An intro sentence.") and chunks[-1].text.endswith(" A closing sentence.")
    for chunk in chunks:  # the run's pieces are the "sentences" of its chunks
        assert " ".join(sentences_at(chunk.text, chunk.sentence_ends)) == chunk.text


def test_a_5_mb_line_is_chunked_in_bounded_memory() -> None:
    text = "An intro sentence. " + "a" * (5 << 20) + " A closing sentence."
    rel = release(text)
    tracemalloc.start()
    try:
        chunks = Chunker(HashEmbeddings(64), chunk_tokens=160).chunk(rel)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 << 20, f"peak {peak >> 20} MB"  # was ~800 MB: the sentence splitter on the run
    assert len(chunks) > 300 and max(len(c.text) for c in chunks) <= 160 * (MAX_WORD_CHARS + 1)
    assert_lossless(text, chunks, whole_words=False)


def test_a_long_word_in_a_sentence_is_read_by_the_model_not_unknown(real_model) -> None:
    word = "x" * 150
    text = f"The reference code is {word} for the new program. Another sentence follows."
    chunks = Chunker(real_model, chunk_tokens=160).chunk(release(text))
    assert [c.text for c in chunks] == [
        f"The reference code is {word[:100]} {word[100:]} for the new program. Another sentence follows."
    ]
    assert "[UNK]" not in real_model.model.tokenizer.tokenize(chunks[0].embed_text)
    # words up to the limit, and long URLs (cut at their punctuation by the tokenizer), are untouched
    url = "https://example.org/" + "/".join(["segment"] * 30)
    chinese = "中" * 120 + "。"  # no spaces, but each ideograph is a word to the tokenizer
    for text in (f"Read {'y' * 100} today.", f"Read it at {url} today.", chinese):
        assert [c.text for c in Chunker(real_model, chunk_tokens=160).chunk(release(text))] == [text]


def test_an_empty_release_has_no_chunks(embedder) -> None:
    assert Chunker(embedder, 160).chunk(release("")) == []
