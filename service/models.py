"""Imports every table module so that the metadata is complete (Alembic, tests)."""

from service.adapters.oneroster import models as oneroster_models
from service.awards import models as awards_models
from service.badges import models as badges_models
from service.evidence import models as evidence_models
from service.frameworks import models as frameworks_models
from service.identity import models as identity_models
from service.jobs import models as jobs_models
from service.roster import models as roster_models
from service.tenancy import models as tenancy_models
from service.transcripts import models as transcripts_models
from service.verification import models as verification_models
from service.wallet import models as wallet_models
from service.webhooks import models as webhooks_models

__all__ = [
    "awards_models",
    "badges_models",
    "evidence_models",
    "frameworks_models",
    "identity_models",
    "jobs_models",
    "oneroster_models",
    "roster_models",
    "tenancy_models",
    "transcripts_models",
    "verification_models",
    "wallet_models",
    "webhooks_models",
]
