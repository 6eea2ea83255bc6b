"""Awards: achievements (badge definitions) with award rules, rule evaluation, awards and review."""
