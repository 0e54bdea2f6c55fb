"""`deepdance app` in a real browser: Debian's chromium driven by playwright, against the real server, training
and generating for real (the built-in dancer at tiny size). Skipped cleanly without chromium or playwright.

The first tests need no browser: the routes over HTTP, what the page is never shown, the CLI's flags.
"""

from __future__ import annotations

import http.client
import json
import shutil
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import soundfile as sf

from deepdance.app.jobs import clean_lines
from deepdance.audio import SR, click_track
from deepdance.cli import main
from deepdance.video import probe

from conftest import shared_file

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TRAIN_TIMEOUT = 300_000  # ms: the tiny training takes ~1 min on 2 loaded cores


class Server:
    """`python -m deepdance app --port 0` in a child process: the port it says, stopped by SIGTERM."""

    def __init__(self, runs: Path):
        self.runs = runs
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "deepdance", "app", "--port", "0", "--runs", str(runs)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, f"deepdance app said {line!r}"
        self.url = m[0]
        self.listening = time.perf_counter()

    def get(self, path: str) -> tuple[int, dict]:
        return request(self.url + path.lstrip("/"))

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        return out


def request(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def leftovers(runs: Path) -> list[str]:
    """Anything half-written under RUNS: temporaries, locks, uploads not consumed."""
    found = [p.name for p in runs.iterdir() if p.name.endswith((".tmp", ".lock", ".old"))]
    uploads = runs / ".uploads"
    found += [str(p) for p in uploads.rglob("*") if p.is_file()] if uploads.exists() else []
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("app") / "runs")
    yield s
    s.stop()


# --- without a browser ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_routes_answer_json_and_refuse_what_they_must(server):
    status, state = server.get("/api/state")
    assert status == 200 and state["runs"] == [] and set(state["presets"]) >= {"tiny", "demo"}
    for path in ("/files/../../etc/passwd", "/files/%2e%2e/%2e%2e/etc/passwd", "/static/../server.py", "/nope"):
        assert server.get(path)[0] == 404
    status, said = server.get("/api/runs/nothing")
    assert status == 400 and "no run called 'nothing'" in said["error"]
    status, said = request(server.url + "api/train", b"not json", {"Content-Type": "application/json"})
    assert status == 400 and "not JSON" in said["error"]
    status, said = request(server.url + "api/train", json.dumps({"preset": "huge"}).encode())
    assert status == 400 and "preset must be one of" in said["error"]
    status, said = request(server.url + "api/upload?kind=video&name=notes.txt", b"hello")
    assert status == 400 and "is not a video" in said["error"]
    status, said = request(server.url + "api/upload?kind=video&name=clip.mp4", b"not a video\n" * 50)
    assert status == 400 and "'clip.mp4' is not a readable video" in said["error"]
    status, said = request(server.url + "api/generate", json.dumps({"run": "../x"}).encode())
    assert status == 400 and "no run called" in said["error"]
    assert leftovers(server.runs) == []


def test_one_connection_carries_many_requests(server):
    # the page's fetches share a kept-alive connection: a body no route needs must not run into the next request
    host, port = server.url.split("/")[2].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST", "/api/jobs/nothing/cancel", body=b"{}", headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        assert r.status == 400 and "no such job" in json.loads(r.read())["error"]
        conn.request("GET", "/api/state")
        r = conn.getresponse()
        assert r.status == 200 and "runs" in json.loads(r.read())
    finally:
        conn.close()


def test_an_upload_is_kept_whole_until_its_job(server):
    song = click_track(100.0, 3.0)
    path = server.runs.parent / "beat.wav"
    sf.write(str(path), song, SR)
    status, said = request(server.url + "api/upload?kind=song&name=my%20beat.wav", path.read_bytes())
    assert status == 200 and said["name"] == "my-beat.wav"
    kept = server.runs / ".uploads" / said["upload"]
    assert kept.read_bytes() == path.read_bytes()
    shutil.rmtree(kept.parent)


def test_a_traceback_is_never_shown():
    lines = ["data: the built-in dancer", "Traceback (most recent call last):", '  File "x.py", line 1, in <module>',
             "    boom()", "RuntimeError: boom", "after"]
    assert clean_lines(lines) == ["data: the built-in dancer", "RuntimeError: boom", "after"]


def test_cli_app_flags(capsys, tmp_path):
    assert main(["app", "--port", "70000"]) == 2
    assert "--port must lie between 0 and 65535" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["app", "--port", str(taken.getsockname()[1]), "--runs", str(tmp_path / "runs")]) == 2
        assert "cannot listen on 127.0.0.1" in capsys.readouterr().err
    assert main(["app", "--runs", __file__]) == 2
    assert "is a file, not a folder of runs" in capsys.readouterr().err


