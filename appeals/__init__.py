"""Commission cases: the workflow state machine, hearings, decisions, sanctions, appeals and
written decisions."""
