// labshare pages: small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // The language menu switches on change; the button stays for keyboards and no-JS.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select && select.id === "language-select" && select.form) {
      select.form.submit();
    }
  });

  // Print buttons (no inline handlers: the Content-Security-Policy allows no inline script).
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest && event.target.closest("[data-print]");
    if (button) {
      window.print();
    }
  });

  // Forms that ask for confirmation before a destructive action (cancel, revoke).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Live approval queue and "my bookings": reload the list when a booking changes.
  // The socket URL is on the element (data-live-socket); reconnects with back-off.
  function liveRegion(element) {
    var path = element.getAttribute("data-live-socket");
    var refreshUrl = element.getAttribute("data-live-refresh");
    if (!path || !window.WebSocket) { return; }
    var delay = 1000;
    function refresh() {
      if (window.htmx && refreshUrl) {
        window.htmx.ajax("GET", refreshUrl, { target: element, swap: "innerHTML" });
      } else if (refreshUrl) {
        fetch(refreshUrl, { credentials: "same-origin", headers: { "HX-Request": "true" } })
          .then(function (r) { return r.text(); })
          .then(function (html) { element.innerHTML = html; });
      }
    }
    function connect() {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + window.location.host + path);
      socket.onopen = function () { delay = 1000; element.setAttribute("data-live", "connected"); };
      socket.onmessage = function (message) {
        var data;
        try { data = JSON.parse(message.data); } catch (e) { return; }
        if (data && (data.type === "booking.changed" || data.type === "approval.changed" || data.type === "queue.changed")) {
          refresh();
        }
      };
      socket.onclose = function () {
        element.setAttribute("data-live", "disconnected");
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30000);
      };
    }
    connect();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var regions = document.querySelectorAll("[data-live-socket]");
    for (var i = 0; i < regions.length; i++) { liveRegion(regions[i]); }
  });
})();
