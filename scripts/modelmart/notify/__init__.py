"""Alert delivery: routes (seed alert_routes) → channels (one module each).

Routing, dedup, repeat / flapping state and retries live once, in ``engine``;
each channel module only renders a message in its receiver's published format
and sends it (``base.Channel``). The notification log (``log``) is the state.
"""
