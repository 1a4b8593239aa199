"""Classroom Wi-Fi (issue 14 §9): static assets compressed and cached under versioned names, a first
load under 1.6 MB on the wire, and walkthrough steps that do not reload the page."""
from __future__ import annotations

import json
import re

import httpx
from playwright.sync_api import expect

from app.assets import PLOTLY_BUNDLE, PLOTLY_JS, plotly_release


def test_assets_are_versioned_compressed_and_cached(live_server):
    html = httpx.get(live_server + "/", timeout=30).text
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert urls and all(re.match(r"^/static/v/[0-9a-f]{12}/", u) for u in urls), urls
    plotly = next(u for u in urls if u.endswith("/vendor/plotly-heatmap.min.js"))
    for coding in ("br", "gzip"):
        r = httpx.get(live_server + plotly, headers={"accept-encoding": coding}, timeout=60)
        assert r.status_code == 200 and r.headers["content-encoding"] == coding
        assert int(r.headers["content-length"]) < 1_600_000
        assert r.content == PLOTLY_BUNDLE.read_bytes()        # httpx decodes: the same script
        assert "immutable" in r.headers["cache-control"] and "max-age=31536000" in r.headers["cache-control"]
        assert r.headers["vary"] == "Accept-Encoding"
    # an old version's URL still answers, but is not cached for a year
    old = re.sub(r"/v/[0-9a-f]{12}/", "/v/000000000000/", plotly)
    r = httpx.get(live_server + old, headers={"accept-encoding": "gzip"}, timeout=60)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    assert httpx.get(live_server + "/static/v/x/%2e%2e/%2e%2e/app/main.py", timeout=30).status_code == 404


def test_the_partial_bundle_is_the_plotly_packages_release():
    assert plotly_release(PLOTLY_BUNDLE) == plotly_release(PLOTLY_JS) != ""


def test_the_bundle_names_no_remote_address():
    """scripts/plotly_bundle/offline.js: the defaults that pointed offsite (topojson CDN, chart-studio
    server, logo link) are local or empty, documentation links are plain text; only the XML namespace
    names createElementNS needs keep their scheme."""
    text = PLOTLY_BUNDLE.read_text()
    urls = set(re.findall(r"https?://[^\s\"'`)<>\\]*", text))
    assert urls == {"http://www.w3.org/1999/xhtml", "http://www.w3.org/1999/xlink", "http://www.w3.org/2000/svg",
                    "http://www.w3.org/2000/xmlns/", "http://www.w3.org/XML/1998/namespace"}, urls
    assert 'topojsonURL:{valType:"string",noBlank:!0,dflt:"/static/vendor/"' in text
    assert 'plotlyServerURL:{valType:"string",dflt:""' in text


