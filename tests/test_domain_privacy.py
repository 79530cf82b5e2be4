"""The privacy rules for resident records (pure): who reads a record, who reads its medical notes
and key holders, and what a redacted record looks like."""

from __future__ import annotations

import pytest

from gateway.domain.orders import ACTIVE_STATUSES, Category, Status
from gateway.domain.privacy import (
    Access,
    Sensitive,
    can_see_record,
    can_see_sensitive,
    opens_sensitive,
    redact,
    sensitive_access,
)
from gateway.domain.roles import Role

RECORD = {
    "id": 1, "name": "王秀英", "home_id": "3-2-101", "grid": "G1", "phone": "13800000001", "lives_alone": True,
    "age_band": "80-89", "medical_notes": "高血压，青霉素过敏", "user": "granny",
    "contacts": [
        {"name": "王小明", "relation": "子女", "phone": "13900000002", "holds_key": False},
        {"name": "李阿姨", "relation": "邻居", "phone": "13700000003", "holds_key": True},
    ],
}


@pytest.mark.parametrize(("role", "name", "assignees", "record_user", "expected"), [
    (Role.ADMIN, "boss", set(), "granny", Access.OFFICE),
    (Role.DISPATCHER, "duty", set(), None, Access.OFFICE),
    (Role.RESIDENT, "granny", set(), "granny", Access.SELF),
    (Role.RESIDENT, "granny", {"granny"}, None, None),  # a record that is not hers
    (Role.RESIDENT, "stranger", set(), "granny", None),
    (Role.TECHNICIAN, "wang", {"wang"}, "granny", Access.ASSIGNED_EMERGENCY),
    (Role.TECHNICIAN, "wang", {"zhao"}, "granny", None),  # someone else's emergency
    (Role.TECHNICIAN, "wang", set(), "granny", None),
    (Role.GRID_WORKER, "sun", {"sun"}, "granny", None),  # never, even if assigned
    (Role.GRID_WORKER, "sun", set(), None, None),
])
def test_sensitive_access(role: Role, name: str, assignees: set[str], record_user: str | None,
                          expected: Access | None) -> None:
    assert sensitive_access(role, name, open_emergency_assignees=assignees, record_user=record_user) == expected
    assert can_see_sensitive(role.value, name, open_emergency_assignees=assignees,
                             record_user=record_user) is (expected is not None)


def test_only_an_open_emergency_opens_the_sensitive_parts() -> None:
    for category in Category:
        for status in Status:
            expected = category is Category.EMERGENCY and status in ACTIVE_STATUSES
            assert opens_sensitive(category.value, status.value) is expected, (category, status)
    assert opens_sensitive("emergency", "dispatched")
    assert not opens_sensitive("emergency", "resolved") and not opens_sensitive("emergency", "cancelled")
    assert not opens_sensitive("repair", "dispatched")  # a leak ticket
    assert not opens_sensitive("wellbeing", "dispatched")


@pytest.mark.parametrize(("role", "name", "grid", "record_grid", "record_user", "assigned", "expected"), [
    (Role.ADMIN, "boss", "", "G2", None, False, True),
    (Role.DISPATCHER, "duty", "", "", None, False, True),
    (Role.GRID_WORKER, "sun", "G1", "G1", None, False, True),
    (Role.GRID_WORKER, "sun", "G1", "G2", None, False, False),
    (Role.GRID_WORKER, "sun", "", "", None, False, False),  # no grid: nothing, not the homeless records
    (Role.TECHNICIAN, "wang", "G1", "G1", None, False, False),  # a grid of their own does not count
    (Role.TECHNICIAN, "wang", "", "G2", None, True, True),
    (Role.RESIDENT, "granny", "", "G1", "granny", False, True),
    (Role.RESIDENT, "granny", "G1", "G1", "other", True, False),
    (Role.RESIDENT, "granny", "", "G1", None, False, False),
])
def test_who_reads_a_record(role: Role, name: str, grid: str, record_grid: str, record_user: str | None,
                            assigned: bool, expected: bool) -> None:
    assert can_see_record(role, name, user_grid=grid, record_grid=record_grid, record_user=record_user,
                          assigned_at_home=assigned) is expected


def test_redaction_drops_medical_notes_and_key_holders_and_says_so() -> None:
    limited = redact(RECORD, None)
    assert "medical_notes" not in limited
    assert [c["name"] for c in limited["contacts"]] == ["王小明"]
    assert limited["withheld"] == [Sensitive.MEDICAL_NOTES.value, Sensitive.KEY_HOLDERS.value]
    assert limited["access"] is None
    assert limited["phone"] == RECORD["phone"] and limited["lives_alone"] is True
    assert RECORD["medical_notes"] and len(RECORD["contacts"]) == 2  # the input is left alone

    full = redact(RECORD, Access.ASSIGNED_EMERGENCY)
    assert full["medical_notes"] == "高血压，青霉素过敏" and len(full["contacts"]) == 2
    assert full["withheld"] == [] and full["access"] == "assigned_emergency"


def test_withheld_names_both_even_when_there_is_nothing_to_hide() -> None:
    bare = redact({**RECORD, "medical_notes": "", "contacts": []}, None)
    assert bare["withheld"] == ["medical_notes", "key_holders"]  # gives nothing away
