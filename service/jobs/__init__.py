"""Jobs: long work with persisted state and progress, run in-process (SQLite) or by procrastinate
workers (PostgreSQL). See :mod:`service.jobs.registry` for writing a handler."""
