"""Open Badges 3.0 and CLR 2.0 credentials library (no database or web imports)."""
