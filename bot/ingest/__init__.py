"""Fetching feeds and pages, the network guard, feed parsing and item identity."""
