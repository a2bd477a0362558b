"""SQLAlchemy 2 models and Alembic migrations."""
