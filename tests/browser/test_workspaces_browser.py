"""Workspaces (issue 14 §8), as a class uses them in Debian's Chromium under the CSP, offline: each
workspace (?ws= in the address) lists only its own saved scenarios, a permalink keeps its workspace,
the trainer's pinned scenarios come first and cannot be deleted, delete works from the keyboard, and
with a trainer token set on the server only the trainer pins."""
from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from app.main import create_app
from app.screenshot import live_server
from app.settings import Settings

ITEMS = "#saved-list li"


def fresh_ws(tag: str) -> str:
    """A workspace name no other test (the live server is shared by the session) has used."""
    return f"{tag}-{uuid.uuid4().hex[:8]}"


def listed(base: str, ws: str) -> list[dict]:
    r = httpx.get(f"{base}/api/v1/workspaces/{ws}/scenarios", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def shown_ids(page) -> list[str]:
    return page.locator(ITEMS).evaluate_all("(lis) => lis.map((li) => li.dataset.id)")


def visible_focus(page) -> bool:
    return page.evaluate("() => { const s = getComputedStyle(document.activeElement);"
                         " return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }")


def allocate(dash, count: int, save: bool = True) -> None:
    """One edit (a new document: kept for its permalink, listed in the workspace only once saved)."""
    dash.page.fill("#huge-count", str(count))
    dash.after(lambda: dash.page.click("#alloc-huge"))
    if save:
        n = dash.page.locator(ITEMS).count()
        dash.page.click("#save-to-ws")
        expect(dash.page.locator(ITEMS)).to_have_count(n + 1)


def test_two_workspaces_see_different_lists_and_a_permalink_keeps_its_workspace(dash, new_dashboard):
    a, b = fresh_ws("class-a"), fresh_ws("class-b")
    p = dash.page
    dash.open(f"/?ws={a}")
    expect(p.locator("#workspace")).to_have_value(a)
    expect(p.locator("#workspace-name")).to_have_text(a)        # the header says where saves go
    expect(p.locator("#saved-count")).to_have_text(f"nothing saved in workspace {a} yet")   # shown is not listed
    expect(p.locator(ITEMS)).to_have_count(0)
    allocate(dash, 3, save=False)
    assert listed(dash.base, a) == []                           # an edit keeps the state, lists nothing
    p.click("#save-to-ws")
    expect(p.locator(ITEMS)).to_have_count(1)
    edited = dash.page.evaluate("window.vmemscope.state.saving.then(() => window.vmemscope.state.id)")
    expect(p.locator(f"{ITEMS}[data-id='{edited}'] a")).to_have_attribute("aria-current", "true")
    assert f"ws={a}" in p.url
    assert [i["id"] for i in listed(dash.base, a)] == shown_ids(p)

    other = new_dashboard()                                     # another trainee, in workspace b
    other.open(f"/?ws={b}")
    expect(other.page.locator("#workspace")).to_have_value(b)
    expect(other.page.locator(ITEMS)).to_have_count(0)
    allocate(other, 5)
    expect(other.page.locator(ITEMS)).to_have_count(1)
    assert edited not in shown_ids(other.page) and [i["id"] for i in listed(dash.base, b)] == shown_ids(other.page)
    assert len(listed(dash.base, a)) == 1

    p.click("#permalink")                                       # a's permalink, opened elsewhere
    url = p.locator("#permalink-text").input_value()
    assert url.startswith(f"{dash.base}/?ws={a}&s={edited}")
    third = new_dashboard()
    third.open(url)
    expect(third.page.locator("#workspace")).to_have_value(a)
    expect(third.page.locator(ITEMS)).to_have_count(1)
    expect(third.page.locator(f"{ITEMS}[data-id='{edited}'] a")).to_have_attribute("aria-current", "true")
    assert third.page.evaluate("window.vmemscope.state.id") == edited and f"ws={a}" in third.page.url
    # a saved entry's link opens it in the same workspace
    first = third.page.locator(f"{ITEMS} a").last
    assert first.get_attribute("href").startswith(f"/?ws={a}&s=")

    # the workspace control: the state on screen, listed in another workspace
    c = fresh_ws("class-c")
    with other.page.expect_navigation():
        other.page.fill("#workspace", c)
        other.page.press("#workspace", "Enter")
    other.page.wait_for_selector("body[data-ready=true]")
    expect(other.page.locator(ITEMS)).to_have_count(0)
    other.page.click("#save-to-ws")
    expect(other.page.locator(ITEMS)).to_have_count(1)
    assert f"ws={c}" in other.page.url and listed(dash.base, c)[0]["id"] == other.page.evaluate("window.vmemscope.state.id")
    for d in (other, third):
        d.assert_clean()


def test_pinned_first_and_delete_from_the_keyboard(dash):
    ws = fresh_ws("pins")
    p = dash.page
    dash.open(f"/?ws={ws}")
    for n in (2, 3, 5):
        allocate(dash, n)
    expect(p.locator(ITEMS)).to_have_count(3)
    oldest = shown_ids(p)[-1]                                   # newest first: the first save is last
    p.locator(f"{ITEMS}[data-id='{oldest}'] button.pin").click()
    expect(p.locator(ITEMS).first).to_have_attribute("data-id", oldest)
    expect(p.locator(ITEMS).first).to_contain_text("pinned")
    expect(p.locator(ITEMS).first.locator("button.delete")).to_have_count(0)  # a pinned one cannot be deleted
    expect(p.locator(ITEMS).first.locator("button.pin")).to_have_text("Unpin")
    assert [i["id"] for i in listed(dash.base, ws)] == shown_ids(p) and listed(dash.base, ws)[0]["pinned"]

    # delete the second entry from the keyboard: the focus is visible, and stays in the list
    victim = shown_ids(p)[1]
    p.locator(f"{ITEMS}[data-id='{victim}'] a").focus()
    for label in ("Pin", "Delete"):                             # the entry's link, then its buttons
        p.keyboard.press("Tab")
        assert p.evaluate("document.activeElement.textContent") == label
        assert visible_focus(p), label
    p.keyboard.press("Enter")
    expect(p.locator(ITEMS)).to_have_count(2)
    assert victim not in shown_ids(p) and victim not in [i["id"] for i in listed(dash.base, ws)]
    assert p.evaluate("document.activeElement.closest('#saved-list') !== null") and visible_focus(p)
    assert httpx.get(f"{dash.base}/api/v1/scenarios/{victim}", timeout=30).status_code == 200   # links keep working

    # unpin from the keyboard: it goes back to its place by time, and can then be deleted
    p.locator(f"{ITEMS}[data-id='{oldest}'] a").focus()
    p.keyboard.press("Tab")
    assert p.evaluate("document.activeElement.textContent") == "Unpin" and visible_focus(p)
    p.keyboard.press("Enter")
    expect(p.locator(ITEMS).last).to_have_attribute("data-id", oldest)
    expect(p.locator(f"{ITEMS}[data-id='{oldest}'] button.delete")).to_have_count(1)
    assert p.evaluate("document.activeElement.textContent") == "Pin"           # the focus followed the button


def test_a_bad_workspace_name_is_explained_and_the_default_one_used(dash):
    p = dash.page
    dash.open("/?ws=Class%20A")
    expect(p.locator('[data-error-for="saved"]')).to_contain_text("workspace: a workspace name is 1 to 32 characters")
    expect(p.locator("#workspace")).to_have_value("default")
    p.fill("#workspace", "-nope")
    p.press("#workspace", "Enter")
    expect(p.locator('[data-error-for="saved"]')).to_contain_text('not "-nope"')
    assert "ws=" not in p.url


@pytest.fixture()
def trainer_server(tmp_path: Path):
    app = create_app(Settings(data_dir=tmp_path, trainer_token="chalk-and-talk"))
    with live_server(app) as base:
        yield base


def test_with_a_trainer_token_only_the_trainer_pins(new_dashboard, trainer_server):
    d = new_dashboard(trainer_server, 1024, 768)
    p = d.page
    d.open("/?ws=class-t")
    allocate(d, 2)
    expect(p.locator(ITEMS)).to_have_count(1)
    expect(p.locator("#trainer")).to_be_visible()
    expect(p.locator(f"{ITEMS} button.pin")).to_have_count(0)         # a trainee sees no pin buttons
    p.click("#trainer summary")
    p.fill("#trainer-token", "guess")
    p.press("#trainer-token", "Enter")
    d.expected_errors.append("403")                                  # the refused request, in the console
    p.locator(f"{ITEMS} button.pin").last.click()
    expect(p.locator('[data-error-for="saved"]')).to_contain_text("this is not the trainer's token")
    p.fill("#trainer-token", "chalk-and-talk")
    p.press("#trainer-token", "Enter")
    expect(p.locator('[data-error-for="saved"]')).to_have_text("")
    last = shown_ids(p)[-1]
    p.locator(f"{ITEMS}[data-id='{last}'] button.pin").click()
    expect(p.locator(ITEMS).first).to_have_attribute("data-id", last)
    expect(p.locator(ITEMS).first).to_contain_text("pinned")
    assert listed(trainer_server, "class-t")[0]["pinned"] is True
    d.assert_clean()
