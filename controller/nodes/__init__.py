"""Loudspeaker points as the controller manages them: broker accounts and config (its policy
templates are package data in ``mosquitto/``), the commune's certificates (``loa tls init``,
node client certificates), the signing key, provisioning, a technician's controls (volume, test
tone, stop) and first-run set-up.
"""

from controller.nodes.bootstrap import add_zone, load_config, setup
from controller.nodes.keys import load_or_create_key
from controller.nodes.provision import Provisioned, ProvisionError, add_node

__all__ = [
    "ProvisionError",
    "Provisioned",
    "add_node",
    "add_zone",
    "load_config",
    "load_or_create_key",
    "setup",
]
