// Blind duel: two players of one pair (drawn by the shared player module: one control plays,
// pauses and seeks both), buttons and keys for the verdict, the progress, and at the end the
// results (tables of text). The page never learns which video is which: its state holds two
// opaque keys, the videos come as blob URLs. Text is set with textContent only.
// This module is the shared DuelCode widget's (saved once per notebook); each duel's own
// module borrows `render` from its exports through anywidget's host.getWidget.
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
// Keys (also in each button's tooltip). Arrows point at the better video, Down is neither.
const KEYS = {
  ArrowLeft: "left", 1: "left",
  ArrowDown: "tie", t: "tie", T: "tie", 0: "tie",
  ArrowRight: "right", 2: "right",
  s: "skip", S: "skip",
  u: "undo", U: "undo", Backspace: "undo",
};
const ACTIONS = [
  ["left", "Left is better", "Left is better (keys: Left arrow or 1)", "Left / 1"],
  ["tie", "Tie", "About the same (keys: Down arrow, T or 0)", "Down / T / 0"],
  ["right", "Right is better", "Right is better (keys: Right arrow or 2)", "Right / 2"],
  ["skip", "Skip", "Next pair without a vote (key: S)", "S"],
  ["undo", "Undo", "Back to the last pair; its vote is removed from the log (keys: U or Backspace)", "U"],
];
async function render(ctx) {
  const { model, el: host } = ctx;
  const player = (await ctx.host.getWidget(model.get("player"))).exports;
  host.classList.add("vidu-duel"); // here, not in widget state: it would be saved per duel
  const root = el("div", "vidu-duel-root");
  root.tabIndex = 0; // clicked, it takes the keys
  root.setAttribute("data-lm-suppress-shortcuts", "true"); // JupyterLab's own keys stay out
  const head = el("div", "vidu-duel-head");
  const question = el("span", "vidu-duel-question", "Which video is better?");
  const progress = el("span", "vidu-duel-progress");
  head.append(question, progress);
  const stage = el("div", "vidu-duel-stage");
  const bar = el("div", "vidu-duel-bar");
  const buttons = {};
  for (const [action, text, tip, keys] of ACTIONS) {
    const b = el("button", `vidu-duel-btn vidu-duel-${action}`, text);
    b.title = tip;
    b.setAttribute("aria-keyshortcuts", keys.replace(/ \/ /g, " "));
    b.append(el("kbd", "vidu-duel-kbd", keys));
    b.addEventListener("click", () => act(action));
    buttons[action] = b;
    bar.append(b);
  }
  const status = el("div", "vidu-duel-status");
  const summary = el("div", "vidu-duel-summary");
  root.append(head, stage, bar, status, summary);
  host.append(root);
  const stop = player.render({ ...ctx, el: stage });
  let waiting = false; // a verdict was sent: no second one until the kernel moved on
  function act(action) {
    if (action === "undo") {
      if (!model.get("can_undo")) return;
    } else if (model.get("done") || waiting) return;
    waiting = action !== "undo";
    const msg = { type: action === "skip" || action === "undo" ? action : "vote" };
    if (msg.type === "vote") msg.choice = action;
    if (action !== "undo") msg.pair = model.get("position");
    model.send(msg);
  }
  root.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target.closest && e.target.closest("input, textarea, select")) return; // the slider
    const action = KEYS[e.key];
    if (!action) return;
    e.preventDefault(); // JupyterLab ignores a handled key: Down does not select the next cell
    e.stopPropagation();
    act(action);
  });
  function update() {
    waiting = false;
    const done = model.get("done");
    const total = model.get("total");
    const at = Math.min(model.get("position") + 1, total);
    progress.textContent = total ? `${at} of ${total}` : "no pairs";
    question.textContent = done ? "Every pair judged" : "Which video is better?";
    stage.hidden = done;
    for (const a of ["left", "tie", "right", "skip"]) buttons[a].hidden = done;
    buttons.undo.disabled = !model.get("can_undo");
    status.textContent = model.get("status") || "";
    summary.replaceChildren(...(done ? model.get("results") || [] : []).map(table));
  }
  // One of the kernel's tables of text: the standings, or which video was which.
  function table({ title, columns, rows }) {
    const box = el("div", "vidu-duel-result");
    const t = el("table");
    const head = el("tr");
    for (const c of columns) head.append(el("th", "", c));
    t.append(el("thead"), el("tbody"));
    t.tHead.append(head);
    for (const row of rows) {
      const tr = el("tr");
      for (const v of row) tr.append(el("td", "", v));
      t.tBodies[0].append(tr);
    }
    box.append(el("div", "vidu-duel-caption", title), rows.length ? t : el("i", "", "No votes yet."));
    return box;
  }
  for (const k of ["position", "total", "done", "can_undo", "status", "results"])
    model.on(`change:${k}`, update);
  update();
  return () => {
    if (typeof stop === "function") stop();
  };
}
export default { initialize: () => ({ render }) };
