# leanon's image: `docker build -t leanon .`, then `docker run --env-file .env -p 3000:3000 leanon`.
# Stage 1 builds leanon's wheel and installs it with its dependencies, at the versions of the
# lock file (constraints.txt), into /opt/leanon;
# stage 2 is the same slim Python with that virtual environment and nothing else.
# tests/ops/test_install.py runs these install and start steps in a fresh venv.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY bot ./bot
COPY adapters ./adapters
COPY storage ./storage
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
 && python -m venv /opt/leanon \
 && /opt/leanon/bin/python -m pip install -c constraints.txt /wheels/leanon-*.whl

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/leanon/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LEANON_HOST=0.0.0.0 \
    LEANON_PORT=3000 \
    DATABASE_URL=sqlite:////data/leanon.db
RUN useradd --system --no-log-init --uid 10001 --user-group --home-dir /data --create-home leanon
COPY --from=build /opt/leanon /opt/leanon
USER 10001:10001
WORKDIR /data
EXPOSE 3000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["leanon", "healthcheck"]
ENTRYPOINT ["leanon"]
CMD ["run"]
