"""The two APIs and their scope URIs, exactly as the 1EdTech specifications name them, in plain words."""

from __future__ import annotations

from dataclasses import dataclass

OB_BASE = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"
CLR_BASE = "https://purl.imsglobal.org/spec/clr/v2p0/scope/"


@dataclass(frozen=True)
class Api:
    """``ob``: Open Badges 3.0 (``/ims/ob/v3p0``); ``clr``: CLR 2.0 (``/ims/clr/v2p0``)."""

    key: str
    path: str
    title: str
    scope_base: str
    credential_type: str

    @property
    def read(self) -> str:
        return self.scope_base + "credential.readonly"

    @property
    def upsert(self) -> str:
        return self.scope_base + "credential.upsert"

    @property
    def profile_read(self) -> str:
        return self.scope_base + "profile.readonly"

    @property
    def profile_update(self) -> str:
        return self.scope_base + "profile.update"

    @property
    def scopes(self) -> tuple[str, str, str, str]:
        return (self.read, self.upsert, self.profile_read, self.profile_update)


OB = Api("ob", "/ims/ob/v3p0", "Open Badges 3.0", OB_BASE, "OpenBadgeCredential")
CLR = Api("clr", "/ims/clr/v2p0", "Comprehensive Learner Record 2.0", CLR_BASE, "ClrCredential")
APIS = {OB.key: OB, CLR.key: CLR}
ALL_SCOPES: tuple[str, ...] = OB.scopes + CLR.scopes

_WORDS = {
    "credential.readonly": "see the {what} the district issued to you, and those stored here for you",
    "credential.upsert": "add {what} to your record here, or replace them with newer versions",
    "profile.readonly": "see your profile: your name and the identifier in your credentials",
    "profile.update": "change the profile stored for you here",
}
_WHAT = {"ob": "badges", "clr": "learner records (transcripts)"}
OB_SCOPE_DESCRIPTIONS = {
    OB.read: "Permission to read AchievementCredentials for the authenticated entity.",
    OB.upsert: "Permission to create or update AchievementCredentials for the authenticated entity.",
    OB.profile_read: "Permission to read the profile for the authenticated entity.",
    OB.profile_update: "Permission to update the profile for the authenticated entity.",
}
CLR_SCOPE_DESCRIPTIONS = {
    CLR.read: "Permission to read ClrCredentials for the authenticated entity.",
    CLR.upsert: "Permission to create or update ClrCredentials for the authenticated entity.",
    CLR.profile_read: "Permission to read the profile for the authenticated entity.",
    CLR.profile_update: "Permission to update the profile for the authenticated entity.",
}


def api_of(scope: str) -> Api | None:
    for api in APIS.values():
        if scope.startswith(api.scope_base):
            return api
    return None


def plain_words(scope: str) -> str:
    """What a scope lets a wallet do, said to the learner."""
    api = api_of(scope)
    if api is None:
        return scope
    template = _WORDS.get(scope.removeprefix(api.scope_base), scope)
    return template.format(what=_WHAT[api.key])


def parse_scope(value: str) -> list[str]:
    """A space-separated scope string as a list without duplicates, in the given order."""
    seen: list[str] = []
    for item in value.split():
        if item not in seen:
            seen.append(item)
    return seen
