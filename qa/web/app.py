"""The application factory.

gunicorn can load it directly — ``gunicorn 'qa.web.app:create_app()'`` — reading settings from
``QA_*`` variables; ``qa serve`` passes a ``Settings`` built from its flags instead. Nothing is
loaded at import time or in the factory: each worker loads the model and index on first use (or in
``qa serve``'s warm-up), so forked workers never share torch state.
"""

from __future__ import annotations

from flask import Flask

from qa.config import Settings
from qa.jobs import Jobs
from qa.search.service import SearchService
from qa.types import chinese_date
from qa.web import api, errors, pages

# No inline script or style anywhere, so the policy can forbid both: an injected <script> or
# style attribute is inert even if escaping were ever missed.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def create_app(settings: Settings | None = None, service: SearchService | None = None) -> Flask:
    if settings is None:
        settings = service.settings if service is not None else Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.json.ensure_ascii = False       # readable Chinese in curl output and logs
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters["chinese_date"] = chinese_date
    app.extensions["qa.settings"] = settings
    app.extensions["qa.service"] = service or SearchService(settings)
    app.extensions["qa.jobs"] = Jobs(settings)
    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_blueprint(pages.bp)
    errors.register(app)

    @app.after_request
    def _security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app
