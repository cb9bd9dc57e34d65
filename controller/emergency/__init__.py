"""Emergencies: alerts (propose, confirm, send everywhere at once, cancel), CAP 1.2 ingest and
its pure logic in ``cap/``. Other alert channels (SMS, Zalo, notice boards) belong here.
"""
