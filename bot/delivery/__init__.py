"""Rendering alerts and digests, and draining the outbox through a sender."""
