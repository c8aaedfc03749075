// Keeps the dev directory live: waits for its next change, then swaps the
// section in place (no reload, so the page keeps its scroll and focus).
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
  follow();
})();
