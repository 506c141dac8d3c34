"""Near duplicates: the same picture, resized or re-encoded, across images and video keyframes.

Perceptual hashes (``image.hash``) are indexed in memory by multi-index hashing;
an image finds its near copies and the videos that show it, a video the videos
that share its footage. Separate from text search: neither imports the other.
"""
