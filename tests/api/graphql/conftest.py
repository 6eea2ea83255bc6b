"""GraphQL test helpers: POST an operation to /graphql and read its data, errors and codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest


@dataclass
class Result:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors]

    def ok(self) -> Any:
        """The data of a result that must have no errors."""
        assert self.status == 200, self.body
        assert not self.errors, self.errors
        return self.data

    def error(self) -> dict[str, Any]:
        """The only error of a result that must have exactly one."""
        assert self.status == 200, self.body
        assert len(self.errors) == 1, self.body
        return self.errors[0]


@dataclass
class GraphQL:
    http: httpx.AsyncClient

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Result:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        response = await self.http.post("/graphql", json=payload, headers=headers or {})
        return Result(response.status_code, response.json())


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQL:
    return GraphQL(http)
