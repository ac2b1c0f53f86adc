"""Frozen values, errors, the clock and text folding that every stage shares."""
