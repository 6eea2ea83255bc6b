"""Example requests and responses of the core flow (token -> learners -> evidence -> awards ->
credentials), shown in the OpenAPI document next to each operation's schemas.

Every example is checked against its operation's schema by a test (tests/api/test_examples.py), so
the examples cannot drift from what the API accepts and answers.
"""

from __future__ import annotations

from typing import Any

LEARNER = "0b6c2f0e-5f4c-4d55-9d2e-4e0f6b1f7a01"
SCHOOL = "4a1f3c9e-2b7d-4f0a-8e5c-1d2b3c4d5e01"
COMPETENCY = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
LEVEL = "1f0e2d3c-4b5a-4968-8776-655443322110"
CLASS = "9d8c7b6a-5f4e-4d3c-8b2a-190817263544"
EVIDENCE = "5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716"
ACHIEVEMENT = "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
AWARD = "8f7e6d5c-4b3a-4291-8807-f6e5d4c3b2a1"
CREDENTIAL = "3b2a1908-7f6e-4d5c-8b4a-392817160504"
FRAMEWORK = "6e5d4c3b-2a19-4807-9f6e-5d4c3b2a1908"
NOW = "2026-10-01T12:00:00Z"
ISSUER = "did:web:portrait.example.org:issuers:demo"
PUBLIC = "https://portrait.example.org"


def example(
    *, response: Any, status: int = 200, request: Any = None, media: str = "application/json"
) -> dict[str, Any]:
    """``openapi_extra`` giving an operation an example request body (in ``media``) and response."""
    extra: dict[str, Any] = {
        "responses": {str(status): {"content": {"application/json": {"example": response}}}}
    }
    if request is not None:
        extra["requestBody"] = {"content": {media: {"example": request}}}
    return extra


