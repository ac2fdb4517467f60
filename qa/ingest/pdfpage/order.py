"""Blocks → reading order: a recursive XY cut over modules (a title with the body it stands
over), and which blocks stand under which title."""

from __future__ import annotations

from qa.ingest.pdfpage.shapes import Block, Box

MODULE_GAP = 3.0         # a title's body starts at most this many sizes under it


def reading_order(blocks: list[Block], size: float) -> list[Block]:
    """Recursive XY cut over modules: a title with the body it stands over, and whatever lies
    among that body (a picture, a caption), is cut as one box, read title first. So a title is
    never cut off the body under it, and an article that runs on below another one's module is
    read after that whole module."""
    modules: list[list[Block]] = []
    taken: set[int] = set()
    for head_id, under in territories(blocks, size).items():
        head = next(b for b in blocks if id(b) == head_id)
        if min(b.top - head.bottom for b in under) > MODULE_GAP * size:
            continue
        box = Box(min(b.x0 for b in under), max(b.x1 for b in under), head.bottom,
                  max(b.bottom for b in under))
        ids = {id(b) for b in under}
        members = [b for b in blocks if b.kind != "head" and id(b) not in taken and
                   (id(b) in ids or box.x0 - 1 <= b.x0 and b.x1 <= box.x1 + 1 and
                    box.top - 1 <= b.top and b.bottom <= box.bottom + 1)]
        taken.update(id(b) for b in members)
        taken.add(head_id)
        modules.append([head, *_xy_cut([[b] for b in members])])
    modules += [[b] for b in blocks if id(b) not in taken]
    return _xy_cut(modules)


def _closes(head: Block, blocks: list[Block], size: float) -> bool:
    """A title set under its own body: a body across it ends closer above it than anything
    across it (text, a picture) starts below it."""
    def gaps(pairs):
        return min((g for b, g in pairs if b is not head and b.x_overlap(head) > 0 and
                    g >= -0.5 * size), default=float("inf"))
    above = gaps((b, head.top - b.bottom) for b in blocks if b.kind == "body")
    below = gaps((b, b.top - head.bottom) for b in blocks)
    return above < below


def _xy_cut(units: list[list[Block]]) -> list[Block]:
    """Split at white space running across the whole region, rows first, then columns; a
    region that cannot be cut is read top to bottom. A unit's blocks stay together, in their
    order."""
    if len(units) <= 1:
        return [b for u in units for b in u]
    boxes = [Box(min(b.x0 for b in u), max(b.x1 for b in u), min(b.top for b in u),
                 max(b.bottom for b in u)) for u in units]
    for lo, hi in (("top", "bottom"), ("x0", "x1")):
        groups, reach = [], None
        for k in sorted(range(len(units)), key=lambda k: getattr(boxes[k], lo)):
            if reach is None or getattr(boxes[k], lo) > reach + 0.1:
                groups.append([])
                reach = getattr(boxes[k], hi)
            groups[-1].append(units[k])
            reach = max(reach, getattr(boxes[k], hi))
        if len(groups) > 1:
            return [b for g in groups for b in _xy_cut(g)]
    order = sorted(range(len(units)), key=lambda k: (boxes[k].top, boxes[k].x0))
    return [b for k in order for b in units[k]]


def territories(blocks: list[Block], size: float) -> dict[int, list[Block]]:
    """The body blocks right under each title: of the columns whose nearest title above is this
    one (no text between, pictures and captions aside; the closest across the block, or of
    titles on one row the nearest beside it), the first block. A centred or short title may
    stand over none of its first column. Titles set under their own body have none."""
    text = [b for b in blocks if b.kind in ("head", "body")]
    heads = [b for b in blocks if b.kind == "head" and not _closes(b, blocks, size)]
    territory: dict[int, list[Block]] = {}
    for b in sorted((b for b in blocks if b.kind == "body"), key=lambda b: (b.top, b.x0)):
        above = [h for h in heads if h.bottom <= b.top + 0.5 * size and not any(
            o is not h and o is not b and o.x_overlap(b) > 0 and o.top < b.top and
            o.bottom > h.bottom for o in text)]
        across = [h for h in above if h.x_overlap(b) > 0]
        if across:
            best = min(across, key=lambda h: b.top - h.bottom)
        elif above:
            nearest = min(b.top - h.bottom for h in above)
            row = [h for h in above if b.top - h.bottom <= nearest + 2 * size]
            best = min(row, key=lambda h: (max(0.0, h.x0 - b.x1, b.x0 - h.x1), b.top - h.bottom))
        else:
            continue
        territory.setdefault(id(best), []).append(b)
    return territory


def title_starts(order: list[Block], size: float) -> dict[int, bool]:
    """The first line of each title's body: the first read of the blocks under it; and
    whether it stands right under it (then it begins that body even without an indent)."""
    first = {id(b): i for i, b in enumerate(order)}
    heads = {id(b): b for b in order if b.kind == "head"}
    starts = {}
    for head_id, under in territories(order, size).items():
        block = min(under, key=lambda b: first[id(b)])
        starts[id(block.lines[0])] = block.top - heads[head_id].bottom <= MODULE_GAP * size
    return starts
