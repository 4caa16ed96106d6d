"""Pure Python: the urgency heuristic, the suggestion model and the plan ranking."""
