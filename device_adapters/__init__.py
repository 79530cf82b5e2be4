"""Everything that knows a wire format: raw messages in, normalized device events out."""

from device_adapters.events import DecodeError, DeviceEvent, EventKind

__all__ = ["DecodeError", "DeviceEvent", "EventKind"]
