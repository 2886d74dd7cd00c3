"""Hand-off from marketing to sales: teams, routing of MQLs to reps, and the rep's accept/reject review."""
