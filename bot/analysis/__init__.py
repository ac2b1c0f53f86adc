"""The worker processes and the per-page work: pre-filter, extraction, fingerprint."""
