# Portrait service image.
#
#   docker build -t portrait .
#   docker run --rm -e PORTRAIT_DATABASE_URL=... -e PORTRAIT_TOKEN_SECRET=... \
#       -e PORTRAIT_KEY_ENCRYPTION_KEY=... -e PORTRAIT_PUBLIC_URL=https://... portrait portrait migrate
#   docker run -d -p 8000:8000 -e ... (same variables) portrait
#
# Production mode never migrates on start: run `portrait migrate` once per release, as a separate
# command (a job or an init container), before the new version serves traffic.

# -- builder: the virtual environment, installed exactly as `python3 dev.py` does ----------------
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_NO_INPUT=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /app
RUN python -m venv /opt/venv

# Dependencies first, so that a code change does not reinstall them.
COPY requirements.lock ./
RUN /opt/venv/bin/python -m pip install -r requirements.lock

COPY pyproject.toml README.md alembic.ini ./
COPY alembic/ alembic/
COPY service/ service/
RUN /opt/venv/bin/python -m pip install --no-deps -e .

# -- runtime ---------------------------------------------------------------------------------------
FROM python:3.11-slim AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORTRAIT_MODE=production \
    PORTRAIT_VAR_DIR=/app/var \
    PORTRAIT_LOG_JSON=true

RUN groupadd --system --gid 10001 portrait \
    && useradd --system --uid 10001 --gid portrait --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin portrait

WORKDIR /app
# The editable install points at /app, so the source lives at the same path as in the builder.
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
RUN mkdir -p /app/var && chown portrait:portrait /app/var

USER portrait
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4); sys.exit(0 if r.status == 200 else 1)"]

CMD ["portrait", "serve", "--host", "0.0.0.0", "--port", "8000"]
