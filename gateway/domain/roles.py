"""Roles and what each may do, as data. Route handlers ask for a permission; this table says
which roles hold it. ``OWN`` permissions are held by a technician only for the orders assigned
to them; the route checks the assignment."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    DISPATCHER = "dispatcher"  # on-call staff, 社区值班
    TECHNICIAN = "technician"  # 物业师傅
    GRID_WORKER = "grid_worker"  # 网格员
    RESIDENT = "resident"


class Perm(StrEnum):
    ORDERS_READ = "orders.read"
    ORDERS_ACK = "orders.ack"  # acknowledge, cancel, close an emergency
    ORDERS_DISPATCH = "orders.dispatch"  # dispatch, re-dispatch, cancel or close a ticket
    ORDERS_WORK = "orders.work"  # accept, reject, on my way, arrive, resolve, third party, miss
    REQUESTS_FILE = "requests.file"  # file a request (居民点单): residents for their home, grid workers for residents
    REQUESTS_CONFIRM = "requests.confirm"  # confirm and rate, or reopen, a resolved request
    ORDERS_REVIEW = "orders.review"  # breach reasons
    DEVICES_READ = "devices.read"
    DEVICES_WRITE = "devices.write"
    DEADLETTERS_READ = "deadletters.read"
    USERS_READ = "users.read"  # staff list, skills, status (资源清单)
    USERS_WRITE = "users.write"
    TOKENS_WRITE = "tokens.write"
    ROTA_READ = "rota.read"
    ROTA_WRITE = "rota.write"
    REPORTS_READ = "reports.read"
    CHANNELS_WRITE = "channels.write"
    LIVE = "live"  # the live feed of all orders
    OWN_STATUS = "own.status"  # set one's own availability


STAFF = frozenset({Role.ADMIN, Role.DISPATCHER, Role.TECHNICIAN, Role.GRID_WORKER})
OFFICE = frozenset({Role.ADMIN, Role.DISPATCHER})

PERMISSIONS: dict[Perm, frozenset[Role]] = {
    Perm.ORDERS_READ: STAFF,  # technicians: their own; grid workers: their grid
    Perm.ORDERS_ACK: OFFICE,
    Perm.ORDERS_DISPATCH: OFFICE,
    # technicians and grid workers: the orders assigned to them (grid workers do care visits)
    Perm.ORDERS_WORK: frozenset({Role.ADMIN, Role.DISPATCHER, Role.TECHNICIAN, Role.GRID_WORKER}),
    Perm.REQUESTS_FILE: frozenset({Role.ADMIN, Role.DISPATCHER, Role.GRID_WORKER, Role.RESIDENT}),
    Perm.REQUESTS_CONFIRM: frozenset({Role.ADMIN, Role.DISPATCHER, Role.GRID_WORKER, Role.RESIDENT}),
    Perm.ORDERS_REVIEW: OFFICE,
    Perm.DEVICES_READ: frozenset({Role.ADMIN, Role.DISPATCHER, Role.GRID_WORKER}),
    Perm.DEVICES_WRITE: frozenset({Role.ADMIN}),
    Perm.DEADLETTERS_READ: frozenset({Role.ADMIN}),
    Perm.USERS_READ: OFFICE,
    Perm.USERS_WRITE: frozenset({Role.ADMIN}),
    Perm.TOKENS_WRITE: frozenset({Role.ADMIN}),
    Perm.ROTA_READ: STAFF,
    Perm.ROTA_WRITE: frozenset({Role.ADMIN}),
    Perm.REPORTS_READ: OFFICE,
    Perm.CHANNELS_WRITE: frozenset({Role.ADMIN}),
    Perm.LIVE: frozenset({Role.ADMIN, Role.DISPATCHER, Role.TECHNICIAN, Role.GRID_WORKER}),
    Perm.OWN_STATUS: frozenset({Role.TECHNICIAN, Role.DISPATCHER, Role.GRID_WORKER, Role.ADMIN}),
}

# Roles that see only part of the orders: technicians their own, grid workers their grid's.
SCOPED_ROLES = frozenset({Role.TECHNICIAN, Role.GRID_WORKER})


def allowed(role: str, perm: Perm) -> bool:
    return role in PERMISSIONS[perm]
