"""Telemetry: device events and readings to InfluxDB, batched, bounded, off the alarm path.

:mod:`gateway.telemetry.points` turns events into line protocol (pure);
:mod:`gateway.telemetry.writer` queues and writes them without ever blocking the caller.

Nothing is imported here: influxdb-client takes a while to import, and only a gateway with
telemetry turned on needs it (``from gateway.telemetry.writer import make_writer``).
"""
