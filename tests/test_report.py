"""``git ckpt report``: every page rendered in a real headless Chromium, offline.

The repository is a real one with real signed promotions, a revert, a stage freeze, a tag by
a key nobody allowed (shown UNVERIFIED, never as signed) and a rationale that tries to break
out of the page. Each page is loaded from disk with the network off; the charts must exist
and be non-empty, the console must stay clean, and a screenshot is saved in the test's dir.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import Repo, make_repo
from governance_fixtures import Keys, govern, promote_message, raw_tag, use_key

CHROMIUM = Path(os.environ.get("CKPT_CHROMIUM", "/usr/bin/chromium"))
HOSTILE = "</script><script>window.pwned=1</script><img src=x onerror=window.pwned=2>"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def gov(tmp_path: Path, keys: Keys) -> Repo:
    repo = make_repo(tmp_path)
    govern(repo, keys)
    return repo


def _history(gov: Repo, keys: Keys) -> list[dict[str, Any]]:
    """Six saves with steps, metrics and slices; dev, staging, a revert, a freeze, a forgery."""
    saved = []
    for i in range(6):
        gov.model(seed=i)
        slices = gov.path / "slices.json"
        slices.write_text(json.dumps({"lang=en": {"accuracy": 0.8 + i / 50, "n": 900},
                                      "lang=de": {"accuracy": 0.7 + i / 40 - (i == 5) / 5,
                                                  "n": 100}}))
        saved.append(gov.save("models/clf.safetensors", "clf", "--step", str(100 * (i + 1)),
                              "--metric", f"accuracy={0.8 + i / 60:.4f}",
                              "--metric", f"val_loss={1.0 - i / 10:.4f}",
                              "--slices", str(slices), "--seed", "torch=42",
                              "--note", f"epoch {i}: lr warmup"))
    gov.ckpt_ok("promote", saved[1]["id"], "--stage", "dev", "--rationale", "first usable")
    gov.ckpt_ok("promote", saved[1]["id"], "--stage", "staging", "--rationale", HOSTILE)
    gov.ckpt_ok("promote", saved[3]["id"], "--stage", "dev", "--rationale", "better loss")
    gov.ckpt_ok("revert", "clf", "--stage", "dev", "--to", saved[1]["id"],
                "--rationale", "regression on de")
    gov.ckpt_ok("lock", "staging", "--rationale", "release freeze")
    use_key(gov.path, keys, "mallory")
    done = raw_tag(gov.path, "clf#dev#9", saved[4]["commit"],
                   promote_message(saved[4]["id"], "dev", "trust me"))
    assert done.returncode == 0, done.stderr
    use_key(gov.path, keys, "alice")
    return saved


def _browser() -> Any:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run 'make chromium' (apt-get install chromium)",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    return sync_playwright()


def _render(pages: list[Path], shots: Path) -> dict[str, dict[str, Any]]:
    """Each page loaded offline: its chart boxes, console errors, failed requests, alerts."""
    out: dict[str, dict[str, Any]] = {}
    with _browser() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS[1:],
                                     headless=True)
        ctx = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
        ctx.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
            "file://") else route.abort())
        for page_path in pages:
            page = ctx.new_page()
            seen: dict[str, Any] = {"errors": [], "requests": [], "dialogs": []}
            page.on("console", lambda m, s=seen: s["errors"].append(m.text)
                    if m.type == "error" else None)
            page.on("pageerror", lambda e, s=seen: s["errors"].append(str(e)))
            page.on("request", lambda r, s=seen: s["requests"].append(r.url))
            page.on("dialog", lambda d, s=seen: (s["dialogs"].append(d.message), d.dismiss()))
            page.goto(page_path.as_uri())
            page.wait_for_load_state("load")
            seen["charts"] = page.eval_on_selector_all("div.chart", """els => els.map(e => {
                const svg = e.querySelector('svg.main-svg');
                const r = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
                return {id: e.id, w: r.width, h: r.height,
                        marks: e.querySelectorAll('.scatterlayer .trace, .barlayer .trace')
                                .length};
            })""")
            seen["text"] = page.inner_text("body")
            seen["pwned"] = page.evaluate("window.pwned === undefined ? null : window.pwned")
            page.screenshot(path=str(shots / f"{page_path.stem}.png"), full_page=True)
            out[page_path.name] = seen
            page.close()
        browser.close()
    return out


@pytest.mark.slow
def test_every_page_renders_offline_in_chromium(gov: Repo, keys: Keys, tmp_path: Path) -> None:
    saved = _history(gov, keys)
    res = gov.ckpt_ok("report", "-o", str(tmp_path / "site"), "--json").json()
    pages = [Path(p) for p in res["pages"]]
    assert [p.name for p in pages] == ["index.html", "name-clf.html"]
    for p in pages:
        assert p.stat().st_size < 5 << 20
        assert "cdn" not in p.read_text().lower()  # nothing fetched from outside
    shots = tmp_path / "shots"
    shots.mkdir()
    seen = _render(pages, shots)
    for name, s in seen.items():
        assert s["errors"] == [], (name, s["errors"])
        assert all(u.startswith("file://") for u in s["requests"]), s["requests"]
        assert s["dialogs"] == [] and s["pwned"] is None, name
        assert s["charts"], f"{name} has no chart"
        for chart in s["charts"]:
            assert chart["w"] > 100 and chart["h"] > 100 and chart["marks"] > 0, (name, chart)
        assert (shots / f"{Path(name).stem}.png").stat().st_size > 10_000
    page = seen["name-clf.html"]
    assert {c["id"] for c in page["charts"]} >= {
        "chart-steps", "chart-saves", "chart-lineage", "chart-timeline", "chart-diff",
        "chart-slices"}
    summary = seen["index.html"]["text"]
    assert "Staging has served checkpoint" in summary and "Signed by alice@example.com" in summary
    assert HOSTILE in summary  # shown as text, run as nothing (pwned is None above)
    # the dev tag signed by mallory's key holds dev by counter, and is never called signed
    assert "UNVERIFIED: signed by a key not allowed here" in summary
    assert "(the tag claims Ada Trainer <ada@example.com>)" in summary
    assert summary.count("Signed by") == 1
    table = page["text"]
    assert f"{saved[4]['id'][:8]}" in table and "dev (UNVERIFIED)" in table  # mallory's tag
    card = tmp_path / "site" / "cards" / f"clf-{saved[1]['id']}.md"
    assert card.is_file() and "regression on de" in card.read_text()


@pytest.mark.slow
def test_empty_repository_gets_a_friendly_page(repo: Repo, tmp_path: Path) -> None:
    res = repo.ckpt_ok("report", "-o", str(tmp_path / "site"), "--json").json()
    pages = [Path(p) for p in res["pages"]]
    assert [p.name for p in pages] == ["index.html"]
    shots = tmp_path / "shots"
    shots.mkdir()
    seen = _render(pages, shots)["index.html"]
    assert seen["errors"] == [] and "No checkpoints yet" in seen["text"]
    assert "git ckpt save" in seen["text"]


def test_report_of_unknown_name_is_a_usage_error(repo: Repo, tmp_path: Path) -> None:
    repo.model()
    repo.save()
    res = repo.ckpt("report", "-o", str(tmp_path / "site"), "--name", "nosuch")
    assert res.code == 2 and "no checkpoints named 'nosuch'" in res.err
    (tmp_path / "file").write_text("x")
    res = repo.ckpt("report", "-o", str(tmp_path / "file"), "--json")
    assert res.code == 2 and "is a file" in json.loads(res.out)["error"]


def test_a_rerun_rewrites_changed_cards_only_and_never_through_a_link(repo: Repo,
                                                                     tmp_path: Path) -> None:
    """Regenerating into the same directory: an unchanged card is left alone (same inode,
    same mtime), an edited one is restored, and a symlink or FIFO planted at a card's path
    is replaced, never written through or read from (a FIFO would hang the report)."""
    for seed in range(3):
        repo.model(seed=seed)
        repo.save()
    out = tmp_path / "site"
    repo.ckpt_ok("report", "-o", str(out))
    kept, edited, linked = sorted((out / "cards").iterdir())
    want = {p.name: p.read_bytes() for p in (kept, edited, linked)}
    before = (kept.stat().st_ino, kept.stat().st_mtime_ns)
    edited.write_text("---\nedited by hand\n")
    victim = tmp_path / "victim.txt"
    victim.write_text("not the report's to write")
    linked.unlink()
    linked.symlink_to(victim)
    repo.ckpt_ok("report", "-o", str(out))
    assert (kept.stat().st_ino, kept.stat().st_mtime_ns) == before
    assert edited.read_bytes() == want[edited.name]
    assert not linked.is_symlink() and linked.read_bytes() == want[linked.name]
    assert victim.read_text() == "not the report's to write"
    linked.unlink()
    os.mkfifo(linked)
    repo.ckpt_ok("report", "-o", str(out))
    assert linked.is_file() and linked.read_bytes() == want[linked.name]


def test_hostile_name_and_rationale_never_leave_the_output_dir(gov: Repo, keys: Keys,
                                                               tmp_path: Path) -> None:
    """Names and ids come from history: file names are made safe, text escaped."""
    from ckptgit.ops.card import file_name
    from ckptgit.report.summary import page_file

    assert page_file("../../etc/x") == "name-.._.._etc_x.html"
    assert "/" not in page_file("../../etc/x")
    from ckptgit.model import Checkpoint

    bad = Checkpoint("../../x", "a/b", "0" * 40, "2024", "p", "s", "m", 1)
    assert "/" not in file_name(bad)
    _history(gov, keys)
    site = tmp_path / "site"
    gov.ckpt_ok("report", "-o", str(site))
    text = (site / "name-clf.html").read_text()
    assert "<script>window.pwned" not in text and "<img src=x" not in text
    assert "&lt;/script&gt;&lt;script&gt;window.pwned=1" in text
    assert sorted(p.name for p in site.iterdir()) == [
        "cards", "index.html", "name-clf.html", "plotly.min.js"]


def test_every_figure_is_valid_for_plotly(gov: Repo, keys: Keys, tmp_path: Path) -> None:
    """The figures are written as plotly's JSON without its validators (speed): hold each
    one against them here, so a misspelt property cannot slip through to the page."""
    import re

    import plotly.graph_objects as go

    _history(gov, keys)
    site = tmp_path / "site"
    gov.ckpt_ok("report", "-o", str(site))
    found = 0
    for page in ("index.html", "name-clf.html"):
        text = (site / page).read_text()
        for blob in re.findall(r'<script type="application/json" data-chart="[^"]+">(.*?)'
                               r"</script>", text):
            go.Figure(json.loads(blob))  # raises on any property plotly does not know
            found += 1
    assert found >= 7


def test_a_rewritten_record_shows_in_the_summary_and_its_card(repo: Repo,
                                                               tmp_path: Path) -> None:
    repo.model()
    saved = repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.86")
    side = repo.path / "models" / "clf.safetensors.ckpt.yaml"
    side.write_text(side.read_text().replace("acc: 0.86", "acc: 0.99"))
    repo.git("commit", "-q", "--no-verify", "-am", "touch up")
    site = tmp_path / "site"
    res = repo.ckpt_ok("report", "-o", str(site), "--name", "clf", "--json").json()
    assert res["cards"] == str(site / "cards")
    summary = (site / "index.html").read_text()
    assert "Verification found problems." in summary and "1 of 1 checkpoint records" in summary
    card = (site / "cards" / f"clf-{saved['id']}.md").read_text()
    assert "**Verification found problems with this record:**" in card
    assert "was changed after its save" in card
