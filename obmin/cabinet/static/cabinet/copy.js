// Copy buttons: <button class="copy" data-copy="ID"> copies the text (or value) of element ID.
// No inline handlers (the Content-Security-Policy forbids them): one listener for the page.
(function () {
  "use strict";
  var script = document.currentScript;
  var copiedLabel = (script && script.dataset.copied) || "Copied";

  function fallbackCopy(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { document.execCommand("copy"); } catch (e) { /* the text stays selected */ }
  }

  function done(button) {
    var label = button.textContent;
    button.textContent = copiedLabel;
    button.classList.add("copied");
    setTimeout(function () { button.textContent = label; button.classList.remove("copied"); },
               1500);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var element = document.getElementById(button.dataset.copy);
    if (!element) return;
    var text = ("value" in element && element.value !== undefined ? element.value
                : element.textContent).trim();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(button); },
                                               function () { fallbackCopy(element); done(button); });
    } else {
      fallbackCopy(element);
      done(button);
    }
  });
})();
