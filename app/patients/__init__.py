"""Patient records, households, CSV import."""
