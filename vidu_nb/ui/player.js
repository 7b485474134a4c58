// Synchronized grid of videos: one control plays, pauses and seeks all; lazy loading.
// Local files come from the kernel as binary buffers turned into blob URLs (never saved).
// A remote URL that fails (expired) is asked of the kernel once, which refreshes it.
// User text is set with textContent only. Icons are drawn in CSS: no emoji font needed.
// This module is the shared PlayerCode widget's (saved once per notebook); each grid's own
// module borrows `render` from its exports through anywidget's host.getWidget.
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function fmt(t) {
  if (!isFinite(t)) t = 0;
  return Math.floor(t / 60) + ":" + String(Math.floor(t % 60)).padStart(2, "0");
}
function label(btn, icon, text) {
  btn.replaceChildren(el("span", `vidu-icon vidu-icon-${icon}`), text);
}
// Cells are at most 640 px wide (a 720p video is not stretched across a wide notebook).
const CELL = 640;
const GAP = 8;
const HEAD = 160; // the row headers' column
function render({ model, el: host }) {
  host.classList.add("vidu-grid"); // here, not in widget state: it would be saved per grid
  const root = el("div", "vidu-grid-root");
  host.appendChild(root);
  const vids = new Map();
  const cellOf = new Map();
  const blobs = [];
  let io = null;
  let seeking = false;
  const bar = el("div", "vidu-grid-bar");
  const play = el("button", "vidu-grid-play");
  const seek = el("input", "vidu-grid-seek");
  Object.assign(seek, { type: "range", min: 0, max: 1000, value: 0, step: 1 });
  const clock = el("span", "vidu-grid-time", "0:00");
  const mute = el("button", "vidu-grid-mute");
  bar.append(play, seek, clock, mute);
  const note = el("div", "vidu-grid-note");
  const cells = el("div", "vidu-grid-cells");
  root.append(bar, note, cells);
  const list = () => [...vids.values()];
  const longest = () => Math.max(0, ...list().map((v) => v.duration || 0));
  // The timeline is the longest video's: it leads the clock and the slider.
  function leader() {
    const ready = list().filter((v) => v.readyState > 0);
    return ready.reduce((a, v) => ((v.duration || 0) > (a.duration || 0) ? v : a), ready[0]);
  }
  function applyPlaying() {
    const on = model.get("playing");
    const all = model.get("items").length > 1 ? " all" : "";
    label(play, on ? "pause" : "play", (on ? "Pause" : "Play") + all);
    for (const v of list()) {
      if (on && v.src) v.play().catch(() => {});
      else v.pause();
    }
  }
  function applyMuted() {
    const m = model.get("muted");
    mute.textContent = m ? "Unmute" : "Mute";
    for (const v of list()) v.muted = m;
  }
  function load(key, cell) {
    const it = model.get("items").find((i) => i.key === key);
    const v = vids.get(key);
    if (!it || !v || cell.dataset.loaded) return;
    cell.dataset.loaded = "1";
    if (it.poster_local) model.send({ type: "fetch", key, what: "poster" });
    else if (it.poster_url) v.poster = it.poster_url;
    if (it.video_local) model.send({ type: "fetch", key, what: "video" });
    else if (it.video_url) setSrc(v, it.video_url);
  }
  function setSrc(v, url) {
    v.src = url;
    if (model.get("playing")) v.play().catch(() => {});
  }
  function build() {
    if (io) io.disconnect();
    vids.clear();
    cellOf.clear();
    cells.replaceChildren();
    const n = Math.max(1, model.get("cols"));
    const items = model.get("items");
    const rowT = model.get("row_titles") || [];
    const colT = model.get("col_titles") || [];
    const head = rowT.length ? HEAD + GAP : 0;
    const side = rowT.length ? `minmax(72px, ${HEAD}px) ` : "";
    cells.style.gridTemplateColumns = `${side}repeat(${n}, minmax(160px, ${CELL}px))`;
    root.style.maxWidth = `${head + n * CELL + (n - 1) * GAP}px`;
    note.textContent = model.get("note") || "";
    note.hidden = !note.textContent;
    bar.hidden = !items.length;
    if (colT.length) {
      if (rowT.length) cells.append(el("div"));
      for (const t of colT) cells.append(el("div", "vidu-grid-head vidu-grid-colhead", t));
    }
    io = new IntersectionObserver((entries) => {
      for (const e of entries) if (e.isIntersecting) load(e.target.dataset.key, e.target);
    }, { rootMargin: "200px" });
    items.forEach((it, i) => {
      const r = i / n;
      if (rowT.length && Number.isInteger(r) && (rowT[r] || !r)) {
        let span = 1;
        while (r + span < rowT.length && !rowT[r + span]) span++;
        const h = el("div", "vidu-grid-head vidu-grid-rowhead", rowT[r]);
        h.style.gridRow = `span ${span}`;
        cells.append(h);
      }
      const cell = el("div", `vidu-player vidu-state-${it.state || "unknown"}`);
      cell.dataset.key = it.key;
      if (it.label) cell.append(el("div", "vidu-player-label", it.label));
      const frame = el("div", "vidu-player-frame");
      const v = el("video", "vidu-player-video");
      Object.assign(v, { muted: model.get("muted"), loop: model.get("loop"), playsInline: true });
      v.preload = "metadata";
      const still = (model.get("posters") || {})[it.key];
      if (still) v.poster = still; // a frame of the sheet: saved with the state, needs no kernel
      v.controls = model.get("controls");
      v.addEventListener("loadedmetadata", () => {
        if (v.videoWidth && v.videoHeight) frame.style.aspectRatio = `${v.videoWidth} / ${v.videoHeight}`;
      });
      v.addEventListener("error", () => {
        if (!v.src.startsWith("blob:") && !cell.dataset.retried) {
          cell.dataset.retried = "1";
          model.send({ type: "fetch", key: it.key, what: "video", retry: true });
        } else cell.classList.add("vidu-player-error");
      });
      vids.set(it.key, v);
      cellOf.set(it.key, cell);
      frame.append(v);
      if (!it.video_local && !it.video_url) frame.append(el("div", "vidu-player-empty", it.state || ""));
      cell.append(frame);
      for (const line of it.meta || []) cell.append(el("div", "vidu-player-meta", line));
      cells.append(cell);
      io.observe(cell);
    });
    applyMuted();
  }
  model.on("msg:custom", (msg, buffers) => {
    const v = vids.get(msg.key);
    if (!v) return;
    let url = msg.type === "url" ? msg.url : null;
    if (msg.type === "missing" && msg.what === "video") cellOf.get(msg.key).classList.add("vidu-player-error");
    if (msg.type === "blob" && buffers && buffers.length) {
      url = URL.createObjectURL(new Blob([buffers[0]], { type: msg.mime }));
      blobs.push(url);
    }
    if (!url) return;
    if (msg.what === "poster") {
      v.poster = url;
      v.dataset.cover = "1"; // the task's own cover: a later still does not replace it
    }
    else setSrc(v, url);
  });
  play.addEventListener("click", () => {
    model.set("playing", !model.get("playing"));
    model.save_changes();
  });
  mute.addEventListener("click", () => {
    model.set("muted", !model.get("muted"));
    model.save_changes();
  });
  // Seeking moves every video to the same moment; a shorter one to where its own loop is then.
  seek.addEventListener("input", () => {
    seeking = true;
    const t = (seek.value / 1000) * longest();
    for (const v of list()) {
      const d = v.duration || 0;
      if (v.readyState > 0) v.currentTime = t > d && d ? t % d : t;
    }
    clock.textContent = fmt(t);
  });
  seek.addEventListener("change", () => (seeking = false));
  const timer = setInterval(() => {
    const lead = leader();
    if (!lead || seeking) return;
    const total = longest();
    seek.value = total ? Math.round((lead.currentTime / total) * 1000) : 0;
    clock.textContent = `${fmt(lead.currentTime)} / ${fmt(total)}`;
    if (!model.get("playing")) return;
    for (const v of list()) {
      const same = Math.abs((v.duration || 0) - (lead.duration || 0)) < 0.2;
      if (v !== lead && same && v.readyState > 1 && Math.abs(v.currentTime - lead.currentTime) > 0.25)
        v.currentTime = lead.currentTime;
    }
  }, 250);
  model.on("change:items", () => (build(), applyPlaying()));
  model.on("change:posters", () => {
    const posters = model.get("posters") || {};
    for (const [key, v] of vids) if (posters[key] && !v.dataset.cover) v.poster = posters[key];
  });
  for (const k of ["cols", "row_titles", "col_titles", "note"]) model.on(`change:${k}`, build);
  model.on("change:playing", applyPlaying);
  model.on("change:muted", applyMuted);
  model.on("change:loop", () => list().forEach((v) => (v.loop = model.get("loop"))));
  build();
  applyPlaying();
  return () => {
    clearInterval(timer);
    if (io) io.disconnect();
    blobs.forEach((u) => URL.revokeObjectURL(u));
  };
}
export default { initialize: () => ({ render }) };
