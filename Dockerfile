# syntax=docker/dockerfile:1
# The dialer engine. Build from the repository root:
#   docker build -t dialer .
# Run: docker run -p 8080:8080 -v ./dialer.yaml:/etc/dialer/dialer.yaml:ro dialer
# (deploy/docker-compose.yml runs it with PostgreSQL, Asterisk, Prometheus and Grafana).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtualenv with the package and its dependencies --------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/dialer
WORKDIR /src
COPY pyproject.toml README.md ./
COPY dialer ./dialer
# The migrations ship inside the package, where `dialer db migrate` looks first.
COPY sql ./dialer/sql
RUN /opt/dialer/bin/pip install --upgrade pip \
    && /opt/dialer/bin/pip install '.[fast]' \
    && /opt/dialer/bin/dialer --help > /dev/null

# --- runtime: the virtualenv only, run by an unprivileged user --------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/dialer/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system --gid 10001 dialer \
    && useradd --system --uid 10001 --gid dialer --home-dir /var/lib/dialer --create-home \
       --shell /usr/sbin/nologin dialer
COPY --from=build /opt/dialer /opt/dialer
COPY deploy/dialer.yaml /etc/dialer/dialer.yaml
USER 10001:10001
WORKDIR /var/lib/dialer
# 8080: API, status WebSocket, wallboard, /metrics, /healthz, /readyz. 4573: FastAGI.
EXPOSE 8080 4573
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["dialer"]
CMD ["run", "-c", "/etc/dialer/dialer.yaml"]
