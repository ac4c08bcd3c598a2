"""cpix/parse.parse_xml: the same tree as defusedxml.ElementTree.fromstring, the same refusals, and a
nesting limit."""

import base64
import json

import pytest
from defusedxml.ElementTree import fromstring
from speke_keyprovider.cpix.parse import MAX_XML_DEPTH, parse_xml
from speke_keyprovider.errors import CpixError
from speke_keyprovider_tools.client.request_builder import build_request

from tests.conftest import DASHIF, EVENTS


def dump(root):
    return [(e.tag, list(e.items()), e.text, e.tail) for e in root.iter()]


def documents():
    docs = []
    for path in sorted(EVENTS.glob("*.json")):
        event = json.loads(path.read_text())
        if event.get("body"):
            body = event["body"]
            docs.append(base64.b64decode(body) if event.get("isBase64Encoded") else body.encode())
    docs.extend(path.read_bytes() for path in sorted(DASHIF.glob("*.xml")))
    docs.append(
        build_request(
            content_id="p",
            video_preset="PRESET_VIDEO_8",
            audio_preset="PRESET_AUDIO_3",
            drm_systems=["widevine", "playready", "fairplay"],
            periods=2,
        ).xml
    )
    docs.append(
        b'<?xml version="1.0"?>\n<a:x xmlns:a="urn:a" xmlns:b="urn:b" z="1" b:y="2" xml:lang="en" a="3">t'
        b'<b:q b:k="&amp;&lt;" k="&#10;">x</b:q>tail<!-- c --><?pi x?> more<plain/></a:x>\n'
    )
    docs.append('<?xml version="1.0" encoding="UTF-16"?><x a="é">ü</x>'.encode("utf-16"))
    return docs


@pytest.mark.parametrize("doc", documents())
def test_same_tree_as_defusedxml(doc):
    try:
        expected = dump(fromstring(doc, forbid_dtd=True, forbid_entities=True, forbid_external=True))
    except Exception:  # noqa: BLE001 - the forbidden-construct vectors: parse_xml must refuse them too
        with pytest.raises(CpixError):
            parse_xml(doc)
        return
    assert dump(parse_xml(doc)) == expected


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (b"<a><b></a>", "Malformed XML at line 1, column 8"),
        (b"", "Malformed XML at line 1, column 0"),
        (b"<x/><y/>", "Malformed XML at line 1, column 4"),
        (b"<x>&foo;</x>", "Malformed XML at line 1, column 3"),
        (b"<!DOCTYPE x [<!ENTITY e 'x'>]><x>&e;</x>", "Forbidden XML construct: DTD"),
        (b'<!DOCTYPE x SYSTEM "http://example.com/x.dtd"><x/>', "Forbidden XML construct: DTD"),
    ],
)
def test_refusals(doc, message):
    with pytest.raises(CpixError) as info:
        parse_xml(doc)
    assert info.value.public_message.startswith(message)


def test_nesting_limit():
    ok = b"<x>" * MAX_XML_DEPTH + b"</x>" * MAX_XML_DEPTH
    assert parse_xml(ok).tag == "x"
    deep = b"<x>" * (MAX_XML_DEPTH + 1) + b"</x>" * (MAX_XML_DEPTH + 1)
    with pytest.raises(CpixError) as info:
        parse_xml(deep)
    assert info.value.status == 422 and info.value.reason == "xml_too_deep"
    assert info.value.public_message == f"XML nested too deeply: at most {MAX_XML_DEPTH} levels of elements"
