"""Evidence: append-only records of a learner's growth per competency (framework version)."""
