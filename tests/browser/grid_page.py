"""Render the grid's front-end code in a blank Chromium page, without Jupyter.

``RENDER`` does what anywidget does with exactly what a notebook receives: it loads the shared
``PlayerCode`` module and CSS once per page (its ``initialize`` gives the exports), then
imports a grid's own ``_esm`` (the loader) and renders it with a stand-in for the widget model
and a ``host`` whose ``getWidget`` answers the grid's ``code`` reference. The model is kept as
``window[<grid id>]`` so a test can read what the front end set (``playing``, ``muted``).
Clips are data URLs, so no server is needed either. A test that exposes ``window.toKernel``
receives what the front end sends (``model.send``) and answers with the changed traits and
the messages sent back.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image

from vidu_nb.simulator.video import encode
from vidu_nb.ui.player import PlayerCode, VideoGrid
from vidu_nb.ui.wipe import WipeCode

#: The reference a grid's ``wipe_code`` holds here (give ``wipe_code=WIPE`` to ``render``).
WIPE = "anywidget:wipe-code"
RENDER = """
async ({loader, code, css, wipe, items, cols, extra}) => {
  const load = async (text) => {
    const url = URL.createObjectURL(new Blob([text], {type: "text/javascript"}));
    return (await import(url)).default;
  };
  window.playerCode ||= (async () => {
    document.head.append(Object.assign(document.createElement("style"), {textContent: css}));
    return (await load(code)).initialize({});
  })();
  // The shared WipeCode likewise, loaded when a grid first asks for it (its A/B panel).
  const wipeCode = () => (window.wipeCode ||= (async () => {
    document.head.append(Object.assign(document.createElement("style"), {textContent: wipe.css}));
    return (await load(wipe.code)).initialize({});
  })());
  const ref = "anywidget:player-code";
  const widgets = {host: {getWidget: async (r) => {
    if (r === WIPE) return {exports: await wipeCode()};
    if (r !== ref) throw new Error("unknown widget " + r);
    return {exports: await window.playerCode};
  }}};
  const WIPE = wipe.ref;
  const host = document.createElement("div");
  host.id = "grid" + document.querySelectorAll("[id^=grid]").length;
  document.body.append(host);
  const state = {items, cols, playing: false, muted: true, loop: true, controls: false,
                 row_titles: [], col_titles: [], note: "", code: ref, ...(extra || {})};
  const handlers = {};
  const model = {
    get: (k) => state[k],
    set: (k, v) => { state[k] = v; (handlers["change:" + k] || []).forEach((f) => f()); },
    save_changes: () => {},
    on: (ev, f) => { (handlers[ev] ||= []).push(f); },
    // A test may stand in for the kernel: window.toKernel(gridId, msg) answers with the
    // traits the kernel changed, set here as the widget manager would, and in "messages" the
    // custom messages it sent back.
    send: (msg) => window.toKernel && window.toKernel(host.id, msg).then((changed) => {
      const { messages, ...traits } = changed || {};
      for (const [k, v] of Object.entries(traits)) model.set(k, v);
      for (const m of messages || []) (handlers["msg:custom"] || []).forEach((f) => f(m, []));
    }),
  };
  await (await load(loader)).render({model, el: host, ...widgets});
  window[host.id] = model;
  return host.id;
}
"""


def png(width: int = 320, height: int = 180, color=(200, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def clip(
    folder: Path, seconds: float = 1.0, height: int = 96, color=(200, 120, 40), fps: int = 8
) -> str:
    """A real H.264 clip of ``seconds`` at ``fps`` frames a second, as a data URL."""
    name = f"clip-{seconds:g}-{height}-{fps}-" + "-".join(map(str, color))
    files = encode(png(color=color), seconds, height, fps, folder / name)
    return "data:video/mp4;base64," + base64.b64encode(files.video.read_bytes()).decode()


def items(
    n: int, url: str | list[str], labels: list[str] | None = None, fps: list[float] | None = None
) -> list[dict]:
    """Grid items as ``entries_for`` makes them; ``fps`` per item as the kernel would say."""
    urls = url if isinstance(url, list) else [url] * n
    return [
        {"key": f"{i}", "label": labels[i] if labels else f"seed={i}", "meta": ["success"],
         "state": "success", "video_local": False, "video_url": urls[i], "poster_local": False,
         "poster_url": "", **({"fps": fps[i]} if fps else {})}
        for i in range(n)
    ]  # fmt: skip


def render(page, cells: list[dict], cols: int, **extra) -> str:
    """Render a grid of ``cells`` as a notebook would; returns its element's id."""
    code = {"loader": VideoGrid._esm, "code": PlayerCode._esm, "css": PlayerCode._css}
    code["wipe"] = {"code": WipeCode._esm, "css": WipeCode._css, "ref": WIPE}
    return page.evaluate(RENDER, {**code, "items": cells, "cols": cols, "extra": extra})


def boxes(page, grid_id: str, selector: str) -> list[list[float]]:
    return page.eval_on_selector_all(
        f"#{grid_id} {selector}",
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return [Math.round(r.x), Math.round(r.y), r.width, r.height]; })",
    )
