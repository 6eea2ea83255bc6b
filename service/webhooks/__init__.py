"""Webhooks: tenant subscriptions to domain events, signed deliveries retried with backoff."""
