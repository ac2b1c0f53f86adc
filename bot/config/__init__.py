"""Settings, the feed list and its OPML form, and validated edits of the config files."""
