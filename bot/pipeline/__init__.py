"""The orchestrator: one feed poll from fetch to outbox, its recorder and schedule."""
