"""The staff console under ``/console/``: one router made of the console's page modules.

No SQL here: pages call the identity, roster, awards, evidence and badges services; ``common`` holds what
every page shares (the signed-in person, CSRF, cookies, refusal pages).
"""

from fastapi import APIRouter

from service.api.web.console import classes, dashboard, learners, reviews, sign_in, staff, transcripts

router = APIRouter(include_in_schema=False)
for module in (sign_in, learners, classes, staff, reviews, transcripts, dashboard):
    router.include_router(module.router)

__all__ = ["router"]
