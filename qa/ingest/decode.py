"""Bytes → clean text: encoding detection, compatibility forms, stray control characters."""

from __future__ import annotations

import codecs
import re
import unicodedata

from qa.errors import BadIssueFile

# Characters other PDF tools emit as look-alikes of ordinary ones. NFKC is applied to these
# ranges only: applied to everything it would also turn full-width Chinese punctuation (，（）)
# into ASCII, which changes the text readers see.
_COMPAT_RANGES = (
    (0x2F00, 0x2FDF),    # Kangxi radicals (⼈ → 人)
    (0x2E80, 0x2EFF),    # CJK radicals supplement (only a few have a mapping)
    (0xF900, 0xFAFF),    # CJK compatibility ideographs
    (0x2F800, 0x2FA1F),  # CJK compatibility ideographs supplement
    (0xFF10, 0xFF19),    # full-width digits
    (0xFF21, 0xFF3A),    # full-width Latin capitals
    (0xFF41, 0xFF5A),    # full-width Latin small letters
)
_COMPAT = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _COMPAT_RANGES) + "]")
# Radical forms that PDF fonts put for whole characters (⼈⺠ for 人民) but NFKC leaves alone: the
# CJK radicals supplement characters whose glyph is a complete, ordinary character.
_RADICAL_LOOKALIKES = (
    "⺁厂⺊卜⺌小⺎兀⺒巳⺓幺⺗心⺝月⺠民⺧牛⺩王⺫目⺬示⺶羊⻁虎⻄西⻅见⻆角⻉贝⻋车⻑長⻓长⻔门⻗雨⻘青"
    "⻙韦⻚页⻛风⻜飞⻝食⻢马⻣骨⻤鬼⻥鱼⻦鸟⻧卤⻨麦⻩黄⻪黾⻬齐⻮齿⻰龙")
# Same mark, other code point: GB2312 decoders and PDF fonts disagree on these.
_EQUIVALENTS = str.maketrans({
    "\u2015": "\u2014", "\u30fb": "\u00b7", "\u3000": " ", "\u00a0": " ",
    **dict(zip(_RADICAL_LOOKALIKES[::2], _RADICAL_LOOKALIKES[1::2])),
})
_STRAY_CONTROLS = 8
# Lone surrogates too: JSON can carry one ("\ud800"), it is no character, and opencc, UTF-8
# encoding and Milvus all fail on it.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufffd\ufeff\u200b-\u200f\u2028\u2029"
                      r"\ud800-\udfff]")


