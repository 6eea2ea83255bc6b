"""GraphQL transport (strawberry)."""
