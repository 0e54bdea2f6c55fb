// deepdance app: one page over the JSON routes of server.py. No framework, nothing fetched from outside.
"use strict";

const $ = (id) => document.getElementById(id);
let polling = null;     // the job being watched
let currentRun = null;  // the run shown

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node[k] = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function say(text, kind = "error") {
  const box = $("message");
  box.textContent = text;
  box.className = kind;
  box.hidden = !text;
}

async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (e) {
    throw new Error("the app does not answer: is 'deepdance app' still running?");
  }
  let data = null;
  try { data = await response.json(); } catch (e) { /* not JSON */ }
  if (!response.ok) throw new Error((data && data.error) || `the app answered ${response.status}`);
  return data;
}

const post = (path, body) => api(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                        body: JSON.stringify(body)});

async function upload(file, kind) {
  const q = new URLSearchParams({kind, name: file.name});
  const done = await api(`/api/upload?${q}`, {method: "POST", body: file});
  return done.upload;
}

function show(section) {
  for (const id of ["start", "job", "run"]) $(id).hidden = id !== section && !(id === "job" && polling);
  $("instant-panel").hidden = section !== "start";
}

// --- the runs ------------------------------------------------------------------------------------
async function refresh() {
  const state = await api("/api/state");
  const list = $("run-list");
  list.replaceChildren();
  for (const run of state.runs) {
    const a = el("a", {href: `#run=${encodeURIComponent(run.name)}`, "data-run": run.name}, run.name);
    if (run.name === currentRun) a.className = "current";
    a.title = `${run.source}${run.trained ? "" : " (not trained)"}; ${run.dances} dance(s)`;
    list.append(el("li", {}, a));
  }
  if (!state.runs.length) list.append(el("li", {class: "muted"}, "none yet"));
  $("runs-folder").textContent = `run folders in ${state.runs_folder}`;
  const preset = $("preset");
  if (!preset.options.length) {
    for (const [value, label] of Object.entries(state.presets)) preset.append(el("option", {value}, label));
  }
  return state;
}

function fmt(v) {
  return typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(3)) : String(v);
}

function table(node, figures) {
  node.replaceChildren();
  for (const [k, v] of Object.entries(figures || {})) node.append(el("tr", {}, el("td", {}, k), el("td", {}, fmt(v))));
}

// A real video's store has both: source frames above their cut (image) and the skeleton over the cut (video).
function previewOf(p) {
  const shown = [];
  if (p && p.image) shown.push(el("img", {src: p.image, alt: "the cut: source frames above their silhouettes"}));
  if (p && p.video) shown.push(el("video", {src: p.video, muted: "", loop: "", autoplay: "", playsinline: "", controls: ""}));
  return shown.length ? el("div", {class: "previews"}, ...shown) : el("span", {class: "muted"}, "no preview");
}

async function openRun(name, dance = null) {
  currentRun = name;
  let run;
  $("run-title").textContent = name;
  try {
    run = await api(`/api/runs/${encodeURIComponent(name)}`);
  } catch (e) { say(e.message); return; }
  show("run");
  $("run-source").textContent = `learnt from ${run.source || "?"}` + (run.music ? ", with its music" : ", no music");
  $("run-preview").replaceChildren(previewOf(run.preview));
  table($("run-figures"), run.figures);
  $("music-choice").hidden = !run.music;
  $("no-music").hidden = run.music;
  $("preview-box").open = !!(run.preview && run.preview.image);  // a real video's cut: worth a look first
  const tabs = $("dance-tabs");
  tabs.replaceChildren();
  const pick = run.dances.find((d) => d.id === dance) || run.dances[run.dances.length - 1];
  for (const d of run.dances) {
    const b = el("button", {type: "button", class: d === pick ? "current" : ""}, d.title);
    b.onclick = () => { for (const x of tabs.children) x.className = ""; b.className = "current"; showDance(d); };
    tabs.append(b);
  }
  $("no-dance").hidden = !!pick;
  document.querySelector(".player").hidden = !pick;
  if (pick) showDance(pick);
  for (const a of document.querySelectorAll("#run-list a")) a.className = a.dataset.run === name ? "current" : "";
}

function showDance(d) {
  const video = $("dance");
  video.src = d.video;
  video.dataset.dance = d.id;
  const verdict = $("verdict");
  verdict.replaceChildren();
  d.verdict.forEach((line, i) => {
    const p = el("p", {}, line.replace(/^verdict: /, ""));
    if (i === 0) p.className = / passed all /.test(line) ? "ok" : "bad";
    verdict.append(p);
  });
  if (!d.verdict.length) verdict.append(el("p", {class: "muted"}, "no verdict for this dance"));
  table($("figures"), Object.assign({}, d.figures, d.evaluation));
  const list = $("downloads");
  list.replaceChildren();
  for (const f of d.files) {
    list.append(el("li", {}, el("a", {href: f.url, download: f.name}, f.name),
                   el("span", {class: "muted small"}, ` ${(f.bytes / 1024).toFixed(0)} KB`)));
  }
  const s = Object.entries(d.settings).map(([k, v]) => `${k} ${v}`).join(", ");
  video.title = s;
}

