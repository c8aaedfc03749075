// The API reference collapses each operation; following a link to one (from
// its table of contents, or from elsewhere) opens it. Without this script
// the operations still open with a click.
(function () {
  function openNamed() {
    var id = decodeURIComponent(location.hash.slice(1));
    var part = id && document.getElementById(id);
    if (part && part.tagName === "DETAILS") {
      part.open = true;
      part.scrollIntoView();
    }
  }
  window.addEventListener("hashchange", openNamed);
  openNamed();
})();
