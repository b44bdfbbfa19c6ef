// The image view: draws the instances over the photo (SVG) and sends each decision to the JSON
// API with the version the reviewer saw. Plain JavaScript, no build step.
(() => {
  "use strict";
  const C = window.CORPUS;
  const T = C.strings;
  const NS = "http://www.w3.org/2000/svg";
  const boot = JSON.parse(document.getElementById("state").textContent);
  const img = boot.state.image;
  const nav = boot.nav;
  let items = boot.state.instances;
  let imageDone = boot.state.done;
  let sel = null; // selected instance id
  let mode = "view"; // view | edit | polygon | box
  let draft = null; // edit: polygons; polygon: [[x, y], ...]; box: {x0, y0, x1, y1}
  let dragging = null; // {p, v} while a vertex is dragged
  let busy = false;

  const svg = document.getElementById("canvas");
  const list = document.getElementById("instances");
  const msg = document.getElementById("message");
  const hint = document.getElementById("hint");
  const showRejected = document.getElementById("show-rejected");
  const picker = document.getElementById("picker");
  const pickerQ = document.getElementById("picker-q");
  const pickerList = document.getElementById("picker-list");

  // -- drawing helpers ------------------------------------------------------------------------

  function el(tag, attrs, parent, ns = NS) {
    const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }
  const color = (classId) => `hsl(${(classId * 137.508) % 360} 85% 50%)`;
  const pts = (flat) => flat.reduce((s, v, i) => s + (i % 2 ? "," : " ") + v, "").trim();
  const round = (v) => Math.round(v * 100) / 100;
  const scale = () => { const m = svg.getScreenCTM(); return m ? m.a : 1; };
  const visible = () => items.filter((it) => it.status !== "rejected" || showRejected.checked);
  const current = () => items.find((it) => it.id === sel) || null;
  const boxPolygon = ([x, y, w, h]) => [[x, y, x + w, y, x + w, y + h, x, y + h]];

  function toImage(evt) {
    const p = svg.createSVGPoint();
    p.x = evt.clientX;
    p.y = evt.clientY;
    const q = p.matrixTransform(svg.getScreenCTM().inverse());
    return [round(Math.min(Math.max(q.x, 0), img.width)), round(Math.min(Math.max(q.y, 0), img.height))];
  }

  function say(text, kind) {
    msg.textContent = text || "";
    msg.className = "message " + (kind || "");
  }

  function setMode(m, d) {
    mode = m;
    draft = d === undefined ? null : d;
    hint.textContent = { edit: T.edit_hint, polygon: T.draw_polygon_hint, box: T.draw_box_hint }[m] || "";
    svg.classList.toggle("drawing", m === "polygon" || m === "box");
    render();
  }

  // -- rendering ------------------------------------------------------------------------------

  function renderCanvas() {
    svg.replaceChildren();
    el("image", { href: img.url, x: 0, y: 0, width: img.width, height: img.height }, svg);
    const r = 6 / scale();
    for (const it of visible()) {
      const c = color(it.class_id);
      const g = el("g", { class: `inst ${it.status}${it.id === sel ? " selected" : ""}`, "data-id": it.id }, svg);
      const polys = mode === "edit" && it.id === sel ? draft : it.polygons;
      for (const p of polys) el("polygon", { points: pts(p), fill: c, stroke: c, class: "mask" }, g);
      const [x, y, w, h] = it.bbox;
      el("rect", { x, y, width: w, height: h, stroke: c, class: "box" }, g);
      const label = el("text", { x: x + 2 / scale(), y: y + 12 / scale(), class: "label", "font-size": 12 / scale() }, g);
      label.textContent = it.name + (it.fallback ? " (en)" : "");
      g.addEventListener("pointerdown", (e) => {
        if (mode === "view") { select(it.id); e.stopPropagation(); }
      });
    }
    if (mode === "edit" && draft) {
      draft.forEach((p, pi) => {
        for (let vi = 0; vi < p.length / 2; vi++) {
          const h = el("circle", { cx: p[2 * vi], cy: p[2 * vi + 1], r, class: "handle", "data-p": pi, "data-v": vi }, svg);
          h.addEventListener("pointerdown", (e) => {
            dragging = { p: pi, v: vi };
            svg.setPointerCapture(e.pointerId);
            e.stopPropagation();
            e.preventDefault();
          });
        }
      });
    }
    if (mode === "polygon" && draft && draft.length) {
      el("polyline", { points: draft.map((p) => p.join(",")).join(" "), class: "draft" }, svg);
      draft.forEach((p, i) => el("circle", { cx: p[0], cy: p[1], r, class: i === 0 ? "handle first" : "handle" }, svg));
    }
    if (mode === "box" && draft) {
      const b = boxOf(draft);
      el("rect", { x: b[0], y: b[1], width: b[2], height: b[3], class: "draft" }, svg);
    }
  }

  function renderList() {
    list.replaceChildren();
    for (const it of visible()) {
      const li = el("li", { class: `inst-row ${it.status}${it.id === sel ? " selected" : ""}`, "data-id": it.id }, list, null);
      el("span", { class: "swatch", style: `background:${color(it.class_id)}` }, li, null);
      const name = el("span", { class: "name" + (it.fallback ? " fallback" : ""), title: it.fallback ? T.fallback : it.synset }, li, null);
      name.textContent = it.name + (it.fallback ? " (en)" : "");
      const st = el("span", { class: `status ${it.status}` }, li, null);
      st.textContent = T[it.status] || it.status;
      const meta = el("span", { class: "meta" }, li, null);
      meta.textContent = [it.score !== null ? `${T.score} ${it.score.toFixed(2)}` : it.origin,
        it.reviewed_by ? `${T.by} ${it.reviewed_by}` : ""].filter(Boolean).join(" · ");
      li.addEventListener("click", () => select(it.id));
    }
  }

  function render() {
    renderCanvas();
    renderList();
  }

  function select(id) {
    if (mode !== "view") return;
    sel = id;
    render();
  }

  function step(delta) {
    const v = visible();
    if (!v.length) return;
    const k = v.findIndex((it) => it.id === sel);
    sel = v[(k + delta + v.length) % v.length].id;
    render();
  }

  function nextPending() {
    const v = visible();
    const k = v.findIndex((it) => it.id === sel);
    const after = v.slice(k + 1).concat(v.slice(0, k + 1));
    const p = after.find((it) => it.status === "pending");
    if (p) sel = p.id;
  }

  // -- the API --------------------------------------------------------------------------------

  async function call(method, url, body) {
    const opts = { method, headers: { "X-CSRF-Token": C.csrf }, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(url, opts);
    const data = await r.json().catch(() => ({ error: r.statusText }));
    if (r.status === 409 && data.state) {
      items = data.state.instances;
      render();
      say(`${T.conflict} (${data.error})`, "conflict");
      return null;
    }
    if (!r.ok) {
      say(`${T.error} ${data.error || r.statusText}`, "error");
      return null;
    }
    return data;
  }

  function replace(inst) {
    const k = items.findIndex((it) => it.id === inst.id);
    if (k >= 0) items[k] = inst; else items.push(inst);
  }

  async function decide(action, extra) {
    const it = current();
    if (!it) { say(T.select_first, "error"); return; }
    if (busy) return;
    busy = true;
    try {
      const out = await call("POST", `/api/annotations/${it.id}/${action}`, Object.assign({ version: it.version }, extra || {}));
      if (out) {
        replace(out);
        say(`#${out.id}: ${T[out.status] || out.status}`, "ok");
        if (action === "accept" || action === "reject") nextPending();
        render();
      }
    } finally {
      busy = false;
    }
  }

  async function reload() {
    const data = await call("GET", `/api/images/${img.id}`);
    if (data) { items = data.instances; imageDone = data.done; showDone(); render(); }
  }

  async function undo() {
    const out = await call("POST", "/api/undo", {});
    if (!out) return;
    if (out.image_id !== img.id) {
      location.href = `/image/${out.image_id}`;
      return;
    }
    if (out.annotation_id) sel = out.annotation_id;
    await reload();
    say(T.undone, "ok");
  }

  function showDone() {
    document.getElementById("done").hidden = imageDone;
    document.getElementById("not-done").hidden = !imageDone;
  }

  // D marks the image done and moves on; on a done image it reopens it.
  async function done() {
    const out = await call("POST", `/api/images/${img.id}/done`, { done: !imageDone });
    if (!out) return;
    imageDone = out.done;
    showDone();
    say(imageDone ? T.done + (out.pending ? ` (${T.pending_left} ${out.pending})` : "") : T.not_done, "ok");
    if (imageDone && nav.next && !out.pending) setTimeout(() => { location.href = nav.next; }, 400);
  }

  // -- the class picker -----------------------------------------------------------------------

  let onPick = null;
  let found = [];
  let active = 0;
  let seq = 0;

  function openPicker(title, pick) {
    onPick = pick;
    document.getElementById("picker-title").textContent = title;
    pickerQ.placeholder = T.search;
    pickerQ.value = "";
    picker.hidden = false;
    pickerQ.focus();
    search();
  }

  function closePicker() {
    picker.hidden = true;
    onPick = null;
  }

  async function search() {
    const mine = ++seq;
    const r = await fetch(`/api/classes?q=${encodeURIComponent(pickerQ.value)}`, { credentials: "same-origin" });
    const data = await r.json();
    if (mine !== seq) return; // a newer search is on its way
    found = data.classes || [];
    active = 0;
    drawPicker();
    pickerList.dataset.q = pickerQ.value; // which search the list shows
  }

  function drawPicker() {
    pickerList.replaceChildren();
    if (!found.length) {
      const li = el("li", { class: "none" }, pickerList, null);
      li.textContent = T.no_match;
    }
    found.forEach((c, i) => {
      const li = el("li", { role: "option", class: i === active ? "active" : "", "data-id": c.id, "aria-selected": i === active }, pickerList, null);
      const n = el("span", { class: "name" + (c.fallback ? " fallback" : ""), title: c.fallback ? T.fallback : "" }, li, null);
      n.textContent = c.name + (c.fallback ? " (en)" : "");
      const m = el("span", { class: "meta" }, li, null);
      m.textContent = [c.synonyms.join(", "), c.english !== c.name ? c.english : "", c.synset].filter(Boolean).join(" · ");
      li.addEventListener("click", () => choose(i));
    });
  }

  function choose(i) {
    const c = found[i];
    const pick = onPick;
    closePicker();
    if (c && pick) pick(c);
  }

  pickerQ.addEventListener("input", search);
  pickerQ.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") { active = Math.min(active + 1, found.length - 1); drawPicker(); e.preventDefault(); }
    else if (e.key === "ArrowUp") { active = Math.max(active - 1, 0); drawPicker(); e.preventDefault(); }
    else if (e.key === "Enter") { choose(active); e.preventDefault(); }
    else if (e.key === "Escape") { closePicker(); if (mode !== "view") setMode("view"); e.preventDefault(); }
    e.stopPropagation();
  });
  picker.addEventListener("click", (e) => { if (e.target === picker) closePicker(); });

  // -- edit, draw -----------------------------------------------------------------------------

  function relabel() {
    const it = current();
    if (!it) { say(T.select_first, "error"); return; }
    openPicker(`${T.pick_class}: #${it.id} ${it.name}`, (c) => decide("relabel", { class_id: c.id }));
  }

  function startEdit() {
    const it = current();
    if (!it) { say(T.select_first, "error"); return; }
    const polys = it.polygons.length ? it.polygons : boxPolygon(it.bbox);
    setMode("edit", polys.map((p) => p.slice()));
  }

  async function saveEdit() {
    const polys = draft;
    setMode("view");
    await decide("edit", { segmentation: polys });
  }

  function boxOf(d) {
    return [Math.min(d.x0, d.x1), Math.min(d.y0, d.y1), Math.abs(d.x1 - d.x0), Math.abs(d.y1 - d.y0)];
  }

  function addShape(shape) {
    openPicker(T.pick_class, async (c) => {
      const out = await call("POST", `/api/images/${img.id}/annotations`, Object.assign({ class_id: c.id }, shape));
      if (out) { replace(out); sel = out.id; say(`#${out.id}: ${T.accepted}`, "ok"); }
      setMode("view");
    });
  }

  function finishPolygon() {
    if (!draft || draft.length < 3) { say(T.too_few_points, "error"); return; }
    const flat = draft.flat();
    addShape({ segmentation: [flat] });
  }

  svg.addEventListener("pointerdown", (e) => {
    if (mode === "polygon") {
      const p = toImage(e);
      draft = draft || [];
      if (draft.length >= 3) {
        const [x0, y0] = draft[0];
        if (Math.hypot(p[0] - x0, p[1] - y0) * scale() < 8) { finishPolygon(); return; }
      }
      draft.push(p);
      renderCanvas();
    } else if (mode === "box") {
      const [x, y] = toImage(e);
      draft = { x0: x, y0: y, x1: x, y1: y };
      svg.setPointerCapture(e.pointerId);
      renderCanvas();
    } else if (mode === "view") {
      sel = null;
      render();
    }
  });

  svg.addEventListener("pointermove", (e) => {
    if (mode === "edit" && dragging) {
      const [x, y] = toImage(e);
      draft[dragging.p][2 * dragging.v] = x;
      draft[dragging.p][2 * dragging.v + 1] = y;
      renderCanvas();
    } else if (mode === "box" && draft) {
      [draft.x1, draft.y1] = toImage(e);
      renderCanvas();
    }
  });

  // In edit mode: a double-click on a vertex removes it (a polygon keeps three), elsewhere it
  // adds a vertex to the nearest edge, where the pointer is.
  function nearestEdge(x, y) {
    let best = null;
    draft.forEach((p, pi) => {
      const n = p.length / 2;
      for (let i = 0; i < n; i++) {
        const [ax, ay, bx, by] = [p[2 * i], p[2 * i + 1], p[(2 * i + 2) % p.length], p[(2 * i + 3) % p.length]];
        const len2 = (bx - ax) ** 2 + (by - ay) ** 2 || 1;
        const t = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / len2));
        const d = Math.hypot(x - (ax + t * (bx - ax)), y - (ay + t * (by - ay)));
        if (!best || d < best.d) best = { d, p: pi, after: i };
      }
    });
    return best;
  }

  svg.addEventListener("dblclick", (e) => {
    if (mode !== "edit" || !draft) return;
    // by position, not by event target: a dragged handle's pointer capture retargets the clicks
    const [x, y] = toImage(e);
    let hit = null;
    draft.forEach((p, pi) => {
      for (let vi = 0; vi < p.length / 2; vi++) {
        if (Math.hypot(p[2 * vi] - x, p[2 * vi + 1] - y) * scale() <= 8) hit = { p: pi, v: vi };
      }
    });
    if (hit) {
      const p = draft[hit.p];
      if (p.length > 6) p.splice(2 * hit.v, 2);
      else say(T.too_few_points, "error");
    } else {
      const edge = nearestEdge(x, y);
      if (edge) draft[edge.p].splice(2 * edge.after + 2, 0, x, y);
    }
    renderCanvas();
    e.preventDefault();
  });

  svg.addEventListener("pointerup", () => {
    if (mode === "edit") dragging = null;
    if (mode === "box" && draft) {
      const b = boxOf(draft);
      if (b[2] >= 1 && b[3] >= 1) addShape({ bbox: b });
      else draft = null;
    }
  });

  // -- buttons and keys -----------------------------------------------------------------------

  document.getElementById("draw-polygon").addEventListener("click", () => setMode("polygon", []));
  document.getElementById("draw-box").addEventListener("click", () => setMode("box"));
  document.getElementById("undo").addEventListener("click", undo);
  document.getElementById("done").addEventListener("click", done);
  document.getElementById("not-done").addEventListener("click", done);
  showRejected.addEventListener("change", render);

  document.addEventListener("keydown", (e) => {
    if (!picker.hidden || e.target.matches("input, select, textarea") || e.altKey || e.metaKey) return;
    if (e.ctrlKey) {
      if (e.key.toLowerCase() === "z") { undo(); e.preventDefault(); }
      return;
    }
    if (mode === "edit") {
      if (e.key === "Enter") { saveEdit(); e.preventDefault(); }
      else if (e.key === "Escape") setMode("view");
      return;
    }
    if (mode === "polygon" || mode === "box") {
      if (e.key === "Enter" && mode === "polygon") { finishPolygon(); e.preventDefault(); }
      else if (e.key === "Escape") setMode("view");
      return;
    }
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    const actions = {
      a: () => decide("accept"), x: () => decide("reject"), l: relabel, e: startEdit,
      p: () => setMode("polygon", []), b: () => setMode("box"), d: done, u: undo,
      j: () => step(1), k: () => step(-1),
      "+": () => zoom(1.25), "=": () => zoom(1.25), "-": () => zoom(0.8), 0: () => setView({ x: 0, y: 0, w: img.width }),
      ArrowRight: () => { if (nav.next) location.href = nav.next; },
      ArrowLeft: () => { if (nav.prev) location.href = nav.prev; },
    };
    if (actions[key]) { actions[key](); e.preventDefault(); }
  });

  // Zoom: the wheel (or + and -) zooms around the pointer by narrowing the SVG's viewBox, 0
  // shows the whole image again; with the image zoomed, drag with the middle button (or with
  // Shift held) to pan. Coordinates stay image pixels throughout (getScreenCTM follows).
  let vb = { x: 0, y: 0, w: img.width, h: img.height };
  let panning = null;

  function setView(v) {
    const w = Math.min(img.width, Math.max(img.width / 40, v.w));
    const h = w * img.height / img.width;
    vb = { x: Math.min(Math.max(0, v.x), img.width - w), y: Math.min(Math.max(0, v.y), img.height - h), w, h };
    svg.setAttribute("viewBox", `${vb.x} ${vb.y} ${vb.w} ${vb.h}`);
    renderCanvas();
  }

  function zoom(factor, cx, cy) {
    const x = cx === undefined ? vb.x + vb.w / 2 : cx;
    const y = cy === undefined ? vb.y + vb.h / 2 : cy;
    const w = vb.w / factor;
    const h = w * img.height / img.width;
    setView({ x: x - (x - vb.x) * (w / vb.w), y: y - (y - vb.y) * (h / vb.h), w });
  }

  svg.addEventListener("wheel", (e) => {
    const [x, y] = toImage(e);
    zoom(e.deltaY < 0 ? 1.25 : 0.8, x, y);
    e.preventDefault();
  }, { passive: false });

  svg.addEventListener("pointerdown", (e) => {
    if (e.button === 1 || (e.shiftKey && mode === "view")) {
      panning = { sx: e.clientX, sy: e.clientY, vx: vb.x, vy: vb.y, k: vb.w / svg.getBoundingClientRect().width };
      svg.setPointerCapture(e.pointerId);
      e.stopImmediatePropagation();
      e.preventDefault();
    }
  }, true);
  svg.addEventListener("pointermove", (e) => {
    if (!panning) return;
    setView({ x: panning.vx - (e.clientX - panning.sx) * panning.k, y: panning.vy - (e.clientY - panning.sy) * panning.k, w: vb.w });
    e.stopImmediatePropagation();
  }, true);
  svg.addEventListener("pointerup", (e) => {
    if (panning) { panning = null; e.stopImmediatePropagation(); }
  }, true);

  window.addEventListener("resize", renderCanvas);
  showDone();
  sel = (items.find((it) => it.status === "pending") || items[0] || {}).id || null;
  render();
  document.body.dataset.ready = "1"; // for the browser tests: the page is wired up
})();
