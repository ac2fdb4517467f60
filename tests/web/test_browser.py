"""Headless Chromium against the real app (werkzeug server in a thread, seed index): ask, read
the cited result, follow it to the highlighted passage; a <script> question stays inert; the
results page fits a phone screen with the answering sentence on its first screen; a question
the archive cannot answer says so."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from .support import SEED_ANSWER, SEED_QUESTION, SEED_SOURCE, SEED_TITLE

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                       reason="needs /usr/bin/chromium and /usr/bin/chromedriver "
                              "(Debian: apt-get install chromium chromium-driver)"),
]
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import NoAlertPresentException, WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def base_url(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def chromium(profile: Path, javascript: bool = True):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                "--window-size=1280,900", "--lang=zh-CN"):
        options.add_argument(arg)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    d = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    d.set_page_load_timeout(60)
    return d


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    d = chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield d
    d.quit()


def ask(driver, base_url, question):
    driver.get(base_url + "/")
    box = driver.find_element(By.ID, "q")
    box.clear()
    box.send_keys(question)
    driver.find_element(By.CSS_SELECTOR, "form.ask button").click()
    # the page asked from is gone first: its own .notice (the empty state) would otherwise end
    # the wait below at once, and the next find_element meet the old page (stale element)
    WebDriverWait(driver, 60).until(lambda _: gone(box))
    WebDriverWait(driver, 60).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, ".results, .notice")))


def gone(element) -> bool:
    """The element's page was left. Chromium says so as a stale element, or, while the new
    page loads, as "Node with given id does not belong to the document" (which selenium's
    own staleness_of does not catch)."""
    try:
        element.is_enabled()
    except WebDriverException:      # StaleElementReferenceException is one
        return True
    return False


def no_alert(driver) -> bool:
    try:
        driver.switch_to.alert
    except NoAlertPresentException:
        return True
    return False


def test_ask_read_result_and_open_the_passage(driver, base_url):
    ask(driver, base_url, SEED_QUESTION)
    first = driver.find_element(By.CSS_SELECTOR, "li.result")
    assert first.find_element(By.CSS_SELECTOR, ".title").text == SEED_TITLE
    assert first.find_element(By.CSS_SELECTOR, ".source").text == f"据{SEED_SOURCE}"
    assert SEED_ANSWER in first.find_element(By.CSS_SELECTOR, "mark.answer").text
    # the short answer first and large: above the sentence, in a bigger type than it
    short = first.find_element(By.CSS_SELECTOR, ".short-answer strong")
    sentence = first.find_element(By.CSS_SELECTOR, ".sentence")
    assert "26" in short.text and short.location["y"] < sentence.location["y"]
    size = [float(e.value_of_css_property("font-size")[:-2]) for e in (short, sentence)]
    assert size[0] > 1.3 * size[1], size
    assert "毫秒" in driver.find_element(By.CSS_SELECTOR, ".meta").text
    assert "js" in driver.find_element(By.TAG_NAME, "html").get_attribute("class")

    first.find_element(By.CSS_SELECTOR, "a.read").click()
    passage = WebDriverWait(driver, 30).until(
        EC.presence_of_element_located((By.ID, "passage")))
    assert "/articles/" in driver.current_url and driver.current_url.endswith("#passage")
    assert "驻站" in passage.text
    assert driver.find_element(By.TAG_NAME, "h1").text == SEED_TITLE
    # Scrolled to: the marked passage is inside the viewport.
    top = driver.execute_script("return arguments[0].getBoundingClientRect().top", passage)
    assert 0 <= top < driver.execute_script("return window.innerHeight")
    colour = passage.value_of_css_property("background-color")
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent")


def test_script_question_is_inert(driver, base_url):
    evil = "<script>alert(1)</script>"
    ask(driver, base_url, evil)
    assert no_alert(driver)
    assert driver.find_element(By.ID, "q").get_attribute("value") == evil
    assert evil in driver.title
    assert driver.execute_script("return document.querySelectorAll('main script').length") == 0
    # Straight from the URL as well, with an attribute-breaking payload.
    driver.get(base_url + "/?q=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(2)%3E")
    assert no_alert(driver)
    assert driver.execute_script("return document.querySelectorAll('img').length") == 0


def test_results_fit_a_phone_and_show_the_answering_sentence_without_scrolling(driver,
                                                                                base_url):
    driver.set_window_size(390, 844)
    try:
        ask(driver, base_url, SEED_QUESTION)
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= driver.execute_script("return window.innerWidth")
        assert driver.execute_script("return window.innerWidth") <= 390
        box = driver.find_element(By.ID, "q").size["width"]
        assert box > 200            # the question box is not squeezed out by the controls
        assert driver.execute_script("return window.scrollY") == 0
        sentence = driver.find_element(By.CSS_SELECTOR, "li.result .sentence mark.answer")
        assert SEED_ANSWER in sentence.text
        rect = driver.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "return [r.top, r.bottom, window.innerHeight];", sentence)
        assert 0 <= rect[0] and rect[1] <= rect[2], rect     # wholly on the first screen
        # and it is above its passage
        passage = driver.find_element(By.CSS_SELECTOR, "li.result .passage")
        assert passage.location["y"] > sentence.location["y"]
    finally:
        driver.set_window_size(1280, 900)


def test_unanswerable_question_says_no_reliable_answer(driver, base_url):
    ask(driver, base_url, "2022年世界杯冠军是哪支球队？")
    notice = driver.find_element(By.CSS_SELECTOR, ".notice.not-found")
    assert "未找到可靠答案" in notice.text and notice.is_displayed()
    assert driver.find_elements(By.CSS_SELECTOR, "ol.results.weak li.result")
    assert not driver.find_elements(By.CSS_SELECTOR, "mark.answer")
    # the closest passages sit below the notice, under a heading that says they may not answer
    heading = driver.find_element(By.CSS_SELECTOR, ".weak-heading")
    assert "最接近" in heading.text and heading.location["y"] > notice.location["y"]


def test_works_with_javascript_off(base_url, tmp_path):
    d = chromium(tmp_path / "profile", javascript=False)
    try:
        ask(d, base_url, SEED_QUESTION)
        first = d.find_element(By.CSS_SELECTOR, "li.result")
        assert SEED_ANSWER in first.find_element(By.CSS_SELECTOR, "mark.answer").text
        first.find_element(By.CSS_SELECTOR, "a.read").click()
        WebDriverWait(d, 30).until(EC.presence_of_element_located((By.ID, "passage")))
        # app.js marks <html class="js"> when it runs; here it must not have.
        assert "js" not in (d.find_element(By.TAG_NAME, "html").get_attribute("class") or "")
    finally:
        d.quit()
