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
