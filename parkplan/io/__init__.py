"""Files at the edge: reading, validating and writing layer files."""