// --- jobs -------------------------------------------------------------------------------------------
function renderJob(job) {
  $("job-title").textContent = job.title;
  $("job-stage").textContent = job.running ? (job.stage_name || "starting") : job.state;
  $("job-stage-text").textContent = job.running ? `${job.stage_text} (${job.seconds} s)` : `after ${job.seconds} s`;
  const bar = $("job-progress");
  if (job.epoch && job.running) { bar.max = job.epoch.epochs; bar.value = job.epoch.epoch; }
  else if (job.running) bar.removeAttribute("value");
  else { bar.max = 1; bar.value = 1; }
  $("job-figures").textContent = job.epoch ?
    `${job.epoch.stage} epoch ${job.epoch.epoch}/${job.epoch.epochs}: ` +
    Object.entries(job.epoch.figures).map(([k, v]) => `${k} ${v}`).join("  ") : "";
  const box = $("job-preview");
  if (job.preview && Object.keys(job.preview).length && !box.dataset.shown) {
    box.replaceChildren(el("p", {class: "muted"}, "the cut:"), previewOf(job.preview));
    box.dataset.shown = "1";
  }
  $("job-log").textContent = job.lines.join("\n");
  $("cancel").hidden = !job.running;
  $("job").dataset.state = job.state;
}

async function watch(job) {
  polling = job.id;
  $("job").hidden = false;
  $("job-preview").replaceChildren();
  delete $("job-preview").dataset.shown;
  for (const b of [$("train"), $("instant"), $("generate")]) b.disabled = true;
  let misses = 0;
  while (polling === job.id) {
    renderJob(job);
    if (!job.running) break;
    await new Promise((r) => setTimeout(r, misses ? 2000 : 700));
    try {
      job = await api(`/api/jobs/${job.id}`);
      if (misses) say("");
      misses = 0;
    } catch (e) {
      say(e.message);  // the app may be busy or restarting: keep asking a while before giving up
      if (++misses >= 15) { polling = null; for (const b of [$("train"), $("instant"), $("generate")]) b.disabled = false; return; }
    }
  }
  polling = null;
  for (const b of [$("train"), $("instant"), $("generate")]) b.disabled = false;
  if (job.state === "done") {
    $("job").hidden = true;
    say("");
    await refresh();
    await openRun(job.result.run, job.result.dance || null);
  } else if (job.state === "cancelled") {
    say(job.message, "info");
  } else {
    say(job.message || "the job failed");
  }
  await refresh();
}

async function train(event) {
  event.preventDefault();
  const source = document.querySelector("input[name=source]:checked").value;
  const files = [...$("videos").files];
  if (source === "video" && !files.length) { say("choose one or more videos first"); return; }
  await startRun($("preset").value, source === "video" ? files : []);
}

// A new run (trained, or the pretrained dancer copied in): upload its videos, start the job, watch it.
async function startRun(preset, files) {
  say("");
  $("train").disabled = $("instant").disabled = true;
  try {
    const uploads = [];
    for (const f of files) {
      say(`uploading ${f.name} …`, "info");
      uploads.push(await upload(f, "video"));
    }
    say("");
    const job = await post("/api/train", {preset, uploads, name: $("run-name-input").value,
                                          seed: $("train-seed").value});
    show("start");
    await watch(job);
  } catch (e) {
    say(e.message);
  } finally {
    if (!polling) $("train").disabled = $("instant").disabled = false;
  }
}

async function generate(event) {
  event.preventDefault();
  say("");
  const music = (document.querySelector("input[name=music]:checked") || {}).value || "own";
  const body = {run: currentRun, seconds: $("gen-seconds").value, seed: $("gen-seed").value,
                temperature: $("gen-temperature").value};
  $("generate").disabled = true;
  try {
    if (!$("music-choice").hidden && music === "song") {
      const song = $("song").files[0];
      if (!song) throw new Error("choose a song first");
      say(`uploading ${song.name} …`, "info");
      body.song = await upload(song, "song");
      say("");
    } else if (!$("music-choice").hidden && music === "bpm") {
      body.bpm = $("gen-bpm").value;
    }
    await watch(await post("/api/generate", body));
  } catch (e) {
    say(e.message);
  } finally {
    if (!polling) $("generate").disabled = false;
  }
}

function route() {
  const m = location.hash.match(/^#run=(.+)$/);
  if (m) openRun(decodeURIComponent(m[1])); else { currentRun = null; show("start"); }
}

async function main() {
  $("train-form").onsubmit = train;
  $("instant").onclick = () => startRun("pretrained", []);
  $("generate-form").onsubmit = generate;
  $("new-run").onclick = () => { location.hash = ""; say(""); show("start"); };
  $("cancel").onclick = async () => {
    if (!polling) return;
    $("cancel").disabled = true;
    try { await post(`/api/jobs/${polling}/cancel`, {}); } catch (e) { say(e.message); }
    $("cancel").disabled = false;
  };
  $("videos").onchange = () => { document.querySelector("input[name=source][value=video]").checked = true; };
  $("song").onchange = () => { document.querySelector("input[name=music][value=song]").checked = true; };
  window.onhashchange = route;
  try {
    const state = await refresh();
    route();
    if (state.job && state.job.running) watch(state.job);
  } catch (e) { say(e.message); }
  document.body.dataset.ready = "1";
}

main();
