// netledger: site search and theme toggle. No dependencies; works from file://.
(function () {
  "use strict";
  var root = document.documentElement;

  // Theme: auto (the system's), light or dark, remembered on this device.
  var button = document.getElementById("theme");
  var themes = ["auto", "light", "dark"];
  function apply(theme) {
    if (theme === "auto") root.removeAttribute("data-theme");
    else root.setAttribute("data-theme", theme);
    if (button) {
      button.textContent = "Theme: " + theme;
      button.setAttribute("aria-label", "Colour theme: " + theme + " (change)");
    }
  }
  var saved = "auto";
  try { saved = localStorage.getItem("netledger-theme") || "auto"; } catch (e) {}
  apply(saved);
  if (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var next = themes[(themes.indexOf(root.getAttribute("data-theme") || "auto") + 1) % 3];
      try { localStorage.setItem("netledger-theme", next); } catch (e) {}
      apply(next);
    });
  }

  // Search over window.NETLEDGER_SEARCH (search-index.js).
  var input = document.getElementById("search");
  var list = document.getElementById("search-results");
  if (!input || !list) return;
  input.parentNode.hidden = false;
  function text(tag, content, cls) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    el.textContent = content;
    return el;
  }
  function snippet(page, terms) {
    var lower = page.x.toLowerCase();
    var at = lower.indexOf(terms[0]);
    if (at < 0) {
      for (var i = 0; i < page.h.length; i++) {
        if (page.h[i][1].toLowerCase().indexOf(terms[0]) >= 0) return page.h[i][1];
      }
      var words = page.w.split(" ").filter(function (w) { return w.indexOf(terms[0]) >= 0; });
      return words.length ? "Layers: " + words.slice(0, 6).join(", ") : page.x.slice(0, 140);
    }
    var start = Math.max(0, at - 60);
    return (start > 0 ? "… " : "") + page.x.slice(start, at + 100) + " …";
  }
  function score(page, terms) {
    var total = 0;
    var title = page.t.toLowerCase(), body = page.x.toLowerCase(), words = page.w;
    var heads = page.h.map(function (h) { return h[1].toLowerCase(); }).join(" ");
    for (var i = 0; i < terms.length; i++) {
      var t = terms[i], s = 0;
      if (title.indexOf(t) >= 0) s += 10;
      if (heads.indexOf(t) >= 0) s += 5;
      if (words.indexOf(t) >= 0) s += 3;
      if (body.indexOf(t) >= 0) s += 1;
      if (!s) return 0;
      total += s;
    }
    return total;
  }
  function anchor(page, terms) {
    for (var i = 0; i < page.h.length; i++) {
      if (page.h[i][0] && page.h[i][1].toLowerCase().indexOf(terms[0]) >= 0) return "#" + page.h[i][0];
    }
    return "";
  }
  function run() {
    var query = input.value.trim().toLowerCase();
    list.textContent = "";
    var pages = window.NETLEDGER_SEARCH || [];
    if (!query) { list.hidden = true; return; }
    var terms = query.split(/\s+/);
    var hits = pages
      .map(function (p) { return { p: p, s: score(p, terms) }; })
      .filter(function (h) { return h.s > 0; })
      .sort(function (a, b) { return b.s - a.s; })
      .slice(0, 12);
    if (!hits.length) list.appendChild(text("li", "No results for “" + input.value.trim() + "”", "none"));
    hits.forEach(function (h) {
      var li = document.createElement("li");
      var a = text("a", h.p.t);
      a.href = h.p.u + anchor(h.p, terms);
      li.appendChild(a);
      li.appendChild(text("p", snippet(h.p, terms)));
      list.appendChild(li);
    });
    list.hidden = false;
  }
  input.addEventListener("input", run);
  input.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { input.value = ""; run(); input.blur(); }
  });
  document.addEventListener("keydown", function (e) {
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test((e.target || {}).tagName || "");
    if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      input.focus();
    }
  });
})();
