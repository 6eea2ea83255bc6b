"""Roster: orgs, academic sessions, people with roles, classes and enrollments (OneRoster-shaped)."""
