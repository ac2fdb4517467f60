"""One PDF page's glyphs → articles, from what the page's geometry says.

Plain page text has lost where things were; a PDF page still knows, so this reads the layout
instead of guessing it from line widths (``layout``):

* **lines**: glyphs on one baseline, split where a gap is wider than ~2/3 of a character, or
  the glyphs were not written one after another, or the type size changes (two columns, two
  neighbouring titles, a title beside a column);
* **kinds**, by type size relative to the page's body size (the size most characters are set
  in): larger is a title or kicker, smaller a caption or page furniture; a body-size bold line
  touching a title belongs to it;
* **columns**, by clustering the left and right edges of body lines: a column is an extent many
  full lines share; a short or indented line belongs to the nearest column that holds it;
* **reading order**, by cutting the page recursively along the white space that runs across
  it (rows first, then columns), a title and the body it stands over cut as one module, so a
  body runs down one column and on at the top of the next, and an article that runs on below
  another one's module is read after that module;
* **paragraphs** from indents, short last lines and extra space, not from punctuation guesses;
* **captions**: small type under (or over) a picture, or with a `（图片来源：…）` marker;
  small type above or below everything else is the running head or foot, and is dropped.

The same rules as on text pages then end an article (its outlet line ``（据…）``); an article
that stopped in mid-sentence at a column's end, or lacks its outlet line, takes up the text
where it runs on below another one; titles and captions are matched to articles (shared rare
bigrams, ``articles._Similarity``), here helped by where they stand; and the same ``repair``
runs, over the page in reading order (so damaged outlet lines are found) and then over each
article's own text.
"""

from qa.ingest.pdfpage.lines import BOLD_WEIGHT
from qa.ingest.pdfpage.page import Page
from qa.ingest.pdfpage.shapes import Box, Glyph

__all__ = ["BOLD_WEIGHT", "Box", "Glyph", "Page"]
