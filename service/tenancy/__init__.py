"""Tenancy: districts (tenants) and their API clients, scopes and access tokens."""
