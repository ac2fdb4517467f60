"""Bytes → clean text: encoding detection, compatibility forms, stray control characters."""

from __future__ import annotations

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
# Same mark, other code point: GB2312 decoders and PDF fonts disagree on these.
_EQUIVALENTS = str.maketrans({"\u2015": "\u2014", "\u30fb": "\u00b7", "\u3000": " ", "\u00a0": " "})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufffd\ufeff\u200b-\u200f\u2028\u2029]")


def _in_compat(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _COMPAT_RANGES)


def normalise(text: str) -> str:
    """Fold compatibility forms, unify line ends, drop control characters and U+FFFD."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\t", " ")
    text = "".join(unicodedata.normalize("NFKC", c) if _in_compat(c) else c for c in text)
    text = text.translate(_EQUIVALENTS)
    return _CONTROL.sub("", text)


def _looks_binary(data: bytes) -> bool:
    if b"\x00" in data:
        return True
    sample = data[:4096]
    controls = sum(1 for b in sample if b < 0x09 or 0x0E <= b < 0x20)
    return controls > len(sample) * 0.01


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
    text = normalise(text)
    if not any(unicodedata.category(c)[0] in "LN" for c in text):
        raise BadIssueFile(f"{name}: 没有可读的文字")
    return text
