"""Real-time intake: ``cintel consume``, a durable JetStream consumer.

``consumer`` turns intake messages into jobs and acknowledges each after its
signals are stored. What a finished job announces is ``cintel.notify``'s.
"""
