#!/bin/sh
# The compose `sim` service: register a simulated community's devices with the gateway, then run
# it against the broker. Same --homes and --seed give the same residents, addresses and device ids,
# so re-running it re-imports the same rows (the import updates them, it does not duplicate them).
#
#   SHEWU_GATEWAY_URL  gateway base URL     (default http://gateway:8080)
#   SHEWU_MQTT_URL     broker URL           (default mqtt://mosquitto:1883)
#   SIM_HOMES          homes                (default 30)
#   SIM_RATE           alarms/home/minute   (default 0.02)
#   SIM_SEED           random seed          (default 2026)
#   SHEWU_SIM_TOKEN    an admin bearer token for the device import (required), made with
#                      docker compose run --rm gateway shewu token create --name sim --role admin
set -eu

if [ -z "${SHEWU_SIM_TOKEN:-}" ]; then
  echo "sim: set SHEWU_SIM_TOKEN (in .env) to an admin token:" >&2
  echo "  docker compose run --rm gateway shewu token create --name sim --role admin" >&2
  exit 2
fi

GATEWAY="${SHEWU_GATEWAY_URL:-http://gateway:8080}"
MQTT="${SHEWU_MQTT_URL:-mqtt://mosquitto:1883}"
HOMES="${SIM_HOMES:-30}"
RATE="${SIM_RATE:-0.02}"
SEED="${SIM_SEED:-2026}"
CSV="$(mktemp)"

shewu sim community --homes "$HOMES" --seed "$SEED" --csv "$CSV" --csv-only
python - "$GATEWAY/api/devices/import" "$CSV" <<'PY'
import os
import sys
import urllib.request

url, path = sys.argv[1], sys.argv[2]
with open(path, "rb") as fh:
    headers = {"Content-Type": "text/csv", "Authorization": "Bearer " + os.environ["SHEWU_SIM_TOKEN"]}
    request = urllib.request.Request(url, data=fh.read(), headers=headers, method="POST")
with urllib.request.urlopen(request, timeout=30) as response:
    print("registered with the gateway:", response.read().decode())
PY
rm -f "$CSV"
exec shewu sim community --homes "$HOMES" --seed "$SEED" --rate "$RATE" --mqtt "$MQTT"
