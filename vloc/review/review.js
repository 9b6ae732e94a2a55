// The vloc review page. Every text from the data (cue text, file names, glossary terms, QC
// messages) reaches the page through textContent / createTextNode, never as markup.
"use strict";
(function () {
  performance.mark("vloc-start");
  const D = JSON.parse(document.getElementById("vloc-data").textContent);
  performance.mark("vloc-parsed");
  const $ = (id) => document.getElementById(id);
  const CHUNK = 25; // rows per <tbody>; content-visibility skips rendering off-screen chunks
  // Python's str.isspace() set: a line made only of these is dropped on export, as
  // vloc.subtitles.write drops it, so unedited cues export byte for byte as vloc writes them
  const PY_SPACE = /^[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;
  // terminal and bidi controls, shown visibly (as vloc's terminal output shows them)
  const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  const STORE = "vloc-review:" + D.target.key;

  const rows = D.rows; // [source position | -1, target position | -1, timing differs 0/1]
  const edits = new Map(); // target position -> edited text
  const srcRow = new Map(); // source position -> row index
  rows.forEach((r, i) => { if (r[0] >= 0) srcRow.set(r[0], i); });
  const rowEls = new Array(rows.length);
  const details = new Map(); // row index -> details <tr>
  let video = null, current = -1, selected = -1;

  // ------------------------------------------------------------------ helpers
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function shown(parent, text) { // text with control characters made visible
    let last = 0;
    text.replace(CONTROL, (ch, at) => {
      if (at > last) parent.appendChild(document.createTextNode(text.slice(last, at)));
      const code = ch.charCodeAt(0);
      const esc = code < 0x100 ? "\\x" + code.toString(16).padStart(2, "0")
                               : "\\u" + code.toString(16).padStart(4, "0");
      parent.appendChild(el("span", "ctl", esc));
      last = at + ch.length;
      return ch;
    });
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
    return parent;
  }
  function clock(ms, sep) {
    const h = Math.floor(ms / 3600000), m = Math.floor(ms / 60000) % 60;
    const s = Math.floor(ms / 1000) % 60, f = ms % 1000;
    return String(h).padStart(2, "0") + ":" + String(m).padStart(2, "0") + ":" +
      String(s).padStart(2, "0") + sep + String(f).padStart(3, "0");
  }
  function short(ms) { return clock(ms, ".").replace(/^00:/, ""); }
  function tgtText(t) { return edits.has(t) ? edits.get(t) : D.tgt[t][2]; }
  function span(i) { const r = rows[i]; return r[1] >= 0 ? D.tgt[r[1]] : D.src[r[0]]; }
  function note(text, severity) {
    const li = el("li", severity === "error" ? "error" : "");
    shown(li, text);
    $("notes").appendChild(li);
  }

  // ------------------------------------------------------------------ export (vloc's writer)
  function lines(text) { return text.split("\n").filter((l) => !PY_SPACE.test(l)).join("\n"); }
  function serialize() {
    const out = [];
    const vtt = D.target.format === "vtt";
    if (vtt) out.push("WEBVTT\n\n");
    D.tgt.forEach((c, k) => {
      const sep = vtt ? "." : ",";
      let timing = clock(c[0], sep) + " --> " + clock(c[1], sep);
      if (vtt) {
        const st = D.target.settings[k], id = D.target.ids[k];
        if (st) timing += " " + st;
        out.push((id ? id + "\n" : "") + timing + "\n" + lines(tgtText(k)) + "\n\n");
      } else {
        out.push(String(k + 1) + "\n" + timing + "\n" + lines(tgtText(k)) + "\n\n");
      }
    });
    return out.join("");
  }
  window.vlocReview = { serialize: serialize, edits: edits }; // for scripts and tests
  function exportFile() {
    const blob = new Blob([serialize()], { type: D.target.format === "vtt" ? "text/vtt" : "application/x-subrip" });
    const a = el("a");
    a.href = URL.createObjectURL(blob);
    a.download = D.target.export;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  // ------------------------------------------------------------------ header
  function header() {
    $("title").textContent = D.title;
    const parts = [D.tgt.length + " translated cues of " + D.target.name,
      D.src.length + " source cues of " + D.source.name];
    if (D.related) parts.push("related cues from the film's index (" + D.encoder + ")");
    if (D.ctx) parts.push("engine context of " + D.ctx.batches + " batches");
    parts.push(D.qc === "given" ? "QC flags from the checker" : "basic QC flags");
    $("summary").textContent = parts.join(" · ");
    for (const [sev, text] of D.notes) note(text, sev);
    if (D.glossary) {
      const missed = D.glossary.filter((g) => g[3] < g[2]);
      const text = "glossary: " + D.glossary.length + " terms, " + missed.length + " missed somewhere" +
        (missed.length ? " (" + missed.map((g) => g[0] + " → " + g[1] + " " + g[3] + "/" + g[2]).join(", ") + ")" : "");
      note(text, missed.length ? "warning" : "info");
    }
  }

  // ------------------------------------------------------------------ player and strip
  function player() {
    if (!D.video.src) return;
    video = el("video");
    video.controls = true;
    video.preload = "metadata";
    video.src = D.video.src;
    video.addEventListener("error", () => {
      const err = video.error;
      note("This browser cannot play " + D.video.name + (err && err.message ? " (" + err.message + ")" : "") +
        ": the table, thumbnails and export still work; convert the film to H.264/MP4 or VP9/WebM to watch it here.", "error");
    });
    const tracks = [["subtitles", D.source.name, D.source.lang, D.src, false],
                    ["subtitles", D.target.name, D.target.lang, D.tgt, true]];
    for (const [kind, label, lang, cues, on] of tracks) {
      const track = video.addTextTrack(kind, label, lang === "und" ? "" : lang);
      cues.forEach((c, k) => {
        if (c[1] > c[0]) {
          const cue = new VTTCue(c[0] / 1000, c[1] / 1000, vttText(on ? tgtText(k) : c[2]));
          cue.id = String(k);
          track.addCue(cue);
        }
      });
      track.mode = on ? "showing" : "hidden";
      if (on) D.tgtTrack = track;
    }
    $("player").appendChild(video);
    const tick = () => { highlight(); if (!video.paused) requestAnimationFrame(tick); };
    video.addEventListener("play", () => requestAnimationFrame(tick));
    video.addEventListener("seeked", highlight);
    video.addEventListener("timeupdate", highlight);
  }
  function vttText(text) { // text as WebVTT cue text: only <i>, <b>, <u> stay markup
    return text.replace(/&/g, "&amp;").replace(/\x3c/g, "&lt;").replace(/\x3e/g, "&gt;")
      .replace(/&lt;(\/?)([ibu])&gt;/g, "<$1$2>");
  }
  function strip() {
    const frames = $("strip-frames");
    for (const [, t] of D.strip) {
      const img = el("img");
      img.alt = "";
      img.loading = "lazy";
      img.decoding = "async";
      img.src = D.thumbs[t];
      frames.appendChild(img);
    }
    if (!D.strip.length) $("strip-frames").style.display = "none";
    drawMarks();
    window.addEventListener("resize", drawMarks);
    $("strip").addEventListener("click", (ev) => {
      const box = $("strip").getBoundingClientRect();
      const t = (ev.clientX - box.left) / box.width * D.duration * 1000;
      const i = rowAt(t, true);
      if (video) seek(t / 1000);
      if (i >= 0) select(i, true);
    });
  }
  function drawMarks() {
    const c = $("strip-marks"), dpr = window.devicePixelRatio || 1;
    c.width = Math.max(1, Math.round(c.clientWidth * dpr));
    c.height = Math.round(24 * dpr);
    const g = c.getContext("2d"), W = c.width, H = c.height, total = D.duration * 1000 || 1;
    g.clearRect(0, 0, W, H);
    const draw = (i, color, top) => {
      const s = span(i);
      const x = Math.floor(s[0] / total * W), w = Math.max(1, Math.round((s[1] - s[0]) / total * W));
      g.fillStyle = color;
      g.fillRect(x, top, w, H - top);
    };
    rows.forEach((r, i) => draw(i, "#9aa5b1", H / 2));
    rows.forEach((r, i) => { if (rowEls[i].classList.contains("flagged")) draw(i, "#c0392b", 0); });
    rows.forEach((r, i) => { if (rowEls[i].classList.contains("edited")) draw(i, "#1f5fbf", 0); });
  }

  // ------------------------------------------------------------------ current cue
  const order = rows.map((r, i) => i).sort((a, b) => span(a)[0] - span(b)[0] || a - b);
  const starts = order.map((i) => span(i)[0]);
  function rowAt(ms, nearest) { // the row on screen at ms: binary search over sorted starts
    let lo = 0, hi = starts.length - 1, k = -1;
    while (lo <= hi) { const mid = (lo + hi) >> 1; if (starts[mid] <= ms) { k = mid; lo = mid + 1; } else hi = mid - 1; }
    for (let j = k; j >= 0 && j > k - 8; j--) if (ms < span(order[j])[1]) return order[j];
    return nearest ? order[Math.max(0, k)] : -1;
  }
  function highlight() {
    if (!video) return;
    const t = video.currentTime * 1000;
    $("playhead").style.left = (100 * t / (D.duration * 1000 || 1)) + "%";
    const i = rowAt(t + 0.5, false);
    if (i === current) return;
    if (current >= 0) rowEls[current].classList.remove("current");
    current = i;
    if (i >= 0) {
      rowEls[i].classList.add("current");
      if ($("follow").checked && !video.paused) reveal(i);
    }
  }
  function reveal(i) {
    const box = rowEls[i].getBoundingClientRect(), top = $("stage").getBoundingClientRect().bottom;
    if (box.top < top || box.bottom > window.innerHeight) {
      window.scrollBy({ top: box.top - top - 40 });
    }
  }
  function seek(seconds) {
    if (video) video.currentTime = seconds;
  }
  function select(i, scroll) {
    if (selected >= 0) rowEls[selected].classList.remove("selected");
    selected = i;
    rowEls[i].classList.add("selected");
    if (scroll) reveal(i);
  }

  // ------------------------------------------------------------------ table
  function buildTable() {
    const table = $("cues");
    let body = null;
    rows.forEach((r, i) => {
      if (i % CHUNK === 0) { body = el("tbody", "chunk"); table.appendChild(body); }
      const tr = el("tr", "cue");
      const [s, t, retimed] = r;
      if (t >= 0) tr.dataset.cue = String(t + 1);
      if (s >= 0) tr.dataset.src = String(s + 1);
      tr.dataset.row = String(i);
      const c = span(i);
      tr.appendChild(el("td", "num", t >= 0 ? String(t + 1) : "–"));
      tr.appendChild(el("td", "time", short(c[0]) + "\n" + short(c[1])));
      const frame = tr.appendChild(el("td", "frame"));
      const th = D.thumbOf[i];
      if (th >= 0) {
        const img = el("img");
        img.alt = "";
        img.loading = "lazy";
        img.decoding = "async";
        img.width = D.thumbSize[0];
        img.height = D.thumbSize[1];
        img.src = D.thumbs[th];
        frame.appendChild(img);
      }
      const src = tr.appendChild(el("td", "src"));
      if (s >= 0) shown(src, D.src[s][2]); else src.appendChild(el("span", "none", "no source cue"));
      const tgt = tr.appendChild(el("td", "tgt"));
      fillTarget(tgt, i);
      const info = tr.appendChild(el("td", "info"));
      const flags = t >= 0 ? D.flags[t + 1] || [] : [];
      const terms = D.gloss[i] || [];
      if (s < 0 || t < 0 || retimed) {
        tr.classList.add("unmatched", "flagged");
        const what = s < 0 ? "no source cue" : t < 0 ? "no translation" : "timing differs";
        info.appendChild(el("span", "flag error", what));
      }
      for (const [rule, msg, sev] of flags) {
        const f = info.appendChild(el("span", "flag " + sev, rule));
        if (msg) f.title = msg;
      }
      for (const [source, target, ok] of terms) {
        info.appendChild(el("span", "term " + (ok ? "ok" : "missed"), (ok ? "✓ " : "✗ ") + source + " → " + target));
      }
      if (flags.length || terms.some((g) => !g[2])) tr.classList.add("flagged");
      if (hasDetails(i)) info.appendChild(el("button", "more", "what informed it ▸")).type = "button";
      rowEls[i] = tr;
      body.appendChild(tr);
    });
    table.addEventListener("click", onTableClick);
    table.addEventListener("dblclick", (ev) => {
      const td = ev.target.closest("td.tgt");
      if (td && !ev.target.closest("textarea")) edit(+td.parentNode.dataset.row);
    });
  }
  function fillTarget(td, i) {
    const t = rows[i][1];
    td.textContent = "";
    if (t < 0) { td.appendChild(el("span", "none", "no translation")); return; }
    shown(td, tgtText(t));
    const b = td.appendChild(el("button", "edit", "✎"));
    b.type = "button";
    b.title = "edit the translation (or double-click it)";
  }
  function hasDetails(i) {
    const s = rows[i][0];
    return s >= 0 && ((D.related && D.related[s].length) || (D.ctx && D.ctx.of[s + 1] !== undefined));
  }
  function onTableClick(ev) {
    const tr = ev.target.closest("tr");
    if (!tr) return;
    const at = ev.target.closest(".at");
    if (at) { const i = +at.dataset.row; seek(span(i)[0] / 1000); select(i, true); return; }
    if (!tr.classList.contains("cue") || ev.target.closest("textarea")) return;
    const i = +tr.dataset.row;
    if (ev.target.closest("button.edit")) { edit(i); return; }
    if (ev.target.closest("button.more")) { toggleDetails(i); return; }
    seek(span(i)[0] / 1000);
    select(i, false);
    if (video && !video.paused) highlight();
  }

  // ------------------------------------------------------------------ what informed a line
  function toggleDetails(i) {
    if (details.has(i)) { details.get(i).remove(); details.delete(i); return; }
    const tr = el("tr", "details"), td = tr.appendChild(el("td"));
    td.colSpan = 6;
    const box = td.appendChild(el("div", "details"));
    const s = rows[i][0];
    if (D.related && D.related[s].length) {
      box.appendChild(el("h3", null, "similar lines elsewhere in the film (retrieved by the index, " + D.encoder + ")"));
      box.appendChild(lineList(D.related[s].map((p) => [p[0], p[1]])));
    }
    const rec = D.ctx ? D.ctx.records[D.ctx.of[s + 1]] : null;
    if (rec) {
      box.appendChild(el("h3", null, "what the engine was shown with this batch (cues " + rec.cues[0] + "–" + rec.cues[rec.cues.length - 1] + ")"));
      if (rec.related.length) {
        box.appendChild(el("h3", null, "related lines"));
        box.appendChild(lineList(rec.related.map((p) => [p[0] - 1, p[1]])));
      }
      if (rec.previous.length) {
        box.appendChild(el("h3", null, "previous lines"));
        box.appendChild(lineList(rec.previous.map((n) => [n - 1, null])));
      }
      if (rec.glossary.length) box.appendChild(el("h3", null, "glossary terms: " + rec.glossary.join(", ")));
      if (rec.frames.length) {
        box.appendChild(el("h3", null, "keyframes (" + rec.frames_ms.map((t) => short(t)).join(", ") + ")"));
        const f = box.appendChild(el("div", "frames"));
        rec.frames.forEach((k) => { if (k >= 0) { const img = el("img"); img.alt = ""; img.src = D.thumbs[k]; f.appendChild(img); } });
      }
    }
    details.set(i, tr);
    rowEls[i].after(tr);
  }
  function lineList(items) { // [[source position, similarity | null]]
    const ol = el("ol");
    for (const [p, score] of items) {
      const li = ol.appendChild(el("li"));
      const i = srcRow.has(p) ? srcRow.get(p) : -1;
      const at = li.appendChild(el("span", "at", short(D.src[p][0])));
      if (i >= 0) at.dataset.row = String(i); else at.className = "";
      li.appendChild(document.createTextNode(" "));
      if (score !== null && score !== undefined) li.appendChild(el("span", "sim", score.toFixed(2) + " "));
      shown(li, D.src[p][2]);
      if (i >= 0 && rows[i][1] >= 0) {
        li.appendChild(document.createTextNode(" "));
        shown(li.appendChild(el("span", "tr")), "→ " + tgtText(rows[i][1]));
      }
    }
    return ol;
  }

  // ------------------------------------------------------------------ editing
  function edit(i) {
    const t = rows[i][1];
    if (t < 0) return;
    const td = rowEls[i].querySelector("td.tgt");
    if (td.querySelector("textarea")) return;
    const area = el("textarea");
    area.value = tgtText(t);
    area.spellcheck = true;
    td.textContent = "";
    td.appendChild(area);
    area.focus();
    let done = false;
    const finish = (keep) => {
      if (done) return;
      done = true;
      if (keep) setEdit(t, area.value.replace(/\r\n?/g, "\n"));
      fillTarget(td, i);
    };
    area.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") { ev.preventDefault(); finish(false); }
      else if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); finish(true); }
    });
    area.addEventListener("blur", () => finish(true));
  }
  function setEdit(t, text) {
    if (text === D.tgt[t][2]) edits.delete(t); else edits.set(t, text);
    const i = rows.findIndex((r) => r[1] === t);
    rowEls[i].classList.toggle("edited", edits.has(t));
    if (D.tgtTrack && D.tgtTrack.cues) {
      const cue = D.tgtTrack.cues.getCueById(String(t));
      if (cue) cue.text = vttText(tgtText(t));
    }
    save();
    counts();
    drawMarks();
  }
  function save() {
    try {
      if (edits.size) localStorage.setItem(STORE, JSON.stringify([...edits]));
      else localStorage.removeItem(STORE);
    } catch (e) { /* storage disabled: edits live until the page is closed */ }
  }
  function restore() {
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem(STORE) || "null"); } catch (e) { saved = null; }
    if (!Array.isArray(saved)) return;
    let n = 0;
    for (const item of saved) {
      if (Array.isArray(item) && Number.isInteger(item[0]) && item[0] >= 0 && item[0] < D.tgt.length && typeof item[1] === "string") {
        edits.set(item[0], item[1]);
        n++;
      }
    }
    if (n) note(n + " edits restored from this browser (not yet exported); 'discard edits' drops them", "info");
  }

  // ------------------------------------------------------------------ filters and counts
  function counts() {
    const flagged = rowEls.filter((r) => r.classList.contains("flagged")).length;
    $("counts").textContent = rows.length + " cues · " + flagged + " flagged · " + edits.size + " edited";
    $("discard").disabled = edits.size === 0;
  }
  function applyFilter() {
    const table = $("cues"), mode = $("filter").value;
    table.className = mode === "all" ? "" : "filter-" + mode;
    const q = $("search").value.trim().toLowerCase();
    rows.forEach((r, i) => {
      const hit = !q || (r[0] >= 0 && D.src[r[0]][2].toLowerCase().includes(q)) ||
        (r[1] >= 0 && tgtText(r[1]).toLowerCase().includes(q));
      rowEls[i].classList.toggle("nomatch", !hit);
    });
  }
  function keys(ev) {
    if (ev.target.closest && ev.target.closest("textarea, input, select")) return;
    if (ev.key !== "j" && ev.key !== "k" && ev.key !== "Enter") return;
    if (ev.key === "Enter") { if (selected >= 0) { ev.preventDefault(); edit(selected); } return; }
    const visible = rowEls.map((r, i) => i).filter((i) => rowEls[i].offsetParent !== null);
    const at = visible.indexOf(selected);
    const next = visible[Math.min(visible.length - 1, Math.max(0, at + (ev.key === "j" ? 1 : -1)))];
    if (next !== undefined) { seek(span(next)[0] / 1000); select(next, true); }
  }

  // ------------------------------------------------------------------ start
  restore();
  header();
  buildTable();
  performance.mark("vloc-table");
  for (const t of edits.keys()) {
    const i = rows.findIndex((r) => r[1] === t);
    if (i >= 0) { rowEls[i].classList.add("edited"); fillTarget(rowEls[i].querySelector("td.tgt"), i); }
  }
  player();
  performance.mark("vloc-player");
  strip();
  performance.mark("vloc-strip");
  counts();
  $("filter").addEventListener("change", applyFilter);
  $("search").addEventListener("input", applyFilter);
  $("export").addEventListener("click", exportFile);
  $("discard").addEventListener("click", () => {
    for (const t of [...edits.keys()]) setEdit(t, D.tgt[t][2]);
    rows.forEach((r, i) => { if (r[1] >= 0) fillTarget(rowEls[i].querySelector("td.tgt"), i); });
  });
  document.addEventListener("keydown", keys);
  document.documentElement.dataset.ready = "1";
  performance.mark("vloc-ready");
})();
