"""Simulated devices that speak the real wire formats, scenarios, a community and a load generator.

- ``models``: device knowledge as data (models, events, roles).
- ``devices``: small stateful device classes (SOS button, fall radar, leak detector).
- ``encoding``: the wire formats (Zigbee2MQTT JSON here; native and serial via ``device_adapters``).
- ``transport``: the MQTT publisher, the serial writer, and ``Sender`` which ties them to devices.
- ``scenario``, ``community``, ``load``: timed scenarios, a simulated community, the load generator.
- ``cli``: ``shewu sim ...``.
"""
