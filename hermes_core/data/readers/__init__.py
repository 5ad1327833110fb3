"""Source adapters: read public datasets into raw records for the universal schema."""
