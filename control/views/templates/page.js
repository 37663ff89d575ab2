// The page's script: it looks states up in the embedded data and draws them. Every state was
// computed by the project's fold in Python (control/page.py); no rule of the fold lives here.
// Ledger text is data: it is only ever shown with textContent (never as markup).
"use strict";
(function () {
  var D = JSON.parse(document.getElementById("data").textContent);

  // The data comes packed (rows of values, events and places by index, times in seconds: a small
  // file for thousands of places). Rebuild the objects the rest of the script reads, once.
  function unpack() {
    var P = D.packed;
    function obj(keys, row) {
      var o = {};
      keys.forEach(function (k, i) { o[k] = row[i]; });
      return o;
    }
    function isoOf(sec) { return sec === null ? null : new Date(sec * 1000).toISOString().replace(".000Z", "Z"); }
    D.events = D.events.map(function (row) {
      var e = obj(P.event, row);
      P.event.forEach(function (k, i) { if (i >= row.length) e[k] = P.event_defaults[k]; });
      if (typeof e.place === "number") e.place = D.places[e.place].name;
      return e;
    });
    function ids(list) { return list.map(function (i) { return typeof i === "number" ? D.events[i].id : i; }); }
    D.states = D.states.map(function (row) {
      var s = obj(P.state, row);
      s.since = isoOf(s.since);
      s.since_latest = isoOf(s.since_latest);
      s.sources = ids(s.sources);
      s.contested_by = ids(s.contested_by);
      s.lapsed = ids(s.lapsed);
      s.candidates = s.candidates.map(function (c) { return { controller: c[0], change: c[1], events: ids(c[2]) }; });
      return s;
    });
    Object.keys(D.worlds).forEach(function (name) {
      D.worlds[name].places = D.worlds[name].places.map(function (flat) {
        var out = [], start = 0;
        for (var i = 0; i < flat.length; i += 2) {
          start += flat[i];
          out.push([start, flat[i + 1]]);
        }
        return out;
      });
    });
    var history = {};
    D.places.forEach(function (p, i) {
      history[p.name] = D.history[i].map(function (h) {
        return typeof h === "number" ? [D.events[h].id, ""] : [D.events[h[0]].id, D.remarks[h[1]]];
      });
    });
    D.history = history;
  }
  var SVGNS = "http://www.w3.org/2000/svg";
  var HOUR = 3600, DAY = 86400, SYRIA = 3 * HOUR;
  var META = D.meta;
  var EVENTS = {};
  unpack();
  D.events.forEach(function (e) { EVENTS[e.id] = e; });
  var view = { t: META.start, known: false, place: null, playing: null };

  // --- small helpers ------------------------------------------------------------------------
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function svg(tag, attrs, parent) {
    var node = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (parent) parent.appendChild(node);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  function local(t) { return new Date((t + SYRIA) * 1000); }
  function stamp(t, withDay) {
    var d = local(t);
    var text = d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    return withDay ? DAYS[d.getUTCDay()] + " " + text : text;
  }
  function longStamp(t) {
    var d = local(t), u = new Date(t * 1000);
    return DAYS[d.getUTCDay()] + " " + d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear() +
      ", " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + " Damascus time (" +
      pad(u.getUTCHours()) + ":" + pad(u.getUTCMinutes()) + " UTC)";
  }
  function isoMinute(t) {
    var u = new Date(t * 1000);
    return u.getUTCFullYear() + "-" + pad(u.getUTCMonth() + 1) + "-" + pad(u.getUTCDate()) + "T" +
      pad(u.getUTCHours()) + ":" + pad(u.getUTCMinutes()) + "Z";
  }
  function clamp(t) { return Math.max(META.start, Math.min(META.end, Math.round(t))); }
  function colour(c) { return c && META.colours[c] ? META.colours[c] : META.colours.none; }
  function who(c) { return c ? (META.names[c] || c) : "nobody"; }
  function window_(e) {
    var text = stamp(e.earliest) + " \u2013 " + stamp(e.latest);
    return e.when ? text + " (\u2018" + e.when + "\u2019)" : text;
  }

  // Binary search: the last entry of an interval list starting at or before t.
  function find(list, t) {
    var lo = 0, hi = list.length - 1;
    if (!list.length || t < list[0][0]) return null;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (list[mid][0] <= t) lo = mid; else hi = mid - 1;
    }
    return list[lo];
  }
  function worldName(record) {
    var base = record ? "record_" : "";
    return base + (view.known ? "known" : "full");
  }
  function world(record) { return D.worlds[worldName(record)]; }
  function stateOf(w, i, t) {
    var entry = find(w.places[i], t);
    return entry ? D.states[entry[1]] : null;
  }
  function describe(s) {
    if (!s) return "unknown";
    if (s.status === "conflicting") {
      return "conflicting: " + s.possible.map(function (p) { return p ? who(p) : "nobody"; }).join(" or ") + "?";
    }
    if (s.status === "vacated") return "vacated";
    if (s.status === "unknown") return "unknown";
    var text = who(s.controller) + ", " + s.status;
    if (s.status === "uncertain" && s.candidates.length) {
      text += " (change under way: " + s.candidates.map(function (c) { return c.change; }).join("; ") + ")";
    }
    return text;
  }

  // --- header -------------------------------------------------------------------------------
  $("title").textContent = META.title;
  var basis = [];
  if (META.known_at) basis.push("as known at " + META.known_at);
  if (META.recorded_at) basis.push("as the store had it at " + META.recorded_at);
  var seat = "";
  if (META.seat_setting) {
    seat = META.outline ? " Rif Dimashq is counted as " + (META.seat === "damascus" ? "Damascus" : "Douma, a city of its own") + "." : " Seat setting: " + META.seat + ".";
  }
  $("basis").textContent = (META.scenario ? "A what-if world" : "The full record") + (basis.length ? ", " + basis.join(", ") : "") +
    "." + seat + " Last report: " + longStamp(META.record_ends) + ".";
  if (META.scenario) {
    var banner = $("scenario-banner");
    banner.hidden = false;
    banner.textContent = "SCENARIO " + META.scenario.name + " \u2014 not the record: " + META.scenario.description +
      " Capitals where the record says otherwise are ringed, with the record\u2019s answer beside them.";
    document.title = "SCENARIO " + META.scenario.name + " \u2014 " + document.title;
  }

  // --- map ----------------------------------------------------------------------------------
  var map = $("map");
  var W = 640, H = 560, M = 28;
  var pts = D.outline.concat(D.places.map(function (p) { return [p.lon, p.lat]; }));
  (D.shapes || []).forEach(function (polygons) {  // places with shapes: the map takes them in
    (polygons || []).forEach(function (rings) { pts = pts.concat(rings[0]); });
  });
  var minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  pts.forEach(function (p) {
    minX = Math.min(minX, p[0]); maxX = Math.max(maxX, p[0]);
    minY = Math.min(minY, p[1]); maxY = Math.max(maxY, p[1]);
  });
  var kx = Math.cos(((minY + maxY) / 2) * Math.PI / 180);
  var scale = Math.min((W - 2 * M) / ((maxX - minX) * kx || 1), (H - 2 * M) / ((maxY - minY) || 1));
  H = Math.round((maxY - minY) * scale + 2 * M);
  map.setAttribute("viewBox", "0 0 " + W + " " + H);
  function px(lon) { return M + (lon - minX) * kx * scale; }
  function py(lat) { return M + (maxY - lat) * scale; }

  var defs = svg("defs", {}, map);
  function patterns(parent, prefix) {
    var d = svg("defs", {}, parent);
    var hatch = svg("pattern", { id: prefix + "hatch", patternUnits: "userSpaceOnUse", width: 6, height: 6, patternTransform: "rotate(45)" }, d);
    svg("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#000", "stroke-width": 2, "stroke-opacity": 0.55 }, hatch);
    var dots = svg("pattern", { id: prefix + "dots", patternUnits: "userSpaceOnUse", width: 5, height: 5 }, d);
    svg("circle", { cx: 2.5, cy: 2.5, r: 1, fill: "#000", "fill-opacity": 0.6 }, dots);
    var cross = svg("pattern", { id: prefix + "cross", patternUnits: "userSpaceOnUse", width: 6, height: 6 }, d);
    svg("path", { d: "M0,0 L6,6 M6,0 L0,6", stroke: "#000", "stroke-width": 1, "stroke-opacity": 0.6 }, cross);
  }
  patterns(defs, "m-");
  if (D.outline.length) svg("polygon", { "class": "outline", points: D.outline.map(function (p) { return px(p[0]).toFixed(1) + "," + py(p[1]).toFixed(1); }).join(" ") }, map);

  // Places with shapes: one path per place (its polygons, holes by even-odd), filled by the
  // holder counted for it, and a second one hatched while uncertain or conflicting.
  var shapes = (D.shapes || []).map(function (polygons, i) {
    if (!polygons) return null;
    var d = polygons.map(function (rings) {
      return rings.map(function (ring) {
        return "M" + ring.map(function (p) { return px(p[0]).toFixed(1) + "," + py(p[1]).toFixed(1); }).join("L") + "Z";
      }).join("");
    }).join("");
    var g = svg("g", { "class": "shape", "data-place": D.places[i].name }, map);
    g.addEventListener("click", function () { select(i); });
    return {
      g: g,
      fill: svg("path", { d: d, "fill-rule": "evenodd", stroke: "#fff", "stroke-width": 0.8, "fill-opacity": 0.55 }, g),
      hatch: svg("path", { d: d, "fill-rule": "evenodd", stroke: "none", "pointer-events": "none" }, g)
    };
  });
  if (D.shapes_note) {
    var note = el("p", "hint shapes-note", D.shapes_note);
    note.id = "shapes-note";
    $("map-box").appendChild(note);
  }

  var markers = D.places.map(function (p, i) {
    var g = svg("g", { "class": "place" + (p.apart ? " apart" : ""), tabindex: 0, role: "button", "data-place": p.name }, map);
    var x = px(p.lon), y = py(p.lat), r = p.apart ? 6 : 9;
    var ring = svg("circle", { "class": "ring", cx: x, cy: y, r: r + 6, visibility: "hidden" }, g);
    var dot = svg("circle", { "class": "dot", cx: x, cy: y, r: r, stroke: "#555", "stroke-width": 1 }, g);
    var overlay = svg("circle", { "class": "overlay", cx: x, cy: y, r: r, fill: "none", "pointer-events": "none" }, g);
    var left = p.lon > 39.5 || p.name === "Damascus" || p.name === "Daraa";
    var label = svg("text", { "class": "label", x: left ? x - r - 4 : x + r + 4, y: y + 4, "text-anchor": left ? "end" : "start" }, g);
    if (p.name === "Rif Dimashq" && !p.apart) label.setAttribute("y", y - 10);
    var title = svg("title", {}, g);
    g.addEventListener("click", function () { select(i); });
    g.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); select(i); }
    });
    return { g: g, dot: dot, overlay: overlay, ring: ring, label: label, title: title };
  });

  function placeLabel(p) {
    if (p.apart) return p.name + " (counted as " + p.counted_as + ")";
    return p.capital === p.name ? p.capital : p.capital + " (" + p.name + ")";
  }

  function drawMap() {
    var w = world(false), rec = META.scenario ? world(true) : null;
    D.places.forEach(function (p, i) {
      var s = stateOf(w, i, view.t), m = markers[i];
      var status = s ? s.status : "unknown", controller = s ? s.controller : null;
      var fill = colour(controller);
      if (status === "vacated") fill = "#ffffff";
      if (status === "conflicting" || status === "unknown") fill = META.colours.none;
      if (p.apart) fill = "#ffffff"; // counted with another city: never drawn as a capital of its own
      m.dot.setAttribute("fill", fill);
      m.dot.setAttribute("stroke", status === "contested" ? "#000" : "#555");
      m.dot.setAttribute("stroke-width", status === "contested" ? 3 : 1);
      var pattern = { uncertain: "url(#m-hatch)", conflicting: "url(#m-cross)" }[status] || "none";
      m.overlay.setAttribute("fill", pattern);
      m.g.setAttribute("data-controller", controller || "");
      m.g.setAttribute("data-status", status);
      m.g.setAttribute("data-fill", fill);
      m.g.setAttribute("data-counted", p.apart ? "" : (status === "conflicting" ? "" : controller || ""));
      m.g.classList.toggle("selected", view.place === i);
      var shape = shapes[i];
      if (shape) {  // shaded by the holder counted for it (its capital's), hatched while unsettled
        var shade = status === "vacated" ? "#ffffff" : (status === "unknown" || status === "conflicting") ? META.colours.none : colour(controller);
        shape.fill.setAttribute("fill", shade);
        shape.hatch.setAttribute("fill", pattern);
        shape.g.setAttribute("data-fill", shade);
        shape.g.setAttribute("data-status", status);
      }
      var text = placeLabel(p);
      if (status === "conflicting") text += "?";
      var differs = false;
      if (rec) {
        var r = stateOf(rec, i, view.t);
        differs = !!r && !!s && (r.controller !== s.controller || r.status !== s.status);
        if (differs) text += " [record: " + describe(r) + "]";
      }
      m.g.setAttribute("data-differs", differs ? "1" : "");
      m.ring.setAttribute("visibility", differs ? "visible" : "hidden");
      m.label.textContent = D.places.length > 60 && view.place !== i ? "" : text;
      m.title.textContent = placeLabel(p) + ": " + describe(s);
      m.g.setAttribute("aria-label", placeLabel(p) + ": " + describe(s) + ". Press Enter for its history.");
    });
  }

  // --- legend -------------------------------------------------------------------------------
  (function legend() {
    var box = $("legend");
    function item(draw, text) {
      var span = el("span");
      var icon = svg("svg", { viewBox: "0 0 16 16", "aria-hidden": "true" });
      patterns(icon, "l" + box.childNodes.length + "-");
      draw(icon, "l" + box.childNodes.length + "-");
      span.appendChild(icon);
      span.appendChild(document.createTextNode(text));
      box.appendChild(span);
    }
    META.controllers.forEach(function (c) {
      item(function (s) { svg("circle", { cx: 8, cy: 8, r: 6, fill: colour(c), stroke: "#555" }, s); }, META.names[c]);
    });
    item(function (s, p) {
      svg("circle", { cx: 8, cy: 8, r: 6, fill: "#ddd", stroke: "#555" }, s);
      svg("circle", { cx: 8, cy: 8, r: 6, fill: "url(#" + p + "hatch)" }, s);
    }, "uncertain (change under way)");
    item(function (s) { svg("circle", { cx: 8, cy: 8, r: 5.5, fill: "#ddd", stroke: "#000", "stroke-width": 2.5 }, s); }, "contested");
    item(function (s, p) {
      svg("circle", { cx: 8, cy: 8, r: 6, fill: META.colours.none, stroke: "#555" }, s);
      svg("circle", { cx: 8, cy: 8, r: 6, fill: "url(#" + p + "cross)" }, s);
    }, "conflicting (counted for nobody)");
    item(function (s) { svg("circle", { cx: 8, cy: 8, r: 6, fill: "#fff", stroke: "#555" }, s); }, "vacated");
    if (META.scenario) {
      item(function (s) { svg("circle", { cx: 8, cy: 8, r: 6.5, fill: "none", stroke: "#222", "stroke-dasharray": "3 2" }, s); }, "differs from the record");
    }
  })();

  // --- timeline -----------------------------------------------------------------------------
  var tl = $("timeline");
  var LW = 170, TW = 1000, ROW = 22, TOP = 22, span = META.end - META.start;
  var TH = TOP + ROW * META.rows.length + 6;
  tl.setAttribute("viewBox", "0 0 " + TW + " " + TH);
  patterns(tl, "t-");
  function tx(t) { return LW + (t - META.start) / span * (TW - LW - 10); }
  var lanes = svg("g", {}, tl);
  var grid = svg("g", {}, tl);
  var first = META.start - ((META.start + SYRIA) % DAY);
  // a grid line a day over a fortnight; over years, a week, a month or a year apart
  var spanDays = span / DAY;
  var STEP = DAY * (spanDays <= 20 ? 1 : spanDays <= 140 ? 7 : spanDays <= 700 ? 30 : 365);
  for (var day = first < META.start ? first + DAY : first; day < META.end; day += STEP) {
    svg("line", { "class": "grid", x1: tx(day), x2: tx(day), y1: TOP - 4, y2: TH }, grid);
    var tick = svg("text", { "class": "tick", x: tx(day) + 2, y: TOP - 8 }, grid);
    var d = local(day);
    tick.textContent = STEP > 7 * DAY ? MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear() : d.getUTCDate() + " " + MONTHS[d.getUTCMonth()];
  }
  var cursor = svg("line", { "class": "cursor", x1: 0, x2: 0, y1: TOP - 6, y2: TH }, tl);
  var drawnWorld = null;
  function drawLanes() {
    var name = worldName(false);
    if (drawnWorld === name) return;
    drawnWorld = name;
    clear(lanes);
    var w = world(false);
    META.rows.forEach(function (i, row) {
      var p = D.places[i], y = TOP + row * ROW;
      var label = svg("text", { "class": "lane-label", x: 4, y: y + ROW / 2 + 4 }, lanes);
      label.textContent = p.apart ? p.name + " (= " + p.counted_as + ")" : placeLabel(p);
      var list = w.places[i];
      list.forEach(function (entry, k) {
        var s = D.states[entry[1]];
        var end = k + 1 < list.length ? list[k + 1][0] : META.end;
        var x0 = tx(Math.max(entry[0], META.start)), x1 = tx(Math.min(end, META.end));
        if (x1 <= x0) return;
        var fill = colour(s.controller);
        if (s.status === "vacated") fill = "#ffffff";
        if (s.status === "conflicting" || s.status === "unknown") fill = META.colours.none;
        var edge = x1 - x0 > 3 ? { stroke: "#fff", "stroke-width": 0.5 } : {};  // no seams on slivers
        var rect = svg("rect", Object.assign({ x: x0, y: y + 3, width: x1 - x0, height: ROW - 6, fill: fill }, edge), lanes);
        var t = svg("title", {}, rect);
        t.textContent = placeLabel(p) + ": " + describe(s) + ", " + stamp(entry[0]) + " \u2013 " + stamp(end);
        var pattern = { uncertain: "url(#t-hatch)", contested: "url(#t-dots)", conflicting: "url(#t-cross)" }[s.status];
        if (pattern) svg("rect", { x: x0, y: y + 3, width: x1 - x0, height: ROW - 6, fill: pattern, "pointer-events": "none" }, lanes);
      });
    });
  }
  tl.addEventListener("click", function (ev) {
    var box = tl.getBoundingClientRect();
    var x = (ev.clientX - box.left) / box.width * TW;
    if (x < LW) return;
    stop();
    setTime(META.start + (x - LW) / (TW - LW - 10) * span);
  });

  // --- panels -------------------------------------------------------------------------------
  function eventItem(e, remark, later) {
    var li = el("li");
    if (later) li.className = "later";
    if (remark && remark.indexOf("retracted by") === 0) li.classList.add("retracted");
    var head = el("div");
    var sw = el("span", "swatch");
    sw.style.background = colour(e.kind === "withdrawal" ? null : e.actor);
    head.appendChild(sw);
    var what = e.kind + (e.actor ? " by " + who(e.actor) : "") + (e.previous ? " (from " + who(e.previous) + ")" : "");
    head.appendChild(el("span", "what", what + " \u2014 "));
    var place = D.places.findIndex(function (p) { return p.name === e.place; });
    var link = el("button", "linkish", e.place);
    link.type = "button";
    link.addEventListener("click", function () { if (place >= 0) select(place); });
    head.appendChild(link);
    if (e.scenario) head.appendChild(el("span", "tag", "SCENARIO"));
    if (e.scope !== "city") head.appendChild(el("span", "tag", e.scope));
    li.appendChild(head);
    li.appendChild(el("div", "meta", "occurred " + window_(e) + "; reported " + stamp(e.reported, true) +
      (later ? " (not yet reported at the time shown)" : "")));
    li.appendChild(el("blockquote", "", e.quote));
    li.appendChild(el("div", "meta", e.file + " \u00b7 " + e.id + (e.targets.length ? " \u00b7 targets " + e.targets.join(", ") : "")));
    if (e.note) li.appendChild(el("div", "meta", "Note: " + e.note));
    if (remark) li.appendChild(el("div", "remark", remark));
    return li;
  }

  function drawEvents() {
    var list = $("events");
    clear(list);
    var lo = view.t - DAY, hi = view.t + DAY, hidden = 0, shown = 0;
    D.events.forEach(function (e) {
      var near = (e.reported >= lo && e.reported <= hi) || (e.earliest <= hi && e.latest >= lo);
      if (!near || e.kind === "baseline") return;
      if (view.known && e.reported > view.t) { hidden += 1; return; }
      list.appendChild(eventItem(e, "", false));
      shown += 1;
    });
    var note = shown ? "" : "No report was made or bears on a day either side of this time.";
    if (hidden) note += (note ? " " : "") + hidden + " later report(s) hidden: they had not been published yet.";
    $("events-note").textContent = note;
  }

  function sourceList(ids) {
    var box = el("div");
    ids.forEach(function (id) {
      var e = EVENTS[id];
      if (!e) return;
      box.appendChild(el("div", "meta", e.id + " [" + e.file + "]"));
      box.appendChild(el("blockquote", "", e.quote));
    });
    return box;
  }

  function drawPlace() {
    var open = view.place !== null;
    $("place-panel").hidden = !open;
    $("events-panel").hidden = open;
    if (!open) return;
    var p = D.places[view.place], s = stateOf(world(false), view.place, view.t);
    $("place-title").textContent = placeLabel(p);
    var box = $("place-state");
    clear(box);
    box.className = "state";
    var line = el("p");
    var sw = el("span", "swatch");
    sw.style.background = s ? colour(s.status === "conflicting" ? null : s.controller) : colour(null);
    line.appendChild(sw);
    line.appendChild(el("strong", "", (META.scenario ? "In the scenario: " : "") + describe(s)));
    box.appendChild(line);
    if (p.apart) box.appendChild(el("p", "hint", "Counted as " + p.counted_as + " (the seat setting): not a capital of its own in the count."));
    if (s && s.since) box.appendChild(el("p", "", "Since " + stamp(Date.parse(s.since) / 1000, true) +
      (s.since_latest && s.since_latest !== s.since ? " \u2013 " + stamp(Date.parse(s.since_latest) / 1000, true) : "")));
    if (s && s.contested_by.length) {
      box.appendChild(el("p", "", "Contested by:"));
      box.appendChild(sourceList(s.contested_by));
    }
    if (s && s.sources.length) {
      box.appendChild(el("p", "", "On the evidence of:"));
      box.appendChild(sourceList(s.sources));
    }
    if (META.scenario) {
      var r = stateOf(world(true), view.place, view.t);
      var differs = r && s && (r.controller !== s.controller || r.status !== s.status);
      box.appendChild(el("p", differs ? "differs" : "", "The record says: " + describe(r) + (differs ? " (differs from the scenario)" : "")));
    }
    var list = $("place-history");
    clear(list);
    (D.history[p.name] || []).forEach(function (h) {
      var e = EVENTS[h[0]];
      if (e) list.appendChild(eventItem(e, h[1], view.known && e.reported > view.t));
    });
  }

  function select(i) {
    view.place = i;
    render();
    $("close-place").focus();
  }
  $("close-place").addEventListener("click", function () {
    var was = view.place;
    view.place = null;
    render();
    if (was !== null) markers[was].g.focus();
  });

  // --- time ---------------------------------------------------------------------------------
  var slider = $("slider");
  slider.min = 0;
  slider.max = META.end - META.start;
  slider.step = 60;

  function drawHeadline() {
    var h = find(world(false).headline, view.t);
    var text = META.main_name + ": ?", note = [];
    if (h) {
      var count = h[1], low = h[2], high = h[3], disputed = h[4];
      var range = low === high ? String(count) : low + "\u2013" + high;
      text = META.main_name + ": " + range + " of " + META.total;
      if (low !== high) note.push("changes under way: " + count + " counted until they complete, " + low + "\u2013" + high + " as they turn out");
      disputed.forEach(function (d) {
        note.push(d[0] + " is disputed (" + d[1].map(function (c) { return c ? who(c) : "nobody"; }).join(" or ") + "): counted for nobody");
      });
    }
    if (META.scenario) {
      note.unshift("SCENARIO " + META.scenario.name);
      var r = find(world(true).headline, view.t);
      if (r) note.push("the record: " + (r[2] === r[3] ? r[1] : r[2] + "\u2013" + r[3]) + " of " + META.total);
    }
    $("headline").textContent = text;
    $("headline-note").textContent = note.join("; ");
  }

  function drawTime() {
    $("time").textContent = longStamp(view.t);
    var notes = [];
    var ends = META.record_ends;
    if (view.known) notes.push("Showing only what had been reported by this time.");
    if (view.t > ends) notes.push("Past the last report (" + stamp(ends) + "): the state shown is carried forward.");
    $("time-note").textContent = notes.join(" ");
    slider.value = String(view.t - META.start);
    slider.setAttribute("aria-valuetext", longStamp(view.t));
    cursor.setAttribute("x1", tx(view.t));
    cursor.setAttribute("x2", tx(view.t));
  }

  function writeHash() {
    var hash = "#at=" + isoMinute(view.t) + (view.known ? "&known=1" : "");
    if (view.place !== null) hash += "&place=" + encodeURIComponent(D.places[view.place].name);
    if (location.hash !== hash) {
      try { history.replaceState(null, "", hash); } catch (err) { /* some viewers forbid it */ }
    }
  }

  function render() {
    drawLanes();
    drawTime();
    drawHeadline();
    drawMap();
    drawPlace();
    if (view.place === null) drawEvents();
    writeHash();
  }

  function setTime(t) {
    view.t = clamp(t);
    render();
  }
  function nextChange(dir) {
    var list = world(false).changes, t = view.t, pick = null;
    for (var k = 0; k < list.length; k += 1) {
      if (dir > 0 && list[k] > t) { pick = list[k]; break; }
      if (dir < 0 && list[k] < t) pick = list[k];
    }
    if (pick === null) pick = dir > 0 ? META.end : META.start;
    setTime(pick);
  }
  function stop() {
    if (view.playing !== null) {
      clearInterval(view.playing);
      view.playing = null;
      $("play").textContent = "\u25B6 Play";
      $("play").setAttribute("aria-pressed", "false");
    }
  }
  function play() {
    if (view.playing !== null) { stop(); return; }
    if (view.t >= META.end) view.t = META.start;
    $("play").textContent = "|| Pause";
    $("play").setAttribute("aria-pressed", "true");
    view.playing = setInterval(function () {
      if (view.t >= META.end) { stop(); return; }
      setTime(view.t + HOUR);
    }, 120);
  }

  slider.addEventListener("input", function () { stop(); setTime(META.start + Number(slider.value)); });
  slider.addEventListener("keydown", function (ev) {
    var step = ev.shiftKey ? DAY : HOUR, moves = {
      ArrowLeft: -step, ArrowDown: -step, ArrowRight: step, ArrowUp: step
    };
    if (ev.key in moves) { ev.preventDefault(); stop(); setTime(view.t + moves[ev.key]); }
    else if (ev.key === "PageUp") { ev.preventDefault(); stop(); nextChange(-1); }
    else if (ev.key === "PageDown") { ev.preventDefault(); stop(); nextChange(1); }
    else if (ev.key === "Home") { ev.preventDefault(); stop(); setTime(META.start); }
    else if (ev.key === "End") { ev.preventDefault(); stop(); setTime(META.end); }
  });
  document.addEventListener("keydown", function (ev) {
    var tag = ev.target && ev.target.tagName;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "Escape" && view.place !== null) { $("close-place").click(); return; }
    if (tag === "INPUT" || tag === "BUTTON" || tag === "TEXTAREA") return;
    if (ev.key === "p" || ev.key === "P") { play(); }
    else if (ev.key === "[") { stop(); nextChange(-1); }
    else if (ev.key === "]") { stop(); nextChange(1); }
  });
  $("play").addEventListener("click", play);
  $("back").addEventListener("click", function () { stop(); setTime(view.t - HOUR); });
  $("forward").addEventListener("click", function () { stop(); setTime(view.t + HOUR); });
  $("back-day").addEventListener("click", function () { stop(); setTime(view.t - DAY); });
  $("forward-day").addEventListener("click", function () { stop(); setTime(view.t + DAY); });
  $("prev-change").addEventListener("click", function () { stop(); nextChange(-1); });
  $("next-change").addEventListener("click", function () { stop(); nextChange(1); });
  $("known").addEventListener("change", function () { view.known = $("known").checked; render(); });

  // --- the URL ------------------------------------------------------------------------------
  function readHash() {
    var params = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var at = part.indexOf("=");
      if (at > 0) {
        try { params[part.slice(0, at)] = decodeURIComponent(part.slice(at + 1)); } catch (err) { /* ignore */ }
      }
    });
    if (params.at) {
      var ms = Date.parse(params.at);
      if (!isNaN(ms)) view.t = clamp(ms / 1000);
    }
    if (params.known !== undefined) view.known = params.known === "1" || params.known === "true";
    if (params.place !== undefined) {
      var i = D.places.findIndex(function (p) { return p.name === params.place || p.capital === params.place; });
      view.place = i >= 0 ? i : null;
    }
    $("known").checked = view.known;
  }
  window.addEventListener("hashchange", function () { readHash(); render(); });
  view.t = META.record_ends < META.end ? clamp(META.record_ends) : META.end;
  readHash();
  render();
  document.documentElement.setAttribute("data-ready", "1");
})();
