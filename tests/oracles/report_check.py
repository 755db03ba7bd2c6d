#!/usr/bin/python3
"""Independent checks of `sonify report` output (html5lib, mido, PIL), for tests/test_report*.cpp.

  report_check.py html PAGE [MAX_BYTES]   strict HTML5 parse, no external URL, size; prints "ok BYTES"
  report_check.py roll PAGE MIDI          the roll's notes and geometry against mido; prints "ok NOTES"
  report_check.py selftest DUMP           the JSON the page's test hook wrote into #selftest (from --dump-dom)
  report_check.py embedded PAGE WAV       the <audio> element's data: URI decodes to the WAV's bytes
  report_check.py png FILE W H            decodes with PIL, checks the size; prints "ok COLOURS"
  report_check.py nonblank FILE           a screenshot with content: prints "ok COLOURS DARK_FRACTION"
Exit 1 with one line on stderr when a check fails.
"""
import json
import re
import sys

import html5lib


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def parse(path):
    with open(path, 'rb') as f:
        data = f.read()
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    try:
        doc = parser.parse(data)
    except html5lib.html5parser.ParseError as e:
        die(f'{path}: not valid HTML5: {e}')
    return data, doc


URL_ATTRS = ('src', 'href', 'action', 'formaction', 'poster', 'data', 'srcset', 'xlink:href', 'background')


def check_html(path, max_bytes):
    data, doc = parse(path)
    if max_bytes and len(data) > max_bytes:
        die(f'{path}: {len(data)} bytes > {max_bytes}')
    if not data.startswith(b'<!DOCTYPE html>'):
        die(f'{path}: no <!DOCTYPE html>')
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.split('}')[-1]
        if tag == 'link' or (tag == 'script' and el.get('src')) or tag == 'iframe':
            die(f'{path}: external resource element <{tag}>')
        for name, value in el.attrib.items():
            local = name.split('}')[-1] if isinstance(name, str) else name
            if local in URL_ATTRS or name in URL_ATTRS:
                if re.match(r'^\s*([a-zA-Z][a-zA-Z0-9+.-]*:|//)', value) and not value.startswith('data:'):
                    die(f'{path}: external URL in <{tag} {name}="{value[:80]}">')
        if tag == 'style' and re.search(r'url\(|@import', el.text or ''):
            die(f'{path}: url() or @import in a stylesheet')
    text = data.decode('utf-8')
    for m in re.finditer(r'(https?:)?//[a-zA-Z0-9.-]+\.[a-z]{2,}/', text):
        die(f'{path}: URL in the page: {m.group(0)}')
    print('ok', len(data))


def page_data(doc):
    for el in doc.iter('script'):
        if el.get('id') == 'report-data':
            return json.loads(el.text)
    die('no <script id="report-data">')


def check_roll(path, midi_path):
    import mido
    _, doc = parse(path)
    svg = next((el for el in doc.iter() if isinstance(el.tag, str) and el.tag.endswith('svg') and el.get('id') == 'roll'), None)
    if svg is None:
        die(f'{path}: no <svg id="roll">')
    x0, pps = float(svg.get('data-x0')), float(svg.get('data-pps'))
    data = page_data(doc)
    # Notes from mido: absolute seconds through the tempo map (mido's own merge of the tracks).
    mid = mido.MidiFile(midi_path)
    notes, t, open_notes = [], 0.0, {}
    for msg in mid:
        t += msg.time
        if msg.type == 'note_on' and msg.velocity > 0:
            open_notes.setdefault((msg.channel, msg.note), []).append((t, msg.velocity))
        elif msg.type in ('note_off', 'note_on'):
            stack = open_notes.get((msg.channel, msg.note))
            if stack:
                start, vel = stack.pop(0)
                notes.append((start, t, msg.note, vel, msg.channel))
    page_notes = data['notes']
    if len(page_notes) != len(notes):
        die(f'{path}: {len(page_notes)} notes on the page, mido finds {len(notes)}')
    a = sorted((round(s, 3), n, v) for s, e, n, v, c in notes)
    b = sorted((round(s / 1000, 3), n, v) for _, s, e, n, v in page_notes)
    for (sa, na, va), (sb, nb, vb) in zip(a, b):
        if abs(sa - sb) > 0.002 or na != nb or va != vb:
            die(f'{path}: note differs from mido: page {sb} s pitch {nb} vel {vb}, mido {sa} s pitch {na} vel {va}')
    # Geometry: each track's first drawn rectangle starts at x0 + start * pps of one of its notes.
    starts_by_track = {}
    for tr, s, e, n, v in page_notes:
        starts_by_track.setdefault(tr, set()).add(round(x0 + s / 1000 * pps, 1))
    checked = 0
    for el in svg.iter():
        if isinstance(el.tag, str) and el.tag.endswith('path') and el.get('data-track') is not None:
            m = re.match(r'M(-?[0-9.]+) ', el.get('d'))
            x = float(m.group(1))
            if not any(abs(x - s) <= 0.11 for s in starts_by_track[int(el.get('data-track'))]):
                die(f'{path}: a note of track {el.get("data-track")} drawn at x={x}, no note starts there')
            checked += 1
    if checked == 0:
        die(f'{path}: no note paths')
    print('ok', len(page_notes))


def selftest(dump_path):
    with open(dump_path, encoding='utf-8') as f:
        text = f.read()
    m = re.search(r'<pre id="selftest"[^>]*>(.*?)</pre>', text, re.S)
    if not m or not m.group(1).strip():
        die(f'{dump_path}: the page wrote no self-test result')
    import html
    print(json.dumps(json.loads(html.unescape(m.group(1)))))


def embedded(path, wav_path):
    import base64
    _, doc = parse(path)
    audio = next((el for el in doc.iter('audio') if el.get('id') == 'audio'), None)
    if audio is None:
        die(f'{path}: no <audio id="audio">')
    src = audio.get('src')
    prefix = 'data:audio/wav;base64,'
    if not src.startswith(prefix):
        die(f'{path}: the audio is not embedded ({src[:40]})')
    with open(wav_path, 'rb') as f:
        if base64.b64decode(src[len(prefix):], validate=True) != f.read():
            die(f'{path}: the embedded audio differs from {wav_path}')
    print('ok', len(src))


def check_png(path, w, h):
    from PIL import Image
    img = Image.open(path)
    img.load()
    if img.size != (w, h):
        die(f'{path}: {img.size[0]}x{img.size[1]}, expected {w}x{h}')
    print('ok', len(img.convert('RGB').getcolors(1 << 24)))


def nonblank(path):
    from PIL import Image
    img = Image.open(path).convert('RGB')
    colours = img.getcolors(1 << 24)
    pixels = img.size[0] * img.size[1]
    dark = sum(c for c, rgb in colours if sum(rgb) < 300) / pixels
    if len(colours) < 16 or dark < 0.002:
        die(f'{path}: looks blank ({len(colours)} colours, {dark:.4f} dark)')
    print('ok', len(colours), f'{dark:.4f}')


def main():
    cmd = sys.argv[1]
    if cmd == 'html':
        check_html(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    elif cmd == 'roll':
        check_roll(sys.argv[2], sys.argv[3])
    elif cmd == 'selftest':
        selftest(sys.argv[2])
    elif cmd == 'embedded':
        embedded(sys.argv[2], sys.argv[3])
    elif cmd == 'png':
        check_png(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == 'nonblank':
        nonblank(sys.argv[2])
    else:
        die(f'unknown command {cmd}')


if __name__ == '__main__':
    main()