def merged(*parts: dict[str, Any]) -> dict[str, Any]:
    """Deep merge of ``openapi_extra`` dictionaries (later parts win)."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merged(out[key], value)
            else:
                out[key] = value
    return out


def page(*items: Any) -> dict[str, Any]:
    return {"items": list(items), "total": len(items), "total_exact": True, "limit": 50, "offset": 0}


def cursor_page(*items: Any) -> dict[str, Any]:
    """A page of a list that also pages by cursor: the last page (``next`` null)."""
    return {**page(*items), "next": None}


TOKEN = example(
    request="grant_type=client_credentials&scope=roster%3Aread+evidence%3Awrite+awards%3Aread",
    media="application/x-www-form-urlencoded",
    response={
        "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJl",
        "token_type": "Bearer",
        "expires_in": 900,
        "scope": "roster:read evidence:write awards:read",
    },
)

LEARNER_CREATE = {
    "given_name": "Ana",
    "family_name": "Garcia",
    "sourced_id": "stu-1042",
    "email": "ana.garcia@students.example.org",
    "grades": ["10"],
    "org_ids": [SCHOOL],
}
LEARNER_READ = {
    "id": LEARNER,
    "sourced_id": "stu-1042",
    "status": "active",
    "role": "student",
    "given_name": "Ana",
    "family_name": "Garcia",
    "middle_name": None,
    "preferred_name": None,
    "email": "ana.garcia@students.example.org",
    "username": None,
    "identifier": None,
    "grades": ["10"],
    "org_ids": [SCHOOL],
    "created_at": NOW,
    "updated_at": NOW,
}
LEARNERS = example(response=page(LEARNER_READ))
CREATE_LEARNER = example(request=LEARNER_CREATE, response=LEARNER_READ, status=201)

EVIDENCE_CREATE = {
    "learner_id": LEARNER,
    "competency_id": COMPETENCY,
    "source": "rubric",
    "level_id": LEVEL,
    "class_id": CLASS,
    "observed_at": NOW,
    "assessor_name": "Ms. Rivera",
    "narrative": "Led the group's design review and summarised the trade-offs.",
}
_AWARD_CHANGE = {
    "award_id": AWARD,
    "learner_id": LEARNER,
    "achievement_id": ACHIEVEMENT,
    "status": "awarded",
    "change": "created",
}
CREATE_EVIDENCE = example(
    request=EVIDENCE_CREATE,
    status=201,
    response={
        "id": EVIDENCE,
        "learner_id": LEARNER,
        "competency_id": COMPETENCY,
        "framework_id": FRAMEWORK,
        "source": "rubric",
        "level_id": LEVEL,
        "level_position": 2,
        "score": None,
        "score_max": None,
        "assessor_id": None,
        "assessor_name": "Ms. Rivera",
        "class_id": CLASS,
        "academic_session_id": None,
        "observed_at": NOW,
        "narrative": "Led the group's design review and summarised the trade-offs.",
        "artifacts": [],
        "status": "active",
        "withdrawn_reason": None,
        "withdrawn_at": None,
        "supersedes_id": None,
        "superseded_by_id": None,
        "external_ref": None,
        "created_at": NOW,
        "awards": [_AWARD_CHANGE],
    },
)

ACHIEVEMENT_CREATE = {
    "title": "Collaborator",
    "description": "Works with others to reach a shared goal.",
    "criteria": "Two pieces of evidence at Proficient or above, from two different classes.",
    "framework_id": FRAMEWORK,
    "rule": {
        "type": "evidence",
        "competency_ids": [COMPETENCY],
        "min_level": "Proficient",
        "min_count": 2,
        "min_distinct_contexts": 2,
    },
}
CREATE_ACHIEVEMENT = example(
    request=ACHIEVEMENT_CREATE,
    status=201,
    response={
        "id": ACHIEVEMENT,
        "framework_id": FRAMEWORK,
        "title": "Collaborator",
        "description": "Works with others to reach a shared goal.",
        "criteria": "Two pieces of evidence at Proficient or above, from two different classes.",
        "achievement_type": "Competency",
        "image_url": None,
        "tags": [],
        "rule": {
            "type": "evidence",
            "competency_ids": [COMPETENCY],
            "per_competency": False,
            "min_score_ratio": None,
            "min_count": 2,
            "min_distinct_contexts": 2,
            "min_distinct_sessions": 0,
            "window_days": None,
            "observed_from": None,
            "observed_until": None,
            "self_assessment_alone": False,
            "allowed_sources": None,
            "required_sources": [],
            "min_level": 2,
            "mastery": None,
        },
        "rule_version": 1,
        "award_mode": "automatic",
        "status": "active",
        "created_at": NOW,
        "updated_at": NOW,
    },
)

AWARDS = example(
    response=cursor_page(
        {
            "id": AWARD,
            "learner_id": LEARNER,
            "achievement_id": ACHIEVEMENT,
            "status": "awarded",
            "method": "rule",
            "rule_version": 1,
            "evidence_ids": [EVIDENCE],
            "needs_review": False,
            "review_reason": None,
            "decided_by": None,
            "decided_at": None,
            "awarded_at": NOW,
            "credential_id": CREDENTIAL,
            "issuance_status": "issued",
            "created_at": NOW,
        }
    )
)

CREDENTIALS = example(
    response=cursor_page(
        {
            "id": f"{PUBLIC}/credentials/{CREDENTIAL}",
            "uuid": CREDENTIAL,
            "name": "Collaborator",
            "issuer_id": ISSUER,
            "subject_id": f"urn:uuid:{LEARNER}",
            "award_id": AWARD,
            "learner_id": LEARNER,
            "achievement_id": ACHIEVEMENT,
            "status": "active",
            "issued_at": NOW,
            "revoked_at": None,
            "revocation_reason": None,
            "status_list_credential": f"{PUBLIC}/status-lists/{FRAMEWORK}",
            "status_list_index": 48213,
            "jwt_url": f"{PUBLIC}/credentials/{CREDENTIAL}.jwt",
        }
    )
)

# -- the operations an LMS uses next: direct and batch issuance, jobs, decisions, webhooks, syncs ----

JOB = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
CONNECTION = "c0ffee00-1234-4abc-9def-0123456789ab"
WEBHOOK = "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6"


def job_read(kind: str, area: str, state: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": JOB,
        "kind": kind,
        "area": area,
        "state": state,
        "params": {},
        "progress": {},
        "report": None,
        "error": None,
        "attempts": 0,
        "cancel_requested": False,
        "created_at": NOW,
        "started_at": None,
        "finished_at": None,
        "heartbeat_at": None,
        **fields,
    }


_BATCH_ITEMS = [
    {"achievement_id": ACHIEVEMENT, "learner_id": LEARNER, "evidence_ids": [EVIDENCE]},
    {"achievement_id": ACHIEVEMENT, "learner_id": "0b6c2f0e-5f4c-4d55-9d2e-4e0f6b1f7a02", "evidence_ids": []},
]

ISSUE_BATCH = example(
    request={"items": _BATCH_ITEMS},
    response=job_read("badges.issue_batch", "credentials", "queued", params={"items": _BATCH_ITEMS}),
    status=202,
)

JOB_DONE = example(
    response=job_read(
        "badges.issue_batch",
        "credentials",
        "succeeded",
        params={"items": _BATCH_ITEMS},
        progress={"next": 2, "issued": 2, "errors": [], "total": 2},
        report={"issued": 2, "errors": [], "total": 2},
        attempts=1,
        started_at=NOW,
        finished_at=NOW,
        heartbeat_at=NOW,
    )
)

AWARD_DECISION = example(
    request={"decision": "approve", "reason": "Portfolio reviewed with the learner's advisor."},
    response={
        "id": AWARD,
        "learner_id": LEARNER,
        "achievement_id": ACHIEVEMENT,
        "status": "awarded",
        "method": "rule",
        "rule_version": 1,
        "evidence_ids": [EVIDENCE],
        "needs_review": False,
        "review_reason": None,
        "decided_by": "3f2e1d0c-9b8a-4765-8432-10fedcba9876",
        "decided_at": NOW,
        "awarded_at": NOW,
        "credential_id": None,
        "issuance_status": "waiting",
        "created_at": NOW,
    },
)

CREATE_WEBHOOK = example(
    request={
        "url": "https://lms.example.com/hooks/portrait",
        "events": ["award.created", "credential.issued", "credential.revoked"],
        "description": "Gradebook badge sync",
    },
    response={
        "id": WEBHOOK,
        "url": "https://lms.example.com/hooks/portrait",
        "events": ["award.created", "credential.issued", "credential.revoked"],
        "description": "Gradebook badge sync",
        "active": True,
        "created_at": NOW,
        "updated_at": NOW,
        "secret": "whsec_4f9a2c7e1b8d3a6f0e5c9b2d7a4f1e8c",
    },
    status=201,
)

SYNC = example(
    request={"mode": "delta", "override": False},
    response=job_read(
        "oneroster.sync",
        "sync",
        "queued",
        params={"connection_id": CONNECTION, "mode": "delta", "override": False},
    ),
    status=202,
)
