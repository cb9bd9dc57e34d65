"""An alert on the commune's other channels: SMS (an HTTP brandname gateway or a ModemManager
modem), Zalo OA messages and electronic notice boards (HTTP and MQTT).

``outbox`` queues one message per recipient in the alert's transaction; ``worker`` sends them
after the commit with retries (``outcome``); ``report`` counts them for the alert's report.
``sms_text`` counts and splits GSM-7/UCS-2; ``phones`` and ``vault`` keep numbers valid and
sealed. Subscriptions themselves are in ``controller.emergency.subscriptions``.
"""