# --- in a real browser ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is absent (pip install playwright)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def visible_text(page) -> str:
    return page.evaluate("document.body.innerText")


@pytest.mark.slow
def test_the_page_loads_from_the_app_alone(browser, tmp_path):
    page = browser.new_page()
    server = Server(tmp_path / "runs")
    try:
        page.goto(server.url, wait_until="load")
        page.wait_for_selector("body[data-ready='1']")
        loaded = time.perf_counter()
        # the 5-s bar is bench/app.py's: the suite runs two test files at a time, so its timings are not the app's
        print(f"\napp: listening {server.listening - server.started:.2f} s after start, page ready "
              f"{loaded - server.started:.2f} s after start")
        assert page.title() == "deepdance"
        assert page.locator("#preset option").count() >= 2
        # everything the page loaded came from the app itself
        hosts = page.evaluate("performance.getEntriesByType('resource').map(e => new URL(e.name).host)")
        assert set(hosts) <= {server.url.split("/")[2]}
    finally:
        page.close()
        server.stop()


@pytest.mark.slow
def test_a_text_file_uploaded_as_a_video_says_so_and_leaves_nothing(server, page, tmp_path):
    page.goto(server.url)
    page.wait_for_selector("body[data-ready='1']")
    fake = tmp_path / "clip.mp4"
    fake.write_text("this is not a video\n" * 50)
    page.set_input_files("#videos", str(fake))
    page.click("#train")
    message = page.locator("#message.error")
    message.wait_for(state="visible")   # at its upload, before any job starts
    said = message.inner_text()
    assert "clip.mp4" in said and "not a readable video" in said and "Traceback" not in visible_text(page)
    print(f"\nthe page said: {said}")
    # nor is a file whose name says it is no video
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    page.set_input_files("#videos", str(notes))
    page.click("#train")
    page.wait_for_function("document.getElementById('message').textContent.includes('is not a video')")
    assert "Traceback" not in visible_text(page)
    assert not any((server.runs / n).exists() for n in ("clip", "notes"))
    assert leftovers(server.runs) == []


@pytest.mark.slow
def test_dance_now_gives_the_pretrained_dancer_at_once(server, page):
    page.goto(server.url)
    page.wait_for_selector("body[data-ready='1']")
    started = time.perf_counter()
    page.click("#instant")
    page.wait_for_selector("#run:not([hidden])", timeout=120_000)
    page.wait_for_function("document.getElementById('dance').duration > 0")
    print(f"\npretrained dancer's first dance in the page: {time.perf_counter() - started:.1f} s")
    assert page.locator("#run-list a", has_text="dancer-pretrained").count() == 1
    assert (server.runs / "dancer-pretrained" / "seq.safetensors").is_file()   # a run like any other
    assert not page.is_visible("#instant")
    assert leftovers(server.runs) == []


@pytest.mark.slow
def test_cancel_stops_training_and_keeps_nothing(server, page):
    page.goto(server.url)
    page.wait_for_selector("body[data-ready='1']")
    page.select_option("#preset", "tiny")   # its look takes some 6 s to learn: time enough to cancel there
    page.fill("#run-name-input", "cancelled")
    page.click("#train")
    page.wait_for_function("document.getElementById('job-stage').textContent === 'learning the look'", timeout=180_000)
    assert list(server.runs.glob(".cancelled.*.tmp"))  # the run is being built under its temporary name
    page.click("#cancel")
    page.wait_for_selector("#message.info", timeout=60_000)
    assert "Cancelled" in page.inner_text("#message")
    assert not (server.runs / "cancelled").exists()
    assert leftovers(server.runs) == []
    assert server.proc.poll() is None  # the app goes on


