"""What tests share: the harness, chat and process helpers, PostgreSQL.

Tests import these, never each other.
"""
