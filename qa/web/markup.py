"""Highlighted passages as HTML. Every piece of text is escaped on its own and only our tags are
added between the pieces, so article and question text can never become markup."""

from __future__ import annotations

from markupsafe import Markup, escape

Span = tuple[int, int]


def _clip(spans: list[Span], start: int, end: int) -> list[Span]:
    """Spans cut to ``[start, end)`` and made relative to ``start``."""
    out = []
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if s < e:
            out.append((s - start, e - start))
    return out


def emphasise(text: str, terms: list[Span], term_class: str = "term") -> Markup:
    """``text`` with each (sorted, non-overlapping) term span in ``<em class="term">`` (or
    ``term_class``)."""
    html, pos = Markup(""), 0
    for s, e in sorted(terms):
        if s < pos:
            continue
        html += escape(text[pos:s]) + Markup('<em class="{}">').format(term_class) + \
            escape(text[s:e]) + Markup("</em>")
        pos = e
    return html + escape(text[pos:])


def highlight(text: str, region: Span | None, terms: list[Span] = (),
              mark_class: str = "answer", mark_id: str | None = None,
              term_class: str = "term") -> Markup:
    """``text`` with ``region`` in one ``<mark>`` and ``terms`` emphasised inside and outside it;
    a term crossing the region's edge is split there so the tags nest."""
    terms = list(terms)
    if region is None:
        return emphasise(text, terms, term_class)
    s, e = max(0, min(region[0], len(text))), max(0, min(region[1], len(text)))
    if s >= e:
        return emphasise(text, terms, term_class)
    attrs = Markup(' class="{}"').format(mark_class)
    if mark_id:
        attrs += Markup(' id="{}"').format(mark_id)
    return (emphasise(text[:s], _clip(terms, 0, s), term_class)
            + Markup("<mark{}>").format(attrs) + emphasise(text[s:e], _clip(terms, s, e), term_class)
            + Markup("</mark>") + emphasise(text[e:], _clip(terms, e, len(text)), term_class))


def article_paragraphs(text: str, offsets: list[Span], passage: Span | None,
                       uncertain: list[int] = ()) -> list[dict]:
    """The article as paragraphs ``{"start", "html"}``, the cited passage marked in each paragraph
    it touches; the first such mark carries ``id="passage"`` to scroll to. Characters OCR read
    with low confidence (``uncertain`` offsets) are in ``<em class="uncertain">``."""
    offsets = [tuple(o) for o in offsets] or [(0, len(text))]
    doubtful = [(i, i + 1) for i in uncertain]
    paragraphs, anchored = [], False
    for ps, pe in offsets:
        region = None
        if passage and passage[0] < pe and passage[1] > ps:
            region = (max(passage[0], ps) - ps, min(passage[1], pe) - ps)
        html = highlight(text[ps:pe], region, _clip(doubtful, ps, pe), mark_class="passage",
                         mark_id=None if anchored or region is None else "passage",
                         term_class="uncertain")
        anchored = anchored or region is not None
        paragraphs.append({"start": ps, "html": html, "marked": region is not None})
    return paragraphs
