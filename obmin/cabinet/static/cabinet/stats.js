// Report pages: tells the server the browser's time zone (a cookie read when the partner has
// chosen none) and draws the bar charts from the JSON the page carries. No inline scripts.
(function () {
  "use strict";
  var script = document.currentScript;
  var labels = {clicks: (script && script.dataset.clicks) || "Unique clicks",
                exchanges: (script && script.dataset.exchanges) || "Successful exchanges"};

  function rememberZone() {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!zone) return;
    var had = document.cookie.split("; ").some(function (c) { return c === "tz=" + zone; });
    document.cookie = "tz=" + zone + "; path=/cabinet/; max-age=31536000; SameSite=Lax";
    var note = document.getElementById("period-note");
    // Once, on the first visit: show the days in the browser's zone at once.
    if (!had && note && note.dataset.zoneChosen === "0" && note.dataset.zone !== zone &&
        !sessionStorage.getItem("tz-reloaded")) {
      sessionStorage.setItem("tz-reloaded", "1");
      window.location.reload();
    }
  }

  function draw(canvas) {
    if (typeof Chart === "undefined") return;
    var source = document.getElementById(canvas.dataset.source);
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var horizontal = canvas.dataset.horizontal === "1";
    new Chart(canvas, {
      type: "bar",
      data: {labels: data.labels, datasets: [
        {label: labels.clicks, data: data.clicks, backgroundColor: "#93c5fd"},
        {label: labels.exchanges, data: data.exchanges, backgroundColor: "#1c64f2"}]},
      options: {animation: false, responsive: true, maintainAspectRatio: false,
                indexAxis: horizontal ? "y" : "x",
                plugins: {legend: {position: "bottom"}},
                scales: {x: {ticks: {autoSkip: true, maxRotation: 0}},
                         y: {ticks: {autoSkip: true}}}}
    });
  }

  rememberZone();
  window.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas.stats-chart").forEach(draw);
  });
})();
