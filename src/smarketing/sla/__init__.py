"""The two-sided SLA: working-time calendars, per-lead clocks, breach detection, escalation and compliance."""
