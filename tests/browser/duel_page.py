"""A duel in a blank Chromium page, wired to a real ``Duel`` widget in this process.

``RENDER`` loads the shared ``PlayerCode`` and ``DuelCode`` modules as anywidget would (once per
page, their ``initialize`` gives the exports), imports the duel's own ``_esm`` (the loader) and
renders it with a stand-in for the widget model. What the page sends (``model.send``) is queued
in the page; ``Bridge.pump`` hands it to the widget's message handler as the comm does, then
sends back what changed in the widget's state and the custom messages the kernel answered with
(the videos' bytes as binary buffers). So keys pressed in Chromium reach the task log.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from vidu_nb.ui.duel import Duel, DuelCode
from vidu_nb.ui.player import PlayerCode

RENDER = """
async ({loader, modules, state}) => {
  const load = async (text) => {
    const url = URL.createObjectURL(new Blob([text], {type: "text/javascript"}));
    return (await import(url)).default;
  };
  window.codes ||= {};
  for (const [ref, {code, css}] of Object.entries(modules)) {
    window.codes[ref] ||= (async () => {
      document.head.append(Object.assign(document.createElement("style"), {textContent: css}));
      return (await load(code)).initialize({});
    })();
  }
  const host = document.createElement("div");
  host.id = "duel" + document.querySelectorAll("[id^=duel]").length;
  document.body.append(host);
  const handlers = {};
  const emit = (ev, ...args) => (handlers[ev] || []).forEach((f) => f(...args));
  const model = {
    get: (k) => state[k],
    set: (k, v) => { state[k] = v; emit("change:" + k); },
    save_changes: () => {},
    on: (ev, f) => { (handlers[ev] ||= []).push(f); },
    send: (msg) => window[host.id + "_sent"].push(msg),
    emit,
  };
  window[host.id + "_sent"] = [];
  const widgets = {host: {getWidget: async (ref) => ({exports: await window.codes[ref]})}};
  await (await load(loader)).render({model, el: host, ...widgets});
  window[host.id] = model;
  return host.id;
}
"""

UPDATE = """([id, changes]) => {
  const m = window[id];
  for (const [k, v] of Object.entries(changes))
    if (JSON.stringify(m.get(k)) !== JSON.stringify(v)) m.set(k, v);
}"""

CUSTOM = """([id, msg, data]) => {
  const bytes = Uint8Array.from(atob(data || ""), (c) => c.charCodeAt(0));
  window[id].emit("msg:custom", msg, data === null ? [] : [bytes.buffer]);
}"""

#: The duel's synced traits the page draws from (the widget references stay page-side).
KEYS = (
    "items", "cols", "playing", "muted", "loop", "controls", "row_titles", "col_titles", "note",
    "posters", "position", "total", "can_undo", "done", "status", "results",
)  # fmt: skip


class Bridge:
    """One rendered duel and its widget (created with the ``frontend`` recording comm)."""

    def __init__(self, page: Any, widget: Duel) -> None:
        self.page, self.widget = page, widget
        self._answered = 0
        state = {k: v for k, v in widget.get_state().items() if k in KEYS}
        modules = {
            "player": {"code": PlayerCode._esm, "css": PlayerCode._css},
            "duel": {"code": DuelCode._esm, "css": DuelCode._css},
        }
        state.update(code="duel", player="player")
        self.id = page.evaluate(RENDER, {"loader": widget._esm, "modules": modules, "state": state})
        self._pushed = self.state()

    def state(self) -> dict[str, Any]:
        return json.loads(json.dumps({k: self.widget.get_state()[k] for k in KEYS}))

    def pump(self) -> list[str]:
        """Deliver the page's messages to the widget and its answers to the page; the types of
        the messages the page had sent."""
        sent = self.page.evaluate("id => window[id + '_sent'].splice(0)", self.id)
        for msg in sent:
            self.widget.comm.from_browser(msg)
        now = self.state()  # only what the kernel changed, as a comm sends it
        changed = {k: v for k, v in now.items() if self._pushed.get(k) != v}
        self._pushed = now
        self.page.evaluate(UPDATE, [self.id, changed])
        answers = self.widget.comm.sent[self._answered :]
        self._answered += len(answers)
        for msg, buffers in answers:
            data = base64.b64encode(buffers[0]).decode() if buffers else None
            self.page.evaluate(CUSTOM, [self.id, msg, data])
        return [str(msg.get("type")) for msg in sent]
