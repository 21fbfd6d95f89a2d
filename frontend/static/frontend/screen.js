/* Wall screen: snapshot, then deltas over a WebSocket; tiles flip at the scheduled minute from the
 * schedule held here (no message needed); reconnects with exponential back-off and re-reads the
 * snapshot; never polls HTTP. Message schema: frontend/LIVE.md. State rules: frontend/selectors.py
 * resource_state (keep both in step).
 *
 * Layout: every machine of the lab (a center: of all its sub-labs) must be on the screen, whatever
 * its size and the number of machines. layout() picks the densest arrangement still readable from
 * five metres: tiles as large as fit, else one compact row per machine, else pages of rows that
 * rotate on a timer with a page indicator. A change on a machine of another page brings that page
 * up at once, so no change waits for the rotation. */
(function () {
  "use strict";

  var SCHEMA = 1;
  var ACTIVE = ["requested", "confirmed", "checked_in"];
  var SCHEDULE = ACTIVE.concat(["completed"]);
  var FATAL = { 4401: true, 4403: true, 4404: true, 4410: true };

  var config = JSON.parse(document.getElementById("screen-config").textContent);
  var snapshot = JSON.parse(document.getElementById("screen-snapshot").textContent);
  var tz = config.timezone || snapshot.timezone;
  var timeFormat = new Intl.DateTimeFormat("vi-VN", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: tz });
  var clockFormat = new Intl.DateTimeFormat("vi-VN", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZone: tz });

  var resources = {}; // id -> {status, bookings, maintenance, closures, open}
  var dayEnd = Infinity;
  var nextFlip = Infinity;
  var socket = null;
  var attempt = 0;
  var offlineSince = null;
  var stopped = false;

  function ms(iso) { return iso ? Date.parse(iso) : NaN; }
  function hhmm(iso) { return iso ? timeFormat.format(new Date(ms(iso))) : ""; }
  function covers(item, now) { return ms(item.start) <= now && now < ms(item.end); }

  function loadSnapshot(data) {
    snapshot = data;
    resources = {};
    data.resources.forEach(function (r) {
      resources[r.id] = {
        id: r.id, status: r.status, bookings: r.bookings.slice(), maintenance: r.maintenance.slice(),
        closures: r.closures.slice(), open: r.open.slice()
      };
    });
    dayEnd = ms(data.day.end);
    render();
  }

  /* The same precedence as frontend/selectors.py resource_state. */
  function stateOf(r, now) {
    // A booking checked in before its start is the one in use, never the "next" one.
    var upcoming = r.bookings.filter(function (b) {
      return ACTIVE.indexOf(b.status) >= 0 && b.status !== "checked_in" && ms(b.start) > now;
    })
      .sort(function (a, b) { return ms(a.start) - ms(b.start); });
    var following = upcoming.length ? { start: upcoming[0].start, who: upcoming[0].who } : null;
    if (r.status === "down" || r.status === "retired") return { state: "down", next: following };
    if (r.status === "maintenance") return { state: "maintenance", until: null, next: following };
    var win = r.maintenance.filter(function (m) { return covers(m, now); })[0];
    if (win) return { state: "maintenance", until: win.end, next: following };
    var using = r.bookings.filter(function (b) { return b.status === "checked_in" && !b.checked_out_at; })[0];
    if (using) return { state: "in_use", who: using.who, until: using.end, next: following };
    var started = r.bookings.filter(function (b) {
      return (b.status === "confirmed" || b.status === "requested") && covers(b, now);
    })[0];
    if (started) return { state: "awaiting_check_in", who: started.who, until: started.end, approved: started.status === "confirmed", next: following };
    var closed = r.closures.some(function (c) { return covers(c, now); }) || !r.open.some(function (o) { return covers(o, now); });
    if (closed) return { state: "closed", next: following };
    if (following) return { state: "booked_next", at: following.start, who: following.who, next: following };
    return { state: "free", next: null };
  }

  var LABELS = {
    free: ["Trống", "Free"],
    in_use: ["Đang sử dụng", "In use"],
    booked_next: ["Trống, có lịch sau", "Free, booked later"],
    awaiting_check_in: ["Đã đặt, chờ nhận máy", "Booked, awaiting check-in"],
    maintenance: ["Bảo trì", "Maintenance"],
    down: ["Hỏng", "Out of order"],
    closed: ["Đóng cửa", "Closed"]
  };

  function detailOf(s) {
    switch (s.state) {
      case "in_use": return s.who + " · đến / until " + hhmm(s.until);
      case "awaiting_check_in": return s.who + (s.approved ? "" : " · chờ duyệt / pending") + " · đến / until " + hhmm(s.until);
      case "booked_next": return "Lúc / At " + hhmm(s.at) + " · " + s.who;
      case "maintenance": return s.until ? "đến / until " + hhmm(s.until) : "";
      default: return "";
    }
  }

  /* Compact rows: the state in short words (both languages) and a brief detail. */
  var SHORT = {
    free: ["Trống", "Free"],
    in_use: ["Đang dùng", "In use"],
    booked_next: ["Trống", "Free"],
    awaiting_check_in: ["Chờ nhận", "Check-in"],
    maintenance: ["Bảo trì", "Service"],
    down: ["Hỏng", "Down"],
    closed: ["Đóng cửa", "Closed"]
  };

  function briefOf(s) {
    switch (s.state) {
      case "in_use":
      case "awaiting_check_in": return s.who + " → " + hhmm(s.until);
      case "booked_next": return "→ " + hhmm(s.at);
      case "maintenance": return s.until ? "→ " + hhmm(s.until) : "";
      default: return "";
    }
  }

  function boundaries(r, now) {
    var next = Infinity;
    function consider(iso) { var t = ms(iso); if (t > now && t < next) next = t; }
    [r.bookings, r.maintenance, r.closures, r.open].forEach(function (list) {
      list.forEach(function (item) { consider(item.start); consider(item.end); });
    });
    return next;
  }

  function render() {
    var now = Date.now();
    var compact = document.body.getAttribute("data-density") !== "tiles";
    var inUse = 0, total = 0;
    nextFlip = Infinity;
    Object.keys(resources).forEach(function (id) {
      var r = resources[id];
      var s = stateOf(r, now);
      total += 1;
      if (s.state === "in_use") inUse += 1;
      nextFlip = Math.min(nextFlip, boundaries(r, now));
      var tile = document.getElementById("tile-" + id) || createTile(id);
      var cls = "tile state-" + s.state;
      if (tile.className.indexOf("flash") >= 0) cls += " flash";
      if (tile.getAttribute("data-state") !== s.state) {
        tile.setAttribute("data-state", s.state);
        tile.className = cls;
      }
      setLabel(tile, compact ? SHORT[s.state] : LABELS[s.state]);
      setText(tile, "brief", briefOf(s));
      setText(tile, "detail", detailOf(s));
      setText(tile, "next", s.next && s.state !== "booked_next" ? "Tiếp theo / Next " + hhmm(s.next.start) + " · " + s.next.who : "");
    });
    document.getElementById("occupancy-in-use").textContent = inUse;
    document.getElementById("occupancy-total").textContent = total;
    document.body.setAttribute("data-rendered-at", String(now));
  }

  function setLabel(tile, pair) {
    var el = tile.querySelector('[data-role="label"]');
    if (!el || el.getAttribute("data-text") === pair.join("/")) return;
    el.setAttribute("data-text", pair.join("/"));
    el.textContent = "";
    var vi = document.createElement("span");
    vi.className = "vi";
    vi.textContent = pair[0];
    var en = document.createElement("span");
    en.className = "en";
    en.lang = "en";
    en.textContent = pair[1];
    el.appendChild(vi);
    el.appendChild(en);
  }

  function setText(tile, role, text) {
    var el = tile.querySelector('[data-role="' + role + '"]');
    if (el && el.textContent !== text) el.textContent = text;
  }

  /* A resource added after the page was rendered: a plain tile (no QR until the page reloads). */
  function createTile(id) {
    var data = snapshot.resources.filter(function (r) { return String(r.id) === String(id); })[0];
    var tile = document.createElement("article");
    tile.id = "tile-" + id;
    tile.setAttribute("data-resource-id", id);
    var h = document.createElement("h3");
    h.className = "tile-name";
    h.textContent = data ? data.name.vi : "#" + id;
    tile.appendChild(h);
    tile.className = "tile";
    ["label", "detail", "next", "brief"].forEach(function (role) {
      var p = document.createElement("p");
      p.setAttribute("data-role", role);
      p.className = role === "label" ? "state-label" : "state-" + role;
      tile.appendChild(p);
    });
    var tiles = document.querySelector(".tiles");
    if (!tiles) {
      tiles = document.createElement("div");
      tiles.className = "tiles";
      document.querySelector(".screen-main").appendChild(tiles);
    }
    tiles.appendChild(tile);
    layoutPending = true;
    return tile;
  }

  function overlapsToday(b) {
    return ms(b.start) < dayEnd && ms(b.end) > ms(snapshot.day.start);
  }

  function onBookingChanged(msg) {
    var b = msg.booking;
    var r = resources[b.resource_id];
    if (!r) return;
    r.bookings = r.bookings.filter(function (x) { return x.id !== b.id; });
    if (SCHEDULE.indexOf(b.status) >= 0 && overlapsToday(b)) {
      r.bookings.push(b);
      r.bookings.sort(function (x, y) { return ms(x.start) - ms(y.start); });
    }
    flash(b.resource_id);
    render();
  }

  function onResourceState(msg) {
    var r = resources[msg.resource.id];
    if (!r) return;
    r.status = msg.resource.status;
    r.maintenance = msg.resource.maintenance || [];
    flash(msg.resource.id);
    render();
  }

  function flash(id) {
    var tile = document.getElementById("tile-" + id);
    if (!tile) return;
    showPageOf(tile);
    tile.classList.add("flash");
    setTimeout(function () { tile.classList.remove("flash"); }, 1500);
  }

  /* --- Layout: every machine on the screen ------------------------------------------------------ */

  // Sizes in vmin (a hundredth of the screen's shorter side), so a 4K screen shows what a 1080p
  // one shows. The minimum fonts are what stays readable from five metres on a wall TV.
  var TILE_EMS = 13;          // a tile holds about 13 em of text, both across and down
  var TILE_MIN_FONT = 2.0;    // vmin
  var TILE_MAX_FONT = 3.4;
  var ROW_EMS_ACROSS = 36;    // a compact row: name, short state and detail on one line
  var ROW_EMS_DOWN = 1.8;
  var ROW_MIN_FONT = 2.0;
  var ROW_MAX_FONT = 3.2;

  var pages = [];             // tiles per page (one page when everything fits)
  var page = 0;
  var pageTimer = null;
  var layoutPending = false;
  var pageSeconds = Math.max(3, config.page_seconds || 12);

  /* The column count that gives the largest text for n cells in width x height. */
  function arrange(n, width, height, gap, fontFor) {
    var choice = null;
    for (var cols = 1; cols <= Math.max(1, n); cols++) {
      var rows = Math.max(1, Math.ceil(n / cols));
      var w = (width - gap * (cols - 1)) / cols;
      var h = (height - gap * (rows - 1)) / rows;
      if (w <= 0) break;
      if (h <= 0) continue;
      var font = fontFor(w, h);
      if (!choice || font > choice.font + 0.01) choice = { cols: cols, rows: rows, font: font, height: h };
    }
    return choice;
  }

  function tileFont(unit) {
    return function (w, h) { return Math.min(w / TILE_EMS, h / TILE_EMS, TILE_MAX_FONT * unit); };
  }

  function rowFont(unit) {
    return function (w, h) { return Math.min(w / ROW_EMS_ACROSS, h / ROW_EMS_DOWN, ROW_MAX_FONT * unit); };
  }

  function layout() {
    layoutPending = false;
    var container = document.getElementById("tiles");
    if (!container) return;
    var tiles = Array.prototype.slice.call(container.querySelectorAll(".tile"));
    var n = tiles.length;
    var unit = Math.min(window.innerWidth, window.innerHeight) / 100;
    var gap = parseFloat(getComputedStyle(container).rowGap) || 0;
    var width = container.clientWidth, height = container.clientHeight;
    var density = "tiles", perPage = n;
    var choice = arrange(n, width, height, gap, tileFont(unit));
    if (!choice || choice.font < TILE_MIN_FONT * unit) {
      density = "compact";
      choice = arrange(n, width, height, gap, rowFont(unit));
      if (!choice || choice.font < ROW_MIN_FONT * unit) {
        // Not even compact rows fit: as many rows per page as stay readable, pages balanced.
        var minimum = ROW_MIN_FONT * unit;
        var cols = Math.max(1, Math.floor((width + gap) / (ROW_EMS_ACROSS * minimum + gap)));
        var rows = Math.max(1, Math.floor((height + gap) / (ROW_EMS_DOWN * minimum + gap)));
        var count = Math.ceil(n / (cols * rows));
        perPage = Math.ceil(n / count);
        choice = arrange(perPage, width, height, gap, rowFont(unit));
      }
    }
    document.body.setAttribute("data-density", density);
    container.style.setProperty("--cols", choice.cols);
    container.style.setProperty("--row-height", Math.floor(choice.height) + "px");
    container.style.setProperty("--cell-font", choice.font.toFixed(1) + "px");
    pages = [];
    tiles.forEach(function (tile, index) {
      var number = Math.floor(index / perPage);
      (pages[number] = pages[number] || []).push(tile);
      tile.setAttribute("data-page", String(number));
    });
    showPage(Math.min(page, pages.length - 1));
    render(); // labels differ between tiles and compact rows
  }

  function showPage(number) {
    page = Math.max(0, number);
    var count = pages.length || 1;
    pages.forEach(function (list, index) {
      list.forEach(function (tile) { tile.classList.toggle("off-page", index !== page); });
    });
    var indicator = document.getElementById("pages");
    indicator.hidden = count < 2;
    document.getElementById("page-number").textContent = String(page + 1);
    document.getElementById("page-count").textContent = String(count);
    var dots = document.getElementById("page-dots");
    dots.textContent = "";
    for (var i = 0; i < count && count > 1; i++) {
      var dot = document.createElement("span");
      dot.className = "dot" + (i === page ? " current" : "");
      dots.appendChild(dot);
    }
    document.body.setAttribute("data-page", String(page + 1));
    document.body.setAttribute("data-pages", String(count));
    clearTimeout(pageTimer);
    if (count > 1) {
      pageTimer = setTimeout(function () { showPage((page + 1) % pages.length); }, pageSeconds * 1000);
    }
  }

  /* A change on a machine of another page shows at once: its page comes up (and stays its full time). */
  function showPageOf(tile) {
    var number = parseInt(tile.getAttribute("data-page") || "0", 10);
    if (pages.length > 1 && number !== page) showPage(number);
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(layout, 150);
  });

  /* --- Connection --------------------------------------------------------------------------- */

  function showOffline(text, fatal) {
    var box = document.getElementById("offline");
    document.getElementById("offline-text").textContent = text;
    box.className = "screen-offline" + (fatal ? " fatal" : "");
    box.hidden = false;
    document.body.setAttribute("data-connection", fatal ? "closed" : "offline");
  }

  function showOnline() {
    document.getElementById("offline").hidden = true;
    document.body.setAttribute("data-connection", "online");
  }

  function socketUrl() {
    var token = new URLSearchParams(window.location.search).get("token");
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + config.ws_path + (token ? "?token=" + encodeURIComponent(token) : "");
  }

  function connect() {
    if (stopped) return;
    var ws = new WebSocket(socketUrl());
    socket = ws;
    ws.onmessage = function (event) {
      var msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (msg.v !== SCHEMA) return; // a newer server: ignore what we do not understand
      if (msg.type === "snapshot") {
        attempt = 0;
        offlineSince = null;
        showOnline();
        loadSnapshot(msg);
      } else if (msg.type === "booking.changed") {
        onBookingChanged(msg);
      } else if (msg.type === "resource.state") {
        onResourceState(msg);
      }
    };
    ws.onclose = function (event) {
      if (socket !== ws) return;
      socket = null;
      if (FATAL[event.code]) {
        stopped = true;
        showOffline(event.code === 4410
          ? "Mã màn hình đã bị thu hồi / This screen's token was revoked"
          : "Màn hình không được phép / This screen is not authorised", true);
        return;
      }
      if (offlineSince === null) offlineSince = new Date().toISOString();
      showOffline("Mất kết nối từ " + hhmm(offlineSince) + " / Offline since " + hhmm(offlineSince), false);
      // Exponential back-off with jitter, so a restarted server is not hit by every screen at once.
      var delay = Math.min(30000, 500 * Math.pow(2, attempt)) * (0.75 + Math.random() * 0.5);
      attempt = Math.min(attempt + 1, 10);
      setTimeout(connect, delay);
    };
  }

  /* --- Clock and scheduled flips (local timers only) ---------------------------------------- */

  function tick() {
    var now = Date.now();
    document.getElementById("clock").textContent = clockFormat.format(new Date(now)).slice(0, 5);
    if (now >= dayEnd && socket && socket.readyState === WebSocket.OPEN) {
      dayEnd = Infinity; // a new day: ask for its schedule once
      socket.send(JSON.stringify({ type: "snapshot" }));
    }
    if (layoutPending) layout();
    if (now >= nextFlip) render();
    setTimeout(tick, 1000 - (now % 1000) + 5);
  }

  loadSnapshot(snapshot);
  layout();
  document.body.setAttribute("data-connection", "connecting");
  tick();
  connect();
})();
