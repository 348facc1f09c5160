# meta-agent's HTTP service (specification §12.2). Build: docker build -t meta-agent .
# Run with docker-compose.yml (the service, Redis and PostgreSQL), or alone:
#   docker run -p 8000:8000 -e META_AGENT_CONFIG=/app/config/production.yaml ... meta-agent
# tests/config/test_deployment.py keeps this file consistent with the code.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/meta-agent
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/meta-agent/bin/pip install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/meta-agent/bin:$PATH \
    META_AGENT_DATA_DIR=/var/lib/meta-agent
RUN groupadd --system --gid 10001 meta-agent \
    && useradd --system --uid 10001 --gid meta-agent --home-dir /nonexistent --no-create-home meta-agent \
    && mkdir -p /var/lib/meta-agent \
    && chown meta-agent:meta-agent /var/lib/meta-agent
COPY --from=build /opt/meta-agent /opt/meta-agent
WORKDIR /app
COPY config ./config
USER meta-agent
VOLUME ["/var/lib/meta-agent"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["meta-agent", "serve", "--host", "0.0.0.0", "--port", "8000"]
