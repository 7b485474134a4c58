// What each grid widget carries: the player code (player.js + player.css), minified and
// gzipped, unpacked once per page and shared by every grid (the saved notebook stays small).
const PACKED = "__PACKED__";
const KEY = "__KEY__";
function unpack() {
  const cache = (globalThis.__viduGrid ||= {});
  cache[KEY] ||= (async () => {
    const bytes = Uint8Array.from(atob(PACKED), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    const { js, css } = JSON.parse(await new Response(stream).text());
    const style = document.createElement("style");
    style.dataset.viduGrid = KEY;
    style.textContent = css;
    document.head.appendChild(style);
    const url = URL.createObjectURL(new Blob([js], { type: "text/javascript" }));
    try {
      return (await import(url)).default;
    } finally {
      URL.revokeObjectURL(url);
    }
  })();
  return cache[KEY];
}
export default {
  async render(ctx) {
    return (await unpack()).render(ctx);
  },
};
