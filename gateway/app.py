"""The FastAPI application: API routers, live feed and the dashboard, around a Runtime."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from dashboard import STATIC_DIR
from device_adapters.decoder import MessageDecoder
from gateway import photos
from gateway.api.limits import BodySizeLimit
from gateway.api.routes import (
    auth,
    care,
    channels,
    devices,
    fleet,
    grids,
    homes,
    lists,
    live,
    open311,
    orders,
    pairing,
    reports,
    requests,
    residents,
    rota,
    system,
    users,
)
from gateway.clock import Clock, utc_now
from gateway.config import Settings
from gateway.ingest import Ingest
from gateway.ingest_batch import BatchProcessor, Processor, SerializedProcessor
from gateway.ingest_worker import ProcessorProcess
from gateway.live_bus import LiveBus
from gateway.notify.dispatcher import NotifySender
from gateway.notify.senders import HttpSender, PahoPublisher, Transports
from gateway.outage import OutageAlarm
from gateway.peers import PeerWatch
from gateway.retention import Pruner, retention_from
from gateway.runtime import Runtime
from gateway.scheduler import Scheduler
from gateway.services.notices import Notifier, seed_default_channel
from gateway.storage.db import make_engine
from gateway.storage.db import session as open_session
from gateway.storage.migrate import SchemaError, ensure_current

log = logging.getLogger(__name__)

SWITCH_INTERVAL_S = 0.0005


def build_processor(runtime: Runtime) -> Processor:
    s = runtime.settings
    if s.ingest_worker == "process":
        worker = ProcessorProcess(db_url=s.db_url, z2m_base=s.z2m_base, max_payload=s.max_payload, influx=s.influx,
                                  rtl433_base=s.rtl433_base)
        worker.start()
        runtime.stoppers.append(worker.stop)
        return worker
    telemetry = None
    if s.influx_url:
        from gateway.telemetry.writer import make_writer

        telemetry = make_writer(*s.influx)
        if telemetry is not None:
            runtime.stoppers.append(lambda: telemetry.stop(5.0))
    return SerializedProcessor(BatchProcessor.for_gateway(
        engine=runtime.engine, z2m_base=s.z2m_base, max_payload=s.max_payload, clock=runtime.clock,
        telemetry=telemetry, rtl433_base=s.rtl433_base))


def build_ingest(runtime: Runtime, processor: Processor, *, client_id: str | None = None) -> Ingest:
    """This instance's ingest client or, with ``client_id``, one that adopts the session of a
    peer instance that is gone (gateway.peers). Both feed the same processor."""
    s = runtime.settings
    decoder = MessageDecoder(z2m_base=s.z2m_base, max_payload=s.max_payload, rtl433_base=s.rtl433_base or None)
    return Ingest(
        mqtt_url=s.mqtt_url,
        client_id=client_id or s.instance_id,
        processor=processor,
        topics=decoder.subscriptions(),
        metrics=runtime.metrics,
        on_committed=runtime.broadcast_committed,
        on_health=runtime.outage.report if runtime.outage is not None else None,
        shared_group=s.shared_group,
        protocol=s.mqtt_protocol,
        batch_max=s.batch_max,
        presence=bool(s.shared_group) and s.mqtt_protocol == 5,
        adopted=client_id is not None,
    )


def create_app(settings: Settings, *, clock: Clock = utc_now) -> FastAPI:
    try:
        zone = ZoneInfo(settings.time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SystemExit(f"shewu: unknown time zone {settings.time_zone!r} (e.g. Asia/Shanghai)") from exc
    engine = make_engine(settings.db_url)
    try:  # an empty database gets the schema at head; an older one is refused (shewu db upgrade)
        ensure_current(engine, settings.db_url)
    except SchemaError as exc:
        engine.dispose()
        raise SystemExit(f"shewu: {exc}") from exc
    runtime = Runtime(settings=settings, engine=engine, clock=clock, zone=zone)
    with open_session(engine) as s:
        seed_default_channel(s, now=clock())
        s.commit()
    notifier = Notifier(time_zone=zone, base_url=settings.public_url.rstrip("/"))
    runtime.on_step, runtime.on_assigned = notifier.on_steps, notifier.on_assigned

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.hub.bind(asyncio.get_running_loop())
        publisher: PahoPublisher | None = None
        if settings.ingest:
            # paho's network thread releases the GIL for a syscall on nearly every packet; with
            # the default 5 ms switch interval any CPU-bound thread in this process (the
            # processor with --ingest-worker thread; the pump and the web server otherwise) then
            # starves it (the convoy effect). With the thread worker a 0.5 ms interval measured
            # about 15 % more messages/s on bench/ingest_throughput.py.
            sys.setswitchinterval(SWITCH_INTERVAL_S)
            runtime.bus = LiveBus(mqtt_url=settings.mqtt_url, instance_id=settings.instance_id,
                                  deliver=runtime.hub.publish, protocol=settings.mqtt_protocol)
            if settings.shared_group and settings.mqtt_protocol == 5:
                # several instances on one shared subscription: adopt the session of one that dies
                runtime.peers = PeerWatch(instance_id=settings.instance_id)
                runtime.bus.on_presence = runtime.peers.on_presence  # before the retained ones arrive
            runtime.bus.start()
            # with a broker: per-person MQTT notifications (the outbox's, and the outage alarm's)
            publisher = PahoPublisher(settings.mqtt_url, f"{settings.instance_id}-notify").start()
            runtime.outage = OutageAlarm(engine=engine, clock=runtime.clock, zone=runtime.zone,
                                         transports=Transports(http=HttpSender(), publish_mqtt=publisher.publish),
                                         send_live=runtime.send_live)
            await asyncio.to_thread(runtime.outage.start)
            processor = await asyncio.to_thread(build_processor, runtime)
            runtime.ingest = build_ingest(runtime, processor)
            runtime.ingest.start()
            if runtime.peers is not None:
                runtime.peers.adopt = lambda peer: build_ingest(runtime, processor, client_id=peer)
                runtime.peers.start()
        runtime.scheduler = Scheduler(engine=engine, clock=runtime.clock, instance=settings.instance_id,
                                      on_fired=runtime.broadcast_escalations, interval=settings.scheduler_interval,
                                      on_step=runtime.on_step, on_assigned=runtime.on_assigned,
                                      on_changes=runtime.broadcast_committed, zone=runtime.zone,
                                      pruner=Pruner(engine=engine, clock=runtime.clock, metrics=runtime.metrics,
                                                    retention=retention_from(settings)))
        if settings.scheduler_interval > 0:
            runtime.scheduler.start()
        runtime.notify = NotifySender(engine=engine, clock=runtime.clock, instance=settings.instance_id,
                                      publish_mqtt=publisher.publish if publisher else None,
                                      interval=settings.scheduler_interval or 1.0)
        if settings.scheduler_interval > 0:
            runtime.notify.start()
        try:
            yield
        finally:
            if runtime.scheduler is not None:
                await asyncio.to_thread(runtime.scheduler.stop)
            await asyncio.to_thread(runtime.notify.stop)
            if publisher is not None:
                publisher.stop()
            if runtime.outage is not None:
                runtime.outage.stop()
            if runtime.peers is not None:
                await asyncio.to_thread(runtime.peers.stop)
            if runtime.ingest is not None:
                await asyncio.to_thread(runtime.ingest.stop)
            for stop in runtime.stoppers:
                await asyncio.to_thread(stop)
            if runtime.bus is not None:
                runtime.bus.stop()
            engine.dispose()

    app = FastAPI(
        title="Shewu 社物共治",
        description="Community emergency response and service dispatch: orders, devices, live feed.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    for module in (auth, users, orders, requests, residents, grids, care, homes, fleet, devices, pairing, rota,
                   reports, lists, open311, channels, system, live):
        app.include_router(module.router)
    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="dashboard")
    # photos may be larger than the API's other bodies (gateway.photos checks them again)
    app.add_middleware(BodySizeLimit, max_body=settings.max_body,
                       larger={"/api/requests/photos": photos.MAX_BYTES + 64 * 1024})
    return app
