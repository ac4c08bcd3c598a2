"""XML namespaces of CPIX 2.3 (matched by URI, never by prefix) and Clark-notation tag helpers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

CPIX = "urn:dashif:org:cpix"
PSKC = "urn:ietf:params:xml:ns:keyprov:pskc"
DS = "http://www.w3.org/2000/09/xmldsig#"
ENC = "http://www.w3.org/2001/04/xmlenc#"
SPEKE_V1 = "urn:aws:amazon:com:speke"

ALG_AES256_CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
ALG_RSA_OAEP_MGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
ALG_HMAC_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512"

PREFIXES = {"cpix": CPIX, "pskc": PSKC, "ds": DS, "enc": ENC, "speke": SPEKE_V1}


def cpix(local: str) -> str:
    return f"{{{CPIX}}}{local}"


def pskc(local: str) -> str:
    return f"{{{PSKC}}}{local}"


def ds(local: str) -> str:
    return f"{{{DS}}}{local}"


def enc(local: str) -> str:
    return f"{{{ENC}}}{local}"


def speke(local: str) -> str:
    return f"{{{SPEKE_V1}}}{local}"


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def register_prefixes() -> None:
    """Serialise with the customary prefixes (ElementTree keeps this registry process-wide)."""
    for prefix, uri in PREFIXES.items():
        ET.register_namespace(prefix, uri)


register_prefixes()
