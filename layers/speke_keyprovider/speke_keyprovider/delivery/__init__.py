"""Key delivery to players (docs/key-delivery.md): HLS AES-128 keys and W3C ClearKey licences behind
entitlement tokens. Framework-free: the Lambda function and ``make run`` only translate HTTP to and from it.

    tokens.py     entitlement tokens (JWT, PyJWT): trusted keys, verification, scope claims
    licence.py    the W3C EME ClearKey licence request and response
    endpoint.py   the endpoints: routes, error order, CORS, the keys from the same KeySource as SPEKE
    errors.py     the refusals (401, 400, 403, 404, 405, 413) as SpekeError subclasses
"""
