"""Audio analyzers: decoding, loudness, quality, voice activity."""
