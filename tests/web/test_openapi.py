"""/api/openapi.json stays true: a valid OpenAPI 3.0 document, one operation per real route and
no more, and real responses that validate against its schemas."""

from __future__ import annotations

import io
import re

import pytest

from .conftest import TOKEN
from .support import NEW_PAGE, SEED_QUESTION

openapi_spec_validator = pytest.importorskip("openapi_spec_validator")
from openapi_schema_validator import OAS30Validator  # noqa: E402  (installed with the above)

IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture(scope="module")
def spec(app):
    r = app.test_client().get("/api/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    return r.get_json()


def test_spec_is_valid_openapi_30(spec):
    assert spec["openapi"].startswith("3.0")
    openapi_spec_validator.validate(spec)


def test_every_route_is_documented_and_every_documented_operation_exists(app, spec):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            routes |= {(path, m.lower()) for m in rule.methods - IGNORED_METHODS}
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops
                  if method in {"get", "post", "put", "patch", "delete"}}
    assert routes == documented


def check(spec, path, method, response):
    """Validate a real response against the schema documented for its status."""
    documented = spec["paths"][path][method]["responses"]
    assert str(response.status_code) in documented, (path, method, response.status_code)
    schema = documented[str(response.status_code)]["content"]["application/json"]["schema"]
    validator = OAS30Validator({**schema, "components": spec["components"]})
    validator.validate(response.get_json())


def test_real_responses_match_schemas(client, spec):
    check(spec, "/api/ask", "get", client.get("/api/ask", query_string={"q": SEED_QUESTION}))
    check(spec, "/api/ask", "get", client.get("/api/ask", query_string={"q": "x", "k": "x"}))
    check(spec, "/api/ask", "post", client.post("/api/ask", json={"question": SEED_QUESTION,
                                                                  "top_k": 3}))
    check(spec, "/api/ask", "post", client.post("/api/ask", data="[",
                                                content_type="application/json"))
    check(spec, "/api/ask", "post", client.post("/api/ask", data="x", content_type="text/plain"))
    check(spec, "/api/articles", "get", client.get("/api/articles?per_page=3"))
    check(spec, "/api/articles", "get", client.get("/api/articles?page=0"))
    article_id = client.get("/api/articles").get_json()["articles"][0]["id"]
    check(spec, "/api/articles/{article_id}", "get", client.get(f"/api/articles/{article_id}"))
    check(spec, "/api/articles/{article_id}", "get", client.get("/api/articles/nope"))
    check(spec, "/api/health", "get", client.get("/api/health"))
    check(spec, "/api/issues", "post", client.post("/api/issues"))


def test_upload_and_unavailable_responses_match_schemas(spec, make_app, writable_index,
                                                        tmp_path):
    client = make_app(writable_index).test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for expected in (201, 200):
        r = client.post("/api/issues", headers=auth, content_type="multipart/form-data",
                        data={"files": [(io.BytesIO(NEW_PAGE.encode()), "p.txt")]})
        assert r.status_code == expected
        check(spec, "/api/issues", "post", r)
    check(spec, "/api/issues", "post", client.post(
        "/api/issues", headers=auth, content_type="multipart/form-data",
        data={"files": [(io.BytesIO(b"\x00" * 10), "p.txt")]}))
    check(spec, "/api/health", "get", make_app(tmp_path / "none").test_client().get("/api/health"))


def test_job_responses_match_schemas(spec, make_app, index):
    """A scanned upload's 202 and its job (here a blank page: it fails at once, with the reason)."""
    from PIL import Image

    from tests.ingest import scangen

    from .support import job_result

    client = make_app(index).test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    blank = scangen.to_png(Image.new("L", (600, 400), 250))
    r = client.post("/api/issues", headers=auth, content_type="multipart/form-data",
                    data={"files": [(io.BytesIO(blank), "p.png")]})
    check(spec, "/api/issues", "post", r)
    job = job_result(client, r, auth)
    assert job["status"] == "failed"
    path = "/api/jobs/{job_id}"
    check(spec, path, "get", client.get(r.headers["Location"], headers=auth))
    check(spec, path, "get", client.get("/api/jobs/" + "0" * 32, headers=auth))
    check(spec, path, "get", client.get("/api/jobs/" + "0" * 32))
    busy = make_app(index, max_jobs=0).test_client().post(
        "/api/issues", headers=auth, content_type="multipart/form-data",
        data={"files": [(io.BytesIO(blank), "p.png")]})
    check(spec, "/api/issues", "post", busy)


def test_schema_check_is_not_vacuous(spec):
    from jsonschema.exceptions import ValidationError

    answer = {"$ref": "#/components/schemas/Answer", "components": spec["components"]}
    bad = {"question": "q", "took_ms": 1, "results": [{"rank": 1, "score": 0.5}]}
    with pytest.raises(ValidationError):
        OAS30Validator(answer).validate(bad)


def test_result_schemas_are_made_from_the_dataclasses(spec):
    from dataclasses import fields

    from qa.types import ARTICLE_SUMMARY, Answer, Article, Citation, Highlight, Hit

    schemas = spec["components"]["schemas"]
    for cls in (Answer, Article, Citation, Highlight, Hit):
        names = [f.name for f in fields(cls)]
        assert schemas[cls.__name__]["required"] == names
        assert set(schemas[cls.__name__]["properties"]) == set(names)
    assert schemas["ArticleSummary"]["required"] == list(ARTICLE_SUMMARY)
    assert schemas["Hit"]["properties"]["highlight"] == {"$ref": "#/components/schemas/Highlight"}


def test_type_schema_covers_the_annotations_used_and_refuses_others():
    from qa.types import Citation
    from qa.web.openapi import type_schema

    assert type_schema(str | None) == {"type": "string", "nullable": True}
    assert type_schema(dict[str, float | None]) == {
        "type": "object", "additionalProperties": {"type": "number", "nullable": True}}
    span = type_schema(list[tuple[int, int]])["items"]
    assert span["minItems"] == span["maxItems"] == 2 and span["items"]["type"] == "integer"
    assert type_schema(Citation | None) == {
        "allOf": [{"$ref": "#/components/schemas/Citation"}], "nullable": True}
    for unknown in (int | str, set[int], tuple[str, str], bytes):
        with pytest.raises(TypeError):
            type_schema(unknown)
