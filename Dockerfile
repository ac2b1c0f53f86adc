# No "# syntax=" line: with BuildKit it makes every build pull a frontend image
# from a registry, which fails offline. This file needs no newer syntax.
#
# Mirrors: BASE_IMAGE is any Python 3.11+ image with pip (e.g. your registry's copy
# of python:3.11-slim); PIP_INDEX_URL is a PyPI mirror (the lock's hashes still
# apply). docker-compose.yml passes NEWSBOT_BASE_IMAGE and PIP_INDEX_URL from .env.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
ARG PIP_INDEX_URL=
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# 1. Dependencies: exact versions, every file hash-checked, in their own layer. Only
#    a change to requirements.lock rebuilds it (not a README or source edit).
#    Regenerate the lock after changing dependencies in pyproject.toml (docs/deployment.md).
COPY requirements.lock ./
RUN pip install --no-deps --require-hashes -r requirements.lock

# 2. newsbot itself; --no-deps: nothing is resolved again, the lock is the whole truth
#    (setuptools, to build it, is in the lock too).
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install --no-deps --no-build-isolation . \
    && rm -rf build ./*.egg-info \
    && groupadd --gid 10001 newsbot \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin newsbot \
    && mkdir -p /app/state \
    && chown 10001:10001 /app/state
COPY --chown=10001:10001 config ./config

# The database lives in the /app/state volume whatever config/settings.yaml says
# (a relative state_dir there starts at /app/config).
ENV NEWSBOT_STATE_DIR=/app/state
# A numeric user, so that Kubernetes' runAsNonRoot can verify it; compose may
# override it with the host user's uid (see docker-compose.yml).
USER 10001:10001
VOLUME ["/app/state"]
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 CMD ["newsbot", "healthcheck"]
ENTRYPOINT ["newsbot"]
CMD ["run"]
