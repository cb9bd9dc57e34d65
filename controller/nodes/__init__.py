"""Loudspeaker points as the controller manages them: broker accounts and config, the signing
key, provisioning, a technician's controls (volume, test tone, stop) and first-run set-up.
"""
