"""The walkthrough in a real browser: Debian's Chromium, headless, driven by Playwright, with the network off.

It opens with no console error and no request and draws a page that is not blank; a click on a unit opens
its panel, and every number there is the engine's; the keys move between units; the training-step
toggle changes the kernel pictures. Skipped, saying how to install what is missing, where there is no
Chromium or no Playwright.
"""
import io
import shutil

import numpy as np
import pytest
from PIL import Image

from .conftest import lookup, page_tolerance

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("no Chromium for the browser tests: as root, `apt-get install chromium` (what .ci/run does)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="no Playwright for the browser tests: "
                               "`pip install -e '.[browser]'` (make test installs it)")

# as the machine's probe starts Chromium: no sandbox as root, nothing of its own on the network
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def opened(browser, built):
    """(page, console messages, requests other than the file itself), the network off."""
    assert built.status == 0
    context = browser.new_context(offline=True, viewport={"width": 1400, "height": 900})
    messages, requests = [], []
    page = context.new_page()
    page.on("console", lambda message: messages.append((message.type, message.text)))
    page.on("pageerror", lambda error: messages.append(("pageerror", str(error))))
    page.on("request", lambda request: None if request.url.startswith(("file:", "data:"))
            else requests.append(request.url))
    page.goto(built.path.as_uri())
    page.wait_for_load_state("load")
    yield page, messages, requests
    context.close()


def picture(png_bytes):
    return np.asarray(Image.open(io.BytesIO(png_bytes)).convert("RGB")).astype(np.int16)


def unit_position(page, column, c, i, j):
    """Where on column ``column``'s canvas the unit (channel c, row i, column j) is drawn."""
    g = page.evaluate(f"npnetWalkthrough.geometry(npnetWalkthrough.columns[{column}])")
    x = (c % g["per"]) * (g["cw"] + g["gap"]) + j * g["s"] + g["s"] / 2
    y = (c // g["per"]) * (g["ch"] + g["gap"]) + i * g["s"] + g["s"] / 2
    return {"x": x, "y": y}


def panel_numbers(page):
    return page.eval_on_selector_all("#panel [data-ref], #panel [data-equals]", "spans => spans.map(s => "
                                     "[s.dataset.ref || null, s.dataset.equals || null, parseFloat(s.dataset.value)])")


def check_numbers(numbers, engine):
    assert len(numbers) > 10
    for ref, equals, value in numbers:
        if ref is not None:
            expected, scale = lookup(engine, ref), np.abs(engine["arrays"][ref.split("[")[0]]).max()
            assert abs(value - expected) <= page_tolerance(expected, scale), ref
        else:
            scale = np.abs(engine["arrays"][equals.split("[")[0]]).max()
            assert np.isclose(value, lookup(engine, equals), rtol=1e-4, atol=1e-5 * scale), equals


def test_the_page_opens_offline_with_no_console_error_and_no_request(opened, tmp_path):
    page, messages, requests = opened
    assert page.title().startswith("See backprop happen: ")
    assert [m for m in messages if m[0] in ("error", "pageerror", "warning")] == []
    assert requests == []
    drawn = page.eval_on_selector_all("canvas.units", "canvases => canvases.map(c => c.width * c.height)")
    assert len(drawn) == 2 * 11 and min(drawn) > 0        # the input and 10 layers, forward and backward
    shot = page.screenshot(full_page=False)
    (tmp_path / "top.png").write_bytes(shot)
    pixels = picture(shot)
    assert pixels.std() > 20 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 100


def test_a_click_on_a_conv_unit_opens_its_panel_with_the_engines_numbers(opened, engine):
    page, messages, _ = opened
    arrays = engine["arrays"]                          # a winner of conv2d_1 that is on, with a gradient
    on = (arrays["max_pooling2d_1.output"] > 0) & (arrays["max_pooling2d_1.doutput"] != 0)
    wi, wj, c = (int(v) for v in np.argwhere(on)[len(np.argwhere(on)) // 2])
    di, dj = divmod(int(arrays["max_pooling2d_1.winners"][wi, wj, c]), 2)
    i, j = 2 * wi + di, 2 * wj + dj
    canvas = page.locator('canvas.units[data-col="1"][data-dir="forward"]')
    assert page.locator("#panel").is_hidden()
    canvas.click(position=unit_position(page, 1, c, i, j))
    assert page.locator("#panel").is_visible()
    assert page.locator("#panel-title").inner_text() == f"conv2d_1 · channel {c} · row {i}, column {j}"
    numbers = panel_numbers(page)
    check_numbers(numbers, engine)
    refs = {ref for ref, _, _ in numbers}
    assert f"conv2d_1.output[{i},{j},{c}]" in refs and f"conv2d_1.dkernel[0,0,0,{c}]" in refs
    assert f"max_pooling2d_1.doutput[{wi},{wj},{c}]" in refs    # the winner's gradient, from the pool above
    text = page.locator("#panel").inner_text()
    assert "This unit is the winner" in text and "Σ of all 27 products" in text
    assert [m for m in messages if m[0] in ("error", "pageerror")] == []


def test_pool_and_dense_and_logit_panels_hold_the_engines_numbers(opened, engine):
    page, messages, _ = opened
    page.locator('canvas.units[data-col="2"][data-dir="backward"]').click(position=unit_position(page, 2, 5, 4, 4))
    assert "full correlation of dz with the flipped kernel" in page.locator("#panel").inner_text()
    check_numbers(panel_numbers(page), engine)
    page.locator('canvas.units[data-col="9"][data-dir="forward"]').click(position={"x": 25, "y": 3})
    assert page.locator("#panel-title").inner_text() == "dense_1 · unit 2"
    check_numbers(panel_numbers(page), engine)
    page.locator('ol.probs button[data-unit="13"]').click()
    assert page.locator("#panel-title").inner_text().startswith("dense_4 · logit 13")
    assert "p − y" in page.locator("#panel").inner_text()
    check_numbers(panel_numbers(page), engine)
    assert [m for m in messages if m[0] in ("error", "pageerror")] == []


def test_the_keys_move_between_units_and_escape_closes(opened):
    page, _, _ = opened
    canvas = page.locator('canvas.units[data-col="3"][data-dir="backward"]')
    canvas.focus()
    for key in ("ArrowRight", "ArrowRight", "ArrowDown", "PageDown", "Enter"):
        page.keyboard.press(key)
    assert page.locator("#panel-title").inner_text() == "conv2d_2 · channel 1 · row 1, column 2"
    page.keyboard.press("Escape")
    assert page.locator("#panel").is_hidden()
    assert page.evaluate("document.activeElement.dataset.col") == "3"


def test_the_training_step_toggle_changes_the_kernel_pictures(opened, built):
    page, messages, _ = opened
    kernels = page.locator("#step-kernels")
    kernels.scroll_into_view_if_needed()
    before = picture(kernels.screenshot())
    assert page.locator("#loss-after").is_hidden()
    page.locator("#step-toggle").click()
    assert page.locator("#step-toggle").get_attribute("aria-pressed") == "true"
    assert page.locator("#loss-after").is_visible()
    assert float(page.locator("#loss-after").get_attribute("data-value")) == built.data["step"]["loss_after"]
    after = picture(kernels.screenshot())
    assert before.shape != after.shape or np.abs(after - before).max() > 50
    page.locator("#step-toggle").click()
    assert page.locator("#loss-after").is_hidden()
    assert [m for m in messages if m[0] in ("error", "pageerror")] == []
