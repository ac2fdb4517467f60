"""The shipped reader (qa/reader/model): loads offline with its checksums verified, answers,
refuses a damaged file; windows and span decoding on their own."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from qa.errors import ModelDamaged
from qa.reader import MODEL_DIR, ONNX_FILE, Reader
from qa.reader.windows import Window, best_span, windows

PASSAGE = ("截至目前，济阳区已实现街道（镇）社工站全覆盖，建设1个区级社工总站，7个街道（镇）社工站，"
           "配备专业驻站社工26人。")


@pytest.fixture(scope="module")
def reader():
    return Reader.load()


def test_the_shipped_reader_loads_offline_and_reads_the_answer(reader, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    [a] = reader.read([("济阳区配备了多少名驻站社工？", PASSAGE)])
    assert "26" in a.text and PASSAGE[a.start:a.end] == a.text
    assert a.answerable


def test_a_text_that_does_not_hold_the_answer_scores_below_one_that_does(reader):
    holds, lacks = reader.read([("济阳区配备了多少名驻站社工？", PASSAGE),
                                ("济阳区配备了多少名驻站社工？",
                                 "济阳区各街镇社工站围绕服务体系开展工作，坚持党建引领。")])
    assert lacks.prob < holds.prob


def test_a_damaged_model_file_is_refused(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(MODEL_DIR, copy)
    data = bytearray((copy / ONNX_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / ONNX_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelDamaged, match="sha256"):
        Reader.load(copy)


def test_windows_cover_the_text_with_the_overlap_and_keep_the_question():
    q, t = np.arange(100, 105), np.arange(1000, 1030)
    offsets = np.stack([np.arange(30), np.arange(1, 31)], axis=1)
    ws = windows(q, t, offsets, max_len=20, overlap=4, bos=0, eos=2)
    assert all(len(w.ids) <= 20 and list(w.ids[1:6]) == list(q) for w in ws)
    # 11 text tokens a window (20 - 5 question - 4 special), the next one 11 - 4 further on
    assert [int(w.offsets[0, 0]) for w in ws] == [0, 7, 14, 21]
    assert ws[-1].offsets[-1, 1] == 30


def test_best_span_stays_in_the_text_and_reads_no_answer_from_the_first_token():
    w = Window(np.zeros(8, np.int64), context=3, offsets=np.array([[0, 1], [1, 2], [2, 3], [3, 4]]))
    start = np.array([5.0, 9, 9, 0, 1, 4, 0, 0])       # tokens 1-2 (the question) score high
    end = np.array([5.0, 9, 9, 0, 0, 0, 3, 0])
    s, e, score, null = best_span(start, end, w, max_answer=3)
    assert (s, e) == (2, 3) and score == 7.0 and null == 10.0


def test_a_length_penalty_takes_the_shorter_span():
    """studies/reader_span.py's knob (the service's penalty is 0)."""
    w = Window(np.zeros(8, np.int64), context=3, offsets=np.array([[0, 1], [1, 2], [2, 3], [3, 4]]))
    start = np.array([0.0, 0, 0, 4, 0, 0, 0, 0])
    end = np.array([0.0, 0, 0, 2, 0, 0, 3, 0])
    assert best_span(start, end, w, max_answer=4)[:3] == (0, 3, 7.0)
    assert best_span(start, end, w, max_answer=4, penalty=0.5)[:3] == (0, 0, 6.0)


def test_sharing_the_encoder_s_tokenizer_reads_the_same(reader, encoder):
    """The service hands the reader the encoder's tokenizer (one ~280 MB copy, not two)."""
    shared = Reader.load(tokenizer=encoder.tokenizer)
    assert encoder.tokenizer is not None and shared.tokenizer is encoder.tokenizer
    pairs = [("济阳区配备了多少名驻站社工？", PASSAGE), ("谁建设了社工总站？", PASSAGE * 3)]
    assert [(a.start, a.end, round(a.score, 4)) for a in shared.read(pairs)] == \
        [(a.start, a.end, round(a.score, 4)) for a in reader.read(pairs)]
