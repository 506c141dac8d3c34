"""The annotation platform: projects, tasks, agreement, review and gold sets.

People label contents (regions on the timeline, transcript corrections, speaker
turns, classifications, ratings) in projects of their tenant; their answers are
``Segment``s like a signal's, so agreement, export and evaluation treat a
person's answer and a model's alike. The nouns are in ``cintel.annotation``.
"""
