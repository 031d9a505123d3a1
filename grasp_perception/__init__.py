"""Camera sources, depth cleanup, back-projection, table plane and object clustering."""
