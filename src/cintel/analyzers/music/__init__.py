"""Music analyzers: tempo, beats, key and other musical descriptors."""
