"""Submissions that break the rules in every way we know of, to test the grader with."""
