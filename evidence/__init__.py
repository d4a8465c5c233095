"""Signals (detector scores, originality reports: never proof), process evidence (drafts, oral
defence) and the teacher's suspicion flag."""
