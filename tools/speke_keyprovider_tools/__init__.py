"""speke-keyprovider's workstation tools: never shipped in the Lambda layer.

``cli`` (the ``speke-keyprovider`` command), ``local_server`` (``make run``: the function behind a local
SigV4 check), ``local_sigv4``, ``apigw_event`` (API Gateway proxy events for the handler, the event
fixtures, the benchmarks), and ``client``: the encryptor's side of SPEKE (request builder, response reader,
conformance checker), which imports neither this package nor the server package, so it stays an
independent oracle of the provider.
"""

from speke_keyprovider import __version__

__all__ = ["__version__"]
