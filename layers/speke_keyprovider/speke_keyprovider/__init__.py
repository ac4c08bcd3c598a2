"""speke-keyprovider: a SPEKE v2 key provider for AWS Elemental MediaPackage v2.

The package is a plain library: CPIX parsing and rendering, key derivation, key wrapping,
DRM signalling and trust checks never import boto3 or Powertools. Only ``aws_key_sources``
touches AWS.
"""

__version__ = "0.1.0"
PRODUCT = "speke-keyprovider"
USER_AGENT = f"{PRODUCT}/{__version__}"
