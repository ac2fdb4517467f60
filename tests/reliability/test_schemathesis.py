"""Schemathesis against the live server's own ``/api/openapi.json``: requests generated from
the spec, valid (positive) and invalid (negative) ones, for every operation, with the admin token
so uploads are exercised too. No response may be a 5xx, and every response must match the spec:
schemathesis' default checks (status code documented, content type, headers, response schema,
invalid data rejected, valid data accepted …).

A small, derandomised run in ``make test``; ≥ 1000 random cases in ``make reliability`` (a
disagreement not listed in ``KNOWN`` fails it: that is a finding to report). (Driven through
``APIOperation.as_strategy`` and hypothesis rather than ``schemathesis.pytest.from_fixture``,
whose lazy fixture breaks on pytest 9: it reads the removed ``Function._nodeid``.)"""

from __future__ import annotations

import json
from collections import Counter

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.core.failures import Failure, FailureGroup  # noqa: E402


# Where the app and its spec disagree (RELIABILITY.md, "spec disagreements"): requests the spec
# allows but the app refuses with a clear 4xx, or the other way round. Each is reported, not
# fixed here (qa/web/openapi.py belongs to another change); anything else fails the test.
KNOWN = {
    "D1": "q / question blank once normalised (empty, spaces, control characters only) → 400 "
          "bad_question; the spec has no minLength (GET q) / no 'not blank' rule",
    "D2": "page × per_page beyond max_list_depth (10,000) → 400 naming page (issue 23), and page "
          "or per_page longer than 9 digits → 400 (qa/web/context.py _INT); the spec's maximum on "
          "page cannot depend on per_page",
    "D3": "an upload the spec allows but that holds no readable page (files: [] → 400, bytes "
          "that are not a page → 422 bad_issue_file); the spec has no minItems and cannot say "
          "'a newspaper page'",
    "D4": "question longer than maxLength (500) in raw code points but not once normalised "
          "(control characters dropped, whitespace runs collapsed) → 200; the app counts "
          "after normalisation",
    "D5": "POST /api/ask with \"top_k\": null → 200 with the default k; the spec's top_k is a "
          "non-nullable integer",
    "D6": "POST /api/issues with a 'schema-violating' body (text/plain that is 'not a string', "
          "multipart parts that are 'not binary', extra fields) → 200/201 (202 for a scan: a "
          "job): on the wire every "
          "text/plain body and multipart part is bytes, so the app reads the files it can and "
          "skips the rest with reasons; an artefact of schemathesis' negative mode for these "
          "media types, not of the app",
    "D7": "GET/POST /api/ask with date_from later than date_to → 400 naming date_from; the spec "
          "cannot relate two parameters",
    "D8": "GET/POST /api/ask with a filter value holding a control character (NUL, an escape) "
          "→ 400 naming the parameter (issue 23: it reached Milvus's parser); the spec does not "
          "list the characters",
    "D9": "GET /api/ask whose request line passes 8,190 bytes (more filter values than "
          "maxItems, each long) → gunicorn's own 414 in HTML (F5): the app never sees it. Behind "
          "the production front (deploy/nginx.conf) it is nginx's 414 in the JSON envelope",
    "D10": "POST /api/ask with a (schema-violating) body over max_ask_bytes → 413 "
           "payload_too_large before it is read (issue 23); schemathesis does not count 413 "
           "among the statuses that reject negative data",
    "D11": "POST /api/issues with a scan while QA_MAX_JOBS scan uploads already wait → 503 "
           "busy with Retry-After (issue 25): the designed back-pressure, in the spec; "
           "schemathesis counts every 5xx as a server error",
}


def known_disagreement(operation: str, case, failure, response) -> str | None:
    kind = type(failure).__name__
    if operation == "GET /api/ask" and response.status_code == 414 \
            and kind in ("AcceptedNegativeData", "UndefinedStatusCode"):
        return "D9"
    if operation == "POST /api/ask" and response.status_code == 413 \
            and kind == "AcceptedNegativeData":
        return "D10"
    try:
        code = response.json()["error"]["code"]
    except Exception:  # noqa: BLE001
        code = None
    if kind == "RejectedPositiveData":
        if operation in ("GET /api/ask", "POST /api/ask") and code == "bad_question":
            return "D1"
        if operation == "GET /api/articles" and code == "bad_request":
            return "D2"
        if operation in ("GET /api/ask", "POST /api/ask") and code == "bad_request" \
                and "date_from 不能晚于 date_to" in response.text:
            return "D7"
        if operation in ("GET /api/ask", "POST /api/ask") and code == "bad_request" \
                and "控制字符" in response.text:
            return "D8"
        if operation == "POST /api/issues" and code in ("bad_request", "bad_issue_file"):
            return "D3"
    if kind == "AcceptedNegativeData" and operation == "POST /api/ask" \
            and response.status_code == 200:
        body = case.body if isinstance(case.body, dict) else {}
        if "top_k" in body and body["top_k"] is None:
            return "D5"
        if isinstance(body.get("question"), str) and len(body["question"]) > 500:
            return "D4"
    if kind == "AcceptedNegativeData" and operation == "GET /api/ask" \
            and response.status_code == 200 and len(str((case.query or {}).get("q", ""))) > 500:
        return "D4"
    if kind == "AcceptedNegativeData" and operation == "POST /api/issues" \
            and case.media_type in ("text/plain", "multipart/form-data", "application/pdf",
                                    "image/png", "image/jpeg", "image/tiff") \
            and response.status_code in (200, 201, 202):
        return "D6"
    if kind == "ServerError" and operation == "POST /api/issues" \
            and response.status_code == 503 and code == "busy" \
            and "retry-after" in {k.lower() for k in response.headers}:
        return "D11"
    return None


