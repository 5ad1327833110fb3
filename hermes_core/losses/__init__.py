"""Training losses as pure functions ``(scores, labels, mask) -> scalar``, looked up by name."""
