"""The wire contract shared by the controller and the node agent."""
