// Behaviour every page shares, kept out of the HTML: the Content-Security-Policy allows no
// inline event handlers (settings.CONTENT_SECURITY_POLICY).
document.addEventListener("DOMContentLoaded", function () {
  // The language menu takes effect as soon as a language is picked.
  document.querySelectorAll("form.lang select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
});
