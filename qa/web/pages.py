"""Reader-facing pages. Everything works without JavaScript: the search form is a plain GET."""

from __future__ import annotations

from flask import Blueprint, render_template

from qa.errors import BadRequest, QAError
from qa.search.filters import PARAMS
from qa.web.context import filter_params, int_arg, k_message, query_args, service, settings
from qa.web.markup import article_paragraphs, highlight

bp = Blueprint("pages", __name__)

EXAMPLES = [
    "济阳区配备了多少名驻站社工？",
    "贵州已建成多少个乡镇（街道）社工站？",
    "内蒙古首家社会工作学院在哪里揭牌？",
    "临泉县有多少人取得了社会工作者职业资格证书？",
]
K_CHOICES = (3, 5, 10, 20)


@bp.get("/")
def index():
    s = settings()
    context = {"examples": EXAMPLES, "question": "", "k": s.default_k,
               "k_choices": [k for k in K_CHOICES if k <= s.max_k],
               "max_chars": s.max_question_chars, "answer": None, "error": None,
               "filters": {}}
    try:
        args = query_args()
        context["question"] = args.get("q", "")
        context["filters"] = {n: args.get(n, "") for n in (*PARAMS, "sort")}
        k = int_arg(args.get("k"), k_message())
        context["k"] = s.default_k if k is None else k
        if context["question"].strip():
            answer = service().ask(context["question"], k, **filter_params(args, True))
            context["answer"] = answer
            context["results"] = [_result(hit, answer.found) for hit in answer.results]
    except QAError as e:
        context["error"] = e.reply
        return render_template("index.html", **context), e.status
    return render_template("index.html", **context)


def _result(hit, found: bool) -> dict:
    """The answering sentence on its own (question words and the short answer marked in it),
    and the passage it stands in. When nothing was found the passage is shown plain: its
    "answering" sentence answers nothing."""
    s, e = hit.highlight.sentence
    answer = hit.highlight.answer
    return {
        "hit": hit,
        "sentence": highlight(hit.text[s:e], answer and (answer[0] - s, answer[1] - s),
                              [(a - s, b - s) for a, b in hit.highlight.terms],
                              mark_class="span"),
        "passage": highlight(hit.text, (s, e) if found else None, mark_class="in-passage"),
    }


@bp.get("/articles/<article_id>")
def article(article_id: str):
    args = query_args()
    a = service().article(article_id)
    passage = None
    try:
        start = int_arg(args.get("start"), "")
        end = int_arg(args.get("end"), "")
    except BadRequest:      # a mangled link still shows the article, just without the mark
        start = end = None
    if start is not None and end is not None and 0 <= start < end <= len(a.text):
        passage = (start, end)
    return render_template("article.html", article=a, question=args.get("q", ""),
                           paragraphs=article_paragraphs(a.text, a.offsets, passage,
                                                         a.uncertain),
                           passage=passage)