def normalise(text: str) -> str:
    """Fold compatibility forms, unify line ends, drop control characters, lone surrogates
    and U+FFFD."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\t", " ")
    text = text.translate(_EQUIVALENTS)
    text = _COMPAT.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return _CONTROL.sub("", text)


# Files that are no text, told by their first bytes so the message can say what they are.
_SIGNATURES = (
    (b"%PDF-", "PDF 文件"),
    (b"PK\x03\x04", "ZIP 压缩包（.docx、.xlsx 等 Office 文件也是）"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Office 97–2003 文件（.doc、.xls）"),
    (b"{\\rtf", "RTF 文档"),
    (b"\x89PNG", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF8", "GIF 图片"),
)
_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
SAVE_AS_TEXT = "请先另存为 UTF-8 纯文本（.txt）"


def _file_kind(data: bytes) -> str | None:
    """What a file is by its signature, if it has one of a format that is not text."""
    return next((kind for sig, kind in _SIGNATURES if data.startswith(sig)), None)


def _looks_binary(data: bytes) -> bool:
    """NUL bytes, or control bytes throughout. A few stray ones are extraction noise that
    normalise drops, and in a short text a few are already more than 1 %."""
    if b"\x00" in data:
        return True
    sample = data[:4096]
    controls = sum(1 for b in sample if b < 0x09 or 0x0E <= b < 0x20)
    return controls > max(len(sample) * 0.01, _STRAY_CONTROLS)


def _utf16_without_bom(data: bytes) -> bool:
    """UTF-16 text without its byte order mark: the NUL bytes of its ASCII characters (line
    ends at least) nearly all sit on odd offsets (little-endian) or on even ones (a Chinese
    character has a NUL byte now and then), and it decodes to printable text."""
    sample = data[:4096]
    nuls = [i % 2 for i, b in enumerate(sample) if b == 0]
    odd = sum(nuls)
    if len(nuls) < 2 or min(odd, len(nuls) - odd) > 0.1 * len(nuls):
        return False
    try:
        text = data[:len(data) - len(data) % 2].decode(
            "utf-16-le" if odd > len(nuls) / 2 else "utf-16-be")
    except UnicodeDecodeError:
        return False
    return sum(c.isprintable() or c in "\r\n\t" for c in text) >= 0.95 * len(text)


_HAN = re.compile(r"[\u4e00-\u9fff]")
# Big5 read as GB18030: its commonest characters (lead bytes 0xA4–0xAF: 一 人 中 的 是 …) land on
# GB2312's rows of kana, Greek, Cyrillic, bopomofo and box drawing, or in the private use area.
# Chinese text in GB18030, simplified or traditional, has almost none of them.
_BIG5_AS_GB = re.compile(r"[\u0370-\u04ff\u2500-\u257f\u3040-\u30ff\u3100-\u312f\ue000-\uf8ff]")
_MIN_ODD = 3


def _plausible_gb(text: str) -> bool:
    """GB18030 decodes almost any byte string, Big5 and Shift-JIS included, without an error.
    Real simplified-Chinese text is nearly all GB2312 characters; those other encodings read as
    GB18030 turn about half their characters into rare ones outside it."""
    han = len(_HAN.findall(text))
    if han < 20:
        return True
    outside = len(text) - len(text.encode("gb2312", "ignore").decode("gb2312"))
    return outside <= 0.1 * han


def _odd_for_chinese(text: str) -> bool:
    """Kana, Greek, Cyrillic… among the Chinese characters: how Big5 reads as GB18030, even in a
    title of a few characters (カ穦Ы崩笆酚 for 市社會局推動長照)."""
    odd = len(_BIG5_AS_GB.findall(text))
    return odd >= _MIN_ODD and odd > 0.05 * (odd + len(_HAN.findall(text)))


def _decodes_as(data: bytes, encoding: str, tolerance: float = 0.0) -> bool:
    text = data.decode(encoding, "replace")
    return text.count("\ufffd") <= tolerance * len(text)


def _decodes_as_other(data: bytes) -> bool:
    """Traditional Chinese in GB18030 is also mostly outside GB2312, but its bytes are rarely
    valid Big5 or Shift-JIS; only when they are is the page refused as mis-encoded."""
    return _decodes_as(data, "big5") or _decodes_as(data, "shift_jis")


def _unicode_text(data: bytes, name: str) -> str | None:
    """UTF-16 with a byte order mark is decoded: Windows tools (Notepad's "Unicode", Excel's
    "Unicode text", PowerShell 5's redirection) write it, and the mark says exactly what it is.
    Without the mark, or in UTF-32, the file is refused with a message that says so."""
    if data.startswith(_UTF32_BOMS):
        raise BadIssueFile(name, f"不支持 UTF-32 编码的文本，{SAVE_AS_TEXT}")
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise BadIssueFile(name, f"UTF-16 文本已损坏，无法解码，{SAVE_AS_TEXT}") from None
    if _utf16_without_bom(data):
        raise BadIssueFile(name, f"像是没有字节顺序标记（BOM）的 UTF-16 文本，无法可靠解码，{SAVE_AS_TEXT}")
    return None


def decode(data: bytes, name: str, max_bytes: int | None = None) -> str:
    """Decode a page file (UTF-8, UTF-8 with BOM, GB18030 or UTF-16 with BOM) or raise
    ``BadIssueFile``.

    The message names the file, because in a batch it is the only way to tell which one failed.
    """
    if max_bytes is not None and len(data) > max_bytes:
        raise BadIssueFile(name, f"文件过大（{len(data):,} 字节，上限 {max_bytes:,} 字节）")
    if not data.strip():
        raise BadIssueFile(name, "文件为空")
    kind = _file_kind(data)
    if kind:
        raise BadIssueFile(name, f"这是 {kind}，不是文本文件；{SAVE_AS_TEXT}")
    text = _unicode_text(data, name)
    if text is None:
        text = _bytes_text(data, name)
    text = normalise(text)
    if not any(unicodedata.category(c)[0] in "LN" for c in text):
        raise BadIssueFile(name, "没有可读的文字")
    return text


def _bytes_text(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM) or GB18030, refusing what only reads as mojibake."""
    if _looks_binary(data):
        raise BadIssueFile(name, "不是文本文件（含二进制内容）")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise BadIssueFile(name, "无法识别的编码（只接受 UTF-8 或 GB18030）")
    if encoding == "gb18030":
        if _odd_for_chinese(text) and _decodes_as(data, "cp950", 0.01):
            raise BadIssueFile(name, f"无法识别的编码（像是繁体中文的 Big5 编码，只接受 UTF-8 或 "
                               f"GB18030）；{SAVE_AS_TEXT}")
        if not _plausible_gb(text) and _decodes_as_other(data):
            raise BadIssueFile(name, "无法识别的编码（像是 Big5 或其他编码，只接受 UTF-8 或 GB18030）")
    return text
