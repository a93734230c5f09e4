"""Use cases: upload, read, render, delete. No HTTP here."""
