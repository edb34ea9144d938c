"""The home's side of the bridge link: enrolment, the signed websocket, relayed requests."""
