"""meta-agent: Meta advertising run end to end through the Marketing API."""

__version__ = "0.1.0"
