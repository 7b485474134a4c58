"""Render the grid's front-end code in a blank Chromium page, without Jupyter.

``RENDER`` imports ``VideoGrid._esm`` (exactly what a notebook receives) and renders it with a
stand-in for the widget model, kept as ``window[<grid id>]`` so a test can read what the
front end set (``playing``, ``muted``). Clips are data URLs, so no server is needed either.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image

from vidu_nb.simulator.video import encode

RENDER = """
async ({esm, items, cols, extra}) => {
  const host = document.createElement("div");
  host.id = "grid" + document.querySelectorAll("[id^=grid]").length;
  document.body.append(host);
  const state = {items, cols, playing: false, muted: true, loop: true, controls: false,
                 row_titles: [], col_titles: [], note: "", ...(extra || {})};
  const handlers = {};
  const model = {
    get: (k) => state[k],
    set: (k, v) => { state[k] = v; (handlers["change:" + k] || []).forEach((f) => f()); },
    save_changes: () => {},
    on: (ev, f) => { (handlers[ev] ||= []).push(f); },
    send: () => {},
  };
  const url = URL.createObjectURL(new Blob([esm], {type: "text/javascript"}));
  const mod = await import(url);
  await mod.default.render({model, el: host});
  window[host.id] = model;
  return host.id;
}
"""


def png(width: int = 320, height: int = 180, color=(200, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def clip(folder: Path, seconds: float = 1.0, height: int = 96, color=(200, 120, 40)) -> str:
    """A real H.264 clip of ``seconds`` as a data URL."""
    files = encode(png(color=color), seconds, height, 8, folder / f"clip-{seconds:g}-{height}")
    return "data:video/mp4;base64," + base64.b64encode(files.video.read_bytes()).decode()


def items(n: int, url: str | list[str], labels: list[str] | None = None) -> list[dict]:
    urls = url if isinstance(url, list) else [url] * n
    return [
        {"key": f"{i}", "label": labels[i] if labels else f"seed={i}", "meta": ["success"],
         "state": "success", "video_local": False, "video_url": urls[i], "poster_local": False,
         "poster_url": ""}
        for i in range(n)
    ]  # fmt: skip


def render(page, esm: str, cells: list[dict], cols: int, **extra) -> str:
    return page.evaluate(RENDER, {"esm": esm, "items": cells, "cols": cols, "extra": extra})


def boxes(page, grid_id: str, selector: str) -> list[list[float]]:
    return page.eval_on_selector_all(
        f"#{grid_id} {selector}",
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return [Math.round(r.x), Math.round(r.y), r.width, r.height]; })",
    )
