"""Logs (and later metrics and health checks), declared in one place."""
