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
// -- judging: stars, pick / reject, a note and Promote per cell (the kernel writes the log) --
// A cell's bar draws `judgments[key]` and sends what a click or a key changes; the kernel
// answers by setting `judgments` again, which redraws the bar and the label in place (the
// player is not rebuilt, so no video reloads).
const STARS = 5;
function judgeSend(model, key, change) {
  model.send({ type: "judge", key, ...change });
}
// Keys on the hovered or focused cell: 1-5 stars, 0 clears them, p picks, x rejects (each
// again undoes it). Another map of keys (frame controls) joins `keyMaps` beside this one.
const judgeKeys = {
  ...Object.fromEntries([0, 1, 2, 3, 4, 5].map((n) => [String(n), (c) => c.judge({ stars: n })])),
  p: (c) => c.judge({ pick: c.judged().pick === true ? null : true }),
  x: (c) => c.judge({ pick: c.judged().pick === false ? null : false }),
};
const keyMaps = [judgeKeys];
function keyAction(e) {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  for (const map of keyMaps) if (Object.hasOwn(map, e.key)) return map[e.key];
  return null;
}
function typing(target) {
  return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}
// Keys reach the judged cell under the mouse, else the focused one (a click focuses a cell);
// typing anywhere (a note, a notebook editor) is left alone. The listener is the window's, in
// the capture phase: it runs before the notebook's own shortcuts (Notebook 7 listens on the
// document in that phase), which then never see a key that judged a cell.
function gridKeys(root, contexts) {
  let hovered = null;
  const onKey = (e) => {
    if (typing(e.target)) return;
    const act = keyAction(e);
    if (!act) return;
    const active = document.activeElement;
    const focused = active && active.closest && root.contains(active) ? active.closest(".vidu-judged") : null;
    const ctx = contexts.get(hovered || focused);
    if (!ctx) return;
    e.preventDefault();
    e.stopPropagation();
    act(ctx);
  };
  const over = (e) => (hovered = e.target.closest ? e.target.closest(".vidu-judged") : null);
  const out = () => (hovered = null);
  window.addEventListener("keydown", onKey, true);
  root.addEventListener("mouseover", over);
  root.addEventListener("mouseleave", out);
  return () => {
    window.removeEventListener("keydown", onKey, true);
    root.removeEventListener("mouseover", over);
    root.removeEventListener("mouseleave", out);
  };
}
function judgeBar(model, key) {
  const bar = el("div", "vidu-judge");
  const stars = el("span", "vidu-judge-stars");
  const starBtns = [];
  for (let n = 1; n <= STARS; n++) {
    const b = el("button", "vidu-star");
    b.type = "button";
    b.title = `${n} star${n > 1 ? "s" : ""} (key ${n}; 0 clears)`;
    b.setAttribute("aria-label", `${n} star${n > 1 ? "s" : ""}`);
    b.addEventListener("click", () => judgeSend(model, key, { stars: current().stars === n ? 0 : n }));
    starBtns.push(b);
  }
  stars.append(...starBtns);
  const pick = el("button", "vidu-judge-pick", "Pick");
  const reject = el("button", "vidu-judge-reject", "Reject");
  pick.type = reject.type = "button";
  pick.title = "pick (key p)";
  reject.title = "reject (key x)";
  pick.addEventListener("click", () => judgeSend(model, key, { pick: current().pick === true ? null : true }));
  reject.addEventListener("click", () => judgeSend(model, key, { pick: current().pick === false ? null : false }));
  const note = el("input", "vidu-judge-note");
  Object.assign(note, { type: "text", maxLength: 500, placeholder: "note" });
  const sendNote = () => {
    if (note.value.trim() !== current().note) judgeSend(model, key, { note: note.value });
  };
  note.addEventListener("change", sendNote);
  note.addEventListener("keydown", (e) => {
    e.stopPropagation(); // typing a note is not a notebook shortcut
    if (e.key === "Enter") sendNote();
  });
  const promote = promoteBox(model, key, current);
  const error = el("div", "vidu-judge-error");
  bar.append(stars, pick, reject, note, promote.el, error);
  function current() {
    return (model.get("judgments") || {})[key] || { stars: 0, pick: null, note: "" };
  }
  function draw() {
    const j = current();
    starBtns.forEach((b, i) => {
      b.classList.toggle("vidu-star-on", i < j.stars);
      b.setAttribute("aria-pressed", String(i < j.stars));
    });
    pick.classList.toggle("vidu-judge-on", j.pick === true);
    reject.classList.toggle("vidu-judge-on", j.pick === false);
    pick.setAttribute("aria-pressed", String(j.pick === true));
    reject.setAttribute("aria-pressed", String(j.pick === false));
    if (document.activeElement !== note) note.value = j.note || "";
    error.textContent = "";
    promote.draw(j);
  }
  function message(msg) {
    if (msg.type === "judge_error") error.textContent = msg.error || "";
    else promote.message(msg);
  }
  draw();
  return { el: bar, draw, message, current };
}
// Promote: shown on a picked cell that the kernel can submit from. The change chosen is
// estimated first ("would cost about ... credits"); a second click submits it.
function promoteBox(model, key, current) {
  const box = el("span", "vidu-promote");
  const open = el("button", "vidu-promote-open", "Promote");
  const pickChange = el("select", "vidu-promote-change");
  const go = el("button", "vidu-promote-submit", "Submit");
  const text = el("div", "vidu-promote-text");
  const line = el("div", "vidu-promote-line");
  open.type = go.type = "button";
  pickChange.hidden = go.hidden = true;
  box.append(open, pickChange, go, text, line);
  const choices = () => (model.get("choices") || {})[key] || [];
  const chosen = () => (choices()[pickChange.selectedIndex] || {}).change;
  const ask = (confirm) => {
    if (!chosen()) return;
    go.disabled = true;
    model.send({ type: "promote", key, change: chosen(), confirm });
  };
  open.addEventListener("click", () => {
    pickChange.replaceChildren(...choices().map((c) => el("option", "", c.label)));
    pickChange.hidden = false;
    ask(false);
  });
  pickChange.addEventListener("change", () => ask(false));
  go.addEventListener("click", () => ask(true));
  function draw(j) {
    const can = j.pick === true && choices().length > 0;
    open.hidden = !can;
    if (!can) pickChange.hidden = go.hidden = true;
    line.textContent = (model.get("promoted") || {})[key] || "";
    line.hidden = !line.textContent;
  }
  function message(msg) {
    if (msg.type !== "promotion") return;
    text.textContent = msg.text || "";
    go.textContent = `Submit (${Number(msg.credits || 0).toLocaleString()} credits)`;
    go.hidden = !!msg.submitted;
    go.disabled = false;
    if (msg.submitted) pickChange.hidden = true;
  }
  return { el: box, draw, message };
}
// A title as segments [text, differs]: the words that differ between prompts strong, the
// common part faded (textContent only).
function titleNode(cls, title, parts) {
  const node = el("div", cls);
  if (!parts || !parts.length) {
    node.textContent = title;
    return node;
  }
  const words = el("span"); // one flex item: the spaces between the segments stay
  for (const [text, differs] of parts) words.append(el("span", differs ? "vidu-diff" : "vidu-same", text));
  node.append(words);
  node.title = title;
  return node;
}
function judgedLabel(base, j) {
  const words = j && j.text;
  return base && words ? `${base} \u00b7 ${words}` : base || words || "";
}
function render({ model, el: host }) {
  host.classList.add("vidu-grid"); // here, not in widget state: it would be saved per grid
  const root = el("div", "vidu-grid-root");
  host.appendChild(root);
  const vids = new Map();
  const cellOf = new Map();
  const bars = new Map(); // item key -> its judging bar
  const labelOf = new Map();
  const keyed = new Map(); // judged cell element -> what its keys act on
  const unkey = gridKeys(root, keyed);
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
    bars.clear();
    labelOf.clear();
    keyed.clear();
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
      const parts = (model.get("title_parts") || {}).cols || [];
      colT.forEach((t, c) => cells.append(titleNode("vidu-grid-head vidu-grid-colhead", t, parts[c])));
    }
    io = new IntersectionObserver((entries) => {
      for (const e of entries) if (e.isIntersecting) load(e.target.dataset.key, e.target);
    }, { rootMargin: "200px" });
    items.forEach((it, i) => {
      const r = i / n;
      if (rowT.length && Number.isInteger(r) && (rowT[r] || !r)) {
        let span = 1;
        while (r + span < rowT.length && !rowT[r + span]) span++;
        const rowParts = ((model.get("title_parts") || {}).rows || [])[r];
        const h = titleNode("vidu-grid-head vidu-grid-rowhead", rowT[r], rowParts);
        h.style.gridRow = `span ${span}`;
        cells.append(h);
      }
      const cell = el("div", `vidu-player vidu-state-${it.state || "unknown"}`);
      cell.dataset.key = it.key;
      const judged = (model.get("judgments") || {})[it.key];
      if (it.label || judged) {
        const lab = el("div", "vidu-player-label", judged ? judgedLabel(it.label_base, judged) : it.label);
        lab.hidden = !lab.textContent;
        cell.append(lab);
        labelOf.set(it.key, [lab, it.label_base || ""]);
      }
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
      if (judged) {
        const bar = judgeBar(model, it.key);
        bars.set(it.key, bar);
        cell.append(bar.el);
        cell.classList.add("vidu-judged");
        const judge = (change) => judgeSend(model, it.key, change);
        cell.tabIndex = 0;
        keyed.set(cell, { key: it.key, judge, judged: bar.current });
      }
      cells.append(cell);
      io.observe(cell);
    });
    applyMuted();
  }
  function drawJudgments() {
    const all = model.get("judgments") || {};
    for (const [key, bar] of bars) bar.draw();
    for (const [key, [lab, base]] of labelOf) {
      if (!all[key]) continue;
      lab.textContent = judgedLabel(base, all[key]);
      lab.hidden = !lab.textContent;
    }
  }
  model.on("msg:custom", (msg, buffers) => {
    if (msg.type === "judge_error" || msg.type === "promotion") {
      const bar = bars.get(msg.key);
      if (bar) bar.message(msg);
      return;
    }
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
  for (const k of ["cols", "row_titles", "col_titles", "note", "title_parts"]) model.on(`change:${k}`, build);
  for (const k of ["judgments", "choices", "promoted"]) model.on(`change:${k}`, drawJudgments);
  model.on("change:playing", applyPlaying);
  model.on("change:muted", applyMuted);
  model.on("change:loop", () => list().forEach((v) => (v.loop = model.get("loop"))));
  build();
  applyPlaying();
  return () => {
    clearInterval(timer);
    unkey();
    if (io) io.disconnect();
    blobs.forEach((u) => URL.revokeObjectURL(u));
  };
}
export default { initialize: () => ({ render }) };
