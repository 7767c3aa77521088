/* brainalign leaderboard: sorting, filtering and the data download. No dependencies; works from file://. */
(function () {
  "use strict";

  function setupTable(table) {
    const body = table.tBodies[0];
    const headers = Array.from(table.tHead.rows[0].cells);

    function key(row, index, type) {
      const cell = row.cells[index];
      if (type === "number") {
        const raw = cell.dataset.value;
        return raw === undefined || raw === "" ? null : Number(raw);
      }
      return cell.textContent.trim().toLowerCase();
    }

    function sortBy(th, index) {
      const type = th.dataset.type || "text";
      const current = th.getAttribute("aria-sort");
      let direction;
      if (current === "descending") direction = "ascending";
      else if (current === "ascending") direction = "descending";
      else direction = type === "number" ? "descending" : "ascending";
      headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", direction);
      const sign = direction === "ascending" ? 1 : -1;
      const rows = Array.from(body.rows);
      rows.sort(function (a, b) {
        const ka = key(a, index, type);
        const kb = key(b, index, type);
        if (ka === null || kb === null) return (ka === null) - (kb === null);  // missing last
        if (type === "number") return sign * (ka - kb);
        return sign * ka.localeCompare(kb);
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

  function setupDownload() {
    const button = document.getElementById("download-data");
    const data = document.getElementById("leaderboard-data");
    if (!button || !data) return;
    button.addEventListener("click", function () {
      const url = URL.createObjectURL(new Blob([data.textContent], { type: "application/json" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = "brainalign-leaderboard.json";
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
  }
  document.querySelectorAll("table.sortable").forEach(setupTable);
  setupDownload();
})();
