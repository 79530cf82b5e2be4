# Shewu gateway image: `shewu serve` (API, live feed, on-call board) plus the `shewu` tools
# (sim, bridge serial, demo) from the same package.
#
#   docker build -t shewu .
#   docker run --rm -p 8080:8080 -e SHEWU_MQTT_URL=mqtt://broker:1883 shewu
#
# Configuration is by SHEWU_* environment variables (see README.md); without SHEWU_DB_URL the
# gateway uses SQLite at /app/var/shewu.db (mount a volume on /app/var to keep it).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway/ gateway/
COPY device_adapters/ device_adapters/
COPY firmware_sim/ firmware_sim/
COPY dashboard/ dashboard/
RUN pip install . \
    && rm -rf /src

RUN useradd --system --create-home --home-dir /home/shewu --uid 10001 shewu \
    && mkdir -p /app/var \
    && chown shewu:shewu /app/var
WORKDIR /app
USER shewu

EXPOSE 8080
CMD ["shewu", "serve", "--host", "0.0.0.0"]
