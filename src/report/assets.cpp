#include "assets.h"

namespace sonify::report {

const char* const kPageCss = R"css(
:root { --fg: #1a1a1a; --muted: #474d55; --bg: #ffffff; --panel: #f4f6f9; --line: #d3d8df; --focus: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 1240px; margin: 0 auto; padding: 0 16px; }
h1 { font-size: 1.6rem; margin: 18px 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 22px 0 8px; }
h3 { font-size: 1rem; margin: 14px 0 6px; }
a { color: #0b4f94; }
.meta { color: var(--muted); margin: 0 0 10px; }
.crumb { margin: 12px 0 0; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 2; }
.transport { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: center; margin: 8px 0; }
audio { width: 100%; max-width: 760px; display: block; }
button { font: inherit; padding: 4px 14px; border: 1px solid #5b6470; border-radius: 4px; background: #fff;
  color: var(--fg); cursor: pointer; }
button:hover { background: #eef1f5; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
#clock { font-variant-numeric: tabular-nums; }
.hint { color: var(--muted); font-size: .9rem; }
.notice { border-left: 4px solid #A6192E; background: #fbeff1; padding: 8px 12px; margin: 8px 0; }
.words { font-size: 1.35rem; line-height: 2.1; margin: 6px 0; }
.w { padding: 2px 4px; border-radius: 4px; cursor: pointer; }
.w:hover { background: #e8edf4; }
.w.on { background: #ffd54a; color: #111; box-shadow: inset 0 0 0 2px #7a5b00; }
.legend { list-style: none; padding: 0; margin: 6px 0; display: flex; flex-wrap: wrap; gap: 4px 18px; font-size: .92rem; }
.swatch { display: inline-block; width: 14px; height: 14px; border-radius: 2px; vertical-align: -2px; margin-right: 5px; }
.roll-scroll { overflow-x: auto; border: 1px solid var(--line); background: #fff; position: relative; }
.roll-scroll.fit svg { width: 100%; height: auto; }
.roll { display: block; cursor: crosshair; }
svg text { font-family: inherit; font-size: 11px; fill: #2b2f35; }
.band0 { fill: #f2f4f8; } .band1 { fill: #e4e8ef; }
.band-label { font-size: 12px; font-weight: 600; fill: #1a1a1a; }
.bar-lines { stroke: #c1c7d0; stroke-width: 1; fill: none; }
.c-line { stroke: #d9dde4; stroke-width: 1; }
.keys text { text-anchor: end; }
.keys-bg { fill: #ffffff; }
.keys .drum-key { font-size: 10px; }
.playhead { stroke: #D00000; stroke-width: 2; }
.selection { fill: none; stroke: #111; stroke-width: 2; }
.info { background: var(--panel); border: 1px solid var(--line); padding: 8px 12px; min-height: 3.2em; font-size: .95rem; }
.info p { margin: 2px 0; }
.info .strong { font-weight: 600; }
.prov { margin: 6px 0 0; padding-left: 10px; border-left: 3px solid #9aa3ae; overflow-wrap: anywhere; }
.tip { position: fixed; pointer-events: none; background: #1a1a1a; color: #fff; padding: 4px 8px; border-radius: 4px;
  font-size: .85rem; max-width: 360px; z-index: 3; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 12px; }
.plot { width: 100%; height: auto; display: block; }
.plot .frame { fill: none; stroke: #9aa3ae; }
.plot .grid { stroke: #e1e5ea; fill: none; }
.plot .curve { fill: none; stroke-width: 1.6; }
.plot .plot-title { font-size: 13px; font-weight: 600; fill: #1a1a1a; }
.plot .tick { font-size: 11px; }
.plot .strong { font-weight: 700; }
.plot .cell-none { fill: #ffffff; stroke: #e1e5ea; }
.plot .cell-text { font-size: 10px; fill: #111111; }
.plot .cell-text.light { fill: #ffffff; }
.timeline { display: block; width: 100%; height: auto; cursor: pointer; }
.arc { max-width: 820px; }
.seg { fill: #dfe6f0; stroke: #ffffff; stroke-width: 2; }
.seg.on { fill: #ffd54a; }
.seg-label { font-size: 12px; fill: #1a1a1a; pointer-events: none; }
table { border-collapse: collapse; font-size: .92rem; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.on td { background: #fff2c2; }
.table-scroll { overflow-x: auto; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
footer { color: var(--muted); font-size: .88rem; margin-top: 28px; padding-bottom: 24px; }
@media (max-width: 700px) {
  body { font-size: 15px; }
  h1 { font-size: 1.3rem; }
  .words { font-size: 1.15rem; }
  .plots { grid-template-columns: 1fr; }
  .hint { display: block; }
}
)css";

const char* const kPageJs = R"js(
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var svg = document.querySelector('svg[data-pps]');
  var x0 = Number(svg.getAttribute('data-x0'));
  var pps = Number(svg.getAttribute('data-pps'));
  var duration = Number(svg.getAttribute('data-duration'));
  var playhead = document.getElementById('playhead');
  var selection = document.getElementById('selection');
  var audio = document.getElementById('audio');
  var playButton = document.getElementById('play');
  var clockEl = document.getElementById('clock');
  var info = document.getElementById('info');
  var scroller = document.getElementById('roll-scroll');
  var timed = Array.prototype.slice.call(document.querySelectorAll('.timed'));
  var spans = timed.map(function (e) { return [Number(e.getAttribute('data-s')), Number(e.getAttribute('data-e'))]; });
  var L = data.layout || null;
  var names = ['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'];
  var clockT = 0, clockStart = null;

  function fmt(t) {
    t = Math.max(0, t);
    var m = Math.floor(t / 60), s = t - 60 * m;
    return m + ':' + (s < 10 ? '0' : '') + s.toFixed(1);
  }
  function pitchName(p) { return names[p % 12] + (Math.floor(p / 12) - 1); }
  function now() {
    if (audio) return audio.currentTime;
    if (clockStart !== null) return Math.min(duration, clockT + (performance.now() - clockStart) / 1000);
    return clockT;
  }
  function playing() { return audio ? !audio.paused && !audio.ended : clockStart !== null; }
  function follow(x) {
    if (!scroller || scroller.classList.contains('fit')) return;
    var left = scroller.scrollLeft, w = scroller.clientWidth;
    if (x < left + 20 || x > left + w - 60) scroller.scrollLeft = Math.max(0, x - w * 0.2);
  }
  // Moves the playhead to t seconds and lights the timed elements that cover t.
  function show(t) {
    var x = x0 + t * pps;
    playhead.setAttribute('x1', x.toFixed(2));
    playhead.setAttribute('x2', x.toFixed(2));
    if (clockEl) clockEl.textContent = fmt(t) + ' / ' + fmt(duration);
    for (var i = 0; i < timed.length; i++) {
      var lit = spans[i][0] <= t && t < spans[i][1];
      if (lit !== timed[i].classList.contains('on')) {
        timed[i].classList.toggle('on', lit);
        if (lit) timed[i].setAttribute('aria-current', 'true'); else timed[i].removeAttribute('aria-current');
      }
    }
    if (playing()) follow(x);
  }
  function updateButton() {
    if (!playButton) return;
    playButton.textContent = playing() ? 'Pause' : 'Play';
    playButton.setAttribute('aria-pressed', playing() ? 'true' : 'false');
  }
  function frame() {
    if (!audio && clockStart !== null && now() >= duration) { clockT = duration; clockStart = null; updateButton(); }
    show(now());
    if (playing()) requestAnimationFrame(frame);
  }
  function play() {
    if (audio) {
      var p = audio.play();
      if (p && p.catch) p.catch(function () {});
    } else {
      if (clockT >= duration) clockT = 0;
      clockStart = performance.now();
      requestAnimationFrame(frame);
    }
    updateButton();
  }
  function pause() {
    if (audio) audio.pause();
    else if (clockStart !== null) { clockT = now(); clockStart = null; }
    updateButton();
    show(now());
  }
  function toggle() { if (playing()) pause(); else play(); }
  function seek(t) {
    t = Math.max(0, Math.min(duration, t));
    if (audio) { try { audio.currentTime = t; } catch (e) { /* not loaded yet */ } }
    else { clockT = t; if (clockStart !== null) clockStart = performance.now(); }
    show(t);
    follow(x0 + t * pps);
  }
  if (audio) {
    audio.addEventListener('play', function () { updateButton(); requestAnimationFrame(frame); });
    audio.addEventListener('pause', updateButton);
    audio.addEventListener('ended', updateButton);
    audio.addEventListener('timeupdate', function () { if (!playing()) show(audio.currentTime); });
    audio.addEventListener('seeked', function () { show(audio.currentTime); follow(x0 + audio.currentTime * pps); });
    audio.addEventListener('error', function () {
      var m = document.getElementById('audio-error');
      if (m) m.hidden = false;
    });
  }
  if (playButton) playButton.addEventListener('click', toggle);

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function provList(entries) {
    (entries || []).forEach(function (p) {
      var d = el('div', null, 'prov');
      d.appendChild(el('strong', p.part));
      if (p.tensors && p.tensors.length) d.appendChild(el('div', 'tensors: ' + p.tensors.join(', ')));
      if (p.statistics && p.statistics.length) d.appendChild(el('div', 'statistics: ' + p.statistics.join('; ')));
      info.appendChild(d);
    });
  }
  // The provenance entries of a note of `track` in band `band`, or of the whole band when
  // track < 0: an entry names its section (or none) and its tracks (or none).
  function provFor(track, band) {
    var label = band >= 0 ? data.bands[band].label : null;
    return (data.prov || []).filter(function (p) {
      if (p.section && p.section !== label) return false;
      if (track < 0) return !!p.section;
      return p.tracks.length ? p.tracks.indexOf(track) >= 0 : !!p.section;
    });
  }
  function select(r) {
    if (!selection) return;
    selection.setAttribute('x', r.x - 1); selection.setAttribute('y', r.y - 1);
    selection.setAttribute('width', r.w + 2); selection.setAttribute('height', r.h + 2);
  }
  function noteRect(n) {
    var drums = data.tracks[n[0]].drums, y, h;
    if (drums) {
      var k = L.drum_keys.indexOf(n[3]);
      y = L.drum_top + (L.drum_keys.length - 1 - k) * L.drum_row_height; h = L.drum_row_height;
    } else {
      y = L.melodic_top + (L.pitch_hi - n[3]) * L.row_height; h = L.row_height;
    }
    return { x: x0 + n[1] / 1000 * pps, y: y, w: Math.max(drums ? 2 : 1, (n[2] - n[1]) / 1000 * pps), h: h };
  }
  function noteAt(p) {
    if (!L || !data.notes) return -1;
    var best = -1;
    for (var i = 0; i < data.notes.length; i++) {
      var r = noteRect(data.notes[i]);
      if (p.x >= r.x - 1 && p.x <= r.x + r.w + 1 && p.y >= r.y && p.y <= r.y + r.h) best = i;
    }
    return best;
  }
  function bandAt(t) {
    var b = data.bands || [];
    for (var i = b.length - 1; i >= 0; i--) if (b[i].start <= t && t < b[i].end) return i;
    return -1;
  }
  function noteTitle(n) {
    var tr = data.tracks[n[0]];
    return tr.name + ' · ' + (tr.drums ? (data.drum_names[n[3]] || 'key ' + n[3]) : pitchName(n[3])) + ' · ' +
      fmt(n[1] / 1000) + '–' + fmt(n[2] / 1000) + ' · velocity ' + n[4];
  }
  function wordValues(i) {
    var w = data.words[i];
    info.appendChild(el('p', 'word ' + (i + 1) + ' “' + w.text + '” · ' + fmt(w.start) + '–' + fmt(w.end)));
    (w.values || []).forEach(function (v) { info.appendChild(el('p', v)); });
  }
  function describeNote(i) {
    var n = data.notes[i];
    info.textContent = '';
    info.appendChild(el('p', noteTitle(n), 'strong'));
    var b = bandAt(n[1] / 1000 + 1e-6);
    if (b >= 0 && data.band_kind === 'word') wordValues(b);
    else if (b >= 0) info.appendChild(el('p', 'section ' + data.bands[b].label + (data.bands[b].detail ? ' · ' + data.bands[b].detail : '')));
    provList(provFor(n[0], b));
    select(noteRect(n));
  }
  function describeBand(b) {
    info.textContent = '';
    var band = data.bands[b];
    if (data.band_kind === 'word') wordValues(b);
    else info.appendChild(el('p', 'section ' + band.label + (band.detail ? ' · ' + band.detail : '') + ' · ' + fmt(band.start) + '–' + fmt(band.end), 'strong'));
    provList(provFor(-1, b));
    select({ x: x0 + band.start * pps, y: 0, w: (band.end - band.start) * pps, h: L ? L.bottom : 10 });
  }
  function svgPoint(e) {
    var r = svg.getBoundingClientRect(), vb = svg.viewBox.baseVal;
    return { x: (e.clientX - r.left) * vb.width / r.width, y: (e.clientY - r.top) * vb.height / r.height };
  }
  var tip = null;
  svg.addEventListener('click', function (e) {
    var p = svgPoint(e), t = (p.x - x0) / pps;
    if (info) {
      var i = noteAt(p);
      if (i >= 0) describeNote(i);
      else { var b = bandAt(t); if (b >= 0) describeBand(b); }
    }
    seek(t);
  });
  if (info) {
    svg.addEventListener('mousemove', function (e) {
      var p = svgPoint(e), i = noteAt(p), text = null;
      if (i >= 0) {
        var prov = provFor(data.notes[i][0], bandAt(data.notes[i][1] / 1000 + 1e-6));
        text = noteTitle(data.notes[i]) + (prov.length ? ' — ' + prov[0].part + (prov[0].tensors && prov[0].tensors.length ? ': ' + prov[0].tensors.slice(0, 3).join(', ') : '') : '');
      } else {
        var b = bandAt((p.x - x0) / pps);
        if (b >= 0) text = data.bands[b].label + (data.bands[b].detail ? ' · ' + data.bands[b].detail : '');
      }
      if (!text) { if (tip) tip.hidden = true; return; }
      if (!tip) { tip = el('div', null, 'tip'); tip.setAttribute('role', 'tooltip'); document.body.appendChild(tip); }
      tip.textContent = text + ' (click for details)';
      tip.hidden = false;
      tip.style.left = Math.min(e.clientX + 14, window.innerWidth - 370) + 'px';
      tip.style.top = (e.clientY + 16) + 'px';
    });
    svg.addEventListener('mouseleave', function () { if (tip) tip.hidden = true; });
  }
  document.querySelectorAll('[data-seek]').forEach(function (e) {
    var go = function () {
      seek(Number(e.getAttribute('data-seek')));
      if (info && e.classList.contains('w')) { info.textContent = ''; wordValues(Number(e.getAttribute('data-i'))); }
    };
    e.addEventListener('click', go);
    e.addEventListener('keydown', function (k) { if (k.key === 'Enter') { k.preventDefault(); go(); } });
  });
  // The row labels stay at the left edge while the roll scrolls sideways.
  var keys = document.getElementById('keys');
  if (keys && scroller) scroller.addEventListener('scroll', function () {
    var k = scroller.classList.contains('fit') ? 0 : scroller.scrollLeft;
    keys.setAttribute('transform', 'translate(' + k + ',0)');
  });
  var fit = document.getElementById('fit');
  if (fit && scroller) fit.addEventListener('click', function () {
    var on = scroller.classList.toggle('fit');
    if (keys) keys.setAttribute('transform', 'translate(' + (on ? 0 : scroller.scrollLeft) + ',0)');
    fit.textContent = on ? 'Zoom in' : 'Fit to width';
    fit.setAttribute('aria-pressed', on ? 'true' : 'false');
  });
  document.addEventListener('keydown', function (e) {
    var tag = (e.target && e.target.tagName || '').toLowerCase();
    if (['input', 'textarea', 'select', 'audio', 'button', 'a'].indexOf(tag) >= 0 || e.target.isContentEditable) return;
    if (e.key === ' ' || e.code === 'Space') { e.preventDefault(); toggle(); }
    else if (e.key === 'ArrowRight') { e.preventDefault(); seek(now() + 5); }
    else if (e.key === 'ArrowLeft') { e.preventDefault(); seek(now() - 5); }
    else if (e.key === 'Home') { e.preventDefault(); seek(0); }
  });
  show(0);

  // Test hook: page.html#t=SECONDS sets the audio's time (the page's own handlers then move
  // the playhead); #click=X,Y clicks the roll at SVG point (X, Y); &key=Space presses Space
  // afterwards. When done, the page writes what it shows into #selftest.
  var params = {};
  location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
    var p = kv.split('=');
    if (p[0]) params[p[0]] = decodeURIComponent(p[1] || '');
  });
  if ('t' in params || 'click' in params) {
    var click = 'click' in params ? params.click.split(',').map(Number) : null;
    var target = click ? Math.max(0, Math.min(duration, (click[0] - x0) / pps)) : Number(params.t);
    var report = function (how) {
      if (params.key === 'Space') document.body.dispatchEvent(new KeyboardEvent('keydown', { key: ' ', code: 'Space', bubbles: true }));
      var out = document.getElementById('selftest');
      var lit = Array.prototype.slice.call(document.querySelectorAll('.timed.on'));
      var word = document.querySelector('.w.on');
      out.textContent = JSON.stringify({
        t: audio && how === 'seeked' ? audio.currentTime : target,
        x: Number(playhead.getAttribute('x1')),
        expected_x: x0 + target * pps,
        on: lit.map(function (e) { return Number(e.getAttribute('data-i')); }),
        word: word ? word.textContent : null,
        info: info ? info.textContent : null,
        playing: playing(),
        pressed: playButton ? playButton.getAttribute('aria-pressed') : null,
        page_width: document.documentElement.scrollWidth,
        window_width: window.innerWidth,
        audio: how
      });
      out.hidden = false;
      if (playing()) pause();
    };
    var act = function () {
      if (click) {
        var r = svg.getBoundingClientRect(), vb = svg.viewBox.baseVal;
        svg.dispatchEvent(new MouseEvent('click', {
          bubbles: true, clientX: r.left + click[0] * r.width / vb.width, clientY: r.top + click[1] * r.height / vb.height
        }));
      } else if (audio) {
        audio.currentTime = target;
      } else {
        seek(target);
      }
    };
    if (audio) {
      audio.addEventListener('seeked', function () { report('seeked'); }, { once: true });
      audio.addEventListener('error', function () { seek(target); report('error'); }, { once: true });
      if (audio.readyState >= 1) act(); else audio.addEventListener('loadedmetadata', act, { once: true });
    } else {
      act();
      report('none');
    }
  }
})();
)js";

}  // namespace sonify::report
