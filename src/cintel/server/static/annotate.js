// The annotation pages: the task page (waveform, regions, transcript, turns, item
// questions, keyframes, text spans; drafts autosave with optimistic locking) and the
// review page (every annotator's answer in its own lane; accept, reject, adjudicate).
// Plain JavaScript, no third-party code. Everything goes through the /v1/annotate routes
// with the sign-in cookie, so a page only ever holds what its key may see.
(function () {
  "use strict";

  // Progress bars of the queue and project pages (no inline styles: the policy forbids them).
  for (const bar of document.querySelectorAll(".bar[data-share]")) {
    bar.style.width = Math.max(0, Math.min(1, parseFloat(bar.dataset.share) || 0)) * 100 + "%";
  }

  const root = document.getElementById("annotate");
  if (!root) {
    return;
  }
  const config = JSON.parse(document.getElementById("annotate-config").textContent);
  const reviewing = config.mode === "review";
  let kind = null; // the content's kind and whether it plays: known once the task is read
  let timed = false;
  const questions = config.schema.questions;
  const byName = {};
  for (const q of questions) {
    byName[q.name] = q;
  }
  const segQs = questions.filter(function (q) { return q.type === "segments"; });
  const trQ = questions.find(function (q) { return q.type === "transcript"; }) || null;
  const turnQ = questions.find(function (q) { return q.type === "turns"; }) || null;
  const itemQs = questions.filter(function (q) {
    return (q.type === "classification" && q.scope !== "segment") || q.type === "rating";
  });
  const regionClsQs = questions.filter(function (q) {
    return q.type === "classification" && q.scope === "segment";
  });
  const labelKeys = [];
  for (const q of segQs) {
    for (const label of q.labels) {
      if (labelKeys.length < 9) {
        labelKeys.push({ q: q.name, label: label });
      }
    }
  }

  const $ = function (id) { return document.getElementById(id); };
  let player = null;
  const canvas = $("timeline");
  const overviewCanvas = $("overview");
  const banner = $("banner");
  const saveState = $("save-state");
  const timeSpentEl = $("time-spent");
  const transcriptBox = $("transcript-box");
  const transcriptEl = $("transcript");
  const selectionEl = $("selection");
  const questionsBox = $("questions-box");
  const questionsForm = $("item-questions");
  const textBody = $("text-body");

  // --- small helpers ----------------------------------------------------------------------

  function clock(t, decimals) {
    if (t === null || t === undefined || !isFinite(t)) {
      return "";
    }
    const sign = t < 0 ? "-" : "";
    t = Math.abs(t);
    const whole = Math.floor(t);
    const h = Math.floor(whole / 3600);
    const m = Math.floor((whole % 3600) / 60);
    const s = whole % 60;
    let out = h ? h + ":" + String(m).padStart(2, "0") + ":" + String(s).padStart(2, "0")
      : m + ":" + String(s).padStart(2, "0");
    if (decimals) {
      out += "." + String(Math.floor((t - whole) * Math.pow(10, decimals))).padStart(decimals, "0");
    }
    return sign + out;
  }

  function clamp(v, low, high) {
    return Math.min(high, Math.max(low, v));
  }

  function round3(v) {
    return Math.round(v * 1000) / 1000;
  }

  function clone(value) {
    return JSON.parse(JSON.stringify(value));
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const name in attrs || {}) {
      const value = attrs[name];
      if (value === null || value === undefined || value === false) {
        continue;
      }
      if (name === "text") {
        node.textContent = value;
      } else if (name === "className") {
        node.className = value;
      } else if (name.startsWith("on")) {
        node.addEventListener(name.slice(2), value);
      } else {
        node.setAttribute(name, value === true ? "" : value);
      }
    }
    for (const child of children || []) {
      if (child !== null && child !== undefined) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    }
    return node;
  }

  // Index of the last value at or before t in an ascending array (-1 before the first).
  function lastAtOrBefore(values, t) {
    let low = 0;
    let high = values.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (values[mid] <= t) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    return low - 1;
  }

  let nextId = 1;
  function newId() {
    nextId += 1;
    return nextId;
  }

  function problemText(body, response) {
    if (body && typeof body.detail === "string") {
      return body.detail;
    }
    return response.status + " " + response.statusText;
  }

  async function getJSON(url, onHeaders) {
    const response = await fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (onHeaders) {
      onHeaders(response);
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (!response.ok) {
      const failure = new Error(problemText(body, response));
      failure.status = response.status;
      throw failure;
    }
    return body;
  }

  // A JSON body, gzipped when it is large and the browser can (the server unpacks it).
  async function sendJSON(url, method, payload) {
    const text = JSON.stringify(payload);
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    let body = text;
    if (text.length > 32768 && typeof CompressionStream === "function") {
      const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
      body = await new Response(stream).arrayBuffer();
      headers["Content-Encoding"] = "gzip";
    }
    const response = await fetch(url, {
      method: method,
      headers: headers,
      body: body,
      credentials: "same-origin",
    });
    let answer = null;
    try {
      answer = await response.json();
    } catch (error) {
      answer = null;
    }
    return { response: response, body: answer };
  }

  function showBanner(html, tone) {
    banner.className = "banner" + (tone ? " banner-" + tone : "");
    banner.textContent = "";
    banner.appendChild(html);
    banner.hidden = false;
  }

  function hideBanner() {
    banner.hidden = true;
    banner.textContent = "";
  }

  function setState(text, tone) {
    if (saveState) {
      saveState.textContent = text;
      saveState.dataset.state = tone || "";
    }
  }

  // --- the task's span --------------------------------------------------------------------

  const span = { start: 0, end: 0, windowed: false };

  function spanEnd() {
    if (span.end > span.start) {
      return span.end;
    }
    if (player && isFinite(player.duration) && player.duration > 0) {
      return player.duration;
    }
    return span.start + 1;
  }

  // --- the model: what the answer holds ----------------------------------------------------

  const model = {
    regions: [], // {id, q, label, start, end, attrs, cls: {question: label or [labels]}}
    turns: [], // {id, start, end, speaker, attrs}
    words: [], // {start, end, text, speaker, utt, attrs}; never changed in place
    answers: {},
    comments: {},
    keep: [], // segments this page does not edit, sent back as they came
  };
  let uttCounter = 0;

  function sameSpan(a, b) {
    return Math.abs(a.start - b.start) < 0.0005 && Math.abs(a.end - b.end) < 0.0005;
  }

  function fromResult(result) {
    const out = { regions: [], turns: [], words: [], answers: {}, comments: {}, keep: [] };
    const classified = [];
    for (const s of (result && result.segments) || []) {
      const attrs = Object.assign({}, s.attrs || {});
      const q = byName[attrs.question];
      if (!q) {
        out.keep.push(s);
        continue;
      }
      delete attrs.question;
      if (q.type === "segments") {
        out.regions.push({
          id: newId(), q: q.name, label: s.label, start: s.start, end: s.end,
          attrs: attrs, cls: {}, text: s.text || null,
        });
      } else if (q.type === "transcript") {
        out.words.push({
          start: s.start, end: s.end, text: s.text || "", speaker: s.speaker || null,
          utt: typeof attrs.utterance === "number" ? attrs.utterance : null, attrs: attrs,
        });
      } else if (q.type === "turns") {
        out.turns.push({
          id: newId(), start: s.start, end: s.end, speaker: s.speaker || s.label || "S1",
          attrs: attrs,
        });
      } else if (q.type === "classification" && q.scope === "segment") {
        classified.push(s);
      } else {
        out.keep.push(s);
      }
    }
    for (const s of classified) {
      const q = byName[s.attrs.question];
      const region = out.regions.find(function (r) { return sameSpan(r, s); });
      if (!region) {
        out.keep.push(s);
        continue;
      }
      const chosen = (s.label ? [s.label] : []).concat((s.attrs.labels || []).map(String));
      region.cls[q.name] = q.multiple ? chosen : chosen[0];
    }
    const byStart = function (a, b) { return a.start - b.start || a.end - b.end; };
    out.regions.sort(byStart);
    out.turns.sort(byStart);
    out.words.sort(byStart);
    // Utterances: as stored, else a new one at each change of speaker or pause of 1 s.
    let previous = null;
    let current = 0;
    const stored = out.words.length && out.words.every(function (w) { return w.utt !== null; });
    for (const w of out.words) {
      if (stored) {
        if (previous === null || w.utt !== previous.sourceUtt) {
          current = ++uttCounter;
        }
        const sourceUtt = w.utt;
        w.utt = current;
        previous = { sourceUtt: sourceUtt };
      } else {
        if (previous === null || w.speaker !== previous.speaker || w.start - previous.end >= 1.0) {
          current = ++uttCounter;
        }
        w.utt = current;
        previous = w;
      }
      delete w.attrs.utterance;
    }
    out.answers = Object.assign({}, (result && result.answers) || {});
    out.comments = Object.assign({}, (result && result.comments) || {});
    return out;
  }

  function toResult(source) {
    const m = source || model;
    const segments = [];
    for (const r of m.regions) {
      const seg = {
        start: round3(r.start), end: round3(r.end), label: r.label,
        attrs: Object.assign({}, r.attrs, { question: r.q }),
      };
      if (r.text) {
        seg.text = r.text;
      }
      if (r.score !== undefined && r.score !== null) {
        seg.score = r.score;
      }
      segments.push(seg);
      for (const name in r.cls) {
        const value = r.cls[name];
        const chosen = Array.isArray(value) ? value : (value ? [value] : []);
        if (!chosen.length || !byName[name]) {
          continue;
        }
        const attrs = { question: name };
        if (chosen.length > 1) {
          attrs.labels = chosen.slice(1);
        }
        segments.push({ start: seg.start, end: seg.end, label: chosen[0], attrs: attrs });
      }
    }
    if (trQ) {
      let utt = -1;
      let previous = null;
      for (const w of m.words) {
        if (w.utt !== previous) {
          utt += 1;
          previous = w.utt;
        }
        const seg = {
          start: round3(w.start), end: round3(Math.max(w.end, w.start)), label: "word",
          text: w.text, attrs: Object.assign({}, w.attrs, { question: trQ.name, utterance: utt }),
        };
        if (w.speaker) {
          seg.speaker = w.speaker;
        }
        segments.push(seg);
      }
    }
    if (turnQ) {
      for (const t of m.turns) {
        segments.push({
          start: round3(t.start), end: round3(t.end), label: "turn", speaker: t.speaker,
          attrs: Object.assign({}, t.attrs, { question: turnQ.name }),
        });
      }
    }
    for (const s of m.keep) {
      segments.push(s);
    }
    segments.sort(function (a, b) { return a.start - b.start || a.end - b.end; });
    const answers = {};
    for (const name in m.answers) {
      const value = m.answers[name];
      if (value === null || value === undefined || value === "" ||
          (Array.isArray(value) && !value.length)) {
        continue;
      }
      answers[name] = value;
    }
    const comments = {};
    for (const name in m.comments) {
      if (m.comments[name] && m.comments[name].trim()) {
        comments[name] = m.comments[name];
      }
    }
    return { segments: segments, answers: answers, comments: comments };
  }

  // --- undo -------------------------------------------------------------------------------

  const undoStack = [];
  const redoStack = [];
  let editable = true;

  function record(entry) {
    undoStack.push(entry);
    if (undoStack.length > 300) {
      undoStack.shift();
    }
    redoStack.length = 0;
  }

  function snapshot(part) {
    if (part === "all") {
      return {
        part: "all",
        data: {
          regions: clone(model.regions), turns: clone(model.turns), words: model.words.slice(),
          answers: clone(model.answers), comments: clone(model.comments), keep: model.keep,
        },
      };
    }
    return { part: part, data: clone(model[part]) };
  }

  // Change one part of the model; the state before goes on the undo stack.
  function change(part, mutate) {
    if (!editable) {
      return;
    }
    const before = snapshot(part);
    mutate();
    record(before);
    changed(part);
  }

  // Words are replaced, never changed in place, so an undo entry keeps only the range.
  function spliceWords(at, count, inserted) {
    if (!editable) {
      return;
    }
    const removed = model.words.splice.apply(model.words, [at, count].concat(inserted));
    record({ part: "words", at: at, removed: removed, added: inserted.length });
    changed("words");
  }

  function apply(entry) {
    if (entry.part === "words") {
      const current = model.words.splice.apply(
        model.words, [entry.at, entry.added].concat(entry.removed)
      );
      return { part: "words", at: entry.at, removed: current, added: entry.removed.length };
    }
    if (entry.part === "all") {
      const current = snapshot("all");
      Object.assign(model, entry.data);
      return current;
    }
    const current = { part: entry.part, data: model[entry.part] };
    model[entry.part] = entry.data;
    return current;
  }

  function undo() {
    if (!editable || !undoStack.length) {
      return;
    }
    const entry = undoStack.pop();
    redoStack.push(apply(entry));
    afterHistory(entry.part);
  }

  function redo() {
    if (!editable || !redoStack.length) {
      return;
    }
    const entry = redoStack.pop();
    undoStack.push(apply(entry));
    afterHistory(entry.part);
  }

  function afterHistory(part) {
    if (selected && !findSelected()) {
      selected = null;
    }
    changed(part);
    if (part === "answers" || part === "comments" || part === "all") {
      renderQuestions();
    }
  }

  // Something changed: redraw what shows it and schedule the autosave.
  function changed(part) {
    if (part === "words" || part === "all") {
      renderTranscript();
    }
    if (part === "turns" || part === "all") {
      refreshSpeakers();
    }
    if (kind === "text") {
      renderText();
    }
    renderSelection();
    requestDraw();
    scheduleSave();
  }

  // --- selection --------------------------------------------------------------------------

  let selected = null; // {type: "region"|"turn"|"lane", id, lane}
  let selectedWord = -1;
  let focusArea = "timeline";
  const lastLabel = {};

  function findSelected() {
    if (!selected) {
      return null;
    }
    if (selected.type === "region") {
      return model.regions.find(function (r) { return r.id === selected.id; }) || null;
    }
    if (selected.type === "turn") {
      return model.turns.find(function (t) { return t.id === selected.id; }) || null;
    }
    if (selected.type === "lane") {
      return selected.item;
    }
    return null;
  }

  function select(type, item, extra) {
    selected = item ? Object.assign({ type: type, id: item.id, item: item }, extra || {}) : null;
    renderSelection();
    requestDraw();
    if (kind === "text") {
      renderText();
    }
  }

  // The regions (or, from a selected turn, the turns) in time order, for [ ] and Tab.
  function orderedItems() {
    const turns = selected && selected.type === "turn";
    const items = turns || !model.regions.length
      ? model.turns.map(function (t) { return { type: "turn", item: t }; })
      : model.regions.map(function (r) { return { type: "region", item: r }; });
    items.sort(function (a, b) { return a.item.start - b.item.start || a.item.end - b.item.end; });
    return items;
  }

  function step(direction) {
    const items = orderedItems();
    if (!items.length) {
      return;
    }
    const current = findSelected();
    let index = current ? items.findIndex(function (x) { return x.item === current; }) : -1;
    let target;
    if (index >= 0) {
      target = items[clamp(index + direction, 0, items.length - 1)];
    } else {
      // nothing selected: the next region from the playhead on (or the one before it)
      const t = now();
      if (direction > 0) {
        target = items.find(function (x) { return x.item.start >= t - 1e-6; }) || items[items.length - 1];
      } else {
        const before = items.filter(function (x) { return x.item.start < t - 1e-6; });
        target = before.length ? before[before.length - 1] : items[0];
      }
    }
    select(target.type, target.item);
    if (timed) {
      seek(target.item.start);
      reveal(target.item.start, target.item.end);
    }
  }

  // --- colours ----------------------------------------------------------------------------

  const styles = getComputedStyle(document.documentElement);
  function cssVar(name, fallback) {
    const value = styles.getPropertyValue(name).trim();
    return value || fallback;
  }
  const TONES = ["a", "b", "c", "d", "e", "f", "g", "h"].map(function (t) {
    return cssVar("--tone-" + t, "#3b7dd8");
  });
  const INK = cssVar("--fg", "#1d1f21");
  const MUTED = cssVar("--muted", "#5f6368");
  const LINE = cssVar("--line", "#d9dcdf");
  const PANEL = cssVar("--panel", "#ffffff");
  const ACCENT = cssVar("--accent", "#1f4e79");
  const DANGER = cssVar("--danger", "#a4161a");
  const ACCENT_SOFT = cssVar("--accent-soft", "#e3edf7");

  function labelTone(q, label) {
    const index = labelKeys.findIndex(function (k) { return k.q === q && k.label === label; });
    if (index >= 0) {
      return index % TONES.length;
    }
    const question = byName[q];
    const at = question ? question.labels.indexOf(label) : 0;
    return Math.max(0, at) % TONES.length;
  }

  let speakers = [];
  function refreshSpeakers() {
    const found = new Set();
    for (const w of model.words) {
      if (w.speaker) {
        found.add(w.speaker);
      }
    }
    for (const t of model.turns) {
      if (t.speaker) {
        found.add(t.speaker);
      }
    }
    for (const s of laneSpeakers) {
      found.add(s);
    }
    speakers = Array.from(found).sort();
  }
  const laneSpeakers = new Set();

  function speakerTone(name) {
    const index = speakers.indexOf(name);
    return (Math.max(0, index) + 2) % TONES.length;
  }

  function newSpeakerName() {
    let n = speakers.length + 1;
    while (speakers.indexOf("Speaker " + n) >= 0) {
      n += 1;
    }
    return "Speaker " + n;
  }

  // --- the player -------------------------------------------------------------------------

  function now() {
    return player ? player.currentTime : 0;
  }

  function seek(t) {
    if (!player) {
      return;
    }
    player.currentTime = clamp(t, span.start, spanEnd());
    reveal(player.currentTime);
    onTime();
  }

  function togglePlay() {
    if (!player) {
      return;
    }
    if (player.paused) {
      if (player.currentTime < span.start || player.currentTime >= spanEnd()) {
        player.currentTime = span.start;
      }
      player.play().catch(function () {});
    } else {
      player.pause();
    }
  }

  // --- the timeline: view, layout, waveform -------------------------------------------------

  const GUTTER = 96;
  const view = { start: span.start, end: spanEnd() };
  let rows = [];
  let cssWidth = 0;
  let cssHeight = 0;
  const dpr = Math.max(1, window.devicePixelRatio || 1);
  const wave = { overview: null, detail: null, native: null, wanted: null, timer: 0 };
  let lanes = []; // review: [{annotation, model}]
  let gold = null; // review: the task's gold, as a model

  function plotWidth() {
    return Math.max(10, cssWidth - GUTTER);
  }

  function tx(t) {
    return GUTTER + ((t - view.start) / (view.end - view.start)) * plotWidth();
  }

  function tAt(x) {
    return view.start + ((x - GUTTER) / plotWidth()) * (view.end - view.start);
  }

  function layout() {
    rows = [];
    let y = 0;
    const add = function (row, height) {
      row.y = y;
      row.h = height;
      rows.push(row);
      y += height;
    };
    add({ type: "wave", title: "waveform" }, 88);
    for (const q of segQs) {
      add({ type: "region", q: q.name, title: (reviewing ? "merged · " : "") + q.name }, 28);
    }
    if (turnQ) {
      add({ type: "turn", title: (reviewing ? "merged · " : "") + turnQ.name }, 24);
    }
    if (gold) {
      add({ type: "lane", lane: { annotation: null, model: gold, name: "gold" }, title: "gold" }, turnQ ? 34 : 24);
    }
    for (const lane of lanes) {
      add({ type: "lane", lane: lane, title: lane.name }, turnQ ? 34 : 24);
    }
    add({ type: "axis", title: "" }, 20);
    cssHeight = y;
  }

  function resize() {
    if (!canvas || !timed) {
      return;
    }
    cssWidth = canvas.clientWidth || canvas.parentElement.clientWidth || 800;
    layout();
    canvas.style.height = cssHeight + "px";
    canvas.width = Math.round(cssWidth * dpr);
    canvas.height = Math.round(cssHeight * dpr);
    if (overviewCanvas) {
      overviewCanvas.width = Math.round((overviewCanvas.clientWidth || cssWidth) * dpr);
      overviewCanvas.height = Math.round(28 * dpr);
    }
    requestDraw();
  }

  function parsePeaks(doc) {
    const bits = doc.bits === 16 ? 32768 : 128;
    return {
      offset: doc.offset_s || 0,
      pixel: doc.samples_per_pixel / doc.sample_rate,
      length: doc.length,
      data: doc.data,
      scale: bits,
    };
  }

  function waveUrl(start, end, points) {
    let url = config.api + "/waveform?points=" + Math.max(10, Math.round(points));
    if (start !== null) {
      url += "&start=" + start.toFixed(3) + "&end=" + end.toFixed(3);
    }
    return url;
  }

  // The peaks of the whole task at about two per screen pixel; asked for before the task
  // is read (a whole-item task's span is the content's), again for a window of a content.
  function fetchOverview(windowed) {
    const points = Math.min(6000, Math.max(600, Math.round((window.innerWidth || 1200) * 2)));
    const url = windowed ? waveUrl(span.start, spanEnd(), points) : waveUrl(null, null, points);
    return getJSON(url).then(function (doc) {
      return { doc: doc, points: points };
    });
  }

  function useOverview(fetched) {
    wave.overview = parsePeaks(fetched.doc);
    if (fetched.doc.length < fetched.points) {
      wave.native = wave.overview.pixel;
    }
  }

  // The peaks the view needs: the overview when it is fine enough, else the stretch shown
  // (with a view's width each side) at the screen's resolution.
  function wantDetail() {
    if (!wave.overview) {
      return;
    }
    const secondsPerPx = (view.end - view.start) / plotWidth();
    if (wave.overview.pixel <= secondsPerPx * 1.5) {
      return;
    }
    const needed = Math.max(secondsPerPx, wave.native || 0);
    const d = wave.detail;
    if (d && d.offset <= view.start + 1e-6 && d.offset + d.length * d.pixel >= Math.min(view.end, spanEnd()) - d.pixel &&
        d.pixel <= needed * 1.5 + 1e-9) {
      return;
    }
    clearTimeout(wave.timer);
    wave.timer = setTimeout(function () {
      const width = view.end - view.start;
      const start = Math.max(span.start, view.start - width);
      const end = Math.min(spanEnd(), view.end + width);
      const points = Math.ceil(((end - start) / width) * plotWidth());
      const key = start.toFixed(2) + ":" + end.toFixed(2) + ":" + points;
      if (wave.wanted === key) {
        return;
      }
      wave.wanted = key;
      getJSON(waveUrl(start, end, points)).then(function (doc) {
        const peaks = parsePeaks(doc);
        if (doc.length < points) {
          wave.native = peaks.pixel;
        }
        wave.detail = peaks;
        wave.wanted = null;
        requestDraw();
      }).catch(function () {
        wave.wanted = null;
      });
    }, 90);
  }

  function peaksFor() {
    const d = wave.detail;
    if (d && d.offset <= view.start + 1e-6 && d.offset + d.length * d.pixel >= Math.min(view.end, spanEnd()) - d.pixel &&
        (!wave.overview || d.pixel < wave.overview.pixel)) {
      return d;
    }
    return wave.overview;
  }

  // --- drawing ------------------------------------------------------------------------------

  let drawPending = false;
  function requestDraw() {
    if (!drawPending && canvas && timed) {
      drawPending = true;
      requestAnimationFrame(function () {
        drawPending = false;
        draw();
      });
    }
  }

  function drawWave(g, row, peaks) {
    const mid = row.y + row.h / 2;
    const half = row.h / 2 - 4;
    g.fillStyle = ACCENT;
    g.globalAlpha = 0.75;
    const width = plotWidth();
    for (let x = 0; x < width; x += 1) {
      const t0 = tAt(GUTTER + x);
      const t1 = tAt(GUTTER + x + 1);
      let i0 = Math.floor((t0 - peaks.offset) / peaks.pixel);
      let i1 = Math.ceil((t1 - peaks.offset) / peaks.pixel);
      if (i1 <= i0) {
        i1 = i0 + 1;
      }
      i0 = Math.max(0, i0);
      i1 = Math.min(peaks.length, i1);
      if (i0 >= i1) {
        continue;
      }
      let low = 0;
      let high = 0;
      const data = peaks.data;
      for (let i = i0; i < i1; i += 1) {
        const a = data[2 * i];
        const b = data[2 * i + 1];
        if (a < low) {
          low = a;
        }
        if (b > high) {
          high = b;
        }
      }
      const top = mid - (high / peaks.scale) * half;
      const bottom = mid - (low / peaks.scale) * half;
      g.fillRect(GUTTER + x, top, 1, Math.max(1, bottom - top));
    }
    g.globalAlpha = 1;
  }

  function drawItems(g, items, top, height, toneOf, textOf, current, alpha) {
    const left = GUTTER;
    const right = GUTTER + plotWidth();
    for (const item of items) {
      if (item.end < view.start || item.start > view.end) {
        continue;
      }
      const x0 = clamp(tx(item.start), left, right);
      const x1 = clamp(tx(item.end), left, right);
      const w = Math.max(2, x1 - x0);
      g.globalAlpha = item === current ? 1 : alpha;
      g.fillStyle = TONES[toneOf(item)];
      g.fillRect(x0, top, w, height);
      g.globalAlpha = 1;
      if (item === current) {
        g.strokeStyle = INK;
        g.lineWidth = 2;
        g.strokeRect(x0 + 1, top + 1, Math.max(1, w - 2), height - 2);
        g.fillStyle = INK;
        g.fillRect(x0 - 1, top - 2, 3, height + 4);
        g.fillRect(x0 + w - 2, top - 2, 3, height + 4);
      }
      const text = textOf(item);
      if (text && w > 28 && height >= 12) {
        g.save();
        g.beginPath();
        g.rect(x0 + 3, top, w - 6, height);
        g.clip();
        g.fillStyle = "#fff";
        g.font = "12px system-ui, sans-serif";
        g.textBaseline = "middle";
        g.fillText(text, x0 + 4, top + height / 2 + 0.5);
        g.restore();
      }
    }
  }

  function niceStep(secondsPerPx) {
    const steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
    for (const s of steps) {
      if (s / secondsPerPx >= 80) {
        return s;
      }
    }
    return 14400;
  }

  function draw() {
    if (!canvas || !timed || !cssWidth) {
      return;
    }
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, cssWidth, cssHeight);
    const current = findSelected();
    const peaks = peaksFor();
    for (const row of rows) {
      g.fillStyle = row.type === "wave" ? PANEL : (row.type === "lane" ? ACCENT_SOFT : PANEL);
      g.fillRect(GUTTER, row.y, plotWidth(), row.h);
      g.strokeStyle = LINE;
      g.lineWidth = 1;
      g.beginPath();
      g.moveTo(0, row.y + row.h - 0.5);
      g.lineTo(cssWidth, row.y + row.h - 0.5);
      g.stroke();
      if (row.title) {
        g.fillStyle = MUTED;
        g.font = "12px system-ui, sans-serif";
        g.textBaseline = "middle";
        const title = row.title.length > 15 ? row.title.slice(0, 14) + "…" : row.title;
        g.fillText(title, 4, row.y + Math.min(row.h / 2, 14));
      }
      if (row.type === "wave") {
        // regions of every segment question behind the waveform
        for (const r of model.regions) {
          if (r.end < view.start || r.start > view.end) {
            continue;
          }
          g.globalAlpha = r === current ? 0.3 : 0.14;
          g.fillStyle = TONES[labelTone(r.q, r.label)];
          const x0 = clamp(tx(r.start), GUTTER, GUTTER + plotWidth());
          const x1 = clamp(tx(r.end), GUTTER, GUTTER + plotWidth());
          g.fillRect(x0, row.y, Math.max(1, x1 - x0), row.h);
        }
        g.globalAlpha = 1;
        if (peaks) {
          drawWave(g, row, peaks);
        }
      } else if (row.type === "region") {
        const mine = model.regions.filter(function (r) { return r.q === row.q; });
        drawItems(g, mine, row.y + 3, row.h - 6, function (r) { return labelTone(r.q, r.label); },
          function (r) { return r.label; }, current, 0.78);
      } else if (row.type === "turn") {
        drawItems(g, model.turns, row.y + 3, row.h - 6, function (t) { return speakerTone(t.speaker); },
          function (t) { return t.speaker; }, current, 0.7);
      } else if (row.type === "lane") {
        const m = row.lane.model;
        const regionHeight = turnQ ? row.h * 0.6 : row.h - 6;
        drawItems(g, m.regions, row.y + 3, regionHeight - 3, function (r) { return labelTone(r.q, r.label); },
          function (r) { return r.label; }, current, 0.78);
        if (turnQ) {
          drawItems(g, m.turns, row.y + regionHeight + 2, row.h - regionHeight - 5,
            function (t) { return speakerTone(t.speaker); }, function () { return ""; }, current, 0.6);
        }
      } else if (row.type === "axis") {
        const secondsPerPx = (view.end - view.start) / plotWidth();
        const stepS = niceStep(secondsPerPx);
        g.fillStyle = MUTED;
        g.font = "11px system-ui, sans-serif";
        g.textBaseline = "middle";
        for (let t = Math.ceil(view.start / stepS) * stepS; t <= view.end; t += stepS) {
          const x = tx(t);
          g.fillRect(x, row.y, 1, 5);
          g.fillText(clock(t, stepS < 1 ? 1 : 0), x + 3, row.y + 11);
        }
      }
    }
    // the playhead
    const t = now();
    if (t >= view.start && t <= view.end) {
      const x = tx(t);
      g.fillStyle = DANGER;
      g.fillRect(x - 1, 0, 2, cssHeight);
    }
    drawOverview();
  }

  function drawOverview() {
    if (!overviewCanvas) {
      return;
    }
    const g = overviewCanvas.getContext("2d");
    const width = overviewCanvas.width / dpr;
    const height = 28;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, height);
    g.fillStyle = PANEL;
    g.fillRect(0, 0, width, height);
    const s0 = span.start;
    const s1 = spanEnd();
    const ox = function (t) { return ((t - s0) / (s1 - s0)) * width; };
    for (const r of model.regions) {
      g.fillStyle = TONES[labelTone(r.q, r.label)];
      g.fillRect(ox(r.start), height - 6, Math.max(2, ox(r.end) - ox(r.start)), 6);
    }
    const peaks = wave.overview;
    if (peaks) {
      g.fillStyle = MUTED;
      g.globalAlpha = 0.6;
      for (let x = 0; x < width; x += 1) {
        const a = s0 + (x / width) * (s1 - s0);
        const b = s0 + ((x + 1) / width) * (s1 - s0);
        const i0 = Math.max(0, Math.floor((a - peaks.offset) / peaks.pixel));
        const i1 = Math.min(peaks.length, Math.max(i0 + 1, Math.ceil((b - peaks.offset) / peaks.pixel)));
        let high = 0;
        for (let i = i0; i < i1; i += 1) {
          high = Math.max(high, Math.abs(peaks.data[2 * i]), Math.abs(peaks.data[2 * i + 1]));
        }
        const h = (high / peaks.scale) * (height - 8);
        g.fillRect(x, (height - 6) / 2 - h / 2, 1, Math.max(1, h));
      }
      g.globalAlpha = 1;
    }
    g.strokeStyle = ACCENT;
    g.lineWidth = 2;
    g.strokeRect(ox(view.start) + 1, 1, Math.max(3, ox(view.end) - ox(view.start) - 2), height - 2);
    g.fillStyle = DANGER;
    g.fillRect(ox(now()) - 1, 0, 2, height);
  }

  // --- zoom and pan -------------------------------------------------------------------------

  const MIN_VIEW_S = 2;

  function setView(start, end) {
    const s0 = span.start;
    const s1 = spanEnd();
    let width = clamp(end - start, Math.min(MIN_VIEW_S, s1 - s0), s1 - s0);
    start = clamp(start, s0, s1 - width);
    view.start = start;
    view.end = start + width;
    const label = $("view-range");
    if (label) {
      label.textContent = clock(view.start) + " – " + clock(view.end) + " (" + clock(width, width < 60 ? 1 : 0) + " shown)";
    }
    wantDetail();
    requestDraw();
  }

  function zoom(factor, around) {
    const center = around === undefined ? (now() >= view.start && now() <= view.end ? now() : (view.start + view.end) / 2) : around;
    const width = (view.end - view.start) * factor;
    const share = (center - view.start) / (view.end - view.start);
    setView(center - share * width, center - share * width + width);
  }

  function reveal(start, end) {
    if (start >= view.start && (end === undefined ? start : end) <= view.end) {
      return;
    }
    const width = view.end - view.start;
    setView(start - width * 0.2, start - width * 0.2 + width);
  }

  // --- timeline interaction ------------------------------------------------------------------

  let drag = null;

  function rowAt(y) {
    return rows.find(function (r) { return y >= r.y && y < r.y + r.h; }) || null;
  }

  function itemsOfRow(row, y) {
    if (row.type === "region") {
      return model.regions.filter(function (r) { return r.q === row.q; });
    }
    if (row.type === "turn") {
      return model.turns;
    }
    if (row.type === "wave") {
      return model.regions;
    }
    if (row.type === "lane") {
      // regions in the lane's upper part, turns (if any) in the lower
      const regionHeight = turnQ ? row.h * 0.6 : row.h;
      return y !== undefined && turnQ && y >= row.y + regionHeight ? row.lane.model.turns : row.lane.model.regions;
    }
    return [];
  }

  function hit(items, x) {
    const current = findSelected();
    const near = function (item) {
      if (Math.abs(tx(item.start) - x) <= 6) {
        return "start";
      }
      if (Math.abs(tx(item.end) - x) <= 6) {
        return "end";
      }
      return null;
    };
    if (current && items.indexOf(current) >= 0) {
      const edge = near(current);
      if (edge) {
        return { item: current, edge: edge };
      }
    }
    for (const item of items) {
      const edge = near(item);
      if (edge) {
        return { item: item, edge: edge };
      }
    }
    let inside = null;
    for (const item of items) {
      if (tx(item.start) <= x && x <= tx(item.end)) {
        if (!inside || item.end - item.start < inside.end - inside.start) {
          inside = item;
        }
      }
    }
    return inside ? { item: inside, edge: null } : null;
  }

  function point(event) {
    const box = canvas.getBoundingClientRect();
    return { x: event.clientX - box.left, y: event.clientY - box.top };
  }

  function typeOf(item) {
    return model.turns.indexOf(item) >= 0 ? "turn" : "region";
  }

  function onPointerDown(event) {
    if (event.button !== 0) {
      return;
    }
    focusArea = "timeline";
    canvas.focus({ preventScroll: true });
    const p = point(event);
    const row = rowAt(p.y);
    if (!row || p.x < GUTTER) {
      return;
    }
    const t = clamp(tAt(p.x), span.start, spanEnd());
    const found = hit(itemsOfRow(row, p.y), p.x);
    canvas.setPointerCapture(event.pointerId);
    if (row.type === "lane") {
      if (found) {
        select("lane", found.item, { lane: row.lane });
      }
      drag = { type: "seek", x0: p.x, t: t };
      return;
    }
    if (found && editable && found.edge && row.type !== "axis") {
      const part = typeOf(found.item) === "turn" ? "turns" : "regions";
      select(part === "turns" ? "turn" : "region", found.item);
      drag = { type: "resize", item: found.item, edge: found.edge, before: snapshot(part), part: part, moved: false };
      return;
    }
    if (found && row.type !== "axis") {
      select(typeOf(found.item) === "turn" ? "turn" : "region", found.item);
      drag = { type: "seek", x0: p.x, t: t, keep: true };
      return;
    }
    if (editable && (row.type === "region" || row.type === "turn" || (row.type === "wave" && segQs.length))) {
      drag = { type: "create", row: row, x0: p.x, t0: t, item: null, before: null };
      return;
    }
    drag = { type: "seek", x0: p.x, t: t };
  }

  function onPointerMove(event) {
    const p = point(event);
    if (!drag) {
      const row = rowAt(p.y);
      let cursor = "default";
      if (row && p.x >= GUTTER) {
        const found = hit(itemsOfRow(row, p.y), p.x);
        if (found && found.edge && editable && row.type !== "lane" && row.type !== "axis") {
          cursor = "ew-resize";
        } else if (found) {
          cursor = "pointer";
        } else if (row.type !== "axis" && row.type !== "lane" && editable) {
          cursor = "crosshair";
        }
      }
      canvas.style.cursor = cursor;
      return;
    }
    const t = clamp(tAt(p.x), span.start, spanEnd());
    if (drag.type === "resize") {
      const item = drag.item;
      if (drag.edge === "start") {
        item.start = Math.min(t, item.end - 0.05);
      } else {
        item.end = Math.max(t, item.start + 0.05);
      }
      drag.moved = true;
      renderSelection();
      requestDraw();
    } else if (drag.type === "create" && Math.abs(p.x - drag.x0) > 4) {
      if (!drag.item) {
        if (drag.row.type === "turn") {
          drag.before = snapshot("turns");
          const current = findSelected();
          const speaker = current && current.speaker ? current.speaker : (speakers[0] || "Speaker 1");
          drag.item = { id: newId(), start: drag.t0, end: drag.t0, speaker: speaker, attrs: {} };
          model.turns.push(drag.item);
          drag.part = "turns";
        } else {
          drag.before = snapshot("regions");
          const qName = drag.row.type === "region" ? drag.row.q : activeQuestion();
          const q = byName[qName];
          drag.item = {
            id: newId(), q: qName, label: lastLabel[qName] || q.labels[0],
            start: drag.t0, end: drag.t0, attrs: {}, cls: {},
          };
          model.regions.push(drag.item);
          drag.part = "regions";
        }
        selected = { type: drag.part === "turns" ? "turn" : "region", id: drag.item.id, item: drag.item };
      }
      drag.item.start = Math.min(drag.t0, t);
      drag.item.end = Math.max(drag.t0, t);
      renderSelection();
      requestDraw();
    }
  }

  function onPointerUp(event) {
    if (!drag) {
      return;
    }
    const finished = drag;
    drag = null;
    const p = point(event);
    if (finished.type === "resize") {
      if (finished.moved) {
        sortItems();
        record(finished.before);
        changed(finished.part);
      }
    } else if (finished.type === "create") {
      if (finished.item) {
        sortItems();
        record(finished.before);
        changed(finished.part);
      } else {
        select(null, null);
        seek(finished.t0);
      }
    } else if (finished.type === "seek" && Math.abs(p.x - finished.x0) <= 4) {
      if (!finished.keep) {
        if (selected && selected.type !== "lane") {
          select(null, null);
        }
        seek(finished.t);
      } else {
        seek(finished.t);
      }
    }
  }

  function sortItems() {
    const byStart = function (a, b) { return a.start - b.start || a.end - b.end; };
    model.regions.sort(byStart);
    model.turns.sort(byStart);
  }

  function activeQuestion() {
    const current = findSelected();
    if (current && current.q) {
      return current.q;
    }
    return segQs.length ? segQs[0].name : null;
  }

  function onWheel(event) {
    if (!timed) {
      return;
    }
    event.preventDefault();
    const p = point(event);
    const horizontal = event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY);
    if (horizontal) {
      const delta = (event.shiftKey ? event.deltaY : event.deltaX) || 0;
      const shift = (delta / plotWidth()) * (view.end - view.start);
      setView(view.start + shift, view.end + shift);
      return;
    }
    const around = p.x >= GUTTER ? tAt(p.x) : undefined;
    zoom(Math.exp(clamp(event.deltaY, -300, 300) * 0.002), around);
  }

  function overviewTo(event) {
    const box = overviewCanvas.getBoundingClientRect();
    const share = clamp((event.clientX - box.left) / box.width, 0, 1);
    const t = span.start + share * (spanEnd() - span.start);
    const width = view.end - view.start;
    setView(t - width / 2, t + width / 2);
  }

  // --- region edits -------------------------------------------------------------------------

  function labelSelected(index) {
    const key = labelKeys[index];
    const current = findSelected();
    if (current && selected.type === "turn") {
      if (index < speakers.length) {
        change("turns", function () { current.speaker = speakers[index]; });
      }
      return;
    }
    if (!key) {
      return;
    }
    lastLabel[key.q] = key.label;
    if (kind === "text") {
      labelTextSelection(key) || (current && selected.type === "region" && change("regions", function () {
        current.q = key.q;
        current.label = key.label;
      }));
      return;
    }
    if (current && selected.type === "region") {
      change("regions", function () {
        current.q = key.q;
        current.label = key.label;
      });
      return;
    }
    if (!timed) {
      return;
    }
    const t = clamp(now(), span.start, spanEnd());
    const end = Math.min(spanEnd(), t + 5);
    if (end - t < 0.05) {
      return;
    }
    const region = { id: newId(), q: key.q, label: key.label, start: t, end: end, attrs: {}, cls: {} };
    change("regions", function () {
      model.regions.push(region);
      sortItems();
    });
    select("region", region);
  }

  function splitSelected() {
    let current = findSelected();
    const t = now();
    let type = selected ? selected.type : null;
    if (!current || type === "lane") {
      current = model.regions.find(function (r) { return r.start < t && t < r.end; }) || null;
      type = "region";
    }
    if (!current || !(current.start + 0.02 < t && t < current.end - 0.02)) {
      return;
    }
    const part = type === "turn" ? "turns" : "regions";
    const second = Object.assign(clone(current), { id: newId(), start: t });
    change(part, function () {
      current.end = t;
      model[part].push(second);
      sortItems();
    });
    select(type, second);
  }

  function moveEdge(edge) {
    const current = findSelected();
    if (!current || selected.type === "lane") {
      return;
    }
    const t = clamp(now(), span.start, spanEnd());
    const part = selected.type === "turn" ? "turns" : "regions";
    change(part, function () {
      if (edge === "start") {
        current.start = t;
        if (current.end - current.start < 0.05) {
          current.end = Math.min(spanEnd(), current.start + 0.05);
        }
      } else {
        current.end = t;
        if (current.end - current.start < 0.05) {
          current.start = Math.max(span.start, current.end - 0.05);
        }
      }
      sortItems();
    });
  }

  function deleteSelected() {
    const current = findSelected();
    if (!current || selected.type === "lane") {
      return false;
    }
    const part = selected.type === "turn" ? "turns" : "regions";
    change(part, function () {
      model[part] = model[part].filter(function (x) { return x !== current; });
    });
    selected = null;
    renderSelection();
    requestDraw();
    return true;
  }

  function copyToMerged(item) {
    if (!editable) {
      return;
    }
    if (item.q !== undefined) {
      change("regions", function () {
        model.regions.push(Object.assign(clone(item), { id: newId() }));
        sortItems();
      });
    } else {
      change("turns", function () {
        model.turns.push(Object.assign(clone(item), { id: newId() }));
        sortItems();
      });
    }
  }

  // --- the selection panel ------------------------------------------------------------------

  function renderSelection() {
    if (!selectionEl) {
      return;
    }
    const current = findSelected();
    selectionEl.textContent = "";
    if (!current) {
      selectionEl.appendChild(el("p", { className: "muted small", text: kind === "text"
        ? "None: select words in the text and press a label key."
        : "None: click a region, or drag on the waveform to mark one." }));
      return;
    }
    const readOnly = !editable || selected.type === "lane";
    const where = kind === "text"
      ? "characters " + current.start + "–" + current.end
      : clock(current.start, 2) + " – " + clock(current.end, 2) + " (" + (current.end - current.start).toFixed(2) + " s)";
    const box = el("div", { className: "sel-item", "data-type": selected.type });
    if (selected.type === "lane") {
      box.appendChild(el("p", { className: "small", text: "From " + selected.lane.name + (current.q ? " · " + current.q : " · turn") }));
    }
    if (current.q !== undefined) {
      const q = byName[current.q];
      box.appendChild(el("p", { className: "small muted", text: "Question " + current.q }));
      const labelSelect = el("select", { id: "sel-label", "aria-label": "Label", disabled: readOnly });
      for (const label of q.labels) {
        labelSelect.appendChild(el("option", { value: label, text: label, selected: label === current.label }));
      }
      labelSelect.addEventListener("change", function () {
        change("regions", function () { current.label = labelSelect.value; });
        lastLabel[current.q] = labelSelect.value;
      });
      box.appendChild(el("p", {}, [el("label", { for: "sel-label", text: "Label " }), labelSelect]));
      for (const cq of regionClsQs) {
        box.appendChild(choiceControl(cq, current.cls[cq.name], readOnly, "sel-cls-" + cq.name, function (value) {
          change("regions", function () { current.cls[cq.name] = value; });
        }));
      }
    } else {
      const speakerSelect = speakerPicker(current.speaker, readOnly, "sel-speaker", function (value) {
        change("turns", function () { current.speaker = value; });
      });
      box.appendChild(el("p", {}, [el("label", { for: "sel-speaker", text: "Speaker " }), speakerSelect]));
    }
    box.appendChild(el("p", { className: "small sel-where", text: where }));
    if (current.text && kind === "text") {
      box.appendChild(el("blockquote", { className: "small", text: current.text }));
    }
    const tools = el("p", { className: "sel-tools" });
    if (timed) {
      tools.appendChild(el("button", { type: "button", className: "quiet", text: "Play", onclick: function () {
        seek(current.start);
        player.play().catch(function () {});
      } }));
    }
    if (selected.type === "lane" && editable && reviewing) {
      tools.appendChild(el("button", { type: "button", className: "quiet", id: "copy-to-merged", text: "Copy to merged", onclick: function () { copyToMerged(current); } }));
    }
    if (!readOnly) {
      tools.appendChild(el("button", { type: "button", className: "quiet danger", id: "sel-delete", text: "Delete", onclick: deleteSelected }));
    }
    box.appendChild(tools);
    selectionEl.appendChild(box);
  }

  function speakerPicker(value, readOnly, id, onChange) {
    const picker = el("select", { id: id, className: "spk", "aria-label": "Speaker", disabled: readOnly });
    const names = speakers.slice();
    if (value && names.indexOf(value) < 0) {
      names.push(value);
    }
    for (const name of names) {
      picker.appendChild(el("option", { value: name, text: name, selected: name === value }));
    }
    picker.appendChild(el("option", { value: "__new__", text: "New speaker…" }));
    picker.addEventListener("change", function () {
      let chosen = picker.value;
      if (chosen === "__new__") {
        chosen = newSpeakerName();
      }
      onChange(chosen);
    });
    return picker;
  }

  function choiceControl(q, value, readOnly, id, onChange) {
    const group = el("fieldset", { className: "choice", "data-question": q.name });
    group.appendChild(el("legend", { text: q.name }));
    if (q.instructions) {
      group.appendChild(el("p", { className: "small muted", text: q.instructions }));
    }
    const chosen = Array.isArray(value) ? value : (value ? [value] : []);
    q.labels.forEach(function (label, i) {
      const input = el("input", {
        type: q.multiple ? "checkbox" : "radio", name: id, id: id + "-" + i, value: label,
        checked: chosen.indexOf(label) >= 0, disabled: readOnly,
      });
      input.addEventListener("change", function () {
        const boxes = group.querySelectorAll("input");
        const picked = Array.from(boxes).filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
        onChange(q.multiple ? picked : (picked[0] || null));
      });
      group.appendChild(el("label", { for: id + "-" + i, className: "choice-item" }, [input, " " + label]));
    });
    if (!readOnly && !q.multiple) {
      group.appendChild(el("button", { type: "button", className: "quiet small", text: "Clear", onclick: function () {
        for (const b of group.querySelectorAll("input")) {
          b.checked = false;
        }
        onChange(null);
      } }));
    }
    return group;
  }

  // --- item questions (classification, rating) ------------------------------------------------

  function renderQuestions() {
    if (!questionsForm) {
      return;
    }
    questionsForm.textContent = "";
    questionsBox.hidden = itemQs.length === 0;
    const readOnly = !editable;
    for (const q of itemQs) {
      if (q.type === "classification") {
        questionsForm.appendChild(choiceControl(q, model.answers[q.name], readOnly, "q-" + q.name, function (value) {
          change("answers", function () { model.answers[q.name] = value; });
        }));
        continue;
      }
      const group = el("fieldset", { className: "rating", "data-question": q.name });
      group.appendChild(el("legend", { text: q.name }));
      if (q.instructions) {
        group.appendChild(el("p", { className: "small muted", text: q.instructions }));
      }
      const scale = el("div", { className: "scale" });
      for (let v = q.scale[0]; v <= q.scale[1]; v += 1) {
        const input = el("input", { type: "radio", name: "q-" + q.name, id: "q-" + q.name + "-" + v, value: String(v), checked: model.answers[q.name] === v, disabled: readOnly });
        input.addEventListener("change", function () {
          change("answers", function () { model.answers[q.name] = v; });
        });
        scale.appendChild(el("label", { for: "q-" + q.name + "-" + v, className: "choice-item" }, [input, " " + v]));
      }
      group.appendChild(scale);
      const comment = el("textarea", { id: "q-" + q.name + "-comment", rows: "2", maxlength: "5000", disabled: readOnly, placeholder: "Comment (optional)" });
      comment.value = model.comments[q.name] || "";
      let typing = 0;
      comment.addEventListener("input", function () {
        clearTimeout(typing);
        typing = setTimeout(function () {
          if ((model.comments[q.name] || "") !== comment.value) {
            change("comments", function () { model.comments[q.name] = comment.value; });
          }
        }, 400);
      });
      group.appendChild(el("label", { for: "q-" + q.name + "-comment", className: "visually-hidden", text: "Comment on " + q.name }));
      group.appendChild(comment);
      questionsForm.appendChild(group);
    }
  }

  // --- the transcript -------------------------------------------------------------------------

  let wordStarts = [];
  let wordEls = [];
  let nowWord = -1;
  let utterances = []; // [{a, b}] word ranges

  function computeUtterances() {
    utterances = [];
    let a = 0;
    for (let i = 1; i <= model.words.length; i += 1) {
      if (i === model.words.length || model.words[i].utt !== model.words[a].utt) {
        utterances.push({ a: a, b: i });
        a = i;
      }
    }
    if (!model.words.length) {
      utterances = [];
    }
  }

  function utteranceOf(i) {
    let low = 0;
    let high = utterances.length - 1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (utterances[mid].b <= i) {
        low = mid + 1;
      } else if (utterances[mid].a > i) {
        high = mid - 1;
      } else {
        return mid;
      }
    }
    return -1;
  }

  function renderTranscript() {
    if (!trQ || !transcriptEl) {
      return;
    }
    transcriptBox.hidden = false;
    const keep = transcriptEl.scrollTop;
    computeUtterances();
    refreshSpeakers();
    const parts = [];
    const words = model.words;
    for (let u = 0; u < utterances.length; u += 1) {
      const range = utterances[u];
      const first = words[range.a];
      const speaker = first.speaker || "";
      // A button per line (a select each would weigh on a long transcript's page); a
      // click puts a select of the speakers in its place.
      const select = '<button type="button" class="spk" data-u="' + u + '" aria-label="Speaker ' +
        escapeHtml(speaker || "unknown") + ' of the line at ' + clock(first.start) + ': change"' +
        (editable ? "" : " disabled") + ">" + escapeHtml(speaker || "(none)") + "</button>";
      let text = "";
      for (let i = range.a; i < range.b; i += 1) {
        text += '<span class="w" data-i="' + i + '">' + escapeHtml(words[i].text) + "</span> ";
      }
      parts.push('<li class="utt" data-u="' + u + '"><button type="button" class="at" data-t="' + first.start + '" tabindex="-1">' +
        clock(first.start) + '</button><span class="swatch tone-' + "abcdefgh"[speakerTone(speaker)] + '"></span>' + select +
        '<span class="text">' + text + "</span></li>");
    }
    transcriptEl.innerHTML = parts.join("");
    wordEls = Array.from(transcriptEl.getElementsByClassName("w"));
    wordStarts = words.map(function (w) { return w.start; });
    nowWord = -1;
    if (selectedWord >= words.length) {
      selectedWord = -1;
    }
    if (selectedWord >= 0) {
      wordEls[selectedWord].classList.add("sel");
    }
    transcriptEl.scrollTop = keep;
    const count = $("transcript-count");
    if (count) {
      count.textContent = words.length + " words · " + utterances.length + " lines · " + speakers.length + " speakers";
    }
    followWord(true);
  }

  function selectWord(i) {
    if (selectedWord >= 0 && wordEls[selectedWord]) {
      wordEls[selectedWord].classList.remove("sel");
    }
    selectedWord = i;
    if (i >= 0 && wordEls[i]) {
      wordEls[i].classList.add("sel");
    }
  }

  function followWord(force) {
    if (!wordEls.length) {
      return;
    }
    const i = lastAtOrBefore(wordStarts, now());
    if (i === nowWord && !force) {
      return;
    }
    if (nowWord >= 0 && wordEls[nowWord]) {
      wordEls[nowWord].classList.remove("now");
    }
    nowWord = i;
    if (i >= 0 && wordEls[i]) {
      const w = wordEls[i];
      w.classList.add("now");
      const follow = $("follow");
      if (follow && follow.checked && !editingWord) {
        const box = transcriptEl.getBoundingClientRect();
        const at = w.getBoundingClientRect();
        if (at.top < box.top || at.bottom > box.bottom) {
          transcriptEl.scrollTop += at.top - box.top - transcriptEl.clientHeight / 3;
        }
      }
    }
  }

  let editingWord = false;

  function editWord(i) {
    if (!editable || i < 0 || !wordEls[i] || editingWord) {
      return;
    }
    const span = wordEls[i];
    const word = model.words[i];
    const input = el("input", { type: "text", className: "word-edit", value: word.text, "aria-label": "Word at " + clock(word.start, 2) });
    input.size = Math.max(3, word.text.length + 2);
    editingWord = true;
    span.textContent = "";
    span.appendChild(input);
    input.focus();
    input.select();
    let done = false;
    const finish = function (commit) {
      if (done) {
        return;
      }
      done = true;
      editingWord = false;
      const text = input.value.trim();
      if (!commit || text === word.text) {
        span.textContent = word.text;
        return;
      }
      const tokens = text.split(/\s+/).filter(function (t) { return t.length; });
      if (!tokens.length) {
        spliceWords(i, 1, []);
        return;
      }
      const share = (word.end - word.start) / tokens.length;
      const replaced = tokens.map(function (token, k) {
        return Object.assign({}, word, {
          text: token, start: word.start + k * share, end: word.start + (k + 1) * share,
          attrs: Object.assign({}, word.attrs, { edited: true }),
        });
      });
      spliceWords(i, 1, replaced);
      selectWord(i);
    };
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        event.stopPropagation();
        finish(true);
        transcriptEl.focus({ preventScroll: true });
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        finish(false);
      }
    });
    input.addEventListener("blur", function () { finish(true); });
  }

  function openSpeakerPicker(button) {
    const u = parseInt(button.dataset.u, 10);
    const range = utterances[u];
    if (!range) {
      return;
    }
    const current = model.words[range.a].speaker;
    const picker = speakerPicker(current, false, "spk-" + u, function (value) {
      setUtteranceSpeaker(u, value);
    });
    picker.dataset.u = String(u);
    picker.setAttribute("aria-label", button.getAttribute("aria-label"));
    picker.addEventListener("blur", function () {
      if (picker.isConnected) {
        picker.replaceWith(button);
      }
    });
    picker.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        picker.replaceWith(button);
        button.focus();
      }
    });
    button.replaceWith(picker);
    picker.focus();
    try {
      picker.showPicker();
    } catch (error) {
      // older browsers: the focused select opens with a click or the arrow keys
    }
  }

  function setUtteranceSpeaker(u, speaker) {
    const range = utterances[u];
    if (!range) {
      return;
    }
    const replaced = model.words.slice(range.a, range.b).map(function (w) {
      return Object.assign({}, w, { speaker: speaker });
    });
    spliceWords(range.a, range.b - range.a, replaced);
  }

  function splitUtterance() {
    const i = selectedWord;
    const u = utteranceOf(i);
    if (u < 0 || utterances[u].a === i) {
      return;
    }
    const range = utterances[u];
    const id = ++uttCounter;
    const replaced = model.words.slice(i, range.b).map(function (w) { return Object.assign({}, w, { utt: id }); });
    spliceWords(i, range.b - i, replaced);
  }

  function mergeUtterance() {
    const u = utteranceOf(selectedWord);
    if (u < 0 || u + 1 >= utterances.length) {
      return;
    }
    const first = model.words[utterances[u].a];
    const next = utterances[u + 1];
    const replaced = model.words.slice(next.a, next.b).map(function (w) {
      return Object.assign({}, w, { utt: first.utt, speaker: first.speaker });
    });
    spliceWords(next.a, next.b - next.a, replaced);
  }

  function wireTranscript() {
    if (!transcriptEl) {
      return;
    }
    transcriptEl.tabIndex = 0;
    transcriptEl.addEventListener("pointerdown", function () { focusArea = "transcript"; });
    transcriptEl.addEventListener("click", function (event) {
      const word = event.target.closest(".w");
      if (word && !event.target.closest("input")) {
        const i = parseInt(word.dataset.i, 10);
        selectWord(i);
        seek(model.words[i].start);
        return;
      }
      const at = event.target.closest(".at");
      if (at) {
        seek(parseFloat(at.dataset.t));
      }
    });
    transcriptEl.addEventListener("dblclick", function (event) {
      const word = event.target.closest(".w");
      if (word) {
        event.preventDefault();
        editWord(parseInt(word.dataset.i, 10));
      }
    });
    transcriptEl.addEventListener("click", function (event) {
      const button = event.target.closest("button.spk");
      if (button && editable) {
        openSpeakerPicker(button);
      }
    });
    const split = $("split-utterance");
    const merge = $("merge-utterance");
    if (split) {
      split.addEventListener("click", function () { splitUtterance(); });
    }
    if (merge) {
      merge.addEventListener("click", function () { mergeUtterance(); });
    }
  }

  // --- text spans -------------------------------------------------------------------------------

  let documentText = "";

  function renderText() {
    if (!textBody) {
      return;
    }
    const regions = model.regions.filter(function (r) { return r.end > r.start; });
    const bounds = new Set([0, documentText.length]);
    for (const r of regions) {
      bounds.add(clamp(r.start, 0, documentText.length));
      bounds.add(clamp(r.end, 0, documentText.length));
    }
    const cuts = Array.from(bounds).sort(function (a, b) { return a - b; });
    const current = findSelected();
    const out = [];
    for (let k = 0; k + 1 < cuts.length; k += 1) {
      const a = cuts[k];
      const b = cuts[k + 1];
      const piece = escapeHtml(documentText.slice(a, b));
      const covering = regions.filter(function (r) { return r.start <= a && r.end >= b; });
      if (!covering.length) {
        out.push(piece);
        continue;
      }
      const top = covering.find(function (r) { return r === current; }) || covering[covering.length - 1];
      out.push('<mark class="span tone-' + "abcdefgh"[labelTone(top.q, top.label)] + (top === current ? " sel" : "") +
        '" data-id="' + top.id + '" title="' + escapeHtml(covering.map(function (r) { return r.label; }).join(", ")) + '">' + piece + "</mark>");
    }
    textBody.innerHTML = out.join("");
  }

  function textOffset(node, offset) {
    let total = 0;
    const walker = document.createTreeWalker(textBody, NodeFilter.SHOW_TEXT);
    let current = walker.nextNode();
    while (current) {
      if (current === node) {
        return total + offset;
      }
      total += current.nodeValue.length;
      current = walker.nextNode();
    }
    if (node === textBody) {
      let count = 0;
      for (let i = 0; i < offset && i < textBody.childNodes.length; i += 1) {
        count += textBody.childNodes[i].textContent.length;
      }
      return count;
    }
    return null;
  }

  function labelTextSelection(key) {
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) {
      return false;
    }
    const range = selection.getRangeAt(0);
    if (!textBody.contains(range.startContainer) || !textBody.contains(range.endContainer)) {
      return false;
    }
    let start = textOffset(range.startContainer, range.startOffset);
    let end = textOffset(range.endContainer, range.endOffset);
    if (start === null || end === null || end <= start) {
      return false;
    }
    while (start < end && /\s/.test(documentText[start])) {
      start += 1;
    }
    while (end > start && /\s/.test(documentText[end - 1])) {
      end -= 1;
    }
    if (end <= start) {
      return false;
    }
    const region = {
      id: newId(), q: key.q, label: key.label, start: start, end: end,
      attrs: { unit: "char" }, cls: {}, text: documentText.slice(start, end),
    };
    change("regions", function () {
      model.regions.push(region);
      sortItems();
    });
    selection.removeAllRanges();
    select("region", region);
    return true;
  }

  function wireText() {
    if (!textBody) {
      return;
    }
    textBody.addEventListener("pointerdown", function () { focusArea = "text"; });
    textBody.addEventListener("click", function (event) {
      const mark = event.target.closest("mark.span");
      const selection = window.getSelection();
      if (mark && (!selection || selection.isCollapsed)) {
        const id = parseInt(mark.dataset.id, 10);
        const region = model.regions.find(function (r) { return r.id === id; });
        if (region) {
          select("region", region);
        }
      }
    });
  }

  // --- keyframes --------------------------------------------------------------------------------

  let frames = [];
  let frameEls = [];
  let nowFrame = -1;

  function loadKeyframes() {
    if (kind !== "video") {
      return Promise.resolve();
    }
    return getJSON(config.api + "/keyframes").then(function (found) {
      frames = found;
      const box = $("keyframes-box");
      const list = $("keyframes");
      if (!frames.length || !box || !list) {
        return;
      }
      box.hidden = false;
      $("keyframes-count").textContent = frames.length + " shot" + (frames.length === 1 ? "" : "s");
      for (const f of frames) {
        const image = el("img", { src: f.url, alt: "", loading: "lazy", width: String(f.width), height: String(f.height) });
        const button = el("button", { type: "button", className: "frame", "data-start": String(f.start), "aria-label": "Play shot " + (f.shot + 1) + " from " + clock(f.start) }, [image, el("span", { className: "moment", text: clock(f.start) })]);
        button.addEventListener("click", function () { seek(f.start); reveal(f.start); });
        list.appendChild(el("li", {}, [button]));
      }
      frameEls = Array.from(list.querySelectorAll(".frame"));
    }).catch(function () {});
  }

  function followFrame() {
    if (!frames.length) {
      return;
    }
    const i = lastAtOrBefore(frames.map(function (f) { return f.start; }), now());
    if (i === nowFrame) {
      return;
    }
    if (nowFrame >= 0 && frameEls[nowFrame]) {
      frameEls[nowFrame].classList.remove("now");
    }
    nowFrame = i;
    if (i >= 0 && frameEls[i]) {
      frameEls[i].classList.add("now");
    }
  }

  // --- playback following ------------------------------------------------------------------------

  const clockEl = $("clock");
  function onTime() {
    const t = now();
    if (clockEl) {
      clockEl.textContent = clock(t, 1);
    }
    if (player && !player.paused && (t > view.end || t < view.start)) {
      const width = view.end - view.start;
      setView(t - width * 0.05, t - width * 0.05 + width);
    }
    followWord(false);
    followFrame();
    requestDraw();
  }

  function wirePlayer() {
    if (!player) {
      return;
    }
    let frame = 0;
    const tick = function () {
      onTime();
      frame = player.paused ? 0 : requestAnimationFrame(tick);
    };
    player.addEventListener("play", function () {
      if (!frame) {
        frame = requestAnimationFrame(tick);
      }
    });
    for (const name of ["seeked", "seeking", "timeupdate", "pause"]) {
      player.addEventListener(name, onTime);
    }
    player.addEventListener("loadedmetadata", function () {
      if (!(span.end > span.start) && isFinite(player.duration)) {
        span.end = player.duration;
        setView(view.start, span.end);
      }
      if (player.currentTime < span.start) {
        player.currentTime = span.start;
      }
    });
    if (player.readyState >= 1 && player.currentTime < span.start) {
      player.currentTime = span.start;
    }
  }

  // --- time on task ------------------------------------------------------------------------------

  let activeMs = 0;
  let spentBefore = 0;
  let lastTick = performance.now();
  let lastInput = performance.now();

  function touch() {
    lastInput = performance.now();
  }

  function tickTime() {
    const t = performance.now();
    const busy = t - lastInput < 60000 || (player && !player.paused);
    if (document.visibilityState === "visible" && busy && editable) {
      activeMs += t - lastTick;
    }
    lastTick = t;
    if (timeSpentEl && !reviewing) {
      timeSpentEl.textContent = "time on task " + clock(spentBefore + activeMs / 1000);
    }
  }

  function takeTime() {
    const seconds = Math.round(activeMs) / 1000;
    activeMs = 0;
    spentBefore += seconds;
    return Math.min(86400, seconds);
  }

  function giveTimeBack(seconds) {
    activeMs += seconds * 1000;
    spentBefore -= seconds;
  }

  // --- saving ------------------------------------------------------------------------------------

  let version = null;
  let dirty = false;
  let saving = null;
  let saveTimer = 0;
  let conflicted = false;
  let submitted = false;
  const stashKey = "cintel-annotate:" + config.task.id + ":" + config.me;

  let mergedChanged = false; // review: the merged answer was edited and not adjudicated

  function scheduleSave() {
    if (reviewing) {
      mergedChanged = true;
      setState("The merged answer changed: adjudicate to keep it", "dirty");
      return;
    }
    if (conflicted || submitted) {
      return;
    }
    dirty = true;
    setState("Unsaved changes", "dirty");
    clearTimeout(saveTimer);
    saveTimer = setTimeout(function () { save(false); }, 1500);
  }

  function conflict(detail) {
    conflicted = true;
    dirty = false;
    clearTimeout(saveTimer);
    setState("Not saved: changed elsewhere", "conflict");
    const box = el("div", { className: "banner-body", id: "conflict" }, [
      el("strong", { text: "This task changed in another tab or session; reload to see it." }),
      " Nothing here was saved over it. ",
      el("button", { type: "button", id: "reload", text: "Reload", onclick: function () {
        try {
          localStorage.removeItem(stashKey);
        } catch (error) {
          // storage may be off
        }
        window.location.reload();
      } }),
      el("p", { className: "small muted", text: detail || "" }),
    ]);
    showBanner(box, "conflict");
  }

  async function save(submit) {
    if (reviewing || conflicted || submitted) {
      return false;
    }
    if (saving) {
      await saving.catch(function () {});
      if (!submit && !dirty) {
        return true;
      }
      return save(submit);
    }
    if (!dirty && !submit) {
      return true;
    }
    clearTimeout(saveTimer);
    dirty = false;
    const spent = takeTime();
    const payload = { result: toResult(), base_version: version, time_spent_s: spent, submit: Boolean(submit) };
    setState(submit ? "Submitting…" : "Saving…", "saving");
    let resolve;
    saving = new Promise(function (r) { resolve = r; });
    try {
      const sent = await sendJSON(config.save, "PUT", payload);
      const response = sent.response;
      if (response.status === 409) {
        conflict(sent.body && sent.body.detail);
        return false;
      }
      if (!response.ok) {
        dirty = true;
        giveTimeBack(spent);
        const message = problemText(sent.body, response);
        setState("Not saved", "error");
        showBanner(el("div", { className: "banner-body", id: "save-error" }, [
          el("strong", { text: submit ? "Could not submit: " : "Could not save: " }), message,
        ]), "error");
        return false;
      }
      version = sent.body.version;
      const at = new Date();
      setState((sent.body.status === "submitted" ? "Submitted " : "Saved ") + at.toLocaleTimeString(), "saved");
      root.dataset.version = String(version);
      if (!banner.hidden && banner.classList.contains("banner-error")) {
        hideBanner();
      }
      clearStash();
      if (sent.body.status === "submitted") {
        becomeSubmitted();
      }
      return true;
    } catch (error) {
      dirty = true;
      giveTimeBack(spent);
      setState("Offline: not saved yet, retrying", "error");
      saveTimer = setTimeout(function () { save(false); }, 5000);
      return false;
    } finally {
      saving = null;
      resolve();
      if (dirty && !conflicted && !submitted) {
        clearTimeout(saveTimer);
        saveTimer = setTimeout(function () { save(false); }, 1500);
      }
    }
  }

  function stash() {
    if (reviewing || !dirty || conflicted || submitted) {
      return;
    }
    try {
      localStorage.setItem(stashKey, JSON.stringify({ base: version, result: toResult(), at: Date.now() }));
    } catch (error) {
      // storage full or off: the autosave is what counts
    }
  }

  function clearStash() {
    try {
      localStorage.removeItem(stashKey);
    } catch (error) {
      // storage off
    }
  }

  function readStash() {
    try {
      const raw = localStorage.getItem(stashKey);
      return raw ? JSON.parse(raw) : null;
    } catch (error) {
      return null;
    }
  }

  function becomeSubmitted() {
    submitted = true;
    editable = false;
    dirty = false;
    root.classList.add("submitted");
    renderQuestions();
    renderSelection();
    renderTranscript();
    const next = $("next");
    const box = el("div", { className: "banner-body", id: "submitted" }, [
      el("strong", { text: "Submitted." }), " Thank you. ",
      el("a", { href: config.next, className: "button", text: "Next task" }),
    ]);
    showBanner(box, "done");
    const submitButton = $("submit");
    if (submitButton) {
      submitButton.disabled = true;
    }
    if (next) {
      next.focus();
    }
  }

  async function submitTask() {
    if (reviewing) {
      adjudicate();
      return;
    }
    if (conflicted || submitted) {
      return;
    }
    await save(true);
  }

  // --- review ----------------------------------------------------------------------------------

  let reviewView = null;

  function renderAnswers() {
    const box = $("answers");
    if (!box || !reviewView) {
      return;
    }
    box.textContent = "";
    if (reviewView.is_gold) {
      box.appendChild(el("p", { className: "small", text: "A hidden gold task." }));
    }
    box.appendChild(el("p", { className: "small muted", text: "Task " + reviewView.status + (reviewView.gold ? " · has a gold answer" : "") }));
    if (!reviewView.annotations.length) {
      box.appendChild(el("p", { className: "empty", text: "No answers yet." }));
    }
    for (const lane of lanes) {
      const a = lane.annotation;
      const item = el("div", { className: "answer", "data-annotator": a.annotator, "data-annotation": a.id });
      item.appendChild(el("p", {}, [
        el("strong", {}, [el("code", { text: a.annotator })]), " ",
        el("span", { className: "status", text: a.status }), " ",
        el("span", { className: "muted small", text: "v" + a.version + " · " + clock(a.time_spent_s) + " on task · " +
          lane.model.regions.length + " regions, " + lane.model.words.length + " words, " + lane.model.turns.length + " turns" }),
      ]));
      const answers = Object.keys(lane.model.answers).map(function (k) {
        const v = lane.model.answers[k];
        return k + ": " + (Array.isArray(v) ? v.join(", ") : v);
      });
      if (answers.length) {
        item.appendChild(el("p", { className: "small", text: answers.join(" · ") }));
      }
      const tools = el("p", { className: "answer-tools" });
      tools.appendChild(el("button", { type: "button", className: "quiet start-from", text: "Start from this", onclick: function () { startFrom(lane.model, a.annotator); } }));
      if (a.status === "submitted") {
        tools.appendChild(el("button", { type: "button", className: "accept", text: "Accept", onclick: function () { decide("accept", a.id, ""); } }));
        const reason = el("textarea", { rows: "2", maxlength: "5000", className: "reason", placeholder: "Why it is rejected (sent to the annotator)", "aria-label": "Reason for rejecting " + a.annotator });
        const reject = el("button", { type: "button", className: "quiet danger reject", text: "Reject…", onclick: function () {
          if (reason.hidden) {
            reason.hidden = false;
            reason.focus();
            reject.textContent = "Reject with this reason";
            return;
          }
          if (!reason.value.trim()) {
            reason.focus();
            return;
          }
          decide("reject", a.id, reason.value.trim());
        } });
        reason.hidden = true;
        tools.appendChild(reject);
        item.appendChild(tools);
        item.appendChild(reason);
      } else {
        item.appendChild(tools);
      }
      box.appendChild(item);
    }
  }

  function startFrom(source, name) {
    if (!editable) {
      return;
    }
    const before = snapshot("all");
    const copy = fromResult(toResult(source));
    Object.assign(model, copy);
    record(before);
    selected = null;
    changed("all");
    renderQuestions();
    setState("Merged: started from " + name, "dirty");
  }

  async function decide(verdict, annotationId, reason) {
    const payload = { verdict: verdict, reason: reason };
    if (annotationId) {
      payload.annotation_id = annotationId;
    }
    if (verdict === "adjudicate") {
      payload.result = toResult();
    }
    setState(verdict === "adjudicate" ? "Adjudicating…" : "Saving the decision…", "saving");
    const sent = await sendJSON(config.review, "POST", payload);
    if (!sent.response.ok) {
      setState("Not saved", "error");
      showBanner(el("div", { className: "banner-body", id: "review-error" }, [
        el("strong", { text: "The decision was not saved: " }), problemText(sent.body, sent.response),
      ]), "error");
      return false;
    }
    const said = { accept: "Accepted: that answer is now the gold.", reject: "Rejected: the answer went back to its annotator.", adjudicate: "Adjudicated: the merged answer is now the gold." }[verdict];
    if (verdict !== "reject") {
      mergedChanged = false;
    }
    setState(said, "saved");
    showBanner(el("div", { className: "banner-body", id: "decided", "data-verdict": verdict }, [
      el("strong", { text: said }), " ", el("a", { href: config.projectPage + "#review", text: "Back to the project" }),
    ]), "done");
    await reloadReview();
    return true;
  }

  function adjudicate() {
    if (!reviewing) {
      return;
    }
    decide("adjudicate", null, "");
  }

  function loadLanes(found) {
    reviewView = found;
    laneSpeakers.clear();
    lanes = found.annotations.map(function (a) {
      const m = fromResult(a.result);
      for (const t of m.turns) {
        laneSpeakers.add(t.speaker);
      }
      return { annotation: a, model: m, name: a.annotator + (a.status === "draft" ? " (draft)" : "") };
    });
    gold = found.gold ? fromResult(found.gold) : null;
    if (gold) {
      gold.name = "gold";
    }
  }

  async function reloadReview() {
    const found = await getJSON(config.api);
    loadLanes(found);
    refreshSpeakers();
    renderAnswers();
    resize();
    return found;
  }

  // --- keyboard ------------------------------------------------------------------------------

  function typing(target) {
    if (!target || !target.closest) {
      return false;
    }
    return Boolean(target.closest("input, textarea, select, [contenteditable]")) || target === player;
  }

  function onKey(event) {
    touch();
    const ctrl = event.ctrlKey || event.metaKey;
    if (ctrl && event.key === "Enter") {
      event.preventDefault();
      submitTask();
      return;
    }
    if (typing(event.target)) {
      return;
    }
    if (ctrl && (event.key === "z" || event.key === "Z")) {
      event.preventDefault();
      if (event.shiftKey) {
        redo();
      } else {
        undo();
      }
      return;
    }
    if (ctrl && (event.key === "y" || event.key === "Y")) {
      event.preventDefault();
      redo();
      return;
    }
    if (ctrl || event.altKey) {
      return;
    }
    const key = event.key;
    if (key === " " && timed) {
      event.preventDefault();
      togglePlay();
    } else if (key === "ArrowLeft" && timed) {
      event.preventDefault();
      seek(now() - (event.shiftKey ? 1 : 5));
      reveal(now());
    } else if (key === "ArrowRight" && timed) {
      event.preventDefault();
      seek(now() + (event.shiftKey ? 1 : 5));
      reveal(now());
    } else if ((key === "+" || key === "=") && timed) {
      event.preventDefault();
      zoom(0.5);
    } else if ((key === "-" || key === "_") && timed) {
      event.preventDefault();
      zoom(2);
    } else if (key === "0" && timed) {
      event.preventDefault();
      setView(span.start, spanEnd());
    } else if (/^[1-9]$/.test(key)) {
      event.preventDefault();
      labelSelected(parseInt(key, 10) - 1);
    } else if (key === "s" && timed) {
      event.preventDefault();
      splitSelected();
    } else if (key === "b" && timed) {
      event.preventDefault();
      moveEdge("start");
    } else if (key === "e" && timed) {
      event.preventDefault();
      moveEdge("end");
    } else if (key === "[" || key === "]") {
      event.preventDefault();
      step(key === "]" ? 1 : -1);
    } else if (key === "Tab" && event.target === canvas) {
      event.preventDefault();
      step(event.shiftKey ? -1 : 1);
    } else if (key === "Delete" || key === "Backspace") {
      if (focusArea === "transcript" && selectedWord >= 0 && editable) {
        event.preventDefault();
        const i = selectedWord;
        selectedWord = -1;
        spliceWords(i, 1, []);
      } else if (deleteSelected()) {
        event.preventDefault();
      }
    } else if (key === "Enter" && focusArea === "transcript" && selectedWord >= 0) {
      event.preventDefault();
      editWord(selectedWord);
    } else if (key === "Escape") {
      select(null, null);
      if (event.target === canvas) {
        canvas.blur();
      }
    }
  }

  // --- start ------------------------------------------------------------------------------------

  function wire() {
    document.addEventListener("keydown", onKey);
    document.addEventListener("pointerdown", touch, true);
    document.addEventListener("wheel", touch, { passive: true, capture: true });
    if (canvas && timed) {
      canvas.addEventListener("pointerdown", onPointerDown);
      canvas.addEventListener("pointermove", onPointerMove);
      canvas.addEventListener("pointerup", onPointerUp);
      canvas.addEventListener("pointercancel", function () { drag = null; });
      canvas.addEventListener("wheel", onWheel, { passive: false });
      if (typeof ResizeObserver === "function") {
        new ResizeObserver(function () { resize(); wantDetail(); }).observe(canvas);
      } else {
        window.addEventListener("resize", resize);
      }
    }
    if (overviewCanvas && timed) {
      let moving = false;
      overviewCanvas.addEventListener("pointerdown", function (event) {
        moving = true;
        overviewCanvas.setPointerCapture(event.pointerId);
        overviewTo(event);
      });
      overviewCanvas.addEventListener("pointermove", function (event) {
        if (moving) {
          overviewTo(event);
        }
      });
      overviewCanvas.addEventListener("pointerup", function () { moving = false; });
    }
    const buttons = {
      "zoom-in": function () { zoom(0.5); },
      "zoom-out": function () { zoom(2); },
      "zoom-all": function () { setView(span.start, spanEnd()); },
      undo: undo,
      submit: submitTask,
      adjudicate: adjudicate,
    };
    for (const id in buttons) {
      const button = $(id);
      if (button) {
        button.addEventListener("click", buttons[id]);
      }
    }
    for (const item of document.querySelectorAll("#label-keys li")) {
      item.addEventListener("click", function () { labelSelected(parseInt(item.dataset.key, 10) - 1); });
    }
    wireTranscript();
    wireText();
    wirePlayer();
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") {
        stash();
        if (dirty || activeMs > 10000) {
          dirty = dirty || version !== null;
          save(false);
        }
      }
    });
    window.addEventListener("pagehide", stash);
    window.addEventListener("beforeunload", function (event) {
      if (dirty && !conflicted) {
        stash(); // kept in this browser; the next load restores and saves it
      }
      if (reviewing && mergedChanged) {
        event.preventDefault(); // the merged answer lives only in this page until adjudicated
      }
    });
    setInterval(tickTime, 1000);
  }

  // The player, the timeline or the text, as the content's kind asks.
  function setUp(found) {
    kind = found.kind;
    timed = kind === "audio" || kind === "video";
    root.classList.add("kind-" + kind);
    const title = $("task-title");
    if (title && found.title) {
      title.textContent = found.title;
      document.title = found.title + " · cintel";
    }
    span.windowed = found.start !== null && found.start !== undefined;
    span.start = span.windowed ? found.start : 0;
    span.end = span.windowed ? found.end : (found.duration_s || 0);
    if (timed) {
      const media = $("media");
      player = document.createElement(kind === "video" ? "video" : "audio");
      player.id = "player";
      player.className = "player";
      player.controls = true;
      player.preload = "metadata";
      if (kind === "video") {
        player.playsInline = true;
      }
      player.src = found.media_url;
      media.appendChild(player);
      media.hidden = false;
      $("timeline-box").hidden = false;
    } else if (kind === "text") {
      $("text-box").hidden = false;
    }
  }

  async function start() {
    // An audio or video task's overview peaks are asked for as soon as the server has
    // answered with the task (asked for beside it, they only wait for the same server).
    let early = null;
    const askPeaks = function (response) {
      if (config.timed && response.ok) {
        early = fetchOverview(false).catch(function () { return null; });
      }
    };
    let found;
    try {
      if (reviewing) {
        found = await getJSON(config.api, askPeaks);
        setUp(found);
        loadLanes(found);
        const submittedLanes = lanes.filter(function (l) { return l.annotation.status === "submitted"; });
        const source = found.gold || (submittedLanes.length ? submittedLanes[0].annotation.result : found.prediction);
        Object.assign(model, fromResult(source));
        setState("Reviewing: start from an answer, edit the merged one, then adjudicate", "");
      } else {
        found = await getJSON(config.view, askPeaks);
        setUp(found);
        const mine = found.annotation;
        if (mine) {
          version = mine.version;
          spentBefore = mine.time_spent_s;
          Object.assign(model, fromResult(mine.result));
          setState(mine.status === "submitted" ? "Submitted" : "Draft v" + mine.version + " restored", "saved");
        } else {
          Object.assign(model, fromResult(found.prediction));
          setState(found.prefills.length ? "Starting from the pre-annotation (" +
            found.prefills.map(function (p) { return p.analyzer; }).join(", ") + ")" : "New answer", "");
        }
        root.dataset.version = version === null ? "" : String(version);
        if (found.returned) {
          showBanner(el("div", { className: "banner-body", id: "returned" }, [
            el("strong", { text: "A reviewer sent this answer back: " }), found.returned,
            el("p", { className: "small", text: "Change what the reviewer asks for, then submit again." }),
          ]), "error");
        }
        if (mine && mine.status === "submitted") {
          submitted = true;
          editable = false;
        } else if (found.status !== "open") {
          editable = false;
          setState("This task takes no more answers (" + found.status + ")", "");
        }
        const kept = readStash();
        if (kept && editable && kept.base === version && kept.result) {
          Object.assign(model, fromResult(kept.result));
          dirty = true;
          setState("Unsaved changes restored from this browser", "dirty");
        } else if (kept) {
          clearStash();
        }
      }
    } catch (error) {
      setState("Could not load the task", "error");
      showBanner(el("div", { className: "banner-body", id: "load-error" }, [
        el("strong", { text: "The task could not be loaded: " }), error.message,
      ]), "error");
      return;
    }
    performance.mark("annotate:task");
    let overview = null;
    if (timed) {
      overview = span.windowed || !early ? fetchOverview(true) : early;
    }
    const keyframes = loadKeyframes();
    if (kind === "text") {
      try {
        documentText = (await getJSON(config.api + "/text")).text;
      } catch (error) {
        showBanner(el("div", { className: "banner-body" }, [el("strong", { text: "No text: " }), error.message]), "error");
      }
    }
    refreshSpeakers();
    wire();
    resize();
    setView(span.start, spanEnd());
    renderQuestions();
    renderTranscript();
    renderText();
    renderSelection();
    if (reviewing) {
      renderAnswers();
    }
    if (submitted) {
      becomeSubmitted();
    }
    if (dirty) {
      scheduleSave();
    }
    performance.mark("annotate:rendered");
    if (overview) {
      try {
        const fetched = await overview;
        if (fetched) {
          useOverview(fetched);
        }
      } catch (error) {
        setState("No waveform: " + error.message, "error");
      }
      performance.mark("annotate:peaks");
      draw();
      performance.mark("annotate:drawn");
    }
    await keyframes;
    performance.mark("annotate:ready");
    root.dataset.ready = "1";
    window.annotateReadyAt = performance.now(); // from the navigation's start
    window.annotateReady = true;
    window.annotateDebug = {
      result: function () { return toResult(); },
      version: function () { return version; },
      view: function () { return { start: view.start, end: view.end }; },
      detail: function () { return wave.detail ? { offset: wave.detail.offset, pixel: wave.detail.pixel, length: wave.detail.length } : null; },
      save: function () { return save(false); },
      dirty: function () { return dirty; },
    };
  }

  start();
})();
