"""Bytes → text: UTF-8, UTF-8 with BOM, GB18030; compatibility forms; stray characters; and a
clear refusal, naming the file, for anything else."""

from __future__ import annotations

import unicodedata

import pytest

from qa.errors import BadIssueFile
from qa.ingest import ingest_bytes
from qa.ingest.decode import decode, normalise

from .conftest import SEEDS

PAGE = next(SEEDS.glob("000_*.txt"))
TEXT = PAGE.read_text("utf-8")


def _titles(articles):
    return [(a.title, a.source, a.text) for a in articles]


# -- encodings -----------------------------------------------------------------------------

def test_utf8():
    assert decode(TEXT.encode("utf-8"), "p.txt") == normalise(TEXT)


def test_utf8_with_bom():
    data = b"\xef\xbb\xbf" + TEXT.encode("utf-8")
    out = decode(data, "p.txt")
    assert not out.startswith("\ufeff")
    assert out == normalise(TEXT)


@pytest.mark.parametrize("path", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.stem[:3])
def test_gb18030_page_gives_the_same_articles(path):
    text = path.read_text("utf-8")
    data = text.encode("gb18030")
    assert data != text.encode("utf-8")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")                       # really not UTF-8
    assert _titles(ingest_bytes(data, path.name)) == _titles(ingest_bytes(text.encode(), path.name))


def test_gb18030_beyond_gbk():
    """Characters only GB18030's four-byte sequences hold (rare names, 𠮷) come through."""
    text = "赵𠮷先生和㑇女士参加了社区活动。" * 3
    data = text.encode("gb18030")
    assert decode(data, "p.txt") == text


def test_crlf_and_form_feeds_become_line_breaks():
    assert decode("第一行\r\n第二行\r第三行\f第四行".encode(), "p.txt") == "第一行\n第二行\n第三行\n第四行"


# -- compatibility forms -------------------------------------------------------------------

def test_kangxi_radicals_folded():
    # ⼈ U+2F08, ⽇ U+2F47, ⼤ U+2F24, ⾸ U+2FB8: Kangxi radicals, NFKC-mapped to ordinary ones
    assert normalise("⼈⼤代表在⾸都⽇报发表文章") == "人大代表在首都日报发表文章"


def test_every_kangxi_radical_becomes_an_ordinary_ideograph():
    radicals = "".join(chr(c) for c in range(0x2F00, 0x2FD6))
    out = normalise(radicals)
    assert len(out) == len(radicals)
    assert all(unicodedata.category(c) == "Lo" and 0x4E00 <= ord(c) <= 0x9FFF for c in out)


def test_cjk_radicals_supplement_with_a_mapping():
    # only two characters of U+2E80–2EFF have an NFKC mapping: ⺟ → 母, ⻳ → 龟
    assert normalise("⺟亲和⻳") == "母亲和龟"


def test_radical_lookalikes_without_nfkc_mapping():
    assert normalise("⼈⺠群众") == "人民群众"
    assert normalise("⻓江⼤桥") == "长江大桥"
    assert normalise("社区⻔⼝") == "社区门口"


def test_radical_lookalikes_become_ordinary_ideographs():
    from qa.ingest.decode import _RADICAL_LOOKALIKES

    forms, chars = _RADICAL_LOOKALIKES[::2], _RADICAL_LOOKALIKES[1::2]
    assert all(0x2E80 <= ord(c) <= 0x2EFF for c in forms)
    assert all(0x4E00 <= ord(c) <= 0x9FFF for c in chars)
    assert normalise(forms) == chars


def test_compatibility_ideographs_folded():
    assert normalise("\uf900\uf901") == "\u8c48\u66f4"      # 豈 更 (compatibility) → unified


def test_full_width_digits_and_letters_folded():
    assert normalise("２０２４年ＮＦＬ比赛ｂｉｇ") == "2024年NFL比赛big"


def test_full_width_punctuation_kept():
    text = "“你好，世界。”（据《人民日报》）：；？！、——……·"
    assert normalise(text) == text


def test_ideographic_and_no_break_spaces_become_spaces():
    assert normalise("近\u30003万人\u00a0参加") == "近 3万人 参加"


def test_dash_and_middle_dot_variants_unified():
    assert normalise("民政\u2015\u2015总站 我嘉\u30fb邻里") == "民政——总站 我嘉·邻里"


# -- stray characters ----------------------------------------------------------------------

@pytest.mark.parametrize("stray", ["\ufffd", "\x00", "\x07", "\x1b", "\x7f", "\x85", "\u200b",
                                   "\ufeff", "\u2028"])
def test_stray_characters_removed(stray):
    assert normalise(f"人民{stray}日报") == "人民日报"


@pytest.mark.parametrize("text", ["人民\x07日报", "社区\x1b服务中心\x01", "\x08第3版\n社区新闻\x7f"])
def test_short_text_with_a_stray_control_is_no_binary(text):
    assert decode(text.encode(), "p.txt") == normalise(text)


def test_stray_characters_in_a_page_removed():
    """A real page with a few U+FFFD and control characters (the seed page 003 has `� �`)."""
    text = TEXT.replace("健康企业", "健康\ufffd企业", 3).replace("劳动者", "劳\x01动者", 2)
    out = decode(text.encode(), "p.txt")
    assert "\ufffd" not in out and "\x01" not in out
    assert out == normalise(TEXT)


# -- refused, with the file named ----------------------------------------------------------

def _refused(data: bytes, name: str = "第3版.txt") -> str:
    with pytest.raises(BadIssueFile) as e:
        ingest_bytes(data, name)
    assert name in e.value.message
    assert e.value.code == "bad_issue_file"
    return e.value.message


