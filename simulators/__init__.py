"""Devices and parties simulated at their protocol boundary, for the tests and the demo.

``zigbee2mqtt_lock``: a Zigbee2MQTT door lock as its own MQTT client on a real broker.
``carrier``: a delivery company with its own Ed25519 key, signing requests to the bridge.
"""
