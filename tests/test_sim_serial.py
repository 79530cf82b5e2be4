"""The serial line protocol over a real pseudo-terminal: what a receiver writes, the bridge reads."""

from __future__ import annotations

import argparse
import os
import pty
import select
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from device_adapters.events import EventKind
from device_adapters.serial_protocol import crc16_ccitt_false, decode_line
from firmware_sim.cli import configure_parser
from firmware_sim.devices import FallRadar, SosButton
from firmware_sim.models import Format
from firmware_sim.transport import Sender, SerialWriter


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    """(master fd to read from, path of the slave end the simulator writes to)."""
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    yield master, path
    os.close(slave)
    os.close(master)


def read_lines(fd: int, count: int, timeout: float = 5.0) -> list[bytes]:
    buf = b""
    deadline = time.monotonic() + timeout
    while buf.count(b"\n") < count and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            buf += os.read(fd, 4096)
    return buf.splitlines(keepends=True)


def check_crc(line: bytes) -> None:
    assert line.startswith(b"$SW1,") and line.endswith(b"\r\n")
    body, star, crc = line[1:-2].rpartition(b"*")
    assert star and crc == f"{crc16_ccitt_false(body):04X}".encode()


def test_serial_writer_lines_decode_with_crc(pty_pair: tuple[int, str]) -> None:
    master, path = pty_pair
    with SerialWriter(path) as port:
        sender = Sender(write=port.write, first_seq=4294967294)
        sender.send(SosButton("elder-101-sos"), "sos", Format.SERIAL)
        sender.send(FallRadar("elder-101-radar"), "fall", Format.SERIAL)
        sender.send(SosButton("elder-101-sos"), "battery-low", Format.SERIAL)
    lines = read_lines(master, 3)
    assert len(lines) == 3
    for line in lines:
        check_crc(line)
    now = datetime.now(UTC)
    frames = [decode_line(line, now) for line in lines]
    assert [(f.seq, f.device_id, f.kind) for f in frames] == [
        (4294967294, "elder-101-sos", EventKind.SOS),
        (4294967295, "elder-101-radar", EventKind.FALL),
        (0, "elder-101-sos", EventKind.BATTERY_LOW),  # the sequence wraps at 2**32
    ]
    assert frames[1].data["fall_down_status"] == "fall" and frames[1].data["presence"] == "true"
    assert frames[2].value == 8
    assert all(f.ts is not None and abs((now - f.ts).total_seconds()) < 5 for f in frames)


def test_cli_serial_sos_and_offline(pty_pair: tuple[int, str]) -> None:
    master, path = pty_pair
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    for argv in (
        ["sos", "--device", "elder-7-sos", "--format", "serial", "--port", path, "--seq", "10", "-q"],
        ["offline", "--device", "elder-7-sos", "--format", "serial", "--port", path, "--seq", "11", "-q"],
    ):
        args = parser.parse_args(argv)
        assert args.func(args) == 0
    lines = read_lines(master, 2)
    assert len(lines) == 2
    frames = [decode_line(line, datetime.now(UTC)) for line in lines]
    assert [(f.seq, f.kind, f.value) for f in frames] == [
        (10, EventKind.SOS, None),
        (11, EventKind.AVAILABILITY, "offline"),
    ]
    assert frames[0].data == {"battery": 100, "battery_low": "false", "linkquality": 120}


def test_cli_serial_without_port_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    args = parser.parse_args(["sos", "--format", "serial", "-q"])
    assert args.func(args) == 2
    assert "--port" in capsys.readouterr().err
