// The item page: seek to ?t=, draw the timeline, follow playback in the transcript,
// find in the transcript, and load raw signals when their section is opened.
(function () {
  "use strict";

  const item = document.getElementById("item");
  if (!item) {
    return;
  }
  const player = document.getElementById("player");
  const duration = parseFloat(item.dataset.duration) || 0;
  const startAt = parseFloat(item.dataset.start);

  // --- seeking ------------------------------------------------------------------------

  function seek(seconds) {
    if (!player || !isFinite(seconds)) {
      return;
    }
    player.currentTime = Math.max(0, seconds);
    update(player.currentTime);
  }

  function seekOnLoad() {
    if (isFinite(startAt) && startAt > 0) {
      seek(startAt);
    }
  }

  // Anything with data-start seeks when clicked: timeline segments, chapters,
  // transcript times; a click on a word seeks to the word.
  document.addEventListener("click", function (event) {
    const word = event.target.closest(".w");
    if (word && player) {
      seek(parseFloat(word.dataset.s));
      return;
    }
    const target = event.target.closest("[data-start]");
    if (target && target !== item && item.contains(target) && player) {
      seek(parseFloat(target.dataset.start));
      return;
    }
    const lane = event.target.closest(".lane");
    if (lane && duration && player) {
      const box = lane.getBoundingClientRect();
      seek(((event.clientX - box.left) / box.width) * duration);
    }
  });

  // --- timeline -----------------------------------------------------------------------

  const playhead = document.getElementById("playhead");
  const segments = Array.from(document.querySelectorAll(".seg"));

  function percent(seconds) {
    return Math.min(100, Math.max(0, (seconds / duration) * 100));
  }

  if (duration) {
    for (const seg of segments) {
      const start = parseFloat(seg.dataset.start);
      const end = parseFloat(seg.dataset.end);
      seg.style.left = percent(start) + "%";
      seg.style.width = Math.max(0, percent(end) - percent(start)) + "%";
    }
  }

  // --- transcript ---------------------------------------------------------------------

  const list = document.getElementById("lines");
  const follow = document.getElementById("follow");
  const words = Array.from(document.querySelectorAll("#lines .w"));
  const wordStarts = words.map(function (w) { return parseFloat(w.dataset.s); });
  const lines = Array.from(document.querySelectorAll("#lines .line[data-start]"));
  const lineStarts = lines.map(function (l) { return parseFloat(l.dataset.start); });
  const chapters = Array.from(document.querySelectorAll("button.chapter"));
  const chapterStarts = chapters.map(function (c) { return parseFloat(c.dataset.start); });
  let currentWord = null;
  let currentLine = null;
  let currentChapter = null;

  // Index of the last start at or before t (-1 when t is before the first).
  function lastAtOrBefore(starts, t) {
    let low = 0;
    let high = starts.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (starts[mid] <= t) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    return low - 1;
  }

  function keepVisible(el) {
    if (!list || !el || (follow && !follow.checked)) {
      return;
    }
    const box = list.getBoundingClientRect();
    const at = el.getBoundingClientRect();
    if (at.top < box.top || at.bottom > box.bottom) {
      list.scrollTop += at.top - box.top - list.clientHeight / 3;
    }
  }

  function mark(previous, next, className) {
    if (previous === next) {
      return next;
    }
    if (previous) {
      previous.classList.remove(className);
      previous.removeAttribute("aria-current");
    }
    if (next) {
      next.classList.add(className);
      next.setAttribute("aria-current", "true");
    }
    return next;
  }

  function update(t) {
    if (playhead && duration) {
      playhead.style.left = percent(t) + "%";
    }
    const w = lastAtOrBefore(wordStarts, t);
    const word = w >= 0 ? words[w] : null;
    if (word !== currentWord) {
      currentWord = mark(currentWord, word, "now");
      keepVisible(currentWord);
    }
    const l = lastAtOrBefore(lineStarts, t);
    const line = l >= 0 ? lines[l] : null;
    if (line !== currentLine) {
      currentLine = mark(currentLine, line, "current");
      if (!words.length) {
        keepVisible(currentLine);
      }
    }
    const c = lastAtOrBefore(chapterStarts, t);
    currentChapter = mark(currentChapter, c >= 0 ? chapters[c] : null, "now");
  }

  if (player) {
    let frame = 0;
    const tick = function () {
      update(player.currentTime);
      frame = player.paused ? 0 : requestAnimationFrame(tick);
    };
    player.addEventListener("play", function () {
      if (!frame) {
        frame = requestAnimationFrame(tick);
      }
    });
    for (const name of ["seeked", "seeking", "timeupdate", "pause"]) {
      player.addEventListener(name, function () { update(player.currentTime); });
    }
  }

  // --- find in the transcript ---------------------------------------------------------

  const filter = document.getElementById("lines-filter");
  const count = document.getElementById("lines-count");
  const allLines = Array.from(document.querySelectorAll("#lines .line"));

  function normal(text) {
    return text.toLowerCase().replace(/\s+/g, " ").trim();
  }

  // Lines without word spans get their matches wrapped in <mark> (text nodes only).
  function highlightText(holder, needle) {
    if (holder.dataset.plain === undefined) {
      holder.dataset.plain = holder.textContent;
    }
    const plain = holder.dataset.plain;
    holder.textContent = "";
    if (!needle) {
      holder.textContent = plain;
      return;
    }
    const lower = plain.toLowerCase();
    let from = 0;
    let at = lower.indexOf(needle, from);
    while (at >= 0) {
      holder.appendChild(document.createTextNode(plain.slice(from, at)));
      const hit = document.createElement("mark");
      hit.textContent = plain.slice(at, at + needle.length);
      holder.appendChild(hit);
      from = at + needle.length;
      at = lower.indexOf(needle, from);
    }
    holder.appendChild(document.createTextNode(plain.slice(from)));
  }

  function applyFilter() {
    const needle = normal(filter.value);
    const tokens = needle.split(" ").filter(function (s) { return s.length > 0; });
    let shown = 0;
    for (const line of allLines) {
      const text = line.querySelector(".text");
      const matches = !needle || normal(text.textContent).includes(needle);
      line.hidden = !matches;
      if (matches) {
        shown += 1;
      }
      const lineWords = text.querySelectorAll(".w");
      if (lineWords.length) {
        for (const w of lineWords) {
          const said = normal(w.textContent).replace(/[^\p{L}\p{N}]+/gu, "");
          const hit = matches && needle && tokens.some(function (tok) {
            const bare = tok.replace(/[^\p{L}\p{N}]+/gu, "");
            return bare.length > 0 && said.includes(bare);
          });
          w.classList.toggle("hit-word", Boolean(hit));
        }
      } else {
        highlightText(text, matches ? needle : "");
      }
    }
    count.textContent = needle ? shown + " of " + allLines.length + " lines" : "";
  }

  if (filter) {
    let pending = 0;
    filter.addEventListener("input", function () {
      clearTimeout(pending);
      pending = setTimeout(applyFilter, 80);
    });
  }

  // --- raw signals, fetched when opened -------------------------------------------------

  for (const details of document.querySelectorAll("details.signal")) {
    details.addEventListener("toggle", function () {
      const pre = details.querySelector("pre");
      if (!details.open || details.dataset.loaded) {
        return;
      }
      details.dataset.loaded = "1";
      pre.textContent = "Loading…";
      fetch(details.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) {
            if (!response.ok) {
              throw new Error(body.detail || response.statusText);
            }
            return body;
          });
        })
        .then(function (body) { pre.textContent = JSON.stringify(body, null, 2); })
        .catch(function (error) {
          pre.textContent = "Could not load this signal: " + error.message;
          delete details.dataset.loaded;
        });
    });
  }

  update(player ? player.currentTime : 0);
  if (player) {
    if (player.readyState >= 1) {
      seekOnLoad();
    } else {
      player.addEventListener("loadedmetadata", seekOnLoad, { once: true });
    }
  }
})();
