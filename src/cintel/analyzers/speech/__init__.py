"""Speech analyzers: transcripts with word times (and, later, speakers)."""
