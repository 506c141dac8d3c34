"""Safe reading of media: kind detection from bytes, probing, image opening, limits."""
