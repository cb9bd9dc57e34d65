"""Software updates of the points: signed ``loalang`` wheels (``wheels``), the version each
point should run and the rollout's progress (``rollout``), and ``loa release`` (``cli``).

The node's side is ``node_agent.updates``; the wheel travels as audio does (``delivery.chunks``).
"""
