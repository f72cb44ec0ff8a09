// The profile's time zone: when the partner has none, the browser's is offered.
(function () {
  "use strict";
  var select = document.getElementById("id_time_zone");
  if (!select || select.value) return;
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
  for (var i = 0; i < select.options.length; i++) {
    if (select.options[i].value === zone) { select.value = zone; return; }
  }
})();
