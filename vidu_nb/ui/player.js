// Synchronized grid of videos: one control plays, pauses and seeks all; lazy loading.
// Local files come from the kernel as binary buffers turned into blob URLs (never saved).
// A remote URL that fails (expired) is asked of the kernel once, which refreshes it.
// User text is set with textContent only. Icons are drawn in CSS: no emoji font needed.
// This module is the shared PlayerCode widget's (saved once per notebook); each grid's own
// module borrows `render` from its exports through anywidget's host.getWidget.
// Review (frame steps, rate, a loop range, solo/mute, keys, drift correction) is in the
// functions after `render`; they share its context object `ctx`.
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
// `opts`: what a front end drawing its players with this `render` (the duel) leaves out or
// takes over. judging: false, no judging bars or keys; cellTools: false, no Solo/Mute per
// cell; labels: false, no label, meta line or title, whatever the items say (nothing that
// names a video); keys: its own keys, before the grid's (see `listenKeys`); scope: the element
// whose focus gives it and the grid the keyboard (default: the grid).
function render(props, opts = {}) {
  const { model, el: host } = props;
  const use = { judging: true, cellTools: true, labels: true, ...opts };
  host.classList.add("vidu-grid"); // here, not in widget state: it would be saved per grid
  const root = el("div", "vidu-grid-root");
  host.appendChild(root);
  const vids = new Map();
  const cellOf = new Map();
  const bars = new Map(); // item key -> its judging bar
  const labelOf = new Map();
  const judged = new Map(); // judged cell element -> what the judging keys act on
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
  const ctx = { model, root, use, vids, cellOf, judged, list, leader, longest, rv: reviewState() };
  Object.assign(ctx, { host: props.host, load: (key) => load(key, cellOf.get(key)), picks: [] });
  ctx.keys = keyMap(ctx);
  const tools = reviewTools(ctx);
  root.insertBefore(tools, note);
  const unkey = listenKeys(ctx, use.scope || root, use.keys || {});
  function applyPlaying() {
    const on = model.get("playing");
    const all = model.get("items").length > 1 ? " all" : "";
    label(play, on ? "pause" : "play", (on ? "Pause" : "Play") + all);
    if (on && leader()) keepInLoop(ctx, leader(), leader().currentTime); // start inside the loop
    for (const v of list()) {
      if (on && v.src) v.play().catch(() => {});
      else v.pause();
    }
  }
  function applyMuted() {
    mute.textContent = model.get("muted") ? "Unmute" : "Mute";
    applyAudio(ctx);
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
    if (ctx.pair) ctx.pair.refresh();
  }
  function build() {
    if (io) io.disconnect();
    closePair(ctx);
    vids.clear();
    cellOf.clear();
    bars.clear();
    labelOf.clear();
    judged.clear();
    cells.replaceChildren();
    const n = Math.max(1, model.get("cols"));
    const items = model.get("items");
    const rowT = (use.labels && model.get("row_titles")) || [];
    const colT = (use.labels && model.get("col_titles")) || [];
    const head = rowT.length ? HEAD + GAP : 0;
    const side = rowT.length ? `minmax(72px, ${HEAD}px) ` : "";
    cells.style.gridTemplateColumns = `${side}repeat(${n}, minmax(160px, ${CELL}px))`;
    root.style.maxWidth = `${head + n * CELL + (n - 1) * GAP}px`;
    note.textContent = model.get("note") || "";
    note.hidden = !note.textContent;
    bar.hidden = tools.hidden = !items.length;
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
      const j = use.judging && (model.get("judgments") || {})[it.key];
      if (use.labels && (it.label || j)) {
        const lab = el("div", "vidu-player-label", j ? judgedLabel(it.label_base, j) : it.label);
        lab.hidden = !lab.textContent;
        cell.append(lab);
        labelOf.set(it.key, [lab, it.label_base || ""]);
      }
      const frame = el("div", "vidu-player-frame");
      const v = el("video", "vidu-player-video");
      Object.assign(v, { muted: model.get("muted"), loop: model.get("loop"), playsInline: true });
      v.preload = "metadata";
      v.dataset.fps = it.fps > 0 ? it.fps : FPS;
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
      if (use.cellTools) frame.append(cellTools(ctx, it.key, !!(it.video_local || it.video_url)));
      watchFrames(ctx, v);
      if (!it.video_local && !it.video_url) frame.append(el("div", "vidu-player-empty", it.state || ""));
      cell.append(frame);
      if (use.labels) for (const line of it.meta || []) cell.append(el("div", "vidu-player-meta", line));
      if (j) {
        const bar = judgeBar(model, it.key);
        bars.set(it.key, bar);
        cell.append(bar.el);
        cell.classList.add("vidu-judged");
        const judge = (change) => judgeSend(model, it.key, change);
        cell.tabIndex = 0;
        judged.set(cell, { judge, current: bar.current });
      }
      cells.append(cell);
      io.observe(cell);
    });
    applyMuted();
    applyRate(ctx);
    ctx.picks = ctx.picks.filter((k) => cellOf.has(k)); // a rebuilt grid keeps the picks it still has
    showPicks(ctx);
    ctx.showLegend();
  }
  function drawJudgments() {
    if (!use.judging) return;
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
  mute.addEventListener("click", () => toggleMute(ctx));
  seek.addEventListener("input", () => {
    seeking = true;
    const t = (seek.value / 1000) * longest();
    seekAll(ctx, t);
    clock.textContent = fmt(t);
  });
  seek.addEventListener("change", () => (seeking = false));
  const timer = setInterval(() => {
    const lead = leader();
    if (!lead || seeking) return;
    const total = longest();
    seek.value = total ? Math.round((lead.currentTime / total) * 1000) : 0;
    clock.textContent = `${fmt(lead.currentTime)} / ${fmt(total)}`;
  }, 250);
  model.on("change:items", () => (build(), applyPlaying()));
  model.on("change:posters", () => {
    const posters = model.get("posters") || {};
    for (const [key, v] of vids) if (posters[key] && !v.dataset.cover) v.poster = posters[key];
  });
  model.on("change:wipe_code", build);
  for (const k of ["cols", "row_titles", "col_titles", "note", "title_parts"]) model.on(`change:${k}`, build);
  for (const k of ["judgments", "choices", "promoted"]) model.on(`change:${k}`, drawJudgments);
  model.on("change:playing", applyPlaying);
  model.on("change:muted", applyMuted);
  model.on("change:loop", () => list().forEach((v) => (v.loop = model.get("loop"))));
  root.tabIndex = 0; // click the grid, then its keys work (see keyMap)
  root.dataset.lmSuppressShortcuts = "true"; // JupyterLab leaves the keys pressed in it to us
  // The pointer's cell: keys for "the cell under the pointer" (judging, solo) act on it.
  root.addEventListener("mouseover", (e) => (ctx.hovered = e.target.closest(".vidu-player")));
  root.addEventListener("mouseleave", () => (ctx.hovered = null));
  build();
  applyPlaying();
  return () => {
    closePair(ctx);
    clearInterval(timer);
    unkey();
    if (io) io.disconnect();
    blobs.forEach((u) => URL.revokeObjectURL(u));
  };
}