@pytest.mark.slow
def test_the_built_in_dancer_trains_at_tiny_size_and_its_dance_plays(server, page):
    page.goto(server.url)
    page.wait_for_selector("body[data-ready='1']")
    page.check("input[name=source][value=builtin]")
    page.select_option("#preset", "tiny")
    started = time.perf_counter()
    page.click("#train")
    page.wait_for_function("document.getElementById('job-stage').textContent.length > 0")
    page.wait_for_function("document.querySelector('#job-preview video, #job-preview img') !== null",
                           timeout=TRAIN_TIMEOUT)  # the cut preview shows while it trains
    page.wait_for_selector("#run:not([hidden])", timeout=TRAIN_TIMEOUT)
    print(f"\ntiny training + first dance in the page: {time.perf_counter() - started:.1f} s")
    page.wait_for_function("document.getElementById('dance').duration > 0")
    duration = page.evaluate("document.getElementById('dance').duration")
    assert duration > 0
    page.evaluate("(() => { const v = document.getElementById('dance'); v.muted = true; return v.play(); })()")
    page.wait_for_function("document.getElementById('dance').currentTime > 0.2")
    text = visible_text(page)
    assert "checks against the real dancer" in text  # the verdict beside the video
    assert "generation.motion" in text
    links = page.eval_on_selector_all("#downloads a", "as => as.map(a => a.textContent)")
    assert {"dance.mp4", "dance.gif"} <= set(links)
    assert page.locator("#run-list a", has_text="dancer-tiny").count() == 1
    run = server.runs / "dancer-tiny"
    assert (run / "dance.mp4").is_file() and (run / "seq.safetensors").is_file()
    assert leftovers(server.runs) == []
    # reopened from the list, as after a restart: the run folder is the database
    page.goto(server.url)
    page.click("#run-list a[data-run='dancer-tiny']")
    page.wait_for_function("document.getElementById('dance').duration > 0")


@pytest.mark.slow
def test_an_uploaded_song_is_danced_to(server, page, tmp_path):
    if not (server.runs / "dancer-tiny" / "seq.safetensors").exists():
        pytest.skip("needs the tiny run of the test before")
    song = tmp_path / "my song.wav"
    sf.write(str(song), click_track(100.0, 6.0), SR)
    page.goto(server.url + "#run=dancer-tiny")
    page.wait_for_selector("#run:not([hidden])")
    page.set_input_files("#song", str(song))
    page.fill("#gen-seed", "3")
    page.click("#generate")
    page.wait_for_function("document.getElementById('dance').dataset.dance === '001'", timeout=TRAIN_TIMEOUT)
    page.wait_for_function("document.getElementById('dance').duration > 0")
    duration = page.evaluate("document.getElementById('dance').duration")
    assert abs(duration - 6.0) < 0.5, duration  # as long as the song
    dance = server.runs / "dancer-tiny" / "dances" / "001"
    assert probe(dance / "dance.mp4")["has_audio"]
    assert (dance / "song.wav").is_file()  # the dance folder keeps its song
    assert json.loads((dance / "config.json").read_text())["generate"]["seed"] == 3
    assert "Traceback" not in visible_text(page)
    # or a drum beat at a tempo, for as long as asked
    page.check("input[name=music][value=bpm]")
    page.fill("#gen-bpm", "128")
    page.fill("#gen-seconds", "4")
    page.click("#generate")
    page.wait_for_function("document.getElementById('dance').dataset.dance === '002'", timeout=TRAIN_TIMEOUT)
    page.wait_for_function("Math.abs(document.getElementById('dance').duration - 4) < 0.5")
    assert json.loads((dance.parent / "002" / "config.json").read_text())["generate"]["bpm"] == 128
    assert page.locator("#dance-tabs button").count() == 3  # the first dance, 001 and 002
    assert leftovers(server.runs) == [] and not list((server.runs / "dancer-tiny" / "dances").glob(".*"))
    # a second app on the same folder lists the same runs: the run folders are the database
    again = Server(server.runs)
    try:
        status, state = again.get("/api/state")
        assert "dancer-tiny" in [r["name"] for r in state["runs"]]
        status, run = again.get("/api/runs/dancer-tiny")
        assert [d["id"] for d in run["dances"]] == ["", "001", "002"]
        assert run["dances"][1]["verdict"]
    finally:
        again.stop()


@pytest.mark.slow
def test_an_uploaded_video_is_cut_previewed_and_learnt(server, page):
    clip = shared_file("videos", "greenscreen_solo_11s_640x360.mp4")
    page.goto(server.url)
    page.wait_for_selector("body[data-ready='1']")
    page.set_input_files("#videos", str(clip))
    page.select_option("#preset", "tiny")
    page.click("#train")
    page.wait_for_selector("#run:not([hidden])", timeout=TRAIN_TIMEOUT)
    # the store's cut preview (source frames beside their silhouettes), shown open for a real video
    page.wait_for_function("(() => { const i = document.querySelector('#run-preview img');"
                           " return i && i.complete && i.naturalWidth > 0; })()")
    assert page.evaluate("document.getElementById('preview-box').open")
    page.wait_for_function("document.getElementById('dance').duration > 0")
    assert "greenscreen_solo_11s_640x360.mp4" in page.inner_text("#run-source")
    assert page.is_visible("#no-music")  # the clip has no sound: no song to choose
    assert (server.runs / "greenscreen_solo_11s_640x360" / "store" / "preview.png").is_file()
    assert leftovers(server.runs) == []
