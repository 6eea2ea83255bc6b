"""Staff roles and what they let a person see (pure: no I/O).

Roles come from the roster (the OneRoster role of the person) and from grants by a district admin:

============== ================================================= ==========================================
console role   OneRoster roles mapped to it                      sees
============== ================================================= ==========================================
educator       teacher, aide, proctor                            learners of the classes they teach
counselor      counselor                                         learners of their schools
school_lead    principal, siteAdministrator, administrator       learners of their schools
district_admin districtAdministrator, systemAdministrator        every learner of the district; grants roles
============== ================================================= ==========================================
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

StaffRole = Literal["educator", "counselor", "school_lead", "district_admin"]
STAFF_ROLES: tuple[StaffRole, ...] = ("educator", "counselor", "school_lead", "district_admin")
ROLE_LABELS: dict[str, str] = {
    "educator": "Educator",
    "counselor": "Counselor",
    "school_lead": "School lead",
    "district_admin": "District admin",
}
#: Roles whose reach is the person's schools (a grant may name the school).
SCHOOL_ROLES: frozenset[str] = frozenset({"counselor", "school_lead"})

ONEROSTER_ROLE_MAP: dict[str, StaffRole] = {
    "teacher": "educator",
    "aide": "educator",
    "proctor": "educator",
    "counselor": "counselor",
    "principal": "school_lead",
    "siteAdministrator": "school_lead",
    "administrator": "school_lead",
    "districtAdministrator": "district_admin",
    "systemAdministrator": "district_admin",
}
#: Enrollment roles that make a class "theirs" for an educator.
TEACHING_ENROLLMENT_ROLES: frozenset[str] = frozenset({"teacher", "aide", "proctor"})


def roster_roles(oneroster_roles: list[str] | set[str] | tuple[str, ...]) -> set[StaffRole]:
    """Console roles implied by OneRoster roles (learners, parents and guardians get none)."""
    return {ONEROSTER_ROLE_MAP[r] for r in oneroster_roles if r in ONEROSTER_ROLE_MAP}


@dataclass(frozen=True)
class StaffAccess:
    """What one signed-in staff member may see: resolved once per request."""

    tenant_id: uuid.UUID
    person_id: uuid.UUID
    roles: frozenset[str]
    #: Schools whose learners they see (counselor, school lead).
    school_ids: frozenset[uuid.UUID]
    #: Classes whose learners they see (educator).
    class_ids: frozenset[uuid.UUID]

    @property
    def district_wide(self) -> bool:
        return "district_admin" in self.roles

    @property
    def is_staff(self) -> bool:
        return bool(self.roles)

    def can_see_learner(self, learner_org_ids: set[uuid.UUID], learner_class_ids: set[uuid.UUID]) -> bool:
        if self.district_wide:
            return True
        return bool(self.school_ids & learner_org_ids) or bool(self.class_ids & learner_class_ids)

    @property
    def role_labels(self) -> list[str]:
        return [ROLE_LABELS[r] for r in STAFF_ROLES if r in self.roles]
