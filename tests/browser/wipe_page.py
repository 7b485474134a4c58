"""Render the wipe's front-end code in a blank Chromium page, without Jupyter.

Like ``grid_page``: the shared ``WipeCode`` module and CSS are loaded once per page, a wipe's
own ``_esm`` (the loader) is rendered with a stand-in for the widget model and a ``host``
whose ``getWidget`` answers its ``code`` reference. The stand-in plays the kernel too: a
``fetch`` the page sends is answered as ``Wipe.answer_fetch`` answers it, with a ``blob``
message carrying the video's bytes as a binary buffer (``videos`` maps item keys to them).
The model is kept as ``window[<wipe id>]``.
"""

from __future__ import annotations

import base64
from pathlib import Path

from vidu_nb.ui.wipe import Wipe, WipeCode

#: B's lag behind A (seconds, across a loop's wrap) at every animation frame for ``ms`` of
#: playing; the two videos are the first two that ``selector`` finds.
LAGS = """([selector, ms]) => new Promise((done) => {
  const [a, b] = document.querySelectorAll(selector);
  const out = [];
  const end = performance.now() + ms;
  const tick = () => {
    let d = b.currentTime - a.currentTime;
    if (Math.abs(d) > b.duration / 2) d -= Math.sign(d) * b.duration;
    out.push(d);
    if (performance.now() < end) requestAnimationFrame(tick); else done(out);
  };
  requestAnimationFrame(tick);
})"""
TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"

RENDER = """
async ({loader, code, css, items, videos, extra}) => {
  const load = async (text) => {
    const url = URL.createObjectURL(new Blob([text], {type: "text/javascript"}));
    return (await import(url)).default;
  };
  window.wipeCode ||= (async () => {
    document.head.append(Object.assign(document.createElement("style"), {textContent: css}));
    return (await load(code)).initialize({});
  })();
  const ref = "anywidget:wipe-code";
  const widgets = {host: {getWidget: async (r) => {
    if (r !== ref) throw new Error("unknown widget " + r);
    return {exports: await window.wipeCode};
  }}};
  const host = document.createElement("div");
  host.id = "wipe" + document.querySelectorAll("[id^=wipe]").length;
  document.body.append(host);
  const state = {items, playing: false, muted: true, loop: true, mode: "wipe", split: 0.5,
                 posters: {}, code: ref, ...(extra || {})};
  const handlers = {};
  const fire = (ev, ...args) => (handlers[ev] || []).forEach((f) => f(...args));
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer;
  const model = {
    get: (k) => state[k],
    set: (k, v) => { state[k] = v; fire("change:" + k); },
    save_changes: () => { model.saved = (model.saved || 0) + 1; },
    on: (ev, f) => { (handlers[ev] ||= []).push(f); },
    sent: [],
    send: (msg) => {
      model.sent.push(msg);
      const data = videos[msg.key];
      setTimeout(() => data
        ? fire("msg:custom", {type: "blob", key: msg.key, what: msg.what, mime: "video/mp4"},
               [bytes(data)])
        : fire("msg:custom", {type: "missing", key: msg.key, what: msg.what}), 0);
    },
  };
  await (await load(loader)).render({model, el: host, ...widgets});
  window[host.id] = model;
  return host.id;
}
"""


#: The canvas's mean of each channel (0..255) and its brightest channel value.
PIXELS = """w => {
  const c = document.querySelector(`#${w} .vidu-wipe-diff`);
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  const sum = [0, 0, 0];
  let max = 0;
  for (let i = 0; i < d.length; i += 4)
    for (let k = 0; k < 3; k++) { sum[k] += d[i + k]; max = Math.max(max, d[i + k]); }
  const n = d.length / 4;
  return {mean: sum.map((s) => s / n), max, size: [c.width, c.height]};
}"""


def items(labels: tuple[str, str] = ("A clip", "B clip")) -> list[dict]:
    """A and B as ``Wipe`` sends them for cached files: fetched from the kernel."""
    return [
        {"key": key, "label": label, "meta": ["success"], "state": "success",
         "video_local": True, "video_url": "", "poster_local": False, "poster_url": ""}
        for key, label in zip("ab", labels, strict=True)
    ]  # fmt: skip


def render(page, a: Path, b: Path, labels=("A clip", "B clip"), **extra) -> str:
    """Render a wipe of the video files ``a`` and ``b``; returns its element's id."""
    videos = {key: base64.b64encode(p.read_bytes()).decode() for key, p in (("a", a), ("b", b))}
    code = {"loader": Wipe._esm, "code": WipeCode._esm, "css": WipeCode._css}
    args = {**code, "items": items(labels), "videos": videos, "extra": extra}
    return page.evaluate(RENDER, args)
