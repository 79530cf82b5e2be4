"""The dashboard's dictionaries (dashboard/static/i18n/), read by running them in headless Chromium
exactly as the pages load them, against the lists in the code:

- every page loads the i18n module, the shared dictionary and its own, in that order;
- every key is defined once, in both languages; every static text of a page has its key;
- every order kind, event kind, order status, priority, category, role and ladder step the API
  can return has a label in Chinese and in English on the pages that show it.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from device_adapters.events import EventKind
from gateway.domain.ladders import LADDERS, RAISED_LADDERS
from gateway.domain.orders import Category, Priority, Status
from gateway.domain.roles import Role
from gateway.domain.routing import RULES, OpenOrder
from tests.browser_helpers import CHROMIUM, launch_browser, new_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no headless Chromium at /usr/bin/chromium"),
]

sync_api = pytest.importorskip("playwright.sync_api")

STATIC = Path(__file__).resolve().parent.parent / "dashboard" / "static"
PAGES = sorted(p.name for p in STATIC.glob("*.html"))
LANGS = ("zh", "en")
I18N_ATTRIBUTES = ("data-i18n", "data-i18n-placeholder", "data-i18n-title", "data-i18n-aria-label")

# What the API can return, from the code.
ORDER_KINDS = {r.order_kind for r in RULES.values() if isinstance(r, OpenOrder)} | set(LADDERS)
EVENT_KINDS = {k.value for k in EventKind}
STATUSES = {s.value for s in Status}
PRIORITIES = {p.value for p in Priority}
CATEGORIES = {c.value for c in Category}
ROLES = {r.value for r in Role}
STEPS = {s.name for ladder in [*LADDERS.values(), *RAISED_LADDERS.values()] for s in ladder if s.action is None}


class PageParts(HTMLParser):
    """A page's <script src> in order, and the keys of its static texts (data-i18n*)."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.keys: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if tag == "script" and name == "src" and value:
                self.scripts.append(value)
            if name in I18N_ATTRIBUTES and value:
                self.keys.add(value)


def page_parts(page: str) -> PageParts:
    parts = PageParts()
    parts.feed((STATIC / page).read_text(encoding="utf-8"))
    return parts


def i18n_scripts(page: str) -> list[str]:
    return [s for s in page_parts(page).scripts if s.startswith("i18n/")]


# The dictionaries' add() calls, in load order, recorded around the module's own add().
RECORD_ADDS = """() => {
  const add = window.ShewuI18n.add;
  window.__adds = [];
  window.ShewuI18n.add = (d) => { window.__adds.push(JSON.parse(JSON.stringify(d))); add(d); };
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_browser(sync_api) as b:
        yield b


def run_dictionaries(browser: Any, scripts: list[str]) -> dict[str, Any]:
    """Load these i18n scripts (the module first) in a blank page; answer the merged dictionaries
    ("dict") and what each add() call brought ("adds", in load order)."""
    with new_page(browser) as pg:
        pg.goto("about:blank")
        pg.add_script_tag(path=str(STATIC / scripts[0]))
        pg.evaluate(RECORD_ADDS)
        for s in scripts[1:]:
            pg.add_script_tag(path=str(STATIC / s))
        return pg.evaluate("() => ({dict: window.ShewuI18n.DICT, adds: window.__adds})")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def page_dicts(browser: Any) -> dict[str, dict[str, dict[str, str]]]:
    """Every page's dictionary, as the page has it once its i18n scripts ran."""
    return {page: run_dictionaries(browser, i18n_scripts(page))["dict"] for page in PAGES}


def test_every_page_loads_the_module_then_the_shared_dictionary_then_its_own() -> None:
    used: set[str] = set()
    for page in PAGES:
        scripts = page_parts(page).scripts
        i18n = i18n_scripts(page)
        assert i18n[:2] == ["i18n/i18n.js", "i18n/common.js"], page
        assert len(i18n) == 3, f"{page}: one dictionary of its own, got {i18n}"
        assert scripts.index(i18n[-1]) < scripts.index("common.js"), f"{page}: dictionaries before common.js"
        used.update(i18n)
    on_disk = {f"i18n/{p.name}" for p in (STATIC / "i18n").glob("*.js")}
    assert on_disk == used, "a dictionary no page loads, or a page loading a missing one"


