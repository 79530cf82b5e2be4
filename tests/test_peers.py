"""Which dead peer's MQTT session an instance adopts (gateway.peers), with fakes and an injected clock."""

from __future__ import annotations

from gateway.peers import OFFLINE, ONLINE, PeerWatch, adoptions, instance_of, presence_topic


def test_the_lowest_live_instance_adopts_what_has_been_offline_for_the_grace_period() -> None:
    statuses = {"gw-b": (False, 10.0), "gw-c": (True, 0.0)}
    assert adoptions("gw-a", statuses, now=11.0, grace=2.0) == set()  # not yet: it may be a blip
    assert adoptions("gw-a", statuses, now=12.0, grace=2.0) == {"gw-b"}
    seen_by_c = {"gw-a": (True, 0.0), "gw-b": (False, 10.0)}
    assert adoptions("gw-c", seen_by_c, now=12.0, grace=2.0) == set()  # gw-a is lower and alive
    # gw-a dies too: gw-c is now the lowest alive, and adopts both
    seen_by_c["gw-a"] = (False, 20.0)
    assert adoptions("gw-c", seen_by_c, now=22.0, grace=2.0) == {"gw-a", "gw-b"}
    assert adoptions("gw-c", {"gw-a": (True, 0.0)}, now=99.0, grace=2.0) == set()


def test_presence_topics() -> None:
    assert presence_topic("gw-a") == "shewu/v1/gateway/gw-a/ingest"
    assert instance_of("shewu/v1/gateway/gw-a/ingest") == "gw-a"
    assert instance_of("shewu/v1/gateway/a/b/ingest") is None and instance_of("shewu/v1/live/orders") is None


class FakeAdopter:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log, self.released = name, log, False

    def start(self) -> None:
        self.log.append(f"start {self.name}")

    def stop(self, timeout: float = 10.0) -> None:
        self.log.append(f"stop {self.name}")


def test_a_watch_adopts_then_hands_back() -> None:
    now = [100.0]
    log: list[str] = []
    made: dict[str, FakeAdopter] = {}

    def adopt(name: str) -> FakeAdopter:
        made[name] = FakeAdopter(name, log)
        return made[name]

    watch = PeerWatch(instance_id="gw-a", adopt=adopt, grace=2.0, monotonic=lambda: now[0])
    watch.on_presence(presence_topic("gw-b"), ONLINE)
    watch.on_presence(presence_topic("gw-a"), ONLINE)  # its own: ignored
    watch.on_presence(presence_topic("gw-b"), b"garbage")  # ignored
    watch.reconcile()
    assert log == []
    watch.on_presence(presence_topic("gw-b"), OFFLINE)  # gw-b crashed: its will
    watch.reconcile()
    assert log == []  # within the grace period
    now[0] += 2.5
    watch.reconcile()
    assert log == ["start gw-b"] and watch.adopted == ["gw-b"]
    watch.reconcile()
    assert log == ["start gw-b"]  # once
    # gw-b comes back and takes its session: the broker disconnects the adopter
    made["gw-b"].released = True
    watch.reconcile()
    assert log == ["start gw-b", "stop gw-b"] and watch.adopted == []
    watch.on_presence(presence_topic("gw-b"), ONLINE)
    now[0] += 10
    watch.reconcile()
    assert log == ["start gw-b", "stop gw-b"]  # not adopted again while it is online
    # gw-b goes offline cleanly, then a lower instance appears: gw-a hands gw-b over to it
    watch.on_presence(presence_topic("gw-b"), OFFLINE)
    now[0] += 3
    watch.reconcile()
    assert log[-1] == "start gw-b"
    watch.on_presence(presence_topic("gw-0"), ONLINE)
    watch.reconcile()
    assert log[-1] == "stop gw-b" and watch.adopted == []
