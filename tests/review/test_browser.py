"""End to end in a real browser: Debian's chromium driven by Playwright against a live uvicorn server."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from groundv.review.app import create_app
from groundv.review.reviews import REVIEWS_FILE
from groundv.review.session import ReviewSession

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs Python Playwright")
uvicorn = pytest.importorskip("uvicorn", reason="the browser test needs uvicorn")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.is_file(), reason="the browser test needs Debian's /usr/bin/chromium")]


@pytest.fixture
def server(dataset: Path) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(ReviewSession(dataset, reviewers=2), allowed_hosts=["127.0.0.1"])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none", http="h11",
                            lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    srv.should_exit = True
    thread.join(timeout=10)


def _actions(dataset: Path) -> list[dict]:
    return [orjson.loads(line) for line in (dataset / REVIEWS_FILE).read_bytes().splitlines()]


def test_review_in_a_real_browser(server: str, dataset: Path, tmp_path: Path) -> None:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(server)
            page.fill("#name-input", "ana")
            page.press("#name-input", "Enter")
            page.wait_for_function("document.querySelector('#meta').textContent.length > 0")
            first = page.text_content("#meta").split(" ")[0]
            assert page.is_visible("#instruction") and page.text_content("#instruction").strip()

            page.keyboard.press("a")  # accept: the next sample comes up
            page.wait_for_function(f"!document.querySelector('#meta').textContent.startsWith('{first}')")
            second = page.text_content("#meta").split(" ")[0]

            page.keyboard.press("r")  # reject: pick reason 1 (wrong_target), confirm
            page.wait_for_selector("#reject-dialog:not([hidden])")
            page.keyboard.press("1")
            assert page.get_attribute("#reasons li:first-child", "class") == "on"
            page.keyboard.press("Enter")
            page.wait_for_function(f"!document.querySelector('#meta').textContent.startsWith('{second}')")
            third = page.text_content("#meta").split(" ")[0]

            # Relink a region: click its row in the list (the same as typing its number and t).
            row = page.locator("#regions li:not(.target):not(.crowd)").first
            number = row.get_attribute("data-n")
            row.click()
            page.wait_for_selector(f"#regions li.target[data-n='{number}']")
            assert "changed by you" not in page.text_content("#targets-line")  # the ::after text is CSS-only
            assert page.evaluate("getComputedStyle(document.querySelector('#targets-line'), '::after').content"
                                 ).startswith('"')

            page.reload()  # the reviewer name is remembered; the leased sample comes back with its toggle
            page.wait_for_function(f"document.querySelector('#meta').textContent.startsWith('{third}')")
            page.wait_for_selector(f"#regions li.target[data-n='{number}']")
            page.wait_for_function("document.querySelector('#layer-targets').complete && "
                                   "document.querySelector('#layer-regions').complete")
            assert page.evaluate("document.querySelector('#layer-regions').naturalWidth") > 0
            box = page.locator("#stage").bounding_box()
            assert box is not None
            page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.7)  # names what it points at
            page.wait_for_timeout(300)
            assert page.text_content("#pointer")  # the region's number and name, under the picture
            for text in ("#instruction", "#response"):  # pointing never scrolls the text away
                assert page.locator(text).is_visible() and page.locator(text).bounding_box()["y"] >= 0
            shot = tmp_path / "review.png"
            page.screenshot(path=str(shot))
            shutil.copy(shot, "/tmp/review_screenshot.png")

            page.keyboard.press("s")  # the stats page
            page.wait_for_selector("#stats:not([hidden]) tbody tr")
            assert "Cohen" in page.text_content("#stats thead")
            page.screenshot(path=str(tmp_path / "stats.png"))
            assert not errors, errors
        finally:
            browser.close()

    actions = _actions(dataset)
    assert [(a["sample"], a["action"]) for a in actions] == [(first, "accept"), (second, "reject"), (third, "toggle")]
    assert actions[1]["reasons"] == ["wrong_target"] and {a["reviewer"] for a in actions} == {"ana"}
    assert shot.stat().st_size > 10_000
