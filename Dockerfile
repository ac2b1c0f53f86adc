# syntax=docker/dockerfile:1
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, in their own cached layer.
COPY pyproject.toml README.md ./
RUN mkdir bot && touch bot/__init__.py && pip install . && pip uninstall -y newsbot

COPY bot ./bot
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 newsbot \
    && mkdir -p /app/state && chown newsbot /app/state
COPY config ./config

USER newsbot
VOLUME ["/app/state"]
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s CMD ["newsbot", "healthcheck"]
ENTRYPOINT ["newsbot"]
CMD ["run"]
