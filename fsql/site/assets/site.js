/* fsql docs site: search, lineage depth / column view / SVG export. Progressive enhancement only:
   every page is complete without this file. User text is only ever set with textContent. */
(function () {
  "use strict";
  var ROOT = document.body.getAttribute("data-root") || "";
  var NODE_W = 190, NODE_H = 26, COL_W = 250, ROW_H = 34, SVGNS = "http://www.w3.org/2000/svg";
  document.documentElement.classList.add("js");

  var loading = {};
  function load(name, ready, cb) {            // data files are .js: fetch() of file:// is blocked
    if (ready()) { cb(); return; }
    if (loading[name]) { loading[name].push(cb); return; }
    loading[name] = [cb];
    var s = document.createElement("script");
    s.src = ROOT + "assets/" + name;
    s.onload = function () { ready(); var l = loading[name]; loading[name] = null; l.forEach(function (f) { f(); }); };
    document.head.appendChild(s);
  }

  /* ---------------- search ---------------- */
  var q = document.getElementById("q"), results = document.getElementById("results"), index = null;
  function prepared() {
    if (!index && window.FSQL_SEARCH) {
      index = window.FSQL_SEARCH.map(function (r) {
        return { kind: r[0], label: r[1], url: r[2], text: r[3], l: r[1].toLowerCase(),
                 t: (r[1] + " " + r[3] + " " + r[0]).toLowerCase() };
      });
    }
    return !!index;
  }
  function search(query) {
    var terms = query.toLowerCase().split(/\s+/).filter(Boolean), out = [];
    if (!terms.length) return out;
    var whole = terms.join(" ");
    for (var i = 0; i < index.length; i++) {
      var r = index[i], ok = true;
      for (var j = 0; j < terms.length && ok; j++) ok = r.t.indexOf(terms[j]) >= 0;
      if (!ok) continue;
      var rank = r.l === whole ? 0 : r.l.indexOf(whole) === 0 ? 1 : r.l.indexOf(whole) >= 0 ? 2 :
        r.t.indexOf(whole) >= 0 ? 3 : 4;
      if (r.kind === "column") rank += 0.5;
      out.push([rank, r.label.length, r.label, r]);
    }
    out.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : 1); });
    return out.slice(0, 40).map(function (x) { return x[3]; });
  }
  var sel = -1;
  function show() {
    var hits = search(q.value);
    results.textContent = "";
    sel = hits.length ? 0 : -1;
    hits.forEach(function (r, i) {
      var li = document.createElement("li"), a = document.createElement("a");
      var b = document.createElement("b"), k = document.createElement("span"), sn = document.createElement("span");
      a.href = ROOT + r.url;
      b.textContent = r.label; k.className = "kind"; k.textContent = r.kind;
      sn.className = "snip"; sn.textContent = r.text;
      a.appendChild(b); a.appendChild(k); a.appendChild(sn); li.appendChild(a);
      if (i === 0) li.className = "sel";
      results.appendChild(li);
    });
    if (q.value.trim() && !hits.length) {
      var li = document.createElement("li"); li.className = "small"; li.textContent = "  no match";
      results.appendChild(li);
    }
    results.hidden = !q.value.trim();
  }
  if (q) {
    q.addEventListener("focus", function () { load("search.js", prepared, function () { prepared(); if (q.value) show(); }); });
    q.addEventListener("input", function () { load("search.js", prepared, function () { prepared(); show(); }); });
    q.addEventListener("keydown", function (e) {
      var items = results.querySelectorAll("li a");
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        if (!items.length) return;
        e.preventDefault();
        sel = (sel + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        results.querySelectorAll("li").forEach(function (li, i) { li.className = i === sel ? "sel" : ""; });
      } else if (e.key === "Enter" && items.length && sel >= 0) {
        window.location.href = items[sel].href;
      } else if (e.key === "Escape") { results.hidden = true; }
    });
    document.addEventListener("click", function (e) { if (!e.target.closest(".search")) results.hidden = true; });
    document.addEventListener("keydown", function (e) {
      if (e.key === "/" && document.activeElement !== q) { e.preventDefault(); q.focus(); }
    });
  }

  /* ---------------- lineage ---------------- */
  var G = null;
  function graphReady() {
    if (!G && window.FSQL_GRAPH) {
      var d = window.FSQL_GRAPH, id = {};
      G = { n: d.n, par: d.n.map(function () { return []; }), kid: d.n.map(function () { return []; }), id: id };
      d.n.forEach(function (n, i) { id[n[0]] = i; });
      d.e.forEach(function (e) { G.par[e[1]].push(e[0]); G.kid[e[0]].push(e[1]); });
    }
    return !!G;
  }
  function hood(focus, depth) {             // == lineage.neighbourhood
    var dist = {}; dist[focus] = 0;
    [G.par, G.kid].forEach(function (nb) {
      var seen = {}, qu = [focus]; seen[focus] = 0;
      while (qu.length) {
        var n = qu.shift();
        if (seen[n] >= depth) continue;
        nb[n].forEach(function (x) { if (!(x in seen)) { seen[x] = seen[n] + 1; qu.push(x); } });
      }
      for (var k in seen) dist[k] = Math.min(seen[k], k in dist ? dist[k] : seen[k]);
    });
    return dist;
  }
  function pack(vis) {                      // == lineage.pack
    var cols = {}, layers = [], tallest = 0, pos = {};
    vis.forEach(function (i) { var l = G.n[i][2]; (cols[l] = cols[l] || []).push(i); });
    for (var l in cols) { layers.push(+l); tallest = Math.max(tallest, cols[l].length); }
    layers.sort(function (a, b) { return a - b; });
    layers.forEach(function (l, ci) {
      var row = cols[l].sort(function (a, b) { return G.n[a][3] - G.n[b][3]; });
      var off = (tallest - row.length) / 2;
      row.forEach(function (n, ri) { pos[n] = [8 + ci * COL_W, Math.trunc(8 + (off + ri) * ROW_H)]; });
    });
    return pos;
  }
  function el(name, attrs, parent) {
    var e = document.createElementNS(SVGNS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function label(id) { var t = id.indexOf("source:") === 0 ? id.slice(7) : id; return t.length <= 26 ? t : t.slice(0, 25) + "\u2026"; }
  function render(focusIdx, dist) {
    var vis = Object.keys(dist).map(Number), pos = pack(vis), w = 0, h = 0, set = {};
    vis.forEach(function (i) { set[i] = 1; w = Math.max(w, pos[i][0]); h = Math.max(h, pos[i][1]); });
    w += NODE_W + 16; h += NODE_H + 16;
    var svg = el("svg", { "class": "dag", width: w, height: h, viewBox: "0 0 " + w + " " + h, role: "img" });
    var eg = el("g", { "class": "edges" }, svg), ng = el("g", { "class": "nodes" }, svg);
    vis.sort(function (a, b) { return G.n[a][2] - G.n[b][2] || G.n[a][3] - G.n[b][3]; });
    vis.forEach(function (i) {
      var p2 = pos[i];
      G.par[i].forEach(function (p) {
        if (!set[p]) return;
        var x1 = pos[p][0] + NODE_W, y1 = pos[p][1] + NODE_H / 2, x2 = p2[0], y2 = p2[1] + NODE_H / 2, mx = Math.floor((x1 + x2) / 2);
        el("path", { d: "M" + x1 + " " + y1 + "C" + mx + " " + y1 + " " + mx + " " + y2 + " " + x2 + " " + y2 }, eg);
      });
      var n = G.n[i], a = el("a", { href: ROOT + n[4], "class": "n k-" + n[1] + (i === focusIdx ? " focus" : ""), "data-d": dist[i] }, ng);
      el("title", {}, a).textContent = n[0];
      el("rect", { x: p2[0], y: p2[1], width: NODE_W, height: NODE_H, rx: 5 }, a);
      el("text", { x: p2[0] + 8, y: p2[1] + 17 }, a).textContent = label(n[0]);
    });
    return svg;
  }
  function setDepth(box, depth) {
    var t0 = performance.now();
    load("graph.js", graphReady, function () {
      var f = G.id[box.getAttribute("data-focus")];
      if (f === undefined) return;
      var dist = hood(f, depth), more = Object.keys(hood(f, depth + 1)).length > Object.keys(dist).length;
      var wrap = box.querySelector(".vm .gwrap");
      wrap.textContent = "";
      wrap.appendChild(render(f, dist));
      box.setAttribute("data-depth", depth);
      box.querySelector(".depth").textContent = "depth " + depth + " \u00b7 " + Object.keys(dist).length + " nodes";
      box.querySelector("[data-act=less]").disabled = depth <= 1;
      box.querySelector("[data-act=more]").disabled = !more;
      box.setAttribute("data-render-ms", (performance.now() - t0).toFixed(1));
    });
  }
  function exportSvg(box) {
    var svg = box.querySelector(box.classList.contains("show-cols") ? ".vc svg" : ".vm svg");
    if (!svg) return;
    var c = svg.cloneNode(true), st = document.createElementNS(SVGNS, "style");
    st.textContent = "text{font:12px sans-serif;fill:#1d2330}.edges path{fill:none;stroke:#94a3b8}" +
      "rect{fill:#e0e7ff;stroke:#64748b}.k-feature_set rect{fill:#d1fae5}.k-source rect{fill:#fde68a}" +
      ".k-seed rect{fill:#fbcfe8}.k-ephemeral rect{fill:#f1f5f9}.focus rect{stroke:#2563eb;stroke-width:2.5}" +
      ".cbox rect{fill:#fff}";
    c.insertBefore(st, c.firstChild);
    c.setAttribute("xmlns", SVGNS);
    var blob = new Blob([new XMLSerializer().serializeToString(c)], { type: "image/svg+xml" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = (box.getAttribute("data-focus") || "lineage") + (box.classList.contains("show-cols") ? "-columns" : "") + ".svg";
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
  }
  document.querySelectorAll(".lin").forEach(function (box) {
    box.addEventListener("click", function (e) {
      var b = e.target.closest("button[data-act]");
      if (!b) return;
      var act = b.getAttribute("data-act"), depth = +box.getAttribute("data-depth") || 1;
      if (act === "more") setDepth(box, depth + 1);
      else if (act === "less") setDepth(box, Math.max(1, depth - 1));
      else if (act === "export") exportSvg(box);
      else if (act === "model" || act === "columns") {
        box.classList.toggle("show-cols", act === "columns");
        box.querySelectorAll("[data-act=model],[data-act=columns]").forEach(function (x) {
          x.classList.toggle("on", x === b);
        });
      }
    });
  });
})();
