"""Notifications: escalation steps and assignments pushed to people through channels that are
data (per-person MQTT topics, WeCom and DingTalk group robots, generic webhooks).

- ``messages``: the ``Notice`` and each channel kind's message format (pure).
- ``models``: the ``notify_channels`` and ``notifications`` (outbox) tables.
- ``outbox``: enqueue in the caller's transaction; claim, and record outcomes; channel CRUD.
- ``backoff``: the retry policy (pure).
- ``senders``: HTTP and MQTT I/O.
- ``dispatcher``: ``NotifySender``, the background thread that delivers the outbox.
"""

from gateway.notify.backoff import DEFAULT_POLICY, RetryPolicy
from gateway.notify.messages import Notice, assignment_notice, escalation_notice

__all__ = ["DEFAULT_POLICY", "Notice", "RetryPolicy", "assignment_notice", "escalation_notice"]
