"""cpix/serialize.to_bytes is ET.tostring(root, encoding="utf-8", xml_declaration=True), byte for byte."""

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from speke_keyprovider.cpix.parse import parse_xml
from speke_keyprovider.cpix.serialize import to_bytes
from speke_keyprovider.key_sources import StaticMasterKey
from speke_keyprovider.service import KeyExchange
from speke_keyprovider.settings import Settings
from speke_keyprovider_tools.client.request_builder import build_request

from tests.conftest import MASTER_KEY

CPIX = "urn:dashif:org:cpix"
NAMESPACES = [
    CPIX,
    "urn:ietf:params:xml:ns:keyprov:pskc",
    "http://www.w3.org/2000/09/xmldsig#",
    "http://www.w3.org/2001/04/xmlenc#",
    "urn:example:foreign",
    'urn:example:other&"<>',
    "http://www.w3.org/XML/1998/namespace",
    "http://www.w3.org/2001/XMLSchema-instance",
    None,
]


def reference(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


@pytest.mark.parametrize("periods", [1, 3])
@pytest.mark.parametrize("encrypted", [False, True])
def test_real_responses_are_byte_identical(delivery_cert_der, encrypted, periods):
    built = build_request(
        content_id="serialize",
        video_preset="PRESET_VIDEO_5",
        audio_preset="PRESET_AUDIO_3",
        drm_systems=["widevine", "playready", "fairplay", "clearkey"],
        scheme="cbcs",
        periods=periods,
        certificate_der=delivery_cert_der if encrypted else None,
    )
    body = KeyExchange(Settings(), StaticMasterKey(MASTER_KEY)).answer(built.xml).body
    root = parse_xml(body)
    assert to_bytes(root) == reference(root) == body


def test_foreign_namespaces_prefixes_and_escaping():
    doc = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<c:CPIX xmlns:c="urn:dashif:org:cpix" xmlns:x="urn:example:x" xmlns:y="urn:example:y" '
        b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" contentId="a&amp;b"'
        b' x:flag="1&#10;2&#9;3&#13;" xml:lang="en">\n  <x:Ext y:attr="&quot;q&quot; &lt;&gt;">'
        b"text &amp; &lt;more&gt;<y:Inner/>tail</x:Ext>"
        b'\n  <c:ContentKeyList><c:ContentKey kid="k"></c:ContentKey></c:ContentKeyList><plain a="b"/>\n'
        b"</c:CPIX>"
    )
    root = parse_xml(doc)
    assert to_bytes(root) == reference(root)


def test_unexpected_nodes_fall_back_to_elementtree():
    root = ET.Element(f"{{{CPIX}}}CPIX")
    root.append(ET.Comment("a comment"))
    ET.SubElement(root, f"{{{CPIX}}}X", attrib={"n": "1"})
    assert to_bytes(root) == reference(root)
    bad = ET.Element(f"{{{CPIX}}}CPIX", attrib={"n": 1})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        to_bytes(bad)


def test_deep_trees_behave_as_with_elementtree():
    def chain(depth):
        root = ET.Element(f"{{{CPIX}}}CPIX")
        node = root
        for _ in range(depth):
            node = ET.SubElement(node, "{urn:example:x}deep")
        node.text = "bottom"
        return root

    root = chain(300)
    assert to_bytes(root) == reference(root)
    with pytest.raises(RecursionError):  # ElementTree's limit, unchanged (the parser refuses such depth anyway)
        to_bytes(chain(5000))


_text = st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12))
_names = st.sampled_from(["a", "kid", "Data", "PSSH", "x-y", "z_1"])


@st.composite
def trees(draw, depth=0):
    ns = draw(st.sampled_from(NAMESPACES[:5] + [None])) if depth else CPIX
    tag = f"{{{ns}}}{draw(_names)}" if ns else draw(_names)
    attrib = {}
    for _ in range(draw(st.integers(0, 3))):
        attr_ns = draw(st.sampled_from(NAMESPACES))
        key = f"{{{attr_ns}}}{draw(_names)}" if attr_ns else draw(_names)
        attrib[key] = draw(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10))
    element = ET.Element(tag, attrib)
    element.text = draw(_text)
    element.tail = draw(_text) if depth else None
    if depth < 4:
        for child in draw(st.lists(trees(depth=depth + 1), max_size=3)):
            element.append(child)
    return element


@settings(max_examples=300, deadline=None)
@given(trees())
def test_random_trees_are_byte_identical(root):
    assert to_bytes(root) == reference(root)


def test_no_cyclic_garbage_left_behind(delivery_cert_der):
    """Parsing and serialising free everything by reference counting: nothing waits for the cyclic GC
    (a self-referencing closure once kept twice the response alive until a collection)."""
    import gc

    built = build_request(
        content_id="gc",
        video_preset="PRESET_VIDEO_5",
        audio_preset="PRESET_AUDIO_3",
        drm_systems=["widevine", "playready", "fairplay"],
        periods=3,
        certificate_der=delivery_cert_der,
    )
    body = KeyExchange(Settings(), StaticMasterKey(MASTER_KEY)).answer(built.xml).body
    gc.collect()
    gc.disable()
    try:
        root = parse_xml(body)
        to_bytes(root)
        del root
        assert gc.collect() == 0
    finally:
        gc.enable()