// -- Review: frame steps, playback rate, a loop range, solo and mute, keys, drift correction --
const FPS = 24; // a video whose frame rate the kernel does not know
const EPS = 1e-4; // a frame's start plus this: a seek to the exact start can show the frame before
const RATES = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2];
const NUDGE = 0.1; // the most a follower's rate is nudged (10 %) to catch up with the leader
const CATCH_UP = 0.5; // seconds a nudge takes to close a drift
function reviewState() {
  // In the browser only (not widget state, so never saved): rate, loop in/out points (seconds
  // on the leader's timeline, null = the clip's own ends), the solo cell, cells muted alone.
  return { rate: 1, inT: null, outT: null, solo: null, off: new Set() };
}
const fpsOf = (v) => +v.dataset.fps || FPS;
const frameOf = (v) => Math.floor(v.currentTime * fpsOf(v) + 1e-6);
const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));
function fmtFine(t) {
  return fmt(t) + "." + String(Math.floor((t % 1) * 100)).padStart(2, "0");
}
function button(cls, text, title, onClick) {
  const b = el("button", cls, text);
  b.title = title;
  b.addEventListener("click", onClick);
  return b;
}
// The second row of controls: frame steps, rate, loop in/out, and the keys' legend on hover.
function reviewTools(ctx) {
  const bar = el("div", "vidu-grid-tools");
  const back = button("vidu-grid-prev", "", "One frame back (,)", () => stepFrames(ctx, -1));
  const next = button("vidu-grid-next", "", "One frame forward (.)", () => stepFrames(ctx, 1));
  label(back, "prev", "Frame");
  label(next, "next", "Frame");
  const rate = el("select", "vidu-grid-rate");
  rate.title = "Playback rate (- and =)";
  for (const r of RATES) rate.append(Object.assign(el("option", "", `${r}x`), { value: r }));
  rate.addEventListener("change", () => setRate(ctx, +rate.value));
  const mark = (w) => () => markLoop(ctx, w);
  const inB = button("vidu-grid-in", "In", "Loop from here ([)", mark("in"));
  const outB = button("vidu-grid-out", "Out", "Loop up to this frame (])", mark("out"));
  const range = el("span", "vidu-grid-range");
  const clear = button("vidu-grid-clear", "Clear", "Play the whole clips (\\)", () => clearLoop(ctx));
  bar.append(back, next, rate, inB, outB, range, clear, legend(ctx));
  ctx.showTools = () => {
    const { rate: r, inT, outT } = ctx.rv;
    rate.value = String(r);
    inB.setAttribute("aria-pressed", inT !== null);
    outB.setAttribute("aria-pressed", outT !== null);
    const on = inT !== null || outT !== null;
    range.textContent = on ? `loop ${fmtFine(inT ?? 0)}-${fmtFine(outT ?? ctx.longest())}` : "";
    clear.hidden = !on;
  };
  ctx.showTools();
  return bar;
}
// What the keys do, listed for the legend (keep in step with keyMap): a row is shown while a
// key it names is the grid's (not taken by the front end around it, judging keys only with a
// judged cell).
const KEY_HELP = [
  ["space", "play / pause"],
  ["left right", "seek 1 s (shift: 5 s)"],
  [", .", "one frame back / forward"],
  ["[ ]", "loop in / out point"],
  ["\\", "clear the loop"],
  ["- =", "slower / faster"],
  ["m", "mute / unmute all"],
  ["s", "solo the cell under the pointer"],
  ["w", "A/B: pick the cell under the pointer (two: compare them)"],
  ["esc", "close the A/B comparison"],
  ["1-5 0", "stars for the cell under the pointer (0: none)"],
  ["p x", "pick / reject it (again: undo)"],
];
const NAMED = { space: " ", left: "ArrowLeft", right: "ArrowRight", "1-5": "1", esc: "Escape" };
function legend(ctx) {
  const keys = el("span", "vidu-grid-keys", "Keys");
  keys.tabIndex = 0;
  const box = el("div", "vidu-grid-legend");
  box.append(el("div", "vidu-grid-legend-head", "Click the grid, then:"));
  const rows = KEY_HELP.map(([k, what]) => {
    const row = el("div");
    row.append(el("kbd", "", k), what);
    box.append(row);
    return [row, k.split(" ").map((w) => NAMED[w] || w)];
  });
  keys.append(box);
  const own = ctx.use.keys || {};
  const live = (k) => {
    const f = !Object.hasOwn(own, k) && Object.hasOwn(ctx.keys, k) && ctx.keys[k];
    return !!f && (!f.judging || ctx.judged.size > 0) && (!f.when || f.when());
  };
  ctx.showLegend = () => rows.forEach(([row, ks]) => (row.hidden = !ks.some(live)));
  return keys;
}
// One dispatcher for every key of the grid: `keyMap` maps a key to its handler. A handler
// marked `hover` (judging) acts on the cell under the pointer, else the focused one, and also
// while the grid lacks the focus, with the pointer on a judged cell. A handler that returns
// false found nothing to act on: the key goes on, to the next map or the page.
function keyMap(ctx) {
  const keys = {
    " ": () => togglePlay(ctx),
    ArrowLeft: (e) => seekBy(ctx, e.shiftKey ? -5 : -1),
    ArrowRight: (e) => seekBy(ctx, e.shiftKey ? 5 : 1),
    ",": () => stepFrames(ctx, -1),
    ".": () => stepFrames(ctx, 1),
    "[": () => markLoop(ctx, "in"),
    "]": () => markLoop(ctx, "out"),
    "\\": () => clearLoop(ctx),
    "-": () => stepRate(ctx, -1),
    "=": () => stepRate(ctx, 1),
    "+": () => stepRate(ctx, 1),
    m: () => toggleMute(ctx),
  };
  const solo = (cell) => toggleSolo(ctx, cell.dataset.key);
  if (ctx.use.cellTools) keys.s = (e) => onCell(ctx, e, (c) => ctx.cellOf.has(c.dataset.key), solo);
  if (ctx.use.cellTools) {
    const when = () => canPair(ctx);
    const fits = (c) => ctx.cellOf.has(c.dataset.key) && !!c.querySelector(".vidu-player-ab"); // has a video
    const pick = (e) => when() && onCell(ctx, e, fits, (c) => togglePick(ctx, c.dataset.key));
    keys.w = Object.assign(pick, { when });
    keys.Escape = Object.assign(() => !!ctx.pair && (closePair(ctx, true), true), { hover: true, when });
  }
  const judging = (act) => {
    const f = (e) => onCell(ctx, e, (c) => ctx.judged.has(c), (c) => act(ctx.judged.get(c)));
    return Object.assign(f, { hover: true, judging: true });
  };
  const pick = (c, p) => c.judge({ pick: c.current().pick === p ? null : p }); // again: undone
  if (ctx.use.judging) {
    for (const n of [0, 1, 2, 3, 4, 5]) keys[n] = judging((c) => c.judge({ stars: n }));
    keys.p = judging((c) => pick(c, true));
    keys.x = judging((c) => pick(c, false));
  }
  return keys;
}
// The cell under the pointer, else the one with the focus, if `fits`: `act` on it; false if none.
function onCell(ctx, e, fits, act) {
  const focused = ctx.root.contains(e.target) ? e.target.closest(".vidu-player") : null;
  const cell = [ctx.hovered, focused].find((c) => c && fits(c));
  return cell ? (act(cell), true) : false;
}
// Typing is left alone: a note, a notebook's editor, a select's own arrows. A range slider is
// no typing: its arrows seek (the grid's keys), and in a duel they stay the slider's.
function typing(t) {
  const tag = t.tagName;
  return t.isContentEditable || tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && t.type !== "range");
}
// The one key listener of a grid: the window's, in the capture phase, so it runs before a
// notebook's own shortcuts (Notebook 7 listens on the document in that phase, JupyterLab when
// the key bubbles), which never see a key it took. It takes a key when the focus is in `scope`
// (the front end's own keys `own` first, then the grid's), or, for a `hover` key, when the
// pointer is on one of the grid's cells; a key another grid took is left alone.
function listenKeys(ctx, scope, own) {
  const onKey = (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    if (!e.target.closest || typing(e.target)) return;
    const focused = scope.contains(e.target);
    if (!focused && !ctx.hovered) return;
    if (ctx.pair && ctx.pair.panel.contains(e.target) && e.key !== "Escape") return; // the wipe's own
    for (const map of [own, ctx.keys]) {
      const f = Object.hasOwn(map, e.key) && map[e.key];
      if (!f || !(focused || f.hover) || f(e) === false) continue;
      e.preventDefault(); // not the page's scrolling, a focused button's click, the slider's step
      e.stopPropagation();
      return;
    }
  };
  window.addEventListener("keydown", onKey, true);
  return () => window.removeEventListener("keydown", onKey, true);
}
function togglePlay(ctx) {
  ctx.model.set("playing", !ctx.model.get("playing"));
  ctx.model.save_changes();
}
function toggleMute(ctx) {
  ctx.rv.solo = null;
  ctx.model.set("muted", !ctx.model.get("muted"));
  ctx.model.save_changes();
  applyAudio(ctx);
}
// Every video to moment `t` of the timeline; a shorter one to where its own loop is then.
function seekAll(ctx, t) {
  for (const v of ctx.list()) {
    const d = v.duration || 0;
    if (v.readyState > 0) v.currentTime = t > d && d ? t % d : t;
  }
}
function seekBy(ctx, dt) {
  const lead = ctx.leader();
  if (lead) seekAll(ctx, clamp(lead.currentTime + dt, 0, ctx.longest()));
}
// Pause, then move each video `n` frames at its own frame rate, to just inside the frame.
// Stepped while playing, every video counts from the leader's moment (all were within a frame
// of it, some maybe just past a frame's edge), so videos of one frame rate land on one frame;
// when paused, each counts from its own frame.
function stepFrames(ctx, n) {
  const lead = ctx.leader();
  const fromLead = ctx.model.get("playing") && lead;
  if (ctx.model.get("playing")) togglePlay(ctx);
  const t = fromLead ? lead.currentTime : 0;
  for (const v of ctx.list()) {
    if (v.readyState < 1) continue;
    const fps = fpsOf(v);
    const d = v.duration || 0;
    const now = fromLead ? (d && t >= d ? t % d : t) : v.currentTime;
    const last = Math.max(0, Math.round(d * fps) - 1);
    v.currentTime = clamp(Math.floor(now * fps + 1e-6) + n, 0, last) / fps + EPS;
  }
}
function setRate(ctx, r) {
  ctx.rv.rate = clamp(r, RATES[0], RATES[RATES.length - 1]);
  applyRate(ctx);
}
function stepRate(ctx, dir) {
  const i = RATES.indexOf(ctx.rv.rate);
  setRate(ctx, RATES[clamp((i < 0 ? RATES.indexOf(1) : i) + dir, 0, RATES.length - 1)]);
}
function applyRate(ctx) {
  for (const v of ctx.list()) v.defaultPlaybackRate = v.playbackRate = ctx.rv.rate; // a new src keeps it
  ctx.showTools();
}
// In: the start of the leader's current frame. Out: its end, so that frame is in the loop.
function markLoop(ctx, which) {
  const lead = ctx.leader();
  if (!lead) return;
  const rv = ctx.rv;
  const start = frameOf(lead) / fpsOf(lead);
  if (which === "in") {
    rv.inT = start;
    if (rv.outT !== null && rv.outT <= start) rv.outT = null;
  } else {
    rv.outT = start + 1 / fpsOf(lead);
    if (rv.inT !== null && rv.inT >= rv.outT) rv.inT = null;
  }
  ctx.showTools();
}
function clearLoop(ctx) {
  ctx.rv.inT = ctx.rv.outT = null;
  ctx.showTools();
}
// While playing: back to the in point before the leader shows a frame past the out point
// (`shown`: the media time of the frame it presents now, when the browser says), or when it
// is before the in point.
function keepInLoop(ctx, lead, shown) {
  const { inT, outT } = ctx.rv;
  if (inT === null && outT === null) return false;
  const start = inT ?? 0;
  const frame = 1 / fpsOf(lead);
  const next = shown === undefined ? lead.currentTime : shown + frame;
  if (next < (outT ?? Infinity) - EPS && lead.currentTime >= start - frame) return false;
  seekAll(ctx, start + EPS);
  return true;
}
// A cell's own Solo and Mute buttons, on its picture's corner, and its A/B toggle when the
// grid can compare two of its cells (see `togglePick`) and it has a video.
function cellTools(ctx, key, video) {
  const box = el("div", "vidu-player-tools");
  const solo = button("vidu-player-solo", "Solo", "Hear only this one (s)", () => toggleSolo(ctx, key));
  const mute = button("vidu-player-mute", "Mute", "Silence this one", () => toggleCellMute(ctx, key));
  box.append(solo, mute);
  if (video && canPair(ctx)) {
    const ab = button("vidu-player-ab", "A/B", "Pick for an A/B comparison (w)", () => togglePick(ctx, key));
    ab.setAttribute("aria-pressed", "false");
    box.append(ab);
  }
  return box;
}

