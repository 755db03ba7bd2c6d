// The stylesheet and the script every report page inlines (no external file, no URL).
#pragma once

namespace sonify::report {

// The page's CSS: dark text on light backgrounds (WCAG AA contrast), one column on
// phone-width windows.
extern const char* const kPageCss;

// The page's script. It reads the JSON in <script id="report-data">, drives the playhead
// from the <audio id="audio"> element (or from a clock when the WAV is missing), lights
// every element of class "timed" whose [data-s, data-e) seconds cover the current time,
// seeks on clicks, shows the provenance of the note or band under the pointer in #info,
// and takes Space (play/pause) and the arrow keys. Test hook: page.html#t=SECONDS sets the
// audio's time, #click=X,Y clicks the roll at SVG point (X, Y), &key=Space then presses
// Space; once the audio has seeked (at once without audio) the page writes what it shows
// into <pre id="selftest"> as JSON: {"t", "x" (playhead), "expected_x", "on" (data-i of the
// lit elements), "word", "info" (the provenance box), "playing", "pressed", "page_width",
// "window_width", "audio": "seeked" | "error" | "none"}.
extern const char* const kPageJs;

}  // namespace sonify::report
