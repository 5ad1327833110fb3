"""Evaluation shared by every stage: comparisons with uncertainty and the verdicts drawn from them."""
