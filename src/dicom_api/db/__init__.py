"""Database: SQLAlchemy models, engine and repositories."""
