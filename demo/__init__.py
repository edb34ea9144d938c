"""The demo: Home Assistant with Keyholder, the bridge and simulated devices (``scripts/demo``)."""
