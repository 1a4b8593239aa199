# syntax=docker/dockerfile:1

# ---- stage 1: build the vmemscope wheel (compiles the Cython engine) and all dependency wheels
FROM python:3.11-slim-bookworm AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY engine ./engine
COPY app ./app
RUN pip wheel --no-deps -w /wheels . \
 && pip wheel -w /wheels /wheels/vmemscope-*.whl

# ---- stage 2: runtime image, no compiler
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VMEMSCOPE_DATA_DIR=/data
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels vmemscope
RUN useradd --system --create-home --uid 10001 --user-group vmemscope \
 && mkdir -p /data \
 && chown vmemscope:vmemscope /data
# static/ and templates/ live at the repo root and are not packaged (yet): ship them
# next to the working directory the server starts in.
WORKDIR /srv/vmemscope
COPY static ./static
COPY templates ./templates
VOLUME ["/data"]
EXPOSE 8000
USER vmemscope
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
