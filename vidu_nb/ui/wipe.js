// A/B comparison of two videos on one clock: A over B split by a draggable divider, the two
// side by side, or |A - B| per pixel drawn on a canvas for every frame (a "difference"
// composite). One control plays, pauses and seeks both; B follows A's clock: at every frame
// of A, B's playback rate is nudged towards A's time (seeked when far off).
// Videos arrive as the grid's do: local files from the kernel as binary buffers turned into
// blob URLs (never saved), remote URLs asked of the kernel again when they fail (expired).
// User text is set with textContent only. This module is the shared WipeCode widget's (saved
// once per notebook); each wipe's own module borrows `render` through host.getWidget.
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
const MODES = [["wipe", "Wipe"], ["side", "Side by side"], ["difference", "Difference"]];
const STEP = 0.02; // an arrow key moves the divider by 2 % (with Shift, 10 %)
const GAIN = 4; // B's rate is off by 4x its lag in seconds (clamped), so a lag halves quickly
const FAR = 0.25; // a lag beyond this many seconds is a seek, not a nudge
const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));
const dur = (v) => (isFinite(v.duration) ? v.duration : 0);
function render({ model, el: host }) {
  host.classList.add("vidu-wipe"); // here, not in widget state: it would be saved per wipe
  const root = el("div", "vidu-wipe-root");
  host.appendChild(root);
  const blobs = [];
  let seeking = false;
  let dragging = false;
  let closed = false;
  const bar = el("div", "vidu-wipe-bar");
  const play = el("button", "vidu-wipe-play");
  const seek = el("input", "vidu-wipe-seek");
  Object.assign(seek, { type: "range", min: 0, max: 1000, value: 0, step: 1 });
  seek.setAttribute("aria-label", "Time");
  const clock = el("span", "vidu-wipe-time", "0:00");
  const modes = el("div", "vidu-wipe-modes");
  modes.setAttribute("role", "group");
  modes.setAttribute("aria-label", "View");
  const modeButtons = new Map();
  for (const [m, text] of MODES) {
    const b = el("button", "vidu-wipe-mode", text);
    b.dataset.mode = m;
    b.addEventListener("click", () => {
      model.set("mode", m);
      model.save_changes();
    });
    modeButtons.set(m, b);
    modes.append(b);
  }
  bar.append(play, seek, clock, modes);
  const names = el("div", "vidu-wipe-names");
  const stage = el("div", "vidu-wipe-stage");
  const vids = {};
  const nameOf = {};
  for (const key of ["a", "b"]) {
    const name = el("div", `vidu-wipe-name vidu-wipe-name-${key}`);
    name.append(el("span", "vidu-wipe-badge", key.toUpperCase()), el("span", "vidu-wipe-label"));
    names.append(name);
    nameOf[key] = name;
    const v = el("video", `vidu-wipe-video vidu-wipe-${key}`);
    Object.assign(v, { muted: true, playsInline: true, preload: "auto" });
    v.addEventListener("error", () => {
      if (v.src && !v.src.startsWith("blob:") && !v.dataset.retried) {
        v.dataset.retried = "1";
        model.send({ type: "fetch", key, what: "video", retry: true });
      } else if (v.src) name.classList.add("vidu-wipe-error");
    });
    vids[key] = v;
  }
  const [va, vb] = [vids.a, vids.b];
  const canvas = el("canvas", "vidu-wipe-diff");
  const ctx = canvas.getContext("2d");
  const divider = el("div", "vidu-wipe-divider");
  divider.tabIndex = 0;
  divider.setAttribute("role", "slider");
  divider.setAttribute("aria-label", "Divider: A on its left, B on its right");
  divider.setAttribute("aria-valuemin", "0");
  divider.setAttribute("aria-valuemax", "100");
  divider.setAttribute("data-lm-suppress-shortcuts", "true"); // arrows are ours, not Lab's
  stage.append(va, vb, canvas, divider);
  root.append(bar, names, stage);

  const both = () => [va, vb];
  // B at A's time (a shorter B where its own loop would be, as in a grid).
  function target() {
    const t = va.currentTime;
    const d = dur(vb);
    return d && t > d ? t % d : t;
  }
  // How far B is ahead of A (negative: behind), across a loop's wrap.
  function lag() {
    let d = vb.currentTime - target();
    const total = dur(vb);
    if (total && Math.abs(d) > total / 2) d -= Math.sign(d) * total;
    return d;
  }
  function follow() {
    if (seeking || !model.get("playing") || va.paused || vb.readyState < 2) return;
    if (vb.paused) vb.play().catch(() => {});
    const d = lag();
    if (Math.abs(d) > FAR) {
      vb.currentTime = target();
      vb.playbackRate = va.playbackRate;
    } else vb.playbackRate = va.playbackRate * clamp(1 - GAIN * d, 0.5, 1.5);
  }
  function draw() {
    if (model.get("mode") !== "difference") return;
    const w = va.videoWidth || vb.videoWidth;
    const h = va.videoHeight || vb.videoHeight;
    if (!w || !h) return;
    if (canvas.width !== w || canvas.height !== h) Object.assign(canvas, { width: w, height: h });
    ctx.globalCompositeOperation = "copy";
    if (va.readyState >= 2) ctx.drawImage(va, 0, 0, w, h);
    else ctx.clearRect(0, 0, w, h);
    ctx.globalCompositeOperation = "difference";
    if (vb.readyState >= 2) ctx.drawImage(vb, 0, 0, w, h);
    ctx.globalCompositeOperation = "source-over";
  }
  // Every frame of A: keep B on A's clock and draw the difference; every frame of B: draw.
  function onFrame(v) {
    if (v === va) follow();
    draw();
  }
  const rvfc = "requestVideoFrameCallback" in HTMLVideoElement.prototype;
  if (rvfc) {
    for (const v of both()) {
      const tick = () => {
        if (closed) return;
        onFrame(v);
        v.requestVideoFrameCallback(tick);
      };
      v.requestVideoFrameCallback(tick);
    }
  } else {
    const loop = () => {
      if (closed) return;
      onFrame(va);
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  }
  for (const v of both()) {
    v.addEventListener("seeked", draw);
    v.addEventListener("loadeddata", draw);
    v.addEventListener("loadedmetadata", () => {
      const w = va.videoWidth || v.videoWidth;
      const h = va.videoHeight || v.videoHeight;
      if (w && h) stage.style.setProperty("--vidu-wipe-ar", `${w} / ${h}`);
      if (model.get("playing")) start();
    });
  }

  function start() {
    if (!va.src || !vb.src) return;
    if (vb.readyState > 0 && va.readyState > 0) vb.currentTime = target();
    for (const v of both()) v.play().catch(() => {});
  }
  function applyPlaying() {
    const on = model.get("playing");
    play.replaceChildren(el("span", `vidu-wipe-icon vidu-wipe-icon-${on ? "pause" : "play"}`), on ? "Pause" : "Play");
    if (on) start();
    else {
      for (const v of both()) v.pause();
      vb.playbackRate = va.playbackRate;
      if (vb.readyState > 0) vb.currentTime = target(); // paused: the same moment exactly
    }
  }
  function applySplit() {
    const s = clamp(Number(model.get("split")) || 0, 0, 1);
    const pct = +(s * 100).toFixed(2);
    va.style.clipPath = model.get("mode") === "wipe" ? `inset(0 ${+(100 - pct).toFixed(2)}% 0 0)` : "";
    divider.style.left = `${pct}%`;
    divider.setAttribute("aria-valuenow", String(Math.round(pct)));
    divider.setAttribute("aria-valuetext", `A ${Math.round(pct)} %, B ${Math.round(100 - pct)} %`);
  }
  function applyMode() {
    const m = model.get("mode");
    root.dataset.mode = m;
    for (const [k, b] of modeButtons) b.setAttribute("aria-pressed", String(k === m));
    canvas.hidden = m !== "difference";
    divider.hidden = m !== "wipe";
    applySplit();
    draw();
  }
  function setSrc(v, url) {
    v.src = url;
    if (model.get("playing")) start();
  }
  function load() {
    const items = model.get("items") || [];
    const posters = model.get("posters") || {};
    for (const key of ["a", "b"]) {
      const it = items.find((i) => i.key === key) || {};
      const v = vids[key];
      nameOf[key].querySelector(".vidu-wipe-label").textContent = it.label || "";
      nameOf[key].classList.remove("vidu-wipe-error");
      delete v.dataset.retried;
      if (posters[key]) v.poster = posters[key]; // saved with the state: needs no kernel
      if (it.video_local) model.send({ type: "fetch", key, what: "video" });
      else if (it.video_url) setSrc(v, it.video_url);
      else v.removeAttribute("src");
    }
  }
  model.on("msg:custom", (msg, buffers) => {
    const v = vids[msg.key];
    if (!v || msg.what !== "video") return;
    if (msg.type === "missing") nameOf[msg.key].classList.add("vidu-wipe-error");
    let url = msg.type === "url" ? msg.url : null;
    if (msg.type === "blob" && buffers && buffers.length) {
      url = URL.createObjectURL(new Blob([buffers[0]], { type: msg.mime }));
      blobs.push(url);
    }
    if (url) setSrc(v, url);
  });

  // The divider: dragged (a press anywhere on the stage puts it there) or moved with arrows.
  function splitAt(x) {
    const r = stage.getBoundingClientRect();
    if (r.width) model.set("split", clamp((x - r.left) / r.width, 0, 1));
  }
  stage.addEventListener("pointerdown", (e) => {
    if (model.get("mode") !== "wipe" || e.button !== 0) return;
    dragging = true;
    stage.setPointerCapture(e.pointerId);
    splitAt(e.clientX);
    divider.focus({ preventScroll: true });
    e.preventDefault();
  });
  stage.addEventListener("pointermove", (e) => dragging && splitAt(e.clientX));
  const drop = () => {
    if (!dragging) return;
    dragging = false;
    model.save_changes();
  };
  stage.addEventListener("pointerup", drop);
  stage.addEventListener("pointercancel", drop);
  stage.addEventListener("lostpointercapture", drop); // released anywhere: the place is kept
  divider.addEventListener("keydown", (e) => {
    const s = Number(model.get("split")) || 0;
    const step = e.shiftKey ? 5 * STEP : STEP;
    const to = { ArrowLeft: s - step, ArrowRight: s + step, Home: 0, End: 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    e.stopPropagation();
    model.set("split", +clamp(to, 0, 1).toFixed(4));
    model.save_changes();
  });

  play.addEventListener("click", () => {
    model.set("playing", !model.get("playing"));
    model.save_changes();
  });
  seek.addEventListener("input", () => {
    seeking = true;
    const t = (seek.value / 1000) * dur(va);
    if (va.readyState > 0) va.currentTime = t;
    if (vb.readyState > 0) vb.currentTime = target();
    clock.textContent = fmt(t);
  });
  seek.addEventListener("change", () => {
    seeking = false;
    if (vb.readyState > 0) vb.currentTime = target();
  });
  const timer = setInterval(() => {
    if (seeking) return;
    const total = dur(va);
    seek.value = total ? Math.round((va.currentTime / total) * 1000) : 0;
    clock.textContent = `${fmt(va.currentTime)} / ${fmt(total)}`;
  }, 200);
  const muted = () => both().forEach((v) => (v.muted = model.get("muted")));
  const looping = () => both().forEach((v) => (v.loop = model.get("loop")));
  model.on("change:items", load);
  model.on("change:posters", () => {
    const posters = model.get("posters") || {};
    for (const key of ["a", "b"]) if (posters[key]) vids[key].poster = posters[key];
  });
  model.on("change:playing", applyPlaying);
  model.on("change:mode", applyMode);
  model.on("change:split", applySplit);
  model.on("change:muted", muted);
  model.on("change:loop", looping);
  muted();
  looping();
  load();
  applyMode();
  applyPlaying();
  return () => {
    closed = true;
    clearInterval(timer);
    blobs.forEach((u) => URL.revokeObjectURL(u));
  };
}
export default { initialize: () => ({ render }) };
