"""Models of this room."""
