// Keeps the dev directory live: waits for its next change, then swaps the
// section in place (no reload, so the page keeps its scroll and focus).
// Keeps an assignment page's emails and timeline current the same way.
(function () {
  "use strict";
  async function follow() {
    for (;;) {
      const box = document.getElementById("directory");
      if (!box) return;
      try {
        const res = await fetch(location.pathname + "?since=" + encodeURIComponent(box.dataset.version),
          { headers: { Accept: "text/html" }, credentials: "same-origin" });
        if (res.status === 200) {
          const next = new DOMParser().parseFromString(await res.text(), "text/html").getElementById("directory");
          if (next) box.replaceWith(document.importNode(next, true));
        } else if (res.status !== 204) {
          await new Promise(function (r) { setTimeout(r, 5000); });
        }
      } catch (e) {
        await new Promise(function (r) { setTimeout(r, 5000); });
      }
    }
  }
  // An assignment page whose workflow is still at work (data-follow) reads
  // itself again every 2 s, a minute at most, and swaps its live parts
  // (data-live), so emails sent a moment after the page was made show.
  async function refresh() {
    for (let i = 0; i < 30 && document.querySelector("[data-follow]"); i++) {
      await new Promise(function (r) { setTimeout(r, 2000); });
      try {
        const res = await fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
        if (res.status !== 200) continue;
        const next = new DOMParser().parseFromString(await res.text(), "text/html");
        document.querySelectorAll("[data-live]").forEach(function (old) {
          const now = next.getElementById(old.id);
          if (now && now.outerHTML !== old.outerHTML) old.replaceWith(document.importNode(now, true));
        });
        if (!next.querySelector("[data-follow]")) {
          document.querySelectorAll("[data-follow]").forEach(function (e) { e.removeAttribute("data-follow"); });
        }
      } catch (e) { /* try again at the next turn */ }
    }
  }
  if (document.getElementById("directory")) follow();
  else refresh();
})();
