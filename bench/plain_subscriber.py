"""The baseline consumer: a plain paho-mqtt QoS 1 subscriber that only counts messages.

Run by the benchmarks as a separate process, with the same protocol (MQTT v5), persistent
session and subscriptions as the gateway:

    python bench/plain_subscriber.py --url mqtt://127.0.0.1:1883 --client-id base --expect 0     # make the session
    python bench/plain_subscriber.py --url ... --client-id base --expect 60000                   # drain and time it

Prints one JSON line: messages, seconds from the first to the last, msg/s; with --record
PREFIX, also the receive time (time.time_ns) of each message whose topic has that device prefix.
"""

from __future__ import annotations

import argparse
import json
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

TOPICS = ["zigbee2mqtt/#", "shewu/v1/+/event"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--expect", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--protocol", type=int, choices=(4, 5), default=5)
    ap.add_argument("--record", default="", help="record receive times of native events from devices with this prefix")
    args = ap.parse_args()
    host, port = args.url.removeprefix("mqtt://").split(":")
    received = 0
    first = last = 0.0
    recorded: dict[str, int] = {}
    done = threading.Event()
    subscribed = threading.Event()
    prefix = f"shewu/v1/{args.record}" if args.record else ""

    def on_connect(client: mqtt.Client, _u: object, _f: object, rc: object, _p: object) -> None:
        client.subscribe([(t, SubscribeOptions(qos=1)) for t in TOPICS] if v5 else [(t, 1) for t in TOPICS])

    def on_subscribe(*_a: object) -> None:
        subscribed.set()

    def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal received, first, last
        now = time.perf_counter()
        if received == 0:
            first = now
        received += 1
        last = now
        if prefix and msg.topic.startswith(prefix):
            recorded[msg.topic.split("/")[2]] = time.time_ns()
        if args.expect and received >= args.expect:
            done.set()

    v5 = args.protocol == 5
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=args.client_id,
                         protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311, clean_session=None if v5 else False)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    if v5:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        client.connect(host, int(port), clean_start=False, properties=props)
    else:
        client.connect(host, int(port))
    client.loop_start()
    subscribed.wait(10)
    print(json.dumps({"ready": True}), flush=True)
    if args.expect:
        done.wait(args.timeout)
    else:
        # --expect 0: run until stdin closes (the latency benchmark) or just make the session.
        import sys

        if not sys.stdin.isatty() and args.record:
            sys.stdin.read()
    client.disconnect()
    client.loop_stop()
    seconds = last - first
    print(json.dumps({
        "messages": received,
        "seconds": round(seconds, 3),
        "rate": round(received / seconds, 1) if seconds > 0 else 0,
        **({"recorded": recorded} if args.record else {}),
    }), flush=True)


if __name__ == "__main__":
    main()
