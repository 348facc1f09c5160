"""The Graph API client: fewest round trips, every limit respected, no transient failure surfaced."""
