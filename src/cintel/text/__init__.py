"""Text as the text analyzers see it: documents with offsets and, for transcripts, times."""
