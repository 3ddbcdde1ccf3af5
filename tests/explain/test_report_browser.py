"""The report in a real browser: Debian's Chromium, headless, driven by Playwright, with the network off.

It opens with no console error and no request, draws a page that is not blank, switches the heatmaps
with the method selector, opens an image's feature maps on a click, and sorts a table by a column.
Skipped, saying how to install what is missing, where there is no Chromium or no Playwright.
"""
import io
import shutil

import numpy as np
import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("no Chromium for the browser tests: as root, `apt-get install chromium` (what .ci/run does)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="no Playwright for the browser tests: "
                               "`pip install -e '.[browser]'` (make test installs it)")

# as the machine's probe starts Chromium: no sandbox as root, nothing of its own on the network
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]
METHODS = "gradcam,scorecam,saliency"


@pytest.fixture(scope="module")
def report_file(cli, model_file, data_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("browser-report")
    status = cli.main(["report", "--model", str(model_file), "--data", str(data_folder), "--limit", "4",
                       "--methods", METHODS, "--faithfulness-images", "0", "--out", str(out)])
    assert status == 0
    return out / "report.html"


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def opened(browser, report_file):
    """(page, console messages, requests other than the file itself), the network off."""
    context = browser.new_context(offline=True, viewport={"width": 1300, "height": 900})
    messages, requests = [], []
    page = context.new_page()
    page.on("console", lambda message: messages.append((message.type, message.text)))
    page.on("pageerror", lambda error: messages.append(("pageerror", str(error))))
    page.on("request", lambda request: None if request.url.startswith(("file:", "data:"))
            else requests.append(request.url))
    page.goto(report_file.as_uri())
    page.wait_for_load_state("load")
    yield page, messages, requests
    context.close()


def picture(png_bytes):
    return np.asarray(Image.open(io.BytesIO(png_bytes)).convert("RGB")).astype(np.int16)


def visible_heatmaps(page):
    return page.eval_on_selector_all(
        "img.map", "maps => maps.filter(m => m.offsetParent !== null).map(m => [m.dataset.method, m.src])")


def test_the_page_opens_offline_with_no_console_error_and_no_request(opened):
    page, messages, requests = opened
    assert page.title().startswith("npnet report: ")
    assert [m for m in messages if m[0] in ("error", "pageerror", "warning")] == []
    assert requests == []
    broken = page.eval_on_selector_all("img", "images => images.filter(i => !i.complete).length")
    assert broken == 0


def test_a_screenshot_shows_a_page_not_a_blank(opened, tmp_path):
    page, _, _ = opened
    shot = page.screenshot(full_page=False)
    (tmp_path / "top.png").write_bytes(shot)
    pixels = picture(shot)
    assert pixels.std() > 20
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 100


def test_the_method_selector_switches_every_cards_heatmaps(opened):
    page, messages, _ = opened
    page.locator("#mistakes").scroll_into_view_if_needed()
    cards = page.locator("#mistakes article.card").count()
    before = visible_heatmaps(page)
    assert cards == 4 and len(before) == 2 * cards and {m for m, _ in before} == {"gradcam"}
    first_card = page.locator("#mistakes article.card").first
    shot_before = picture(first_card.screenshot())
    page.select_option("#method", "saliency")
    after = visible_heatmaps(page)
    assert len(after) == 2 * cards and {m for m, _ in after} == {"saliency"}
    assert [src for _, src in after] != [src for _, src in before]
    assert np.abs(picture(first_card.screenshot()) - shot_before).max() > 50      # the pixels changed too
    assert page.locator("#mistakes .description").inner_text().startswith("dy^c/dx")
    assert [m for m in messages if m[0] in ("error", "pageerror")] == []


def test_clicking_an_image_opens_its_feature_maps(opened):
    page, messages, _ = opened
    card = page.locator("#mistakes article.card").first
    title = card.get_attribute("data-title")
    assert not page.locator("#features-dialog").is_visible()
    card.locator("button.image-button").click()
    dialog = page.locator("#features-dialog")
    assert dialog.is_visible()
    assert dialog.locator(".dialog-title").inner_text() == f"Feature maps of {title}"
    figures = dialog.locator(".dialog-body img")
    assert figures.count() == 4           # the input and the three conv layers
    sizes = figures.evaluate_all("images => images.map(i => [i.naturalWidth, i.getBoundingClientRect().width])")
    assert all(natural > 0 and shown > 0 for natural, shown in sizes)
    assert "conv2d_1" in dialog.inner_text() and "conv2d_3" in dialog.inner_text()
    dialog.locator("button.close").click()
    assert not dialog.is_visible()
    assert [m for m in messages if m[0] in ("error", "pageerror")] == []


def test_clicking_a_column_heading_sorts_the_per_class_table(opened):
    page, _, _ = opened
    table = page.locator("table.per-class")
    heading = table.locator("thead th", has_text="images")

    def column():
        return table.locator("tbody tr").evaluate_all("rows => rows.map(r => parseFloat(r.cells[3].dataset.value))")
    heading.locator("button").click()
    ascending = column()
    assert ascending == sorted(ascending) and heading.get_attribute("aria-sort") == "ascending"
    heading.locator("button").click()
    descending = column()
    assert descending == sorted(descending, reverse=True) and heading.get_attribute("aria-sort") == "descending"
