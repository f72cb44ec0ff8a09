// The operator's desk: a letter key opens its action (r, s, e, c) and focuses its field; a
// confirm button is disabled once pressed, so a double click sends one request (the server
// refuses a second one anyway: each form carries the status the page showed).
(function () {
  document.querySelectorAll("form.desk-form").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    const target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) { return; }
    document.querySelectorAll("details.desk-action").forEach(function (details) {
      const key = details.querySelector("kbd");
      if (key && key.textContent.trim().toLowerCase() === event.key.toLowerCase()) {
        event.preventDefault();
        details.open = true;
        const field = details.querySelector("input:not([type=hidden]), button");
        if (field) { field.focus(); }
      }
    });
  });
})();

// The queue keeps itself current: every 20 s (while the tab is visible) it fetches itself with
// the same filters and swaps in the rows and the count, so a claim that arrives is seen without
// reloading; a rising count is said through the live region (screen readers) and the title.
(function () {
  const table = document.getElementById("desk-queue");
  if (!table) { return; }
  const every = 20000;
  function refresh() {
    if (document.visibilityState !== "visible") { return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        const rows = fresh.querySelector("#desk-queue tbody");
        const count = fresh.getElementById("waiting-count");
        if (!rows || !count) { return; }
        const before = document.getElementById("waiting-count");
        const rose = Number(count.textContent) > Number(before.textContent);
        table.querySelector("tbody").replaceWith(rows);
        before.textContent = count.textContent;
        document.title = fresh.title;
        const said = document.getElementById("desk-news");
        if (said && rose) { said.textContent = said.dataset.news.replace("{n}", count.textContent); }
      })
      .catch(function () { /* the next round tries again */ });
  }
  window.setInterval(refresh, every);
  document.addEventListener("visibilitychange", refresh);
})();