def fuzz(served, per_operation: int, derandomize: bool, only: set[str] | None = None):
    """Every operation (or those ``only`` names) × {positive, negative}, ``per_operation``
    examples each. Returns case counts, the distinct unexpected failures, and the known
    disagreements seen (with one example request each)."""
    base, _, token = served
    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    counts: Counter = Counter()
    failures: dict[str, str] = {}
    seen: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if only is not None and operation.label not in only:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.label} {mode.value}"

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=per_operation, deadline=None, database=None,
                      derandomize=derandomize,
                      suppress_health_check=list(HealthCheck),
                      phases=[Phase.explicit, Phase.generate])
            def one(case):
                counts["total"] += 1
                counts[label] += 1
                response = case.call(base_url=base, headers=headers, timeout=120)
                counts[f"status {response.status_code}"] += 1
                try:
                    case.validate_response(response, headers=headers,
                                           transport_kwargs={"base_url": base, "headers": headers})
                except (Failure, FailureGroup) as e:   # collected, reported all at once
                    for f in (e.exceptions if isinstance(e, FailureGroup) else [e]):
                        known = known_disagreement(operation.label, case, f, response)
                        if known:
                            counts[f"known {known}"] += 1
                            seen.setdefault(known, _describe(case, f, response))
                        else:
                            key = f"{label}: {type(f).__name__}: {getattr(f, 'title', '')}"
                            failures.setdefault(key, _describe(case, f, response))

            try:
                one()
            except Exception as e:      # noqa: BLE001
                if "Unsatisfiable" in type(e).__name__:
                    counts[f"{label} (no such cases)"] += 1   # e.g. no invalid /api/health
                else:
                    failures.setdefault(f"{label}: {type(e).__name__}", repr(e)[:3000])
    return counts, failures, seen


def _describe(case, failure, response) -> str:
    body = "" if type(case.body).__name__ == "NotSet" else repr(case.body)[:300]
    return (f"{type(failure).__name__}: {getattr(failure, 'title', failure)}\n"
            f"  request: {case.method} {case.formatted_path} query={case.query!r} body={body} "
            f"media_type={case.media_type!r}\n"
            f"  response: {response.status_code} {response.text[:300]}")


def _report(counts: Counter, failures: dict[str, str], seen: dict[str, str]) -> str:
    lines = ["schemathesis cases: " + json.dumps(dict(sorted(counts.items())), ensure_ascii=False)]
    for key, text in seen.items():
        lines += [f"--- known disagreement {key}: {KNOWN[key]}", text]
    for key, text in failures.items():
        lines += [f"--- UNEXPECTED {key}", text]
    return "\n".join(lines)


def test_schemathesis_quick(served):
    counts, failures, seen = fuzz(served, per_operation=4, derandomize=True)
    print("\n" + _report(counts, failures, seen))
    assert counts["total"] >= 30
    assert not failures, _report(counts, failures, seen)


@pytest.mark.slow
def test_schemathesis_full(served):
    counts, failures, seen = fuzz(served, per_operation=150, derandomize=False)
    print("\n" + _report(counts, failures, seen))
    assert counts["total"] >= 1000
    assert not failures, _report(counts, failures, seen)


# The unauthenticated reads issue 23 is about.
READS = {"GET /api/ask", "POST /api/ask", "GET /api/articles", "GET /api/articles/{article_id}",
         "GET /api/issues"}


@pytest.mark.slow
def test_schemathesis_reads_2000_cases(served):
    """≥ 2,000 generated requests to /api/ask, /api/articles and /api/issues: no 5xx, and
    every response as the spec says (issue 23)."""
    counts, failures, seen = fuzz(served, per_operation=300, derandomize=False, only=READS)
    print("\n" + _report(counts, failures, seen))
    assert counts["total"] >= 2000
    assert not any(k.startswith("status 5") for k in counts), counts
    assert not failures, _report(counts, failures, seen)