// -- A/B: two cells picked in the grid are compared in a panel above its cells --------------
// The panel is drawn by the wipe's own `render` (the shared WipeCode widget the grid
// references as `wipe_code`, borrowed through host.getWidget) on a model that lives in this
// page only: its items are the two cells' videos as the grid already loaded them (blob or
// remote URLs), so opening it asks nothing of the kernel, busy or not. Only which pair is
// open is told to it (`wiped`, cell indexes).
function canPair(ctx) {
  return ctx.use.cellTools && !!ctx.model.get("wipe_code") && !!(ctx.host && ctx.host.getWidget);
}
function togglePick(ctx, key) {
  const picks = ctx.picks;
  const at = picks.indexOf(key);
  if (at >= 0) picks.splice(at, 1);
  else picks.push(key);
  if (picks.length > 2) picks.splice(0, picks.length - 2); // a third pick replaces the oldest
  closePair(ctx);
  showPicks(ctx);
  if (picks.length === 2) openPair(ctx);
}
function showPicks(ctx) {
  for (const [key, cell] of ctx.cellOf) {
    const at = ctx.picks.indexOf(key);
    const ab = cell.querySelector(".vidu-player-ab");
    cell.classList.toggle("vidu-picked", at >= 0);
    if (!ab) continue;
    ab.textContent = at < 0 ? "A/B" : "AB"[at];
    ab.setAttribute("aria-pressed", String(at >= 0));
  }
}
function pairItems(ctx) {
  const items = ctx.model.get("items") || [];
  return ctx.picks.map((key, i) => {
    const it = items.find((x) => x.key === key) || {};
    const v = ctx.vids.get(key);
    const url = v && v.getAttribute("src") ? v.src : "";
    return { key: "ab"[i], label: it.label || "", video_local: false, video_url: url };
  });
}
async function openPair(ctx) {
  const { model, root } = ctx;
  const keys = [...ctx.picks];
  for (const key of keys) ctx.load(key); // a cell not scrolled into view yet: load it now
  const panel = el("div", "vidu-grid-wipe");
  panel.tabIndex = -1;
  const head = el("div", "vidu-grid-wipe-head");
  const close = button("vidu-grid-wipe-close", "Close", "Close the A/B comparison (Esc)", () => closePair(ctx, true));
  head.append(el("span", "vidu-grid-wipe-title", "A/B comparison"), close);
  const box = el("div");
  panel.append(head, box);
  root.insertBefore(panel, root.querySelector(".vidu-grid-cells"));
  const posters = model.get("posters") || {};
  const state = {
    items: pairItems(ctx), posters: { a: posters[keys[0]], b: posters[keys[1]] },
    playing: model.get("playing"), muted: model.get("muted"), loop: model.get("loop"), mode: "wipe", split: 0.5,
  };
  const on = {};
  const local = {
    get: (k) => state[k],
    set: (k, v) => {
      state[k] = v;
      (on[`change:${k}`] || []).forEach((f) => f());
    },
    on: (ev, f) => (on[ev] ||= []).push(f),
    off: () => {},
    save_changes: () => {},
    // A remote URL that failed: the grid's kernel refreshes it, the cell's new source follows.
    send: (msg) => msg.type === "fetch" && model.send({ ...msg, key: keys["ab".indexOf(msg.key)] }),
  };
  const pair = { panel, keys, model: local, stop: null };
  pair.refresh = () => { // a source arrived: the panel's videos change only if theirs did
    const next = pairItems(ctx);
    if (JSON.stringify(next) !== JSON.stringify(state.items)) local.set("items", next);
  };
  ctx.pair = pair;
  const items = model.get("items") || [];
  model.set("wiped", keys.map((k) => items.findIndex((x) => x.key === k)));
  model.save_changes();
  const code = await ctx.host.getWidget(model.get("wipe_code"));
  if (ctx.pair !== pair) return; // closed while the code loaded
  pair.stop = code.exports.render({ model: local, el: box, host: ctx.host });
  panel.focus({ preventScroll: true });
}
// Close the panel (`done`: the user closed it, so the picks are cleared too).
function closePair(ctx, done) {
  const pair = ctx.pair;
  if (done) ctx.picks = [];
  if (pair) {
    ctx.pair = null;
    if (pair.stop) pair.stop();
    for (const v of pair.panel.querySelectorAll("video")) { // a removed video would play on
      v.pause();
      v.removeAttribute("src");
      v.load();
    }
    pair.panel.remove();
    ctx.model.set("wiped", []);
    ctx.model.save_changes();
    if (done && ctx.root.isConnected) ctx.root.focus({ preventScroll: true });
  }
  if (done) showPicks(ctx);
}
function toggleSolo(ctx, key) {
  ctx.rv.solo = ctx.rv.solo === key ? null : key;
  applyAudio(ctx);
}
function toggleCellMute(ctx, key) {
  const off = ctx.rv.off;
  if (off.has(key)) off.delete(key);
  else off.add(key);
  if (ctx.rv.solo === key) ctx.rv.solo = null;
  applyAudio(ctx);
}
// Solo wins (only that cell is heard, even when all are muted); else the grid's Mute, then
// each cell's own.
function applyAudio(ctx) {
  const { solo, off } = ctx.rv;
  for (const [key, v] of ctx.vids) {
    v.muted = solo !== null ? key !== solo : ctx.model.get("muted") || off.has(key);
    if (!ctx.use.cellTools) continue;
    const cell = ctx.cellOf.get(key);
    cell.querySelector(".vidu-player-solo").setAttribute("aria-pressed", solo === key);
    cell.querySelector(".vidu-player-mute").setAttribute("aria-pressed", off.has(key));
  }
}
// Drift correction runs once per frame the leader presents (requestVideoFrameCallback), or
// on timeupdate (about 4 a second) where the browser lacks it.
function watchFrames(ctx, v) {
  if (!("requestVideoFrameCallback" in v)) {
    v.addEventListener("timeupdate", () => v === ctx.leader() && sync(ctx, v));
    return;
  }
  const tick = (_now, meta) => {
    if (!v.isConnected) return; // a rebuilt grid: this video is gone
    if (v === ctx.leader()) sync(ctx, v, meta.mediaTime);
    v.requestVideoFrameCallback(tick);
  };
  v.requestVideoFrameCallback(tick);
}
// Keep every playing video within a frame of the leader: a small drift is closed by nudging
// the follower's rate (at most NUDGE), more than a frame by a seek. A shorter video follows
// the leader modulo its own length (where its own loop is); one of about the leader's length
// is left alone past its end (it is about to loop).
function sync(ctx, lead, shown) {
  if (!ctx.model.get("playing") || lead.paused || lead.seeking) return;
  if (keepInLoop(ctx, lead, shown)) return;
  const t = lead.currentTime;
  const base = ctx.rv.rate;
  for (const v of ctx.list()) {
    if (v === lead || v.readyState < 2 || v.seeking || v.paused) continue;
    const d = v.duration || 0;
    const shorter = d && d < (lead.duration || 0) - 0.2;
    if (!shorter && t >= d) continue;
    const target = shorter ? t % d : t;
    let drift = v.currentTime - target;
    if (shorter && Math.abs(drift) > d / 2) drift -= Math.sign(drift) * d; // across its loop
    const frame = 1 / fpsOf(v);
    if (Math.abs(drift) > frame) {
      v.currentTime = target + frame / 2; // it restarts a moment later: aim a little ahead
      v.playbackRate = base;
    } else {
      const nudge = Math.abs(drift) < frame / 8 ? 0 : clamp(drift / CATCH_UP, -NUDGE, NUDGE);
      const r = Math.round(base * (1 - nudge) * 1000) / 1000;
      if (v.playbackRate !== r) v.playbackRate = r;
    }
  }
}
export default { initialize: () => ({ render }) };
