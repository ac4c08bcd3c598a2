"""`make demo`'s preparation (SPEKE answers, packaging, token, page URLs) against the session's provider, and
each page it prints played in the session's browser."""

from speke_keyprovider_tools.playback import demo


def test_demo_pages_play(lab):
    pages = demo.prepare(
        lab.tools, lab.provider, lab.root / "media" / "demo", lab.web.url, media_url="/media/demo", seconds=4
    )
    assert [p.title for p in pages] == ["HLS AES-128 (hls.js)", "ClearKey DASH cenc (Shaka Player)"]
    for page in pages:
        assert page.url.startswith(lab.web.url + "/") and "token=" in page.url
        result = lab.browser.play(page.url, case_id="demo " + page.title)
        assert result["outcome"] == "played", (page.title, result.get("errors"), result.get("console"))
        assert result["totalVideoFrames"] >= 25 and result["framesPresented"] >= 25
