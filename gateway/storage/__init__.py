"""SQL storage: tables, engine and sessions, and keyword-only CRUD functions."""
