"""Counters for /metrics, in Prometheus text format. Thread-safe, no dependencies."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import defaultdict

TELEMETRY_COUNTERS = {  # gateway.telemetry.writer's counters, counted in device events
    "written": "Device events written to InfluxDB.",
    "dropped": "Device events dropped: the telemetry queue was full, or InfluxDB stayed away too long.",
    "rejected": "Device events InfluxDB refused (a bad token or bucket); not retried.",
    "failed_batches": "Telemetry write requests that failed (each retry counted).",
}
ACK_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages_received = 0  # counted on arrival, before anything is committed
        self.messages_in = 0
        self.messages_decoded = 0
        self.events = 0
        self.deadletters: dict[str, int] = defaultdict(int)
        self.orders_opened: dict[str, int] = defaultdict(int)
        self.order_repeats = 0
        self.batches = 0
        self.batch_failures = 0
        self.alarms_minimal = 0  # alarms opened with device, kind and raw payload only (details refused)
        self.held = 0  # messages not storable in any form: left unacknowledged with the broker
        self.telemetry: dict[str, int] = defaultdict(int)  # written, dropped, rejected, failed_batches
        self.telemetry_queued = 0
        self.pruned: dict[str, int] = defaultdict(int)  # rows deleted by the pruning job, by table
        self._lag_counts = [0] * (len(ACK_LAG_BUCKETS) + 1)
        self._lag_sum = 0.0
        self._lag_n = 0

    def record_batch(
        self,
        *,
        messages: int,
        decoded: int,
        events: int,
        deadletters: dict[str, int],
        opened: dict[str, int],
        repeats: int,
        ack_lags: list[float],
        minimal: int = 0,
    ) -> None:
        with self._lock:
            self.batches += 1
            self.alarms_minimal += minimal
            self.messages_in += messages
            self.messages_decoded += decoded
            self.events += events
            self.order_repeats += repeats
            for reason, n in deadletters.items():
                self.deadletters[reason] += n
            for kind, n in opened.items():
                self.orders_opened[kind] += n
            counts = self._lag_counts
            for lag in ack_lags:
                counts[bisect_left(ACK_LAG_BUCKETS, lag)] += 1
            self._lag_sum += sum(ack_lags)
            self._lag_n += len(ack_lags)

    def record_telemetry(self, deltas: dict[str, int]) -> None:
        """The telemetry writer's counter growth since its last report, and its queue now."""
        with self._lock:
            for name, n in deltas.items():
                if name == "queued":
                    self.telemetry_queued = n
                else:
                    self.telemetry[name] += n

    def record_pruned(self, table: str, rows: int) -> None:
        with self._lock:
            self.pruned[table] += rows

    def record_failure(self) -> None:
        with self._lock:
            self.batch_failures += 1

    def record_held(self, n: int) -> None:
        with self._lock:
            self.held += n

    def render(self, *, extra: dict[str, float] | None = None,
               counters: dict[str, tuple[str, float]] | None = None) -> str:
        """``extra``: gauges kept elsewhere; ``counters``: name → (help, value), kept elsewhere."""
        with self._lock:
            lines = [
                "# HELP shewu_messages_received_total MQTT messages handed to ingest (committed or not yet).",
                "# TYPE shewu_messages_received_total counter",
                f"shewu_messages_received_total {self.messages_received}",
                "# HELP shewu_messages_in_total MQTT messages whose effect ingest has committed.",
                "# TYPE shewu_messages_in_total counter",
                f"shewu_messages_in_total {self.messages_in}",
                "# HELP shewu_messages_decoded_total Messages decoded (including ones that carry no event).",
                "# TYPE shewu_messages_decoded_total counter",
                f"shewu_messages_decoded_total {self.messages_decoded}",
                "# HELP shewu_events_total Normalized device events applied.",
                "# TYPE shewu_events_total counter",
                f"shewu_events_total {self.events}",
                "# HELP shewu_deadletters_total Messages kept in the dead-letter store, by reason.",
                "# TYPE shewu_deadletters_total counter",
            ]
            lines += [f'shewu_deadletters_total{{reason="{r}"}} {n}' for r, n in sorted(self.deadletters.items())]
            lines += [
                "# HELP shewu_orders_opened_total Orders opened from device events, by kind.",
                "# TYPE shewu_orders_opened_total counter",
            ]
            lines += [f'shewu_orders_opened_total{{kind="{k}"}} {n}' for k, n in sorted(self.orders_opened.items())]
            lines += [
                "# HELP shewu_order_repeats_total Device events counted on an already open order.",
                "# TYPE shewu_order_repeats_total counter",
                f"shewu_order_repeats_total {self.order_repeats}",
                "# HELP shewu_ingest_batches_total Batches of queued messages ingest committed.",
                "# TYPE shewu_ingest_batches_total counter",
                f"shewu_ingest_batches_total {self.batches}",
                "# HELP shewu_ingest_batch_failures_total Batches the database or the ingest worker did not take "
                "(nothing acknowledged; retried).",
                "# TYPE shewu_ingest_batch_failures_total counter",
                f"shewu_ingest_batch_failures_total {self.batch_failures}",
                "# HELP shewu_alarms_minimal_total Alarms opened with device, kind and raw payload only "
                "(their details could not be stored).",
                "# TYPE shewu_alarms_minimal_total counter",
                f"shewu_alarms_minimal_total {self.alarms_minimal}",
                "# HELP shewu_ingest_held_total Messages that could not be stored in any form, left "
                "unacknowledged with the broker.",
                "# TYPE shewu_ingest_held_total counter",
                f"shewu_ingest_held_total {self.held}",
                "# HELP shewu_ack_lag_seconds Time from receiving a message to acknowledging it to the broker.",
                "# TYPE shewu_ack_lag_seconds histogram",
            ]
            cumulative = 0
            for bound, n in zip(ACK_LAG_BUCKETS, self._lag_counts, strict=False):
                cumulative += n
                lines.append(f'shewu_ack_lag_seconds_bucket{{le="{bound}"}} {cumulative}')
            lines.append(f'shewu_ack_lag_seconds_bucket{{le="+Inf"}} {self._lag_n}')
            lines.append(f"shewu_ack_lag_seconds_sum {self._lag_sum:.6f}")
            lines.append(f"shewu_ack_lag_seconds_count {self._lag_n}")
            for name, help_text in TELEMETRY_COUNTERS.items():
                metric = f"shewu_telemetry_{name}_total"
                lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} counter",
                          f"{metric} {self.telemetry.get(name, 0)}"]
            lines += ["# HELP shewu_telemetry_queued Telemetry events waiting to be written.",
                      "# TYPE shewu_telemetry_queued gauge", f"shewu_telemetry_queued {self.telemetry_queued}"]
            lines += ["# HELP shewu_rows_pruned_total Rows the pruning job deleted (retention), by table.",
                      "# TYPE shewu_rows_pruned_total counter"]
            lines += [f'shewu_rows_pruned_total{{table="{t}"}} {self.pruned.get(t, 0)}'
                      for t in sorted(self.pruned)]
        for name, value in (extra or {}).items():
            lines += [f"# TYPE {name} gauge", f"{name} {value}"]
        for name, (help_text, value) in (counters or {}).items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value}"]
        return "\n".join(lines) + "\n"
