// Optional week calendar on a resource page (npm @event-calendar, installed by `make install`).
// Without it the server-rendered timeline and the list of free times do the same job.
(function () {
  "use strict";

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function day(d) { return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()); }
  function hm(d) { return pad(d.getHours()) + ":" + pad(d.getMinutes()); }

  document.addEventListener("DOMContentLoaded", function () {
    var host = document.getElementById("ec-week");
    var source = document.getElementById("ec-data");
    if (!host || !source || !window.EventCalendar) { return; }
    // On a phone seven columns cannot be read: the server's timeline (scrolling in its frame, with
    // a day view) and the list of free times do the job there.
    if (window.matchMedia && window.matchMedia("(max-width: 40rem)").matches) { return; }
    var data = JSON.parse(source.textContent);
    var events = [];
    data.free.forEach(function (f) {
      events.push({ start: f[0], end: f[1], display: "background", backgroundColor: "#bfe6c9" });
    });
    data.busy.forEach(function (b) {
      var colour = b[2] === "mine" ? "#5b2a86" : b[2] === "requested" ? "#8c3a33" : "#b3261e";
      events.push({ start: b[0], end: b[1], backgroundColor: colour, title: "" });
    });
    var hint = document.createElement("p");
    hint.className = "muted";
    hint.textContent = host.getAttribute("data-select-hint");
    host.parentNode.insertBefore(hint, host);
    window.EventCalendar.create(host, {
      view: data.view === "day" ? "timeGridDay" : "timeGridWeek",
      date: data.week,
      firstDay: 1,
      locale: data.language,
      allDaySlot: false,
      slotMinTime: pad(data.hours[0]) + ":00",
      slotMaxTime: pad(data.hours[1]) + ":00",
      slotDuration: "00:30",
      height: "auto",
      headerToolbar: { start: "", center: "", end: "" },
      selectable: true,
      events: events,
      select: function (info) {
        var form = document.getElementById("booking-form");
        if (!form) { return; }
        form.querySelector("[name=date]").value = day(info.start);
        form.querySelector("[name=start_time]").value = hm(info.start);
        form.querySelector("[name=end_time]").value = hm(info.end);
        var preview = form.querySelector("button[name=preview]");
        if (preview) { preview.click(); }
        var heading = document.getElementById("book");
        if (heading) { heading.scrollIntoView({ behavior: "smooth" }); heading.focus({ preventScroll: true }); }
      }
    });
    // The calendar now shows the week to sighted mouse users; the server-rendered timeline (and
    // the list of free times, which are links) stays for screen readers and keyboards. The
    // calendar's own markup declares ARIA tables without their rows (axe-core: critical), so it is
    // hidden from assistive technology, and kept so as it re-renders.
    var fallback = document.querySelector(".tl-fallback");
    if (fallback) { fallback.classList.add("sr-only"); }
    function quiet() {
      host.setAttribute("aria-hidden", "true");
      Array.prototype.forEach.call(host.querySelectorAll("[role]"), function (el) { el.removeAttribute("role"); });
      Array.prototype.forEach.call(host.querySelectorAll("[tabindex], button, a[href]"), function (el) {
        el.setAttribute("tabindex", "-1");
      });
    }
    quiet();
    if (window.MutationObserver) {
      new MutationObserver(function (changes) {
        if (changes.some(function (c) { return c.type === "childList" || c.attributeName === "role"; })) { quiet(); }
      }).observe(host, { childList: true, subtree: true, attributes: true, attributeFilter: ["role"] });
    }
  });
})();