def test_first_load_is_under_1_6_mb_on_the_wire(page, live_server):
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    got = []
    cdp.on("Network.loadingFinished", lambda e: got.append(e["encodedDataLength"]))
    page.goto(live_server + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    page.wait_for_load_state("networkidle")
    assert 10 < len(got) and sum(got) < 1_600_000, sum(got)


def test_walkthrough_steps_do_not_reload_the_page(dash):
    p = dash.page
    dash.open("/walkthroughs/hvo/1")
    p.evaluate("window.__same_document = true")
    p.click("#wt-next")
    p.wait_for_url("**/walkthroughs/hvo/2")
    expect(p.locator("#wt-count")).to_have_text(re.compile(r"^Step 2 of"))
    p.wait_for_selector("body[data-ready=true]")
    p.click("#wt-next")
    p.wait_for_url("**/walkthroughs/hvo/3")
    expect(p.locator("#wt-count")).to_have_text(re.compile(r"^Step 3 of"))
    p.go_back()                                                 # the browser's back button, too
    p.wait_for_url("**/walkthroughs/hvo/2")
    expect(p.locator("#wt-count")).to_have_text(re.compile(r"^Step 2 of"))
    p.wait_for_selector("body[data-ready=true]")
    assert p.evaluate("window.__same_document") is True
    assert p.evaluate("performance.getEntriesByType('navigation').length") == 1


def test_the_views_are_drawn_while_the_save_is_outstanding(dash):
    """The save (a database write) is asked with the evaluation but never waited for to draw: with the store
    failing, every view is still drawn from the engine's answers and the page says it has no permalink."""
    p = dash.page
    dash.expected_errors.append("503")
    p.route(re.compile(r"/api/v1/workspaces/[^/]+/scenarios(\?|$)"), lambda route: route.fulfill(
        status=503, content_type="application/json", headers={"Retry-After": "1"},
        body=json.dumps({"message": "the scenario store is unavailable", "detail": []}))
        if route.request.method == "POST" else route.continue_())
    dash.open("/")
    expect(p.locator("[data-error-for=scenario]")).to_have_text(
        "not saved, so no permalink: the scenario store is unavailable")
    key = p.locator("body").get_attribute("data-state")
    ops = p.evaluate("window.vmemscope.state.history.doc.ops.length")
    assert key.endswith(f"@{ops}") and p.evaluate("window.vmemscope.state.id") is None
    for v in ["#summary", "#blocks", "#hugepages", "#events", "#map", "#marks", "#sections"]:
        assert p.locator(v).get_attribute("data-state") == key, v
    assert p.locator("#map .main-svg").count() and p.locator("#marks .mark").count()
    assert "s=" not in p.url


def test_a_document_the_store_refuses_is_not_kept(dash, tmp_path):
    """Evaluated but refused by the save (a control character in its name): the edit is undone, as before."""
    p = dash.page
    dash.open("/")
    dash.expected_errors.append("422")
    before = p.evaluate("window.vmemscope.state.history.doc")
    f = tmp_path / "bell.json"
    f.write_text(json.dumps({**before, "name": "bell\u0007", "kernel": "6.1"}))
    p.set_input_files("#import", str(f))
    expect(p.locator("[data-error-for=scenario]")).to_contain_text("control character U+0007")
    p.wait_for_selector("body[data-ready=true]")
    assert p.evaluate("window.vmemscope.state.history.doc") == before
    expect(p.locator("#undo")).to_be_disabled()
    expect(p.locator("#summary")).to_contain_text("6.8 on x86_64")


def test_the_next_step_is_evaluated_while_this_one_is_read(dash):
    """Next finds the next step's evaluation already asked for (not asked again after the click), and the
    step shows what the API answers for its scenario."""
    p = dash.page
    steps = httpx.get(dash.base + "/api/v1/walkthroughs/hvo", timeout=30).json()["steps"]
    asked = []
    p.on("request", lambda r: asked.append(r.post_data_json["scenario"]["name"])
         if r.url.endswith("/api/v1/evaluate") else None)
    dash.open("/walkthroughs/hvo/1")
    p.wait_for_load_state("networkidle")
    assert asked == [steps[1]["scenario"]["name"]]                 # step 1's came with the page
    p.click("#wt-next")
    p.wait_for_url("**/walkthroughs/hvo/2")
    expect(p.locator("#wt-count")).to_have_text(re.compile(r"^Step 2 of"))
    p.wait_for_selector("body[data-ready=true]")
    assert steps[1]["scenario"]["name"] not in asked[2:]
    step = steps[1]
    ev = httpx.post(dash.base + "/api/v1/evaluate", json={"scenario": step["scenario"], "hugepages_limit": 500},
                    timeout=30).json()
    got = {r.get_attribute("data-head"): r.locator("td").nth(3).inner_text()
           for r in p.locator("#hugepages tr[data-head]").all()}
    assert got == {h["head_pfn"]: h["hvo"] for h in ev["hugepages"]}
    expect(p.locator("#events li")).to_have_count(len(ev["events"]))
    key = p.locator("body").get_attribute("data-state")
    saved = httpx.post(dash.base + "/api/v1/scenarios", json=step["scenario"], timeout=30).json()["id"]
    assert key.endswith(f"@{len(step['scenario']['ops'])}")
    assert p.evaluate("window.vmemscope.state.saving.then(() => window.vmemscope.state.id)") == saved



def test_next_only_draws_once_the_step_is_read(dash):
    """While a step is read the page asks every question the next step's views ask (queries.js); after
    Next, no view asks the server about that step again, and what it draws is the API's answer for it
    (the map's window over the step's range, the vmemmap diagram of its selection)."""
    p = dash.page
    steps = httpx.get(dash.base + "/api/v1/walkthroughs/hvo", timeout=30).json()["steps"]
    asked = []                                          # (endpoint, scenario name) of every view question
    p.on("request", lambda r: asked.append((r.url.split("/api/v1/")[1], (r.post_data_json or {}).get("scenario", {}).get("name")))
         if re.search(r"/api/v1/(evaluate|window|sections|vmemmap|chain|resolve)$", r.url) else None)
    dash.open("/walkthroughs/hvo/2")
    p.wait_for_load_state("networkidle")                # step 3's questions, asked ahead, are answered
    step = steps[2]
    ahead = {e for e, name in asked if name == step["scenario"]["name"]}
    assert {"evaluate", "window", "sections", "vmemmap"} <= ahead, asked
    n = len(asked)
    dash.after(lambda: p.click("#wt-next"))
    expect(p.locator("#wt-count")).to_have_text(re.compile(r"^Step 3 of"))
    assert [a for a in asked[n:] if a[1] == step["scenario"]["name"]] == []
    w = dash.window()
    want = httpx.post(dash.base + "/api/v1/window", timeout=30, json={
        "scenario": step["scenario"], "start_pfn": w["start_pfn"], "end_pfn": w["end_pfn"], "bins": w["bins"]}).json()
    assert [w["start_pfn"], w["end_pfn"]] == step["view"]["range"] and w["counts"] == want["counts"]
    sel = step["view"]["select"]
    vm = httpx.post(dash.base + "/api/v1/vmemmap", timeout=30, json={"scenario": step["scenario"], **sel, "figure": True}).json()
    drawn = p.locator("#vmemmap-plot svg.diagram text[data-name=title]").text_content()
    assert drawn == next(a["text"] for a in vm["figure"]["layout"]["annotations"] if a["name"] == "title").replace("<b>", "").replace("</b>", "")
    dash.assert_clean()

def served(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="served">(.*?)</script>', html, re.S).group(1))


def test_the_page_carries_what_the_first_views_ask_for(live_server):
    """The dashboard's page holds the presets, the /evaluate answer for the document it opens and the
    walkthrough, exactly as the API answers them; a permalink's document (the database) is not in it."""
    get = lambda path: httpx.get(live_server + path, timeout=30)                       # noqa: E731
    evaluate = lambda doc: httpx.post(live_server + "/api/v1/evaluate", timeout=30,    # noqa: E731
                                      json={"scenario": doc, "hugepages_limit": 500}).json()
    home = served(get("/").text)
    assert home["presets"] == get("/api/v1/presets").json()
    assert home["evaluated"]["answer"] == evaluate(home["evaluated"]["scenario"])
    assert home["evaluated"]["scenario"] == json.loads(
        re.search(r'id="default-scenario">(.*?)</script>', get("/").text, re.S).group(1))
    step = served(get("/walkthroughs/hvo/3").text)
    assert step["walkthrough"] == get("/api/v1/walkthroughs/hvo").json()
    assert step["evaluated"]["scenario"] == step["walkthrough"]["steps"][2]["scenario"]
    assert step["evaluated"]["answer"] == evaluate(step["evaluated"]["scenario"])
    assert "evaluated" not in served(get("/?s=0123456789abcdef").text)


def test_a_first_load_asks_only_for_the_views(page, live_server):
    """Opening a walkthrough step asks for no presets, walkthrough or evaluation: the page has them."""
    asked, evaluated = [], []
    page.on("request", lambda r: asked.append(r.url.split("/api/v1/")[1]) if "/api/v1/" in r.url else None)
    page.on("request", lambda r: evaluated.append(r.post_data_json["scenario"]["name"])
            if r.url.endswith("/api/v1/evaluate") else None)
    page.goto(live_server + "/walkthroughs/memmap-on-memory/3")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    expect(page.locator("#wt-count")).to_have_text(re.compile(r"^Step 3 of"))
    assert not {"presets", "walkthroughs/memmap-on-memory"} & set(asked), asked
    assert not any(name.endswith(": step 3") for name in evaluated), evaluated   # step 4's, read ahead, may be
    assert {"window", "sections", "workspaces/default/scenarios?listed=false"} <= set(asked)


def test_the_map_is_drawn_once_per_render(dash):
    """A lone fixed-point callout is drawn in its place at once (moving it would redraw the whole map);
    crowded callouts are placed after a first draw, and drawn in place when that view comes back."""
    p = dash.page
    draws = lambda: p.evaluate("window.vmemscope.map.draws")        # noqa: E731
    dash.open("/")
    expect(p.locator("#marks .mark")).to_have_count(1)
    assert draws() == 1
    dash.after(lambda: p.click("[data-zoom=in]"))
    assert draws() == 2
    crowded = {"kernel": "6.8", "ops": [
        {"op": "add_memory", "start": "0x100000000", "size": "512M", "memmap_on_memory": True},
        {"op": "online", "start": "0x100000000", "size": "512M", "zone": "movable"}]}
    dash.open(crowded)
    expect(p.locator("#marks .mark")).to_have_count(4)
    assert draws() > 1                                 # measured, then placed
    dash.after(lambda: p.click("[data-zoom=in]"))
    dash.after(lambda: p.click("[data-zoom=hotplug]"))   # (the first draw guessed the plot's width)
    dash.after(lambda: p.click("[data-zoom=in]"))
    before = draws()
    dash.after(lambda: p.click("[data-zoom=hotplug]"))
    assert draws() == before + 1                       # a view seen before: placed before it is drawn
    boxes = [a.bounding_box() for a in p.locator("#map .annotation").all()
             if "pfn 0x" in (a.text_content() or "")]
    assert len(boxes) == 4
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"] or \
                a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"]