def _neither_utf8_nor_gb18030(data: bytes) -> bytes:
    for codec in ("utf-8", "gb18030"):
        with pytest.raises(UnicodeDecodeError):
            data.decode(codec)
    return data


@pytest.mark.parametrize("data", [b"", b"   \n\n\t \r\n", "\u3000\n".encode()],
                         ids=["empty", "blank", "ideographic-space"])
def test_empty_file(data):
    message = _refused(data)
    assert "空" in message or "没有可读的文字" in message


def test_binary_file():
    assert "二进制" in _refused(bytes(range(256)) * 4)


@pytest.mark.parametrize("data, kind", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "PNG"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\x00\x00stream\x01\x02",
     "PDF"),
    # a PDF can be all ASCII: it used to be read as a page titled `%PDF-1.4`
    (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n"
     b"%%EOF\n", "PDF"),
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(200), "ZIP"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "Office"),
    (b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}}\\f0 hello}", "RTF"),
], ids=["png", "pdf", "ascii-pdf", "zip-docx", "doc", "rtf"])
def test_file_of_another_format_is_named(data, kind):
    message = _refused(data)
    assert kind in message and "二进制" not in message


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_a_byte_order_mark_is_decoded(codec):
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}.get(codec, b"")
    data = bom + TEXT.encode(codec)
    assert decode(data, "p.txt") == normalise(TEXT)
    assert _titles(ingest_bytes(data, PAGE.name)) == _titles(ingest_bytes(TEXT.encode(), PAGE.name))


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_refused_saying_so(codec):
    message = _refused(TEXT.encode(codec))
    assert "UTF-16" in message and "UTF-8" in message and "二进制" not in message


def test_utf32_is_refused_saying_so():
    assert "UTF-32" in _refused(TEXT.encode("utf-32"))


@pytest.mark.parametrize("data", [
    "中文报纸".encode() + b"\xff" + "第一版".encode() * 20,              # stray 0xFF
    b"caf\xe9 na\xefve r\xe9sum\xe9 " * 10,                            # Latin-1
    "社区服务".encode() + b"\x81\x20" + "中心".encode(),                # lead byte, bad trail
    "社区服务".encode() + b"\x80",                                     # 0x80 alone
], ids=["ff", "latin1", "bad-trail", "lone-80"])
def test_undecodable_bytes(data):
    _neither_utf8_nor_gb18030(data)
    assert "编码" in _refused(data)


def test_no_letters_at_all():
    assert _refused("，。、……——\n（）".encode())


def test_too_large():
    data = ("社区服务" * 100 + "。\n").encode() * 900            # ~1.08 MB
    assert len(data) > 1_000_000
    message = _refused(data)
    assert "过大" in message and "1,000,000" in message


def test_limit_is_exactly_one_million_bytes():
    line = ("社区服务中心为居民提供服务。" * 10 + "\n").encode()
    data = (line * (1_000_000 // len(line) + 1))[:1_000_000]
    data = data[:data.rfind(b"\n") + 1]
    data += b" " * (1_000_000 - len(data))                   # exactly 1,000,000 bytes: accepted
    assert len(data) == 1_000_000
    assert decode(data, "p.txt", 1_000_000)
    with pytest.raises(BadIssueFile):
        decode(data + b" ", "p.txt", 1_000_000)


@pytest.mark.parametrize("encoding, text", [("big5", "濟陽區社工站為七萬餘人提供專業服務。"),
                                             ("shift_jis", "済陽区の社会福祉センターです。")])
def test_other_cjk_encodings_are_refused_not_read_as_gb18030(encoding, text):
    with pytest.raises(BadIssueFile, match="p.txt.*编码"):
        decode((text * 20).encode(encoding), "p.txt")


# Short Big5 pages were read as GB18030: too few Chinese characters for the old measure, and
# what it reads as is kana, Greek and Cyrillic, all inside GB2312 (カ穦Ы崩笆酚2.0 Τκ).
BIG5_PAGES = {
    "title-and-line": "市社會局推動長照2.0 有百分之八十長者受惠\n\n社會局表示，全市已設立一百二十個巷弄長照站。\n",
    "title-only": "臺北市社會局推動長照2.0\n",
    # 恒 and 裏 are only in Windows' Big5 (cp950), not in Python's big5 codec
    "cp950": "臺北市社會局推動長照2.0 有百分之八十長者受惠\n\n社區裏的長者恒常參加活動，"
             "社會局表示，全市已設立一百二十個巷弄長照站，服務人次超過三萬人。\n（據中央社）\n",
}


@pytest.mark.parametrize("text", BIG5_PAGES.values(), ids=BIG5_PAGES)
def test_big5_page_is_refused_not_stored_as_mojibake(text):
    data = text.encode("cp950")
    assert "カ" in data.decode("gb18030") or "Ы" in data.decode("gb18030")   # the mojibake
    message = _refused(data)
    assert "Big5" in message


@pytest.mark.parametrize("text", [
    "濟陽區社工站為七萬餘人提供專業服務，數據顯示，這個項目覆蓋了全區。" * 20,
    "臺北市社會局推動長照2.0\n",
    "β受体阻滞剂和α粒子的研究取得进展，γ射线检测设备投入使用。\n",
    "日本友人送来“ありがとう”的祝福，社区居民十分感动。\n",
], ids=["traditional", "traditional-title", "greek-letters", "a-little-kana"])
def test_chinese_in_gb18030_is_still_accepted(text):
    assert decode(text.encode("gb18030"), "t.txt") == normalise(text)
