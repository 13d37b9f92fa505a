// doi2data gateway page: filter the file table, select files, build download links and commands.
// Glob rules are doi2data.select's: no "/" = any depth, "*" and "?" stay in a directory, "**" crosses.
(function () {
  "use strict";
  const root = document.getElementById("dataset");
  if (!root) return;
  const base = root.dataset.base, anchor = root.dataset.anchor, doi = root.dataset.doi;
  const rows = Array.from(document.querySelectorAll("#files tbody tr"));
  const filter = document.getElementById("filter");
  const selectAll = document.getElementById("select-all");
  const isGlob = (s) => /[*?\[]/.test(s) || s.startsWith("/");
  const esc = (s) => s.replace(/[.+^${}()|\\]/g, "\\$&");

  function globToRegExp(pattern) {
    const anchored = pattern.replace(/\/+$/, "").includes("/");
    let body = pattern.replace(/^\/+/, ""), out = "";
    const dir = body.endsWith("/");
    body = body.replace(/\/+$/, "");
    for (let i = 0; i < body.length; i++) {
      const c = body[i];
      if (body.startsWith("**/", i)) { out += "(?:.*/)?"; i += 2; }
      else if (body.startsWith("**", i)) { out += ".*"; i += 1; }
      else if (c === "*") out += "[^/]*";
      else if (c === "?") out += "[^/]";
      else if (c === "[") {
        const end = body.indexOf("]", i + 2);
        if (end < 0) { out += "\\["; continue; }
        let cls = body.slice(i + 1, end);
        if (cls.startsWith("!")) cls = "^" + cls.slice(1);
        out += "[" + cls.replace(/\\/g, "\\\\") + "]"; i = end;
      } else out += esc(c);
    }
    return new RegExp("^" + (anchored ? "" : "(?:.*/)?") + out + (dir ? "/.*" : "(?:/.*)?") + "$");
  }

  function matcher(text) {
    const t = text.trim();
    if (!t) return () => true;
    if (isGlob(t)) { try { const re = globToRegExp(t); return (p) => re.test(p); } catch (e) { return () => false; } }
    const low = t.toLowerCase();
    return (p) => p.toLowerCase().includes(low);
  }

  const shq = (s) => "'" + s.replace(/'/g, "'\\''") + "'";
  const exact = (p) => "/" + p.replace(/[*?\[]/g, (c) => (c === "[" ? "?" : "[" + c + "]"));
  const human = (n) => {
    const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return i ? n.toFixed(1) + " " + u[i] : n + " B";
  };
  const visible = () => rows.filter((r) => !r.classList.contains("hidden"));
  const picked = () => rows.filter((r) => { const c = r.querySelector(".pick"); return c && c.checked; });

  // What the buttons and commands take: the checked files, else every file shown.
  function selection() {
    const checked = picked(), shown = visible().filter((r) => r.querySelector(".pick"));
    const text = filter.value.trim();
    const chosen = checked.length ? checked : shown;
    const sameAsShown = chosen.length === shown.length && chosen.every((r) => !r.classList.contains("hidden"));
    let patterns;
    if (chosen.length === rows.length) patterns = [];
    else if (sameAsShown && text && isGlob(text)) patterns = [text];
    else patterns = chosen.map((r) => exact(r.dataset.path));
    return { chosen, patterns, explicit: checked.length > 0 };
  }

  function query(params) {
    const q = params.map(([k, v]) => encodeURIComponent(k) + "=" + encodeURIComponent(v).replace(/%2F/g, "/")).join("&");
    return q ? "?" + q : "";
  }

  function update() {
    const s = selection();
    const bytes = s.chosen.reduce((n, r) => n + (parseInt(r.dataset.size, 10) || 0), 0);
    const files = s.patterns.map((p) => ["file", p]);
    const zip = anchor + query([...files, ["archive", "zip"]]);
    const tar = anchor + query([...files, ["archive", "tar"]]);
    const meta = anchor + query([...s.patterns.map((p) => ["include", p]), ["format", "metalink"]]);
    document.getElementById("zip").href = zip;
    document.getElementById("tar").href = tar;
    document.getElementById("selection").textContent =
      (s.explicit ? s.chosen.length + " selected" : (s.chosen.length === rows.length ? "All " : "") + s.chosen.length + " shown") +
      " · " + human(bytes) + (s.explicit ? "" : " (tick files to pick some)");
    const name = doi.replace(/[^A-Za-z0-9._-]+/g, "_") + ".zip";
    const inc = s.patterns.map((p) => " --include " + shq(p)).join("");
    document.getElementById("cmd-doi2data").textContent = "doi2data get " + shq(doi) + inc;
    document.getElementById("cmd-curl").textContent = "curl -fL -o " + shq(name) + " " + shq(zip);
    document.getElementById("cmd-wget").textContent = "wget --content-disposition " + shq(zip);
    document.getElementById("cmd-aria2c").textContent = "aria2c --follow-metalink=mem " + shq(meta);
  }

  function applyFilter() {
    const test = matcher(filter.value);
    let n = 0;
    for (const r of rows) { const ok = test(r.dataset.path); r.classList.toggle("hidden", !ok); if (ok) n++; }
    document.getElementById("shown").textContent = n + " shown";
    selectAll.checked = false;
    update();
  }

  filter.addEventListener("input", applyFilter);
  filter.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && filter.value.trim()) {
      const t = filter.value.trim();
      window.location = anchor + query([["include", isGlob(t) ? t : "*" + t + "*"]]);
    }
  });
  selectAll.addEventListener("change", () => {
    for (const r of visible()) { const c = r.querySelector(".pick"); if (c) c.checked = selectAll.checked; }
    update();
  });
  document.querySelector("#files tbody").addEventListener("change", update);

  function copy(text, button) {
    const done = () => { button.classList.add("done"); const old = button.textContent;
      if (button.classList.contains("copy")) button.textContent = "Copied";
      setTimeout(() => { button.classList.remove("done"); if (button.classList.contains("copy")) button.textContent = old; }, 1200); };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, () => {});
    else { const ta = document.createElement("textarea"); ta.value = text; document.body.appendChild(ta); ta.select();
      try { document.execCommand("copy"); done(); } catch (e) { /* ignore */ } ta.remove(); }
  }
  document.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-copy-target], button[data-copy]");
    if (!b) return;
    const text = b.dataset.copy || document.getElementById(b.dataset.copyTarget).textContent;
    copy(text, b);
  });
  applyFilter();
})();
