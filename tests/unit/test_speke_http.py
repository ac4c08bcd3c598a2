import base64

import pytest
from speke_keyprovider.errors import BadRequest, RequestTooLarge, UnsupportedMediaType, UnsupportedVersion
from speke_keyprovider.speke_http import check_content_type, header, request_body, speke_version

CAP = 1024


def test_headers_are_case_insensitive():
    assert header({"x-SPEKE-version": "2.0"}, "X-Speke-Version") == "2.0"
    assert header({"X-Speke-Version": ["2.0"]}, "x-speke-version") == "2.0"
    assert header(None, "a") is None


@pytest.mark.parametrize("value", ["1.0", "2", " ", "2.0.0", "v2.0"])
def test_a_header_no_dialect_has_is_refused_before_the_body(value):
    with pytest.raises(UnsupportedVersion, match="^Unsupported SPEKE version$"):
        speke_version({"X-Speke-Version": value})


@pytest.mark.parametrize("value", [None, "2.0", "2.1", " 2.0 "])
def test_known_or_absent_headers_are_left_to_the_dialect_detection(value):
    assert speke_version({} if value is None else {"X-Speke-Version": value}) == value


def test_content_types():
    for ok in ("application/xml", "application/xml; charset=utf-8", "text/xml", None):
        check_content_type({} if ok is None else {"content-type": ok})
    with pytest.raises(UnsupportedMediaType):
        check_content_type({"Content-Type": "application/json"})


def test_body_size_cap_before_decoding():
    assert request_body("<a/>", False, CAP) == b"<a/>"
    assert request_body(base64.b64encode(b"<a/>").decode(), True, CAP) == b"<a/>"
    assert len(request_body("x" * CAP, False, CAP)) == CAP
    with pytest.raises(RequestTooLarge):
        request_body("x" * (CAP + 1), False, CAP)
    with pytest.raises(RequestTooLarge):
        request_body(base64.b64encode(b"x" * (CAP + 1)).decode(), True, CAP)
    with pytest.raises(RequestTooLarge):
        request_body("A" * (CAP * 2), True, CAP)


@pytest.mark.parametrize(("body", "b64"), [(None, False), ("", False), ("", True), ("%%%", True), ("QQ", True)])
def test_unusable_bodies(body, b64):
    with pytest.raises(BadRequest):
        request_body(body, b64, CAP)
