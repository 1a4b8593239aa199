# syntax=docker/dockerfile:1
# vmemscope: dashboard + REST API. Build: docker build -t vmemscope .
# Run:   docker run -p 8000:8000 -v vmemscope-data:/data vmemscope
#        docker run -p 8000:8000 -e DATABASE_URL=postgresql://user:pw@db/vmemscope vmemscope
#
# Base: CPython 3.11.7 on Debian 12, as the development venv, pinned by digest. The digest is the one
# BuildKit resolved for python:3.11.7-slim-bookworm (= python:3.11-slim then) in public build logs and
# Dockerfiles; no registry is reachable from CI. validate/image_replay.py replays this file in chroots
# (no Docker engine there either) and starts the result.
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm@sha256:cfd7ed5c11a88ce533d69a1da2fd932d647f9eb6791c5b4ddce081aedf7f7876

# ---- stage 1: build the vmemscope wheel (compiles the Cython engine) and the locked dependency wheels
FROM ${PYTHON_IMAGE} AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements.lock pyproject.toml setup.py README.md ./
RUN pip install "setuptools>=77" "Cython>=3.0" \
 && pip wheel -w /wheels -r requirements.lock
COPY engine ./engine
COPY app ./app
# static/ and templates/ go into the wheel as app/static and app/templates (setup.py)
COPY static ./static
COPY templates ./templates
RUN pip wheel --no-deps --no-build-isolation -w /wheels .

# ---- stage 2: runtime image, no compiler
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VMEMSCOPE_DATA_DIR=/data
# Debian's Chromium and fonts: figure export (kaleido) and screenshots (playwright) use /usr/bin/chromium
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-liberation fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.lock /tmp/requirements.lock
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels -c /tmp/requirements.lock "vmemscope[postgres]"
RUN useradd --system --create-home --uid 10001 --user-group vmemscope \
 && mkdir -p /data \
 && chown vmemscope:vmemscope /data
WORKDIR /home/vmemscope
VOLUME ["/data"]
EXPOSE 8000
USER vmemscope
# liveness; orchestrators that route traffic should also probe /readyz (the database answers)
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# `vmemscope serve` checks the database first (one line and exit 2 if it is bad or unreachable) and runs
# uvicorn with the header-size and slow-client limits (docs/operations.md)
CMD ["vmemscope", "serve", "--host", "0.0.0.0", "--port", "8000"]
