"""Every route of the review app through FastAPI's TestClient: actions, pictures, tokens, path traversal."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import orjson
import pytest
from PIL import Image

from groundv import masks
from groundv.review.app import COOKIE, LOOPBACK_HOSTS, TOKEN_HEADER, create_app, is_loopback
from groundv.review.pictures import CACHE_DIR
from groundv.review.reviews import REVIEWS_FILE
from groundv.review.session import ReviewSession
from groundv.store import read_manifest
from tests.review.conftest import make_client

if TYPE_CHECKING:
    from starlette.testclient import TestClient


@pytest.fixture
def session(dataset: Path) -> ReviewSession:
    return ReviewSession(dataset, reviewers=2)


@pytest.fixture
def client(session: ReviewSession) -> TestClient:
    return make_client(create_app(session))


def _sample_with_regions(client: TestClient, reviewer: str = "ana") -> dict:
    sid = client.get("/api/next", params={"reviewer": reviewer}).json()["sample"]
    view = client.get(f"/api/samples/{sid}", params={"reviewer": reviewer}).json()
    assert view["regions"], "the toy world gives every sample its regions"
    return view


def _files(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def test_page_and_its_static_files(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert '<script src="/static/app.js">' in page.text
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    assert "--accent" in client.get("/static/style.css").text


def test_config_next_and_one_screen(client: TestClient, session: ReviewSession) -> None:
    config = client.get("/api/config").json()
    assert config["reviewers"] == 2 and "wrong_target" in config["reasons"] and not config["problems"]
    assert {s["category"] for s in config["strata"]} == {"negative", "multi_object", "reasoning",
                                                         "multi_granularity", "part"}
    view = _sample_with_regions(client)
    sample = session.samples[view["id"]]
    assert view["current"]["instruction"] == sample["instruction"]
    assert view["current"]["response"] == sample["response"]
    assert view["verifier"]["verdict"] in ("agree", "disagree", "unsure")
    assert [r["n"] for r in view["regions"]] == list(range(1, len(view["regions"]) + 1))
    assert {r["id"] for r in view["regions"] if r["target"]} == set(sample["target_ids"])
    narrowed = client.get("/api/next", params={"reviewer": "ana", "category": "part"}).json()
    assert session.samples[narrowed["sample"]]["category"] == "part"
    assert narrowed["progress"]["total"] == len(session.samples)


def test_accept_reject_edit_toggle_flag_undo(client: TestClient, dataset: Path, session: ReviewSession) -> None:
    view = _sample_with_regions(client)
    sid, url = view["id"], f"/api/samples/{view['id']}/actions"
    scene = session.scene(session.samples[sid])
    extra = next(r for r in view["regions"] if not r["target"] and not r["crowd"])
    toggled = client.post(url, json={"reviewer": "ana", "action": "toggle", "region": extra["id"]}).json()
    want = sorted({*session.samples[sid]["target_ids"], extra["id"]})
    assert toggled["current"]["targets"] == want and toggled["layers"]["targets"] != view["layers"]["targets"]
    expected_mask = masks.union([scene.region(i).rle for i in want])
    assert session.current(sid, "ana")["mask"] == expected_mask  # recomputed from the regions' RLEs
    flagged = client.post(url, json={"reviewer": "ana", "action": "flag", "region": extra["id"]}).json()
    assert flagged["review"]["flags"] == [extra["id"]]
    edited = client.post(url, json={"reviewer": "ana", "action": "edit", "instruction": "Segment both.",
                                    "response": "Done."}).json()
    assert edited["current"]["instruction"] == "Segment both." and edited["original"]["instruction"] != "Segment both."
    rejected = client.post(url, json={"reviewer": "ana", "action": "reject", "reasons": ["wrong_target", "other"],
                                      "note": "see 3"}).json()
    assert rejected["review"]["verdict"] == "reject" and rejected["review"]["reasons"] == ["wrong_target", "other"]
    undone = client.post(url, json={"reviewer": "ana", "action": "undo"}).json()
    assert undone["review"]["verdict"] is None and undone["current"]["instruction"] == "Segment both."
    accepted = client.post(url, json={"reviewer": "ana", "action": "accept"}).json()
    assert accepted["review"]["verdict"] == "accept"
    kinds = [orjson.loads(line)["action"] for line in (dataset / REVIEWS_FILE).read_bytes().splitlines()]
    assert kinds == ["toggle", "flag", "edit", "reject", "undo", "accept"]
    # The shards are never touched: edits live in the log.
    assert session.samples[sid]["instruction"] != "Segment both."
    assert b"Segment both." not in b"".join(p.read_bytes() for p in dataset.glob("samples-*.jsonl"))


def test_the_page_is_blind_to_other_reviewers(client: TestClient) -> None:
    view = _sample_with_regions(client, "ana")
    url = f"/api/samples/{view['id']}/actions"
    client.post(url, json={"reviewer": "ana", "action": "reject", "reasons": ["ambiguous"], "note": "secret"})
    theirs = client.get(f"/api/samples/{view['id']}", params={"reviewer": "bob"})
    assert theirs.json()["review"]["verdict"] is None
    assert "ambiguous" not in theirs.text and "secret" not in theirs.text and '"ana"' not in theirs.text


@pytest.mark.parametrize(("payload", "status", "detail"), [
    ({"reviewer": "ana", "action": "reject", "reasons": ["because"]}, 400, "reason codes"),
    ({"reviewer": "ana", "action": "dance"}, 400, "unknown action"),
    ({"reviewer": "../../etc", "action": "accept"}, 400, "reviewer name"),
    ({"reviewer": "", "action": "accept"}, 400, "reviewer name"),
    ({"reviewer": "ana", "action": "toggle", "region": 999999}, 404, "no region 999999"),
    ({"reviewer": "ana", "action": "toggle", "region": "x"}, 404, "no region"),
    ({"reviewer": "ana", "action": "undo"}, 409, "nothing to undo"),
])
def test_bad_actions_get_a_clear_status(client: TestClient, dataset: Path, payload: dict, status: int,
                                        detail: str) -> None:
    view = _sample_with_regions(client)
    answer = client.post(f"/api/samples/{view['id']}/actions", json=payload)
    assert answer.status_code == status and detail in answer.json()["detail"]
    assert not (dataset / REVIEWS_FILE).exists()


def test_unknown_samples_are_404(client: TestClient) -> None:
    assert client.get("/api/samples/nope", params={"reviewer": "ana"}).status_code == 404
    assert client.post("/api/samples/nope/actions", json={"reviewer": "ana", "action": "accept"}).status_code == 404
    assert client.get("/img/nope/regions.png").status_code == 404
    assert client.get("/api/samples/nope/region", params={"x": 1, "y": 1}).status_code == 404


def test_pictures_are_pngs_cached_inside_the_dataset(client: TestClient, dataset: Path, session: ReviewSession) -> None:
    view = _sample_with_regions(client)
    regions = client.get(view["layers"]["regions"])
    targets = client.get(view["layers"]["targets"])
    assert regions.headers["content-type"] == targets.headers["content-type"] == "image/png"
    size = (view["image"]["width"] * view["zoom"], view["image"]["height"] * view["zoom"])
    assert Image.open(io.BytesIO(regions.content)).size == size
    layer = Image.open(io.BytesIO(targets.content))
    assert layer.mode == "RGBA" and layer.size == size
    alpha = np.asarray(layer.getchannel("A"))[:: view["zoom"], :: view["zoom"]]
    mask = masks.decode(session.samples[view["id"]]["mask"])
    assert np.array_equal(alpha > 0, mask > 0)  # exactly the sample's mask, pixel for pixel
    cached = sorted(p.name for p in (dataset / CACHE_DIR).iterdir())
    assert len(cached) == 2 and all(name.endswith(".png") for name in cached)
    before = _files(dataset / CACHE_DIR)
    client.get(view["layers"]["regions"])
    assert _files(dataset / CACHE_DIR) == before  # served from the cache, not redrawn


def test_a_click_finds_the_region_under_it(client: TestClient, session: ReviewSession) -> None:
    view = _sample_with_regions(client)
    scene = session.scene(session.samples[view["id"]])
    region = next(r for r in scene.regions if r.kind == "part") if any(
        r.kind == "part" for r in scene.regions) else scene.regions[-1]
    bitmap = masks.decode(region.rle)
    ys, xs = bitmap.nonzero()
    hit = client.get(f"/api/samples/{view['id']}/region", params={"x": xs[0] + 0.5, "y": ys[0] + 0.5}).json()
    assert hit["region"] == region.id
    for x, y in ((-5, 3), ("nan", 3), (3, "inf"), (1e300, 1)):
        assert client.get(f"/api/samples/{view['id']}/region", params={"x": x, "y": y}).json() == {"region": None}
    assert client.get(f"/api/samples/{view['id']}/region", params={"x": "left", "y": 3}).status_code == 422


def test_stats_route(client: TestClient) -> None:
    view = _sample_with_regions(client)
    for who, verdict in (("ana", "accept"), ("bob", "accept")):
        client.post(f"/api/samples/{view['id']}/actions", json={"reviewer": who, "action": verdict})
    stats = client.get("/api/stats").json()
    row = stats["by_category"][view["category"]]
    assert (row["verdicts"], row["accepted"], row["pairs"]) == (2, 2, 1)
    assert row["kappa"] is None and "chance agreement" in row["kappa_note"] and stats["actions"] == 2


@pytest.mark.parametrize("path", [
    "/static/../pyproject.toml", "/static/%2e%2e/%2e%2e/manifest.json", "/static/..%2f..%2fmanifest.json",
    "/static/%2fetc%2fpasswd", "/static//etc/passwd", "/static/index.html", "/static/.",
    "/img/..%2fmanifest.json/regions.png", "/img/%2e%2e/regions.png", "/img/%2fetc%2fpasswd/regions.png",
    "/img/..%2f..%2f..%2fetc%2fpasswd/targets.png?reviewer=ana", "/api/samples/..%2fmanifest.json?reviewer=ana",
    "/img/..%2F.review-cache/regions.png", "/../manifest.json", "/%2e%2e/manifest.json", "/reviews.jsonl",
    "/manifest.json", "/.review-cache/",
])
def test_no_path_traversal_through_any_file_route(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code in (404, 405, 422), (path, answer.status_code)
    for secret in (b"root:", b"groundv-dataset", b"[build-system]", b"\x89PNG"):
        assert secret not in answer.content


def test_nothing_is_written_outside_the_dataset(client: TestClient, dataset: Path, tmp_path: Path) -> None:
    outside = {k: v for k, v in _files(tmp_path).items() if not k.startswith(str(dataset))}
    own = _files(dataset)
    view = _sample_with_regions(client)
    url = f"/api/samples/{view['id']}/actions"
    extra = next(r for r in view["regions"] if not r["crowd"])
    for payload in ({"action": "toggle", "region": extra["id"]}, {"action": "accept"}):
        client.post(url, json={"reviewer": "ana", **payload})
    client.get(client.get(f"/api/samples/{view['id']}", params={"reviewer": "ana"}).json()["layers"]["targets"])
    assert {k: v for k, v in _files(tmp_path).items() if not k.startswith(str(dataset))} == outside
    after = _files(dataset)
    assert {k: v for k, v in after.items() if k in own} == own  # the shards, manifest, verdicts: untouched
    new = {str(Path(k).relative_to(dataset)).split("/")[0] for k in after if k not in own}
    assert new == {REVIEWS_FILE, CACHE_DIR}


def test_a_token_is_required_when_one_is_set(session: ReviewSession) -> None:
    client = make_client(create_app(session, token="s3cret-token"))
    assert client.get("/api/config").status_code == 401
    assert client.get("/").status_code == 401
    assert client.get("/api/config", headers={TOKEN_HEADER: "wrong"}).status_code == 403
    assert client.get("/api/config", params={"token": "s3cret-tokeX"}).status_code == 403
    assert client.get("/api/config", headers={TOKEN_HEADER: "s3cret-token"}).status_code == 200
    page = client.get("/", params={"token": "s3cret-token"})
    assert page.status_code == 200 and COOKIE in page.cookies
    assert client.get("/api/config").status_code == 200  # the cookie the first load set
    assert client.get("/api/config").json()["token_required"] is True


def test_token_comparison_is_constant_time() -> None:
    source = (Path(__file__).parents[2] / "src/groundv/review/app.py").read_text()
    assert "secrets.compare_digest(" in source and "== expected" not in source and "!= expected" not in source


def test_only_loopback_host_names_reach_a_loopback_server(session: ReviewSession) -> None:
    client = make_client(create_app(session, allowed_hosts=LOOPBACK_HOSTS), base_url="http://127.0.0.1:8765")
    assert client.get("/api/config").status_code == 200
    assert client.get("/api/config", headers={"host": "evil.example:8765"}).status_code == 400
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.0.0.5")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.org")


def test_a_corrupt_review_line_is_reported_and_the_app_keeps_working(dataset: Path) -> None:
    (dataset / REVIEWS_FILE).write_bytes(b'{"broken\n')
    client = make_client(create_app(ReviewSession(dataset)))
    problems = client.get("/api/config").json()["problems"]
    assert len(problems) == 1 and problems[0]["where"].endswith("line 1") and "not valid JSON" in problems[0]["why"]
    view = _sample_with_regions(client)
    assert client.post(f"/api/samples/{view['id']}/actions",
                       json={"reviewer": "ana", "action": "accept"}).json()["review"]["verdict"] == "accept"
    assert len(client.get("/api/stats").json()["corrupt"]) == 1


def test_without_its_source_the_app_shows_the_sample_mask_and_says_why(dataset: Path) -> None:
    manifest = read_manifest(dataset).data
    manifest["settings"]["source"]["path"] = str(dataset / "gone")
    (dataset / "manifest.json").write_bytes(orjson.dumps(manifest))
    client = make_client(create_app(ReviewSession(dataset)))
    sid = client.get("/api/next", params={"reviewer": "ana"}).json()["sample"]
    view = client.get(f"/api/samples/{sid}", params={"reviewer": "ana"}).json()
    assert view["regions"] == [] and view["scene_note"].startswith("regions unavailable")
    assert client.get(view["layers"]["regions"]).status_code == 200
    refused = client.post(f"/api/samples/{sid}/actions", json={"reviewer": "ana", "action": "toggle", "region": 1})
    assert refused.status_code == 409
    assert os.path.exists(dataset / CACHE_DIR)
