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
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufffd\ufeff\u200b-\u200f\u2028\u2029]")


def normalise(text: str) -> str:
    """Fold compatibility forms, unify line ends, drop control characters and U+FFFD."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\t", " ")
    text = text.translate(_EQUIVALENTS)
    text = _COMPAT.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return _CONTROL.sub("", text)


def _looks_binary(data: bytes) -> bool:
    """NUL bytes, or control bytes throughout. A few stray ones are extraction noise that
    normalise drops, and in a short text a few are already more than 1 %. UTF-16 (with its byte
    order mark) counts as binary: no page tool writes it, and its bytes read as GB18030."""
    if b"\x00" in data or data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    sample = data[:4096]
    controls = sum(1 for b in sample if b < 0x09 or 0x0E <= b < 0x20)
    return controls > max(len(sample) * 0.01, _STRAY_CONTROLS)


_HAN = re.compile(r"[\u4e00-\u9fff]")


def _plausible_gb(text: str) -> bool:
    """GB18030 decodes almost any byte string, Big5 and Shift-JIS included, without an error.
    Real simplified-Chinese text is nearly all GB2312 characters; those other encodings read as
    GB18030 turn about half their characters into rare ones outside it."""
    han = len(_HAN.findall(text))
    if han < 20:
        return True
    outside = len(text) - len(text.encode("gb2312", "ignore").decode("gb2312"))
    return outside <= 0.1 * han


def _decodes_as_other(data: bytes) -> bool:
    """Traditional Chinese in GB18030 is also mostly outside GB2312, but its bytes are rarely
    valid Big5 or Shift-JIS; only when they are is the page refused as mis-encoded."""
    for encoding in ("big5", "shift_jis"):
        try:
            data.decode(encoding)
            return True
        except UnicodeDecodeError:
            continue
    return False


def decode(data: bytes, name: str, max_bytes: int | None = None) -> str:
    """Decode a page file (UTF-8, UTF-8 with BOM or GB18030) or raise ``BadIssueFile``.

    The message names the file, because in a batch it is the only way to tell which one failed.
    """
    if max_bytes is not None and len(data) > max_bytes:
        raise BadIssueFile(f"{name}: 文件过大（{len(data):,} 字节，上限 {max_bytes:,} 字节）")
    if not data.strip():
        raise BadIssueFile(f"{name}: 文件为空")
    if _looks_binary(data):
        raise BadIssueFile(f"{name}: 不是文本文件（含二进制内容）")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise BadIssueFile(f"{name}: 无法识别的编码（只接受 UTF-8 或 GB18030）")
    if encoding == "gb18030" and not _plausible_gb(text) and _decodes_as_other(data):
        raise BadIssueFile(f"{name}: 无法识别的编码（像是 Big5 或其他编码，只接受 UTF-8 或 GB18030）")
    text = normalise(text)
    if not any(unicodedata.category(c)[0] in "LN" for c in text):
        raise BadIssueFile(f"{name}: 没有可读的文字")
    return text
