// The standalone report's one control for every video: play/pause, seek, loop, mute.
// Plain JavaScript, no framework, nothing loaded: the page works from a file:// URL offline.
// Videos are kept in step by currentTime: the longest video leads the clock and the slider;
// every video of the same length follows it (a small speed change closes a small gap, a seek
// a large one); a shorter video is placed at the same moment modulo its own length on play
// and seek, where its own loop would be.
(() => {
  "use strict";
  const videos = [...document.querySelectorAll("video.vr-video")];
  const play = document.querySelector(".vr-play");
  if (!play || !videos.length) return;
  const seek = document.querySelector(".vr-seek");
  const clock = document.querySelector(".vr-time");
  const loop = document.querySelector(".vr-loop");
  const mute = document.querySelector(".vr-mute");
  const all = videos.length > 1 ? " all" : "";
  let playing = false;
  let seeking = false;

  const fmt = (t) => {
    if (!isFinite(t) || t < 0) t = 0;
    return Math.floor(t / 60) + ":" + String(Math.floor(t % 60)).padStart(2, "0");
  };
  const ready = () => videos.filter((v) => v.readyState > 0 && isFinite(v.duration));
  const longest = () => Math.max(0, ...ready().map((v) => v.duration));
  function leader() {
    return ready().reduce((a, v) => (!a || v.duration > a.duration ? v : a), null);
  }
  // Where a video of length d is when the leader's clock reads t.
  function place(v, t) {
    if (v.readyState === 0) return;
    const d = v.duration || 0;
    v.currentTime = d && t >= d ? (loop.checked ? t % d : d) : t;
  }
  function setPlaying(on) {
    playing = on;
    play.textContent = (on ? "Pause" : "Play") + all;
    play.setAttribute("aria-pressed", String(on));
    const lead = leader();
    const t = lead ? lead.currentTime : 0;
    for (const v of videos) {
      v.playbackRate = 1;
      if (on) {
        if (lead && v !== lead) place(v, t);
        v.play().catch(() => {});
      } else v.pause();
    }
  }
  function tick() {
    const lead = leader();
    if (!lead) return;
    const total = longest();
    if (!seeking) {
      seek.value = total ? Math.round((lead.currentTime / total) * 1000) : 0;
      clock.textContent = `${fmt(lead.currentTime)} / ${fmt(total)}`;
    }
    if (!playing || seeking) return;
    const d = lead.duration;
    for (const v of videos) {
      if (v === lead || v.readyState < 2 || Math.abs((v.duration || 0) - d) > 0.2) continue;
      let gap = lead.currentTime - v.currentTime;
      if (loop.checked && d) gap = ((gap + 1.5 * d) % d) - d / 2; // across a loop's wrap
      if (Math.abs(gap) > 0.3) {
        v.currentTime = lead.currentTime;
        v.playbackRate = 1;
      } else if (Math.abs(gap) > 0.02) {
        v.playbackRate = 1 + Math.max(-0.25, Math.min(0.25, gap * 2));
      } else v.playbackRate = 1;
    }
  }

  play.addEventListener("click", () => setPlaying(!playing));
  seek.addEventListener("input", () => {
    seeking = true;
    const t = (seek.value / 1000) * longest();
    for (const v of videos) place(v, t);
    clock.textContent = `${fmt(t)} / ${fmt(longest())}`;
  });
  seek.addEventListener("change", () => (seeking = false));
  loop.addEventListener("change", () => videos.forEach((v) => (v.loop = loop.checked)));
  mute.addEventListener("click", () => {
    const muted = !videos[0].muted;
    for (const v of videos) v.muted = muted;
    mute.textContent = muted ? "Unmute" : "Mute";
    mute.setAttribute("aria-pressed", String(muted));
  });
  for (const v of videos) {
    v.muted = true; // autoplay policies let muted videos start without a gesture
    v.controls = false; // the page's own controls (a viewer that blocks scripts keeps these)
    v.addEventListener("click", () => setPlaying(!playing));
    v.addEventListener("ended", () => {
      if (v === leader() && !loop.checked) setPlaying(false);
    });
    v.addEventListener("loadedmetadata", () => {
      const frame = v.parentElement;
      if (v.videoWidth && v.videoHeight)
        frame.style.aspectRatio = `${v.videoWidth} / ${v.videoHeight}`;
      tick();
    });
    v.addEventListener("error", () => v.closest(".vr-cell").classList.add("vr-error"));
  }
  document.addEventListener("keydown", (e) => {
    if (e.key === " " && e.target === document.body) {
      e.preventDefault();
      setPlaying(!playing);
    }
  });
  play.textContent = "Play" + all;
  setInterval(tick, 100);
})();
