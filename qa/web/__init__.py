"""HTTP edge: a Flask app that only translates between HTTP and ``SearchService``/``add_files``.

Build it with ``qa.web.app.create_app``; serve it with ``qa serve`` (gunicorn).
"""
