"""Alembic migrations; ``bot.store.engine.migrate`` runs them at start-up."""
