# syntax=docker/dockerfile:1
# Image for the `cckpi` command (worker, simulator, ...). Build: docker build -t cckpi .
# Run:   docker run --rm cckpi --help
#        docker run --rm cckpi worker --contract /app/contracts/examples/demo.yaml \
#            --broker kafka://kafka:9092 --metrics-port 9100

ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: wheels for the project and all its dependencies --------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# A compiler only in case a dependency has no wheel for this platform (e.g. arm64).
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# .dockerignore lets in only pyproject.toml, README.md, streams/ and contracts/.
COPY . .
RUN pip wheel --prefer-binary --wheel-dir /wheels .

# ---- runtime -------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels cckpi \
 && useradd --system --create-home --home-dir /home/cckpi --uid 10001 cckpi \
 && mkdir -p /app && chown cckpi:cckpi /app
# Contracts are read-only data; the working dir stays writable for Faust's local table state.
COPY --chown=root:root contracts /app/contracts
WORKDIR /app
USER cckpi
EXPOSE 9100
ENTRYPOINT ["cckpi"]
CMD ["--help"]
