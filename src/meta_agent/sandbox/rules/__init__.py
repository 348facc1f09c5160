"""Validation rules the real Marketing API enforces (reference §5), one module per concern."""
