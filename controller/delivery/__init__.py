"""Getting bulletins to the points and knowing what happened: the dispatcher (signed commands
through a durable outbox, audio chunks, node events), delivery state and point availability.
"""
