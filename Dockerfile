# syntax=docker/dockerfile:1.7
# labshare production image: the web processes (gunicorn, HTTP), the WebSocket processes (daphne)
# and the job worker (procrastinate) all run from it; docker-compose.yml picks the command. Python dependencies come from uv.lock only
# (`uv sync --frozen --no-dev`), browser assets from package-lock.json (`npm ci`), and the app runs
# as an unprivileged user.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- Browser assets (htmx, event-calendar), served from node_modules by the staticfiles finders ---
FROM node:22-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# --- Build: virtualenv from the lock file, compiled translations, collected static files ---------
FROM ${PYTHON_IMAGE} AS build
# The same uv as the one that wrote uv.lock.
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/uv
RUN apt-get update \
 && apt-get install -y --no-install-recommends gettext \
 && rm -rf /var/lib/apt/lists/*
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first, in their own layer: it changes only when uv.lock does.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-project
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev
COPY --from=assets /app/node_modules ./node_modules
# Settings refuse to load without a database URL; nothing connects during these commands (the
# values live only in this RUN's shell, not in the image).
RUN export DATABASE_URL=postgres://build@localhost:5432/build SECRET_KEY=build-only-not-a-secret DEBUG=0 \
 && if find . -path ./.venv -prune -o -path ./node_modules -prune -o -name '*.po' -print -quit | grep -q .; then \
        .venv/bin/python manage.py compilemessages --ignore=.venv --ignore=node_modules -v0; \
    fi \
 && .venv/bin/python manage.py collectstatic --no-input -v0

# --- Runtime ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/app/.venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=config.settings \
    MEDIA_ROOT=/app/media
RUN groupadd --system --gid 10001 labshare \
 && useradd --system --uid 10001 --gid labshare --home-dir /app --no-create-home --shell /usr/sbin/nologin labshare
WORKDIR /app
# The code stays root-owned (read-only for the app); only uploads and collected static files are
# the app's to write (the web service re-collects static files into its volume on start).
COPY --from=build /app /app
RUN mkdir -p /app/media \
 && chown -R labshare:labshare /app/media /app/staticfiles
USER labshare
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=8).status == 200 else 1)"]
CMD ["gunicorn", "-c", "config/gunicorn.py", "--bind", "0.0.0.0:8000", "config.wsgi:application"]
