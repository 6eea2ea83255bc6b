"""The plain-result short-cut of the mapping (no wire model) maps exactly as the wire model does, and
leaves every record it does not fully understand to the wire model."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.adapters.oneroster.mapping import (
    MappingFailed,
    _plain_result,
    is_current_digest,
    map_record,
    map_wire_record,
)

PLAIN: dict[str, Any] = {
    "sourcedId": "res-1",
    "status": "active",
    "dateLastModified": "2026-09-01T00:00:00.000Z",
    "lineItem": {"sourcedId": "li-1", "type": "lineItem"},
    "student": {"sourcedId": "user-1", "href": "https://x.example/users/user-1", "type": "user"},
    "score": 87.5,
    "scoreStatus": "fully graded",
    "scoreDate": "2026-10-01",
}


def outcome(mapper: Any, raw: dict[str, Any]) -> Any:
    try:
        m = mapper("results", raw)
    except MappingFailed as exc:
        return ("failed", [p.as_dict() for p in exc.problems])
    return (m.sourced_id, m.deleted, m.values, m.refs, m.parent_ref, m.orgs, m.date_last_modified, m.extras)


# (changes to the plain record, whether the short-cut takes it)
CASES: list[tuple[dict[str, Any], bool]] = [
    ({}, True),
    ({"score": 90}, True),
    ({"score": None, "scoreStatus": None, "scoreDate": None}, True),
    ({"scoreStatus": ""}, True),
    ({"comment": "  well done  "}, True),
    ({"comment": "x" * 10_050}, True),
    ({"comment": "   "}, True),
    ({"lineItem": {"sourcedId": "li-1"}}, True),
    ({"status": None}, False),
    ({"score": "90"}, False),
    ({"score": True}, False),
    ({"score": " 90 "}, False),
    ({"status": "tobedeleted"}, False),
    ({"status": "inactive"}, False),
    ({"status": " active"}, False),
    ({"sourcedId": " res-1"}, False),
    ({"sourcedId": ""}, False),
    ({"sourcedId": "r" * 256}, False),
    ({"sourcedId": 12}, False),
    ({"dateLastModified": ""}, False),
    ({"dateLastModified": None}, True),
    ({"lineItem": "li-1"}, False),
    ({"lineItem": {}}, False),
    ({"lineItem": None}, False),
    ({"lineItem": {"sourcedId": " li-1 "}}, False),
    ({"lineItem": {"sourcedId": "li-1", "type": 3}}, False),
    ({"lineItem": {"sourcedId": "li-1", "vendor": True}}, False),
    ({"student": {"sourcedId": ""}}, False),
    ({"scoreDate": "2026-10-01T12:00:00Z"}, False),
    ({"scoreDate": "2026-13-01"}, False),
    ({"scoreDate": "2026- 1-01"}, False),
    ({"scoreDate": "٢٠٢٦-10-01"}, False),
    ({"scoreDate": ""}, False),
    ({"scoreStatus": " graded"}, False),
    ({"scoreStatus": "g" * 256}, False),
    ({"comment": 5}, False),
    ({"metadata": {"k": "v"}}, False),
    ({"vendorField": 1}, False),
]


@pytest.mark.parametrize(("changes", "plain"), CASES)
def test_short_cut_maps_as_the_wire_model(changes: dict[str, Any], plain: bool) -> None:
    raw = {**PLAIN, **changes}
    assert (_plain_result(raw) is not None) is plain
    assert outcome(map_record, raw) == outcome(map_wire_record, raw)


def test_absent_status_and_date_are_plain() -> None:
    raw = {k: v for k, v in PLAIN.items() if k not in ("status", "dateLastModified", "scoreDate")}
    assert _plain_result(raw) is not None
    assert outcome(map_record, raw) == outcome(map_wire_record, raw)


def test_missing_references_go_to_the_wire_model() -> None:
    for key in ("lineItem", "student"):
        raw = {k: v for k, v in PLAIN.items() if k != key}
        assert _plain_result(raw) is None
        assert outcome(map_record, raw)[0] == "failed"


_text = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["", " ", "a ", "fully graded"]))
_value = st.one_of(
    _text,
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.sampled_from(["2026-10-01", "2026-02-30", "2026-1-01", "20261001", "2026-10-01 08:00"]),
)
_ref = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.fixed_dictionaries({"sourcedId": _text}, optional={"type": _value, "href": _text}),
)


@settings(max_examples=400, deadline=None)
@given(
    st.fixed_dictionaries(
        {"sourcedId": _text, "lineItem": _ref, "student": _ref},
        optional={
            "status": st.sampled_from(["active", "tobedeleted", "inactive", "Active"]),
            "dateLastModified": _text,
            "score": _value,
            "scoreStatus": _value,
            "scoreDate": _value,
            "comment": _value,
            "extra": _value,
        },
    )
)
def test_short_cut_agrees_with_the_wire_model_on_any_record(raw: dict[str, Any]) -> None:
    assert outcome(map_record, raw) == outcome(map_wire_record, raw)


def test_digests_are_versioned_and_independent_of_key_order() -> None:
    one = map_record("results", PLAIN)
    two = map_record("results", dict(reversed(list(PLAIN.items()))))
    resolved = {"line_item_id": None, "learner_id": None}
    assert one.digest(resolved) == two.digest(dict(reversed(list(resolved.items()))))
    assert is_current_digest(one.digest(resolved))
    assert not is_current_digest(one.legacy_digest(resolved))
    changed = map_record("results", {**PLAIN, "score": 88.0})
    assert changed.digest(resolved) != one.digest(resolved)
