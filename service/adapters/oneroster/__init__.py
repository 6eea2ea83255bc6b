"""OneRoster 1.1/1.2 adapter (client, mapping, sync, CSV)."""
