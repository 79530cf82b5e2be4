"""The edge daemons: processes that run beside the devices, not in the gateway.

- :mod:`~device_adapters.edge.serial_bridge`: ``shewu bridge serial``, a serial receiver → outbox;
- :mod:`~device_adapters.edge.dc09_receiver`: ``shewu bridge dc09``, a SIA DC-09 TCP receiver → outbox;
- :mod:`~device_adapters.edge.outbox`: the on-disk outbox and the publisher that drains it to MQTT
  (also used by ``firmware_sim.home_unit``).

May import the decoders and helpers of :mod:`device_adapters`, paho-mqtt and pyserial; never
``gateway``.
"""