def test_every_key_is_defined_once_with_a_text_in_both_languages(browser: Any) -> None:
    files = sorted(f"i18n/{p.name}" for p in (STATIC / "i18n").glob("*.js") if p.name != "i18n.js")
    answer = run_dictionaries(browser, ["i18n/i18n.js", *files])
    assert len(answer["adds"]) == len(files), "each dictionary file calls ShewuI18n.add() once"
    owner: dict[str, str] = {}
    for name, added in zip(files, answer["adds"], strict=True):
        assert set(added["zh"]) == set(added["en"]), f"{name}: keys in one language only"
        for lang in LANGS:
            empty = [k for k, v in added[lang].items() if not isinstance(v, str) or not v.strip()]
            assert not empty, f"{name} ({lang}): no text for {empty}"
        for key in added["zh"]:
            assert key not in owner, f"{key} is defined in {owner.get(key)} and in {name}"
            owner[key] = name
    assert len(owner) > 700  # every string of every page


def test_every_static_text_of_a_page_has_its_key(page_dicts: dict[str, dict[str, dict[str, str]]]) -> None:
    for page in PAGES:
        for lang in LANGS:
            missing = sorted(page_parts(page).keys - set(page_dicts[page][lang]))
            assert not missing, f"{page} ({lang}) would show raw keys: {missing}"


def labelled(d: dict[str, dict[str, str]], codes: set[str], *prefixes: str) -> dict[str, list[str]]:
    """The codes without a label in each language, under the first of the prefixes that has one
    (the way the pages look them up: I18N.tOr(prefix + code, ...))."""
    return {lang: sorted(c for c in codes if not any(p + c in d[lang] for p in prefixes)) for lang in LANGS}


NONE = {"zh": [], "en": []}


@pytest.mark.parametrize("page", ["index.html", "tech.html", "fleet.html", "reports.html", "request.html"])
def test_every_order_kind_has_a_label(page: str, page_dicts: dict[str, dict[str, dict[str, str]]]) -> None:
    assert labelled(page_dicts[page], ORDER_KINDS, "kind.") == NONE


@pytest.mark.parametrize("page", ["index.html", "tech.html", "fleet.html", "care.html", "request.html"])
def test_every_order_status_has_a_label(page: str, page_dicts: dict[str, dict[str, dict[str, str]]]) -> None:
    assert labelled(page_dicts[page], STATUSES, "status.") == NONE


@pytest.mark.parametrize("page", ["index.html", "tech.html"])
def test_every_priority_has_a_label(page: str, page_dicts: dict[str, dict[str, dict[str, str]]]) -> None:
    assert labelled(page_dicts[page], PRIORITIES, "priority.") == NONE


def test_every_category_and_ladder_step_has_a_label_on_the_board(
    page_dicts: dict[str, dict[str, dict[str, str]]],
) -> None:
    assert labelled(page_dicts["index.html"], CATEGORIES, "category.") == NONE
    assert labelled(page_dicts["index.html"], STEPS, "step.") == NONE


def test_every_role_has_a_label_on_every_page(page_dicts: dict[str, dict[str, dict[str, str]]]) -> None:
    for page in PAGES:
        assert labelled(page_dicts[page], ROLES, "role.") == NONE, page


def test_every_event_kind_has_a_label_on_the_fleet_page(page_dicts: dict[str, dict[str, dict[str, str]]]) -> None:
    # What a device last sent (GET api/devices/unregistered, a pairing's "heard"): fleet-pairing.js
    # names it with fl.lk.<kind>, else kind.<kind>.
    assert labelled(page_dicts["fleet.html"], EVENT_KINDS, "fl.lk.", "kind.") == NONE
