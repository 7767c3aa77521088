/* brainalign leaderboard: sorting, filtering, the overall rank's weights, the cite buttons, the
   analysis page's data download. No dependencies; works from file://. */
(function () {
  "use strict";

  function numberOf(cell) {
    const raw = cell ? cell.dataset.value : undefined;
    return raw === undefined || raw === "" ? null : Number(raw);
  }

  function setupTable(table) {
    const body = table.tBodies[0];
    const headers = Array.from(table.tHead.rows[0].cells);

    function key(row, index, type) {
      const cell = row.cells[index];
      if (type === "number") return numberOf(cell);
      if (!cell) return "";
      return (cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim()).toLowerCase();
    }

    function sortBy(th, index) {
      const type = th.dataset.type || "text";
      const current = th.getAttribute("aria-sort");
      const first = th.dataset.first || (type === "number" ? "descending" : "ascending");
      let direction;
      if (current === "descending") direction = "ascending";
      else if (current === "ascending") direction = "descending";
      else direction = first;
      headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", direction);
      const sign = direction === "ascending" ? 1 : -1;
      const rows = Array.from(body.rows);
      rows.sort(function (a, b) {
        const ka = key(a, index, type);
        const kb = key(b, index, type);
        if (ka === null || kb === null) return (ka === null) - (kb === null);  // missing last
        if (type === "number") return sign * (ka - kb);
        return sign * (ka < kb ? -1 : ka > kb ? 1 : 0);
      });
      rows.forEach(function (row) { body.appendChild(row); });
    }

    headers.forEach(function (th, index) {
      const button = th.querySelector("button");
      if (button) button.addEventListener("click", function () { sortBy(th, index); });
    });
  }

  function setupFilter(table) {
    const body = table.tBodies[0];
    const text = document.getElementById("filter-text");
    const family = document.getElementById("filter-family");
    const objective = document.getElementById("filter-objective");
    const count = document.getElementById("shown-count");
    if (!text || !family || !objective || !count) return;

    function apply() {
      const query = text.value.trim().toLowerCase();
      let shown = 0;
      Array.from(body.rows).forEach(function (row) {
        const visible = (!query || row.dataset.search.indexOf(query) !== -1) &&
          (!family.value || row.dataset.family === family.value) &&
          (!objective.value || row.dataset.objective === objective.value);
        row.hidden = !visible;
        if (visible) shown += 1;
      });
      count.textContent = shown + " of " + body.rows.length + " models shown";
    }

    [text, family, objective].forEach(function (control) {
      control.addEventListener("input", apply);
      control.addEventListener("change", apply);
    });
    apply();
  }

  /* The overall score for other weights: the same rule as brainalign.leaderboard.ranking. */
  function setupRanking(table) {
    const source = document.getElementById("ranking-data");
    if (!source) return;
    const data = JSON.parse(source.textContent);
    const body = table.tBodies[0];
    const headers = Array.from(table.tHead.rows[0].cells);
    const offset = headers.findIndex(function (th) { return th.classList.contains("overall"); }) + 1;
    const rankIndex = headers.findIndex(function (th) { return th.classList.contains("rank"); });
    const overallIndex = offset - 1;
    const inputs = Array.from(document.querySelectorAll(".weights-panel input[data-benchmark]"));
    const toggle = document.getElementById("overall-on");
    const defaults = Object.assign({}, data.weights);

    function tQuantile(dof) {
      if (!isFinite(dof) || dof > data.t975.length) return data.z975;
      return data.t975[Math.max(Math.floor(dof), 1) - 1];
    }

    function format(x, digits) { return x.toFixed(digits); }

    function overall(row, weights) {
      const k = data.benchmarks.length;
      const corr = JSON.parse(row.dataset.corr || "[]");
      function rho(i, j) {
        if (i === j) return 1;
        const a = Math.min(i, j), b = Math.max(i, j);
        const index = a * k - (a * (a + 1)) / 2 + (b - a - 1);
        return corr.length ? corr[index] : 1;
      }
      const used = [];
      const missing = [];
      data.columns.forEach(function (benchmark, j) {
        if (benchmark === null || !(weights[benchmark] > 0)) return;
        const cell = row.cells[offset + j];
        const value = numberOf(cell);
        if (value === null) { missing.push(benchmark); return; }
        used.push({ b: data.benchmarks.indexOf(benchmark), w: weights[benchmark], v: value,
                    se: Number(cell.dataset.se), dof: cell.dataset.dof === "" ? Infinity : Number(cell.dataset.dof) });
      });
      if (missing.length || !used.length) return { value: NaN, missing: missing };
      const total = used.reduce(function (s, u) { return s + u.w; }, 0);
      const mean = used.reduce(function (s, u) { return s + u.w * u.v; }, 0) / total;
      let variance = 0;
      used.forEach(function (a) {
        used.forEach(function (b) { variance += a.w * a.se * b.w * b.se * rho(a.b, b.b); });
      });
      variance = Math.max(variance, 0) / (total * total);
      let numerator = 0, denominator = 0;
      used.forEach(function (u) {
        const a = Math.pow(u.w * u.se, 2);
        numerator += a;
        if (isFinite(u.dof)) denominator += a * a / u.dof;
      });
      const dof = denominator > 0 ? numerator * numerator / denominator : Infinity;
      const half = tQuantile(dof) * Math.sqrt(variance);
      return { value: mean, low: mean - half, high: mean + half, missing: [] };
    }

    function show(cell, score) {
      cell.textContent = "";
      if (isNaN(score.value)) {
        cell.dataset.value = "";
        cell.classList.add("missing");
        cell.textContent = "—";
        cell.title = score.missing.length ? "no overall score: not scored on " + score.missing.join(", ") : "no overall score";
        return;
      }
      cell.classList.remove("missing");
      cell.dataset.value = String(score.value);
      cell.appendChild(document.createTextNode(format(score.value, 3)));
      if (isFinite(score.low)) {
        const ci = document.createElement("span");
        ci.className = "ci";
        ci.textContent = format(score.low, 2) + " – " + format(score.high, 2);
        cell.appendChild(ci);
      }
    }

    function rerank() {
      const weights = {};
      inputs.forEach(function (input) {
        const w = Number(input.value);
        weights[input.dataset.benchmark] = isFinite(w) && w > 0 ? w : 0;
      });
      const rows = Array.from(body.rows);
      const scored = rows.map(function (row) {
        const score = overall(row, weights);
        show(row.cells[overallIndex], score);
        return { row: row, score: score.value, name: row.cells[offset - 2].textContent.trim() };
      });
      scored.sort(function (a, b) {
        const na = isNaN(a.score), nb = isNaN(b.score);
        if (na !== nb) return na - nb;
        if (!na && a.score !== b.score) return b.score - a.score;
        return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
      });
      scored.forEach(function (item, i) {
        const cell = item.row.cells[rankIndex];
        const rank = isNaN(item.score) ? "" : String(i + 1);
        cell.dataset.value = rank;
        cell.textContent = rank || "—";
        body.appendChild(item.row);
      });
      headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
      const custom = inputs.some(function (input) { return Number(input.value) !== defaults[input.dataset.benchmark]; });
      const rule = document.getElementById("rank-rule");
      if (rule) {
        rule.dataset.text = rule.dataset.text || rule.textContent;
        rule.textContent = custom ? "Overall: the weighted mean of the columns divided by the ceiling, with weights " +
          inputs.map(function (i) { return i.dataset.benchmark + " " + (Number(i.value) || 0); }).join(", ") +
          " (the stated rule weighs them as its defaults); its interval is made as the rule's." : rule.dataset.text;
      }
    }

    inputs.forEach(function (input) {
      input.addEventListener("input", rerank);
      input.addEventListener("change", rerank);
    });
    const reset = document.getElementById("weights-reset");
    if (reset) reset.addEventListener("click", function () {
      inputs.forEach(function (input) { input.value = String(defaults[input.dataset.benchmark]); });
      rerank();
    });
    if (toggle) toggle.addEventListener("change", function () {
      table.classList.toggle("no-overall", !toggle.checked);
    });
    window.brainalignRerank = rerank;
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return copyBySelection(text); });
    }
    return copyBySelection(text);
  }

  function copyBySelection(text) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function setupCite() {
    document.querySelectorAll("button.cite").forEach(function (button) {
      button.addEventListener("click", function () {
        const source = document.getElementById(button.dataset.cite);
        if (!source) return;
        copyText(source.value).then(function () {
          button.classList.add("copied");
          button.textContent = "copied";
        }, function () {
          source.hidden = false;  // no clipboard: show the text to copy by hand
          source.select();
        });
      });
    });
  }

  function setupDownload() {
    const button = document.getElementById("download-data");
    const data = document.getElementById("analysis-data");
    if (!button || !data) return;
    button.addEventListener("click", function () {
      const url = URL.createObjectURL(new Blob([data.textContent], { type: "application/json" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = "brainalign-analysis.json";
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 0);
    });
  }

  const table = document.getElementById("leaderboard");
  if (table) {
    setupTable(table);
    setupFilter(table);
    setupRanking(table);
  }
  document.querySelectorAll("table.sortable").forEach(setupTable);
  setupCite();
  setupDownload();
})();
