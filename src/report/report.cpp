// report_write: reads a run (its JSON, MIDI, WAV, timing and, for weights runs, the
// model's features), builds every page in memory and writes them only when all were built.
#include "sonify/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>

#include "assets.h"
#include "core/atomic_file.h"
#include "core/json_strict.h"
#include "core/text_file.h"
#include "markup.h"
#include "plots.h"
#include "png.h"
#include "roll.h"
#include "run.h"
#include "sonify/analysis.h"
#include "sonify/midi.h"
#include "sonify/model.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace sonify {
namespace report {
namespace {

// A file to write once every page has been built.
struct Pending {
  std::string path;
  std::string bytes;
};

std::string str(const json& j, const char* key, const std::string& fallback = "") {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : fallback;
}

double number(const json& j, const char* key, double fallback = 0) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}

// `target` as a URL relative to the directory `from_dir`, percent-encoded.
std::string href(const std::string& target, const std::string& from_dir) {
  const fs::path rel =
      fs::absolute(target).lexically_normal().lexically_relative(fs::absolute(from_dir).lexically_normal());
  const std::string s = rel.generic_string();
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string page_dir_of(const std::string& page_path) {
  const fs::path p(page_path);
  return p.has_parent_path() ? p.parent_path().string() : ".";
}

std::string page_start(const std::string& title) {
  return std::string("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n") +
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"color-scheme\" content=\"light\">\n<title>" +
         esc(title) + "</title>\n<style>" + kPageCss + "</style>\n</head>\n<body>\n" +
         "<a class=\"skip\" href=\"#main\">Skip to the content</a>\n";
}

std::string page_end(const json& data, const std::string& footer) {
  return "<footer><p>" + footer +
         "</p></footer>\n<pre id=\"selftest\" hidden></pre>\n<script type=\"application/json\" "
         "id=\"report-data\">" +
         script_json(data) + "</script>\n<script>" + kPageJs + "</script>\n</body>\n</html>\n";
}

// The player: an <audio> element with the WAV by relative link or inline, or a notice that
// it is missing (the roll then runs on a clock).
std::string player_html(const std::string& wav, const std::string& page_dir, bool embed, double duration,
                        std::vector<std::string>* notes) {
  std::string s = "<section id=\"player\" aria-label=\"Player\">\n";
  std::error_code ec;
  if (fs::is_regular_file(wav, ec)) {
    std::string src;
    if (embed) {
      auto bytes = read_text(wav);
      if (bytes.ok()) src = "data:audio/wav;base64," + base64(*bytes);
    }
    if (src.empty()) src = href(wav, page_dir);
    s += "<audio id=\"audio\" controls preload=\"auto\" src=\"" + esc(src) +
         "\">Your browser cannot play WAV audio.</audio>\n<p id=\"audio-error\" class=\"notice\" "
         "role=\"alert\" "
         "hidden>The audio file " +
         esc(fs::path(wav).filename().string()) +
         " could not be loaded (moved, or this page was copied without it). The roll still follows the Play "
         "button.</p>\n";
  } else {
    const std::string name = fs::path(wav).filename().string();
    const std::string midi = fs::path(wav).replace_extension(".mid").filename().string();
    notes->push_back(wav + ": missing (the page plays the roll without sound)");
    s += "<p class=\"notice\" role=\"status\"><strong>No audio:</strong> " + esc(name) +
         " is missing (a run with --midi-only writes none). <code>sonify render " + esc(midi) +
         "</code> makes it. The roll below still plays with the Play button, without sound.</p>\n";
  }
  s += "<div class=\"transport\"><button id=\"play\" type=\"button\" aria-keyshortcuts=\"Space\" "
       "aria-pressed=\"false\">Play</button> <span id=\"clock\" aria-live=\"off\">0:00.0 / " +
       esc(clock_text(duration)) +
       "</span> <span class=\"hint\">Space plays or pauses, ← and → move 5 s, click the roll to "
       "seek.</span></div>\n"
       "</section>\n";
  return s;
}

// One provenance entry as the page's script reads it: the section and the tracks it
// belongs to, parsed from the genre's part text ("section drop / track Bass: pitches").
json provenance_entry(const json& p, const Roll& roll) {
  const std::string part = str(p, "part");
  std::string section;
  json tracks = json::array();
  std::size_t from = 0;
  while (from <= part.size()) {
    std::size_t to = part.find(" / ", from);
    if (to == std::string::npos) to = part.size();
    std::string piece = part.substr(from, to - from);
    if (auto colon = piece.find(':'); colon != std::string::npos) piece.resize(colon);
    const auto names_match = [](const std::string& a, const std::string& b) {
      return !a.empty() && !b.empty() && (a == b || a.rfind(b + " ", 0) == 0 || b.rfind(a + " ", 0) == 0);
    };
    if (piece.rfind("section ", 0) == 0) {
      section = piece.substr(8);
    } else if (piece.rfind("track ", 0) == 0 || piece.rfind("tracks ", 0) == 0) {
      std::string list = piece.substr(piece.find(' ') + 1);
      std::size_t a = 0;
      while (a <= list.size()) {
        std::size_t b = list.find(", ", a);
        if (b == std::string::npos) b = list.size();
        const std::string name = list.substr(a, b - a);
        for (std::size_t t = 0; t < roll.tracks.size(); ++t)
          if (names_match(roll.tracks[t].name, name)) tracks.push_back(t);
        a = b + 2;
      }
    }
    from = to + 3;
  }
  return {{"part", part},
          {"tensors", p.contains("tensors") ? p["tensors"] : json::array()},
          {"statistics", p.contains("statistics") ? p["statistics"] : json::array()},
          {"section", section},
          {"tracks", tracks}};
}

std::string provenance_table(const json& entries) {
  if (entries.empty()) return "";
  std::string s =
      "<section id=\"provenance\" aria-labelledby=\"prov-h\"><h2 id=\"prov-h\">Where each part came "
      "from</h2>\n"
      "<div class=\"table-scroll\"><table><thead><tr><th scope=\"col\">part</th><th "
      "scope=\"col\">tensors</th>"
      "<th scope=\"col\">statistics</th></tr></thead><tbody>\n";
  for (const json& e : entries) {
    std::string tensors, stats;
    for (const auto& t : e["tensors"])
      tensors += (tensors.empty() ? "" : ", ") + (t.is_string() ? t.get<std::string>() : t.dump());
    for (const auto& t : e["statistics"])
      stats += (stats.empty() ? "" : "; ") + (t.is_string() ? t.get<std::string>() : t.dump());
    s += "<tr><td>" + esc(str(e, "part")) + "</td><td>" + esc(tensors) + "</td><td>" + esc(stats) +
         "</td></tr>\n";
  }
  s += "</tbody></table></div></section>\n";
  return s;
}

std::string legend_html(const Roll& roll) {
  std::string s = "<ul class=\"legend\" aria-label=\"Tracks\">";
  for (const RollTrack& t : roll.tracks)
    s += "<li><span class=\"swatch\" style=\"background:" + t.color + "\"></span>" + esc(t.name) +
         " <span class=\"hint\">(" +
         (t.drums ? std::string("drums") : "GM program " + std::to_string(t.program + 1)) + ", " +
         std::to_string(t.notes) + " notes)</span></li>";
  s += "</ul>\n";
  return s;
}

std::string roll_section(const Roll& roll, const RollLayout& layout, const std::string& title,
                         const std::string& bands) {
  return "<section id=\"roll-panel\" aria-labelledby=\"roll-h\"><h2 id=\"roll-h\">Piano roll</h2>\n" +
         legend_html(roll) +
         "<div id=\"roll-scroll\" class=\"roll-scroll\" tabindex=\"0\" aria-label=\"Piano roll, scrolls "
         "sideways; "
         "Space plays, arrows seek\">" +
         roll_svg(roll, layout, title) +
         "</div>\n<p class=\"transport\"><button id=\"fit\" type=\"button\" aria-pressed=\"false\">Fit to "
         "width</button> <span class=\"hint\">Shades: darker notes are louder. Bands: " +
         esc(bands) +
         ".</span></p>\n<div id=\"info\" class=\"info\" aria-live=\"polite\">Point at or click a note or a "
         "band "
         "to see the tensors and statistics it came from.</div>\n</section>\n";
}

json layout_json(const RollLayout& l) {
  return {{"melodic_top", l.melodic_top},
          {"row_height", l.row_height},
          {"pitch_hi", l.pitch_hi},
          {"drum_top", l.drum_top},
          {"drum_row_height", l.drum_row_height},
          {"drum_keys", l.drum_keys},
          {"bottom", l.bottom}};
}

json roll_data(const Roll& roll, const RollLayout& layout) {
  json data;
  data["layout"] = layout_json(layout);
  json tracks = json::array();
  for (const RollTrack& t : roll.tracks)
    tracks.push_back({{"name", t.name}, {"program", t.program}, {"drums", t.drums}, {"color", t.color}});
  data["tracks"] = tracks;
  json notes = json::array();
  for (const RollNote& n : roll.notes)
    notes.push_back({n.track, std::lround(n.start * 1000), std::lround(n.end * 1000), n.pitch, n.velocity});
  data["notes"] = notes;
  json drum_names = json::object();
  for (int k : layout.drum_keys) drum_names[std::to_string(k)] = drum_key_name(k);
  data["drum_names"] = drum_names;
  json bands = json::array();
  for (const RollBand& b : roll.bands)
    bands.push_back({{"label", b.label}, {"detail", b.detail}, {"start", b.start}, {"end", b.end}});
  data["bands"] = bands;
  return data;
}

// The roll of the run's MIDI, long enough for its audio.
Result<Roll> load_roll(const Run& run) {
  const std::string midi_path = run.file(".mid");
  std::error_code ec;
  if (!fs::is_regular_file(midi_path, ec))
    return fail(midi_path, ": no such file (the piano roll needs the run's MIDI)");
  SONIFY_ASSIGN_OR_RETURN(midi, midi_read(midi_path));
  SONIFY_ASSIGN_OR_RETURN(roll, roll_from_midi(midi));
  if (fs::is_regular_file(run.file(".wav"), ec))
    if (auto seconds = wav_seconds(run.file(".wav")); seconds.ok())
      roll.duration = std::max(roll.duration, *seconds);
  return roll;
}

// ---- weights runs -------------------------------------------------------------------

std::vector<std::pair<std::string, std::string>> model_facts(const Model& model) {
  const ModelSpec& s = model.spec();
  std::map<std::string, int> dtypes;
  for (const auto& t : model.checkpoint().tensors()) dtypes[std::string(dtype_name(t.dtype))] += 1;
  std::string dt;
  for (const auto& [name, count] : dtypes)
    dt += (dt.empty() ? "" : ", ") + name + " × " + std::to_string(count);
  const auto thousands = [](std::int64_t v) {
    std::string d = std::to_string(v), out;
    for (std::size_t i = 0; i < d.size(); ++i) {
      if (i > 0 && (d.size() - i) % 3 == 0) out += ',';
      out += d[i];
    }
    return out;
  };
  return {{"path", model.path()},
          {"family", std::string(family_name(s.family)) + " (model_type " + s.model_type + ")"},
          {"layers", std::to_string(s.n_layers)},
          {"hidden size", std::to_string(s.hidden_size)},
          {"heads / KV heads", std::to_string(s.n_heads) + " / " + std::to_string(s.n_kv_heads)},
          {"head dim", std::to_string(s.head_dim)},
          {"intermediate size", std::to_string(s.intermediate_size)},
          {"vocabulary", thousands(s.vocab_size)},
          {"context", thousands(s.context_length)},
          {"parameters", thousands(model.parameter_count())},
          {"bytes on disk", thousands(static_cast<std::int64_t>(model.checkpoint().bytes_on_disk()))},
          {"dtypes", dt},
          {"norm", std::string(s.layer_norm ? "LayerNorm" : "RMSNorm") + ", eps " + num(s.norm_eps, 8) +
                       (s.norm_weight_offset != 0 ? ", gain 1 + w" : "")},
          {"MLP", s.activation + (s.gated_mlp ? ", gated" : "")},
          {"positions", s.learned_positions ? "learned" : "RoPE θ " + num(s.rope_theta, 0)},
          {"tied embeddings", s.tie_word_embeddings ? "yes" : "no"}};
}

// Every tensor role with its logical shape and the layers that have it.
std::string roles_table(const Model& model) {
  struct Row {
    std::string shape;
    int first = 0, last = 0;
  };
  std::vector<std::string> order;
  std::map<std::string, Row> rows;
  for (const RoleTensor& t : model.tensors()) {
    const std::string r = std::string(role_name(t.role)) + (t.part == Part::Bias ? ".bias" : "");
    if (!rows.count(r)) {
      order.push_back(r);
      std::string shape;
      for (auto d : t.shape) shape += (shape.empty() ? "" : " × ") + std::to_string(d);
      rows[r] = {shape, t.layer, t.layer};
    }
    rows[r].last = t.layer;
  }
  std::string s = "<details><summary>Tensor roles (" + std::to_string(order.size()) +
                  ")</summary><div class=\"table-scroll\"><table><thead><tr><th scope=\"col\">role</th><th "
                  "scope=\"col\">shape</th><th scope=\"col\">layers</th></tr></thead><tbody>";
  for (const auto& r : order) {
    const Row& row = rows[r];
    s += "<tr><td>" + esc(r) + "</td><td>" + esc(row.shape) + "</td><td>" +
         (row.first < 0
              ? std::string("model")
              : std::to_string(row.first) + (row.last > row.first ? "–" + std::to_string(row.last) : "")) +
         "</td></tr>";
  }
  return s + "</tbody></table></div></details>";
}

std::string facts_html(const std::vector<std::pair<std::string, std::string>>& facts) {
  std::string s = "<dl class=\"facts\">";
  for (const auto& [k, v] : facts) s += "<dt>" + esc(k) + "</dt><dd>" + esc(v) + "</dd>";
  return s + "</dl>";
}

struct ModelPanel {
  std::string html;
  std::vector<Panel> spectra;  // for the PNG
};

ModelPanel model_panel(const Run& run, std::vector<std::string>* notes) {
  ModelPanel out;
  const json& m = run.json.contains("model") ? run.json["model"] : json::object();
  const std::string path = str(m, "path");
  std::string s =
      "<section id=\"model-panel\" aria-labelledby=\"model-h\"><h2 id=\"model-h\">The model</h2>\n";
  auto model = Model::open(path);
  std::optional<WeightFeatures> features;
  std::string problem;
  if (!model.ok()) {
    problem = model.error().message;
  } else if (!analysis_cpu_supported()) {
    problem = "this sonify cannot analyse on this CPU (built for AVX2 and FMA)";
  } else {
    bool from_cache = false;
    auto f = analyze_weights_cached(*model, AnalyzeOptions{}, &from_cache);
    if (f.ok())
      features = std::move(*f);
    else
      problem = f.error().message;
  }
  if (!features) {
    notes->push_back("model panel unavailable: " + problem);
    s += "<p class=\"notice\" role=\"status\"><strong>No model panel:</strong> " + esc(problem) +
         ". The run's JSON names the model; the roll and provenance below do not need it.</p>\n";
    json facts = json::array();
    std::vector<std::pair<std::string, std::string>> known = {
        {"path", path},
        {"family", str(m, "family")},
        {"layers", m.contains("n_layers") ? m["n_layers"].dump() : ""},
        {"hidden size", m.contains("hidden_size") ? m["hidden_size"].dump() : ""}};
    s += facts_html(known) + "</section>\n";
    out.html = s;
    return out;
  }
  const WeightFeatures& f = *features;
  if (str(m, "checkpoint_id") != f.checkpoint_id) {
    notes->push_back(path +
                     ": the model's files changed since this run; the panel shows them as they are now");
    s += "<p class=\"notice\" role=\"status\">The model's files changed since this run (checkpoint id " +
         esc(str(m, "checkpoint_id")) + ", now " + esc(f.checkpoint_id) +
         "): the panel shows them as they are now.</p>\n";
  }
  s += "<div class=\"plots\">\n<div><h3>Inspect</h3>" + facts_html(model_facts(*model)) +
       roles_table(*model) + "</div>\n";
  s += "<div><h3>Key</h3>" + chroma_svg(f.tonality, "chroma") + "</div>\n";
  s += "<div><h3>Tension</h3>" + panel_svg(tension_panel(f.tension), 400, 220, "tension") +
       "<p class=\"hint\">Mean Frobenius norm of q, k, v, o over that of the MLP matrices, per "
       "layer.</p></div>\n";
  s += "</div>\n<h3>Statistics over layers × roles</h3>\n<div class=\"plots\">\n";
  const auto maps = model_heatmaps(f);
  for (std::size_t i = 0; i < maps.size(); ++i)
    s += "<div>" + heatmap_svg(maps[i], "heat" + std::to_string(i)) +
         (maps[i].note.empty() ? "" : "<p class=\"hint\">" + esc(maps[i].note) + "</p>") + "</div>\n";
  s += "</div>\n<details><summary>These statistics as a table</summary><div "
       "class=\"table-scroll\"><table><thead><tr>"
       "<th scope=\"col\">role</th><th scope=\"col\" class=\"num\">layer</th>";
  for (const auto& h : maps) s += "<th scope=\"col\" class=\"num\">" + esc(h.title) + "</th>";
  s += "</tr></thead><tbody>";
  if (!maps.empty())
    for (std::size_t r = 0; r < maps[0].roles.size(); ++r)
      for (int l = 0; l < maps[0].n_layers; ++l) {
        if (std::isnan(maps[0].values[r][static_cast<std::size_t>(l)])) continue;
        s += "<tr><td>" + esc(maps[0].roles[r]) + "</td><td class=\"num\">" + std::to_string(l) + "</td>";
        for (const auto& h : maps)
          s += "<td class=\"num\">" + num(h.values[r][static_cast<std::size_t>(l)], 4) + "</td>";
        s += "</tr>";
      }
  s += "</tbody></table></div></details>\n";
  out.spectra = spectra_panels(f);
  s += "<h3>Singular-value spectra (log–log)</h3>\n<ul class=\"legend\" aria-label=\"Layers\">";
  for (int l = 0; l < f.n_layers; ++l)
    s += "<li><span class=\"swatch\" style=\"background:" + layer_color(l, f.n_layers) + "\"></span>layer " +
         std::to_string(l) + "</li>";
  s += "</ul>\n<div class=\"plots\">\n";
  for (std::size_t i = 0; i < out.spectra.size(); ++i)
    s += "<div>" + panel_svg(out.spectra[i], 400, 260, "spec" + std::to_string(i)) + "</div>\n";
  s += "</div>\n<p class=\"hint\">σᵢ of every matrix against its index i, one curve per layer; values below "
       "the "
       "analysis' accuracy floor are left out.</p>\n</section>\n";
  out.html = s;
  return out;
}

void weights_bands(const Run& run, Roll* roll) {
  if (!run.json.contains("sections") || !run.json["sections"].is_array()) return;
  for (const json& sec : run.json["sections"]) {
    const int first = static_cast<int>(number(sec, "first_bar"));
    const int end = static_cast<int>(number(sec, "end_bar"));
    const auto at = [&](int bar) {
      return bar >= 0 && bar < static_cast<int>(roll->bar_starts.size())
                 ? roll->bar_starts[static_cast<std::size_t>(bar)]
                 : roll->duration;
    };
    RollBand b;
    b.label = str(sec, "name");
    b.detail = str(sec, "root_name") + " " + str(sec, "mode");
    b.start = at(first);
    b.end = at(end);
    if (b.end > b.start) roll->bands.push_back(b);
  }
}

// ---- prompt runs --------------------------------------------------------------------

// Provenance of a prompt track's parts, in the genres' shape, from NAME.json: its "parts"
// (what each score track follows, as the composer recorded it), the voices' PCA and the
// contrast direction.
json prompt_provenance(const json& j) {
  json out = json::array();
  std::map<std::string, std::string> variance;  // voice -> explained variance of its PCs 1-3
  if (j.contains("voices") && j["voices"].is_array())
    for (const json& v : j["voices"]) {
      std::string ratios;
      if (v.contains("explained_variance_ratio"))
        for (std::size_t k = 0; k < 3 && k < v["explained_variance_ratio"].size(); ++k)
          ratios += (ratios.empty() ? "" : ", ") + num(v["explained_variance_ratio"][k].get<double>(), 3);
      variance[str(v, "name")] = ratios;
    }
  if (j.contains("parts") && j["parts"].is_array()) {
    for (const json& p : j["parts"]) {
      json tensors = json::array();
      if (p.contains("hidden_state")) {
        const int state = p["hidden_state"].get<int>();
        tensors.push_back(
            "hidden state " + std::to_string(state) +
            (state == 0 ? " (the embeddings)" : " (output of block " + std::to_string(state - 1) + ")"));
      }
      if (p.contains("layer")) tensors.push_back("block " + p["layer"].dump());
      json statistics = json::array({str(p, "statistic")});
      if (auto it = variance.find(str(p, "part")); it != variance.end() && !it->second.empty())
        statistics.push_back("explained variance of PCs 1-3: " + it->second);
      out.push_back({{"part", "track " + str(p, "part")}, {"tensors", tensors}, {"statistics", statistics}});
    }
  } else {
    // Runs written before NAME.json recorded its parts: the voices, from their own entries.
    for (const auto& [name, ratios] : variance)
      out.push_back({{"part", "track " + name},
                     {"tensors", json::array()},
                     {"statistics",
                      {"PCs 1-3 of the word's last token: pitch, velocity, articulation (explained "
                       "variance " +
                       ratios + ")"}}});
  }
  if (j.contains("direction") && j["direction"].is_object()) {
    const json& d = j["direction"];
    out.push_back(
        {{"part", "tension"},
         {"tensors", {"hidden states " + (d.contains("hidden_states") ? d["hidden_states"].dump() : "?")}},
         {"statistics",
          {"contrast direction " + str(d, "name") + " (" + str(d, "method") + "): tension " +
           num(number(d, "tension"), 3)}}});
  }
  return out;
}

struct Words {
  std::string line_html;   // the prompt's words, lit in time
  std::string table_html;  // the per-word values
  json data = json::array();
};

Words prompt_words(const Run& run, Roll* roll, std::vector<std::string>* notes) {
  Words w;
  const std::string timing_path = run.file(".timing.json");
  auto timing = json_read_file(timing_path);
  std::vector<std::string> voices;
  if (run.json.contains("voices") && run.json["voices"].is_array())
    for (const json& v : run.json["voices"]) voices.push_back(str(v, "name"));
  if (!timing.ok() || !(*timing).contains("words") || !(*timing)["words"].is_array()) {
    const std::string why = timing.ok() ? timing_path + ": no \"words\" list" : timing.error().message;
    notes->push_back("words unavailable: " + why);
    w.line_html =
        "<section id=\"words-panel\" aria-labelledby=\"words-h\"><h2 id=\"words-h\">Prompt</h2><p>" +
        esc(str(run.json, "prompt")) +
        "</p><p class=\"notice\" role=\"status\">The words cannot light up: " + esc(why) +
        ".</p></section>\n";
    return w;
  }
  std::string line, rows;
  int i = 0;
  const json& words = (*timing)["words"];
  const bool has_tension =
      std::any_of(words.begin(), words.end(), [](const json& x) { return x.contains("tension"); });
  for (const json& word : words) {
    const double s = number(word, "start"), e = number(word, "end");
    const std::string text = str(word, "text");
    json values = json::array();
    std::string cells;
    const json pitches = word.contains("pitches") ? word["pitches"] : json::array();
    const json pcs = word.contains("pca") ? word["pca"] : json::array();
    for (std::size_t v = 0; v < pitches.size(); ++v) {
      const std::string voice = v < voices.size() ? voices[v] : "voice " + std::to_string(v + 1);
      const int pitch = pitches[v].is_number() ? pitches[v].get<int>() : 0;
      std::string value = voice + ": " + pitch_name(pitch);
      std::string coords;
      if (v < pcs.size() && pcs[v].is_array())
        for (const auto& z : pcs[v]) coords += (coords.empty() ? "" : ", ") + num(z.get<double>(), 2);
      if (!coords.empty()) value += " (PCs 1-3: " + coords + ")";
      values.push_back(value);
      cells += "<td>" + esc(pitch_name(pitch)) +
               (coords.empty() ? "" : "<br><span class=\"hint\">" + esc(coords) + "</span>") + "</td>";
    }
    if (word.contains("tension")) values.push_back("tension " + num(number(word, "tension"), 3));
    std::string tokens;
    if (word.contains("token_ids"))
      for (const auto& t : word["token_ids"]) tokens += (tokens.empty() ? "" : " ") + t.dump();
    values.push_back("tokens " + tokens);
    w.data.push_back({{"text", text}, {"start", s}, {"end", e}, {"values", values}});
    roll->bands.push_back({text, "", s, e});
    line += "<span class=\"w timed\" role=\"button\" tabindex=\"0\" data-i=\"" + std::to_string(i) +
            "\" data-s=\"" + num(s, 4) + "\" data-e=\"" + num(e, 4) + "\" data-seek=\"" + num(s, 4) +
            "\" title=\"" + esc(clock_text(s) + " · " + values[0].get<std::string>()) + "\">" + esc(text) +
            "</span> ";
    rows += "<tr><td class=\"num\">" + std::to_string(i + 1) + "</td><td>" + esc(text) +
            "</td><td class=\"num\">" + num(s, 2) + "</td><td class=\"num\">" + num(e, 2) + "</td><td>" +
            esc(tokens) + "</td>" + cells +
            (has_tension ? "<td class=\"num\">" + num(number(word, "tension"), 3) + "</td>" : "") + "</tr>\n";
    ++i;
  }
  std::string head =
      "<th scope=\"col\" class=\"num\">#</th><th scope=\"col\">word</th><th scope=\"col\" "
      "class=\"num\">start s</th><th scope=\"col\" class=\"num\">end s</th><th scope=\"col\">token ids</th>";
  for (const auto& v : voices) head += "<th scope=\"col\">" + esc(v) + "</th>";
  if (has_tension) head += "<th scope=\"col\" class=\"num\">tension</th>";
  w.line_html =
      "<section id=\"words-panel\" aria-labelledby=\"words-h\"><h2 id=\"words-h\">Prompt</h2>\n<p "
      "id=\"words\" "
      "class=\"words\">" +
      line +
      "</p>\n<p class=\"hint\">Each word lights up while it sounds; click one to hear it.</p>\n</section>\n";
  w.table_html =
      "<section id=\"values\" aria-labelledby=\"values-h\"><h2 id=\"values-h\">Per-word values</h2>\n"
      "<div class=\"table-scroll\"><table><thead><tr>" +
      head + "</tr></thead><tbody>\n" + rows + "</tbody></table></div></section>\n";
  return w;
}

// ---- pages --------------------------------------------------------------------------

struct TrackPage {
  std::string html;
  Roll roll;
  std::vector<Panel> spectra;  // weights runs
  std::string title;
};

Result<TrackPage> track_page(const Run& run, const std::string& page_path, const ReportOptions& options,
                             const std::string& album_href, std::vector<std::string>* notes) {
  SONIFY_ASSIGN_OR_RETURN(roll, load_roll(run));
  const json& j = run.json;
  TrackPage page;
  std::string meta, before_roll, after_roll, sources;
  json data_extra = json::object();
  const json& key = j.contains("key") && j["key"].is_object() ? j["key"] : json::object();
  if (run.kind == RunKind::Weights) {
    weights_bands(run, &roll);
    page.title = str(j, "title", str(j, "genre"));
    const json& m = j.contains("model") ? j["model"] : json::object();
    meta = "weights · genre " + str(j, "genre") + " · model " + fs::path(str(m, "path")).filename().string() +
           " (" + str(m, "family") + ", " + (m.contains("n_layers") ? m["n_layers"].dump() : "?") +
           " layers) · " + str(key, "root_name") + " " + str(key, "mode") + " · " +
           num(number(j, "tempo_bpm"), 1) + " BPM · " +
           clock_text(number(j, "length_seconds", roll.duration));
    ModelPanel mp = model_panel(run, notes);
    after_roll = mp.html;
    page.spectra = std::move(mp.spectra);
    data_extra["band_kind"] = "section";
    sources = " and " + run.name + ".mid";
  } else {
    Words w = prompt_words(run, &roll, notes);
    before_roll = w.line_html;
    after_roll = w.table_html;
    page.title = str(j, "prompt");
    meta = "prompt · style " + str(j, "style", "voices") + " · model " +
           fs::path(str(j, "model")).filename().string() + " · " + str(key, "root") + " " + str(key, "mode") +
           " · " + num(number(j, "tempo_bpm"), 1) + " BPM · " +
           clock_text(number(j, "duration_seconds", roll.duration));
    data_extra["band_kind"] = "word";
    data_extra["words"] = std::move(w.data);
    sources = ", " + run.name + ".timing.json and " + run.name + ".mid";
  }
  json provenance = json::array();
  const json parts = run.kind == RunKind::Weights
                         ? (j.contains("provenance") ? j["provenance"] : json::array())
                         : prompt_provenance(j);
  for (const json& p : parts) provenance.push_back(provenance_entry(p, roll));

  const RollLayout layout = roll_layout(roll, 0, std::max(40.0, 1100.0 / std::max(roll.duration, 1.0)));
  json data = roll_data(roll, layout);
  data.update(data_extra);
  data["prov"] = provenance;
  std::string html = page_start(page.title + " — sonify report");
  html +=
      "<header>" +
      (album_href.empty() ? "" : "<p class=\"crumb\"><a href=\"" + esc(album_href) + "\">← album</a></p>") +
      "<h1>" + esc(page.title) + "</h1><p class=\"meta\">" + esc(meta) +
      "</p></header>\n<main id=\"main\">\n";
  html += player_html(run.file(".wav"), page_dir_of(page_path), options.embed_audio, roll.duration, notes);
  html += before_roll;
  html += roll_section(roll, layout, "Piano roll of " + page.title,
                       run.kind == RunKind::Weights ? "the sections, with their key and mode" : "the words");
  html += provenance_table(provenance);
  html += after_roll;
  html += "</main>\n";
  html += page_end(data, "Made by <code>sonify report</code> from " +
                             esc(fs::path(run.json_path).filename().string() + sources) + ".");
  page.html = std::move(html);
  page.roll = std::move(roll);
  return page;
}

// ---- albums -------------------------------------------------------------------------

struct AlbumTrack {
  json row;          // the manifest's row
  std::string href;  // its page, relative to the index; empty when it has none
};

std::string album_timeline(const std::vector<AlbumTrack>& tracks, double duration) {
  const double width = 1000, x0 = 10, pps = (width - 20) / std::max(duration, 1.0);
  std::string s = "<svg id=\"timeline\" class=\"timeline\" viewBox=\"0 0 " + num(width) +
                  " 64\" role=\"img\" aria-labelledby=\"timeline-t\" data-x0=\"" + num(x0, 3) +
                  "\" data-pps=\"" + num(pps, 6) + "\" data-duration=\"" + num(duration, 6) +
                  "\"><title id=\"timeline-t\">album.wav: where each track starts; click to seek</title>";
  for (std::size_t k = 0; k < tracks.size(); ++k) {
    const json& r = tracks[k].row;
    if (!r.contains("start")) continue;
    const double start = number(r, "start"), end = start + number(r, "duration");
    const double x = x0 + start * pps, w = std::max(1.0, (end - start) * pps);
    s += "<rect class=\"seg timed\" data-i=\"" + std::to_string(k) + "\" data-s=\"" + num(start, 4) +
         "\" data-e=\"" + num(end, 4) + "\" x=\"" + num(x) + "\" y=\"6\" width=\"" + num(w) +
         "\" height=\"40\"><title>" +
         esc(std::to_string(k + 1) + " " + str(r, "title") + " · " + clock_text(start)) + "</title></rect>";
    if (w > 16)
      s += "<text class=\"seg-label\" x=\"" + num(x + 4) + "\" y=\"31\">" + std::to_string(k + 1) + "</text>";
  }
  double step = 5;
  for (const double candidate : {5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0})
    if (duration / candidate <= 10) {
      step = candidate;
      break;
    }
  for (double t = 0; t <= duration; t += step)
    s += "<text x=\"" + num(x0 + t * pps) + "\" y=\"60\">" + clock_text(t) + "</text>";
  s += "<line id=\"playhead\" class=\"playhead\" x1=\"" + num(x0) + "\" x2=\"" + num(x0) +
       "\" y1=\"2\" y2=\"50\"/></svg>";
  return s;
}

std::string album_page(const Run& album, const std::string& index_path, const ReportOptions& options,
                       const std::vector<AlbumTrack>& tracks, std::vector<std::string>* notes) {
  const json& m = album.json;
  const std::string wav = album.dir + "/album.wav";
  double duration = 0;
  bool timed = true;
  for (const AlbumTrack& t : tracks) {
    if (t.row.contains("start"))
      duration = std::max(duration, number(t.row, "start") + number(t.row, "duration"));
    else if (!t.row.contains("error"))
      timed = false;
  }
  std::error_code ec;
  if (fs::is_regular_file(wav, ec))
    if (auto seconds = wav_seconds(wav); seconds.ok()) duration = std::max(duration, *seconds);
  const std::string dir_name = fs::absolute(album.dir).lexically_normal().filename().string();
  const std::string title = "Album “" + (dir_name.empty() ? std::string("album") : dir_name) + "”";
  int failed = 0;
  double tracks_seconds = 0;
  std::vector<ArcPoint> arc;
  std::string rows;
  for (std::size_t k = 0; k < tracks.size(); ++k) {
    const json& r = tracks[k].row;
    const std::string number_text = std::to_string(k + 1);
    if (r.contains("error")) {
      ++failed;
      rows += "<tr><td class=\"num\">" + number_text + "</td><td>" + esc(str(r, "title")) + "</td><td>" +
              esc(str(r, "prompt")) +
              "</td><td colspan=\"6\" class=\"notice\">failed: " + esc(str(r, "error")) + "</td></tr>\n";
      continue;
    }
    tracks_seconds += number(r, "duration");
    arc.push_back({number_text + " " + str(r, "title"), tracks[k].href,
                   timed ? number(r, "start") : static_cast<double>(k + 1), number(r, "tension")});
    const std::string link = tracks[k].href.empty()
                                 ? esc(str(r, "title"))
                                 : "<a href=\"" + esc(tracks[k].href) + "\">" + esc(str(r, "title")) + "</a>";
    const std::string attrs = r.contains("start")
                                  ? " class=\"timed\" data-i=\"" + std::to_string(k) + "\" data-s=\"" +
                                        num(number(r, "start"), 4) + "\" data-e=\"" +
                                        num(number(r, "start") + number(r, "duration"), 4) + "\""
                                  : "";
    rows += "<tr" + attrs + "><td class=\"num\">" + number_text + "</td><td>" + link + "</td><td>" +
            esc(str(r, "prompt")) + "</td><td>" + esc(str(r, "group")) + "</td><td>" +
            esc(str(r, "key") + " " + str(r, "mode")) + "</td><td class=\"num\">" +
            num(number(r, "tempo"), 1) + "</td><td class=\"num\">" + num(number(r, "tension"), 3) +
            "</td><td class=\"num\">" + clock_text(number(r, "duration")) + "</td><td class=\"num\">" +
            (r.contains("start") ? clock_text(number(r, "start")) : std::string("–")) + "</td></tr>\n";
  }
  std::string html = page_start(title + " — sonify report");
  html += "<header><h1>" + esc(title) + "</h1><p class=\"meta\">" +
          esc("album · mode " + str(m, "mode", "album") + " · model " +
              fs::path(str(m, "model")).filename().string() + " · " + std::to_string(tracks.size()) +
              " tracks" + (failed ? " (" + std::to_string(failed) + " failed)" : "") + " · " +
              clock_text(tracks_seconds) + " of music" +
              (m.contains("complete") && m["complete"] == false ? " · incomplete (the run did not finish)"
                                                                : "")) +
          "</p></header>\n<main id=\"main\">\n";
  html += player_html(wav, page_dir_of(index_path), options.embed_audio, duration, notes);
  if (timed)
    html += "<section aria-label=\"Album timeline\">" + album_timeline(tracks, duration) + "</section>\n";
  html +=
      "<section class=\"arc\" aria-labelledby=\"arc-h\"><h2 id=\"arc-h\">Tension arc</h2>" +
      arc_svg(arc, timed ? "seconds into the album" : "track", "arc") +
      "<p class=\"hint\">Each point is a track (click it for its page); tension along the contrast direction "
      "of the run.</p></section>\n";
  html +=
      "<section aria-labelledby=\"tracks-h\"><h2 id=\"tracks-h\">Tracks</h2><div "
      "class=\"table-scroll\"><table>"
      "<thead><tr><th scope=\"col\" class=\"num\">#</th><th scope=\"col\">title</th><th "
      "scope=\"col\">prompt</th>"
      "<th scope=\"col\">group</th><th scope=\"col\">key</th><th scope=\"col\" class=\"num\">tempo</th><th "
      "scope=\"col\" class=\"num\">tension</th><th scope=\"col\" class=\"num\">duration</th><th "
      "scope=\"col\" "
      "class=\"num\">starts</th></tr></thead><tbody>\n" +
      rows + "</tbody></table></div></section>\n</main>\n";
  if (!timed)  // the script needs an element to put the playhead on
    html += "<svg hidden id=\"timeline\" data-x0=\"0\" data-pps=\"1\" data-duration=\"" + num(duration, 3) +
            "\"><line id=\"playhead\"/></svg>\n";
  html += page_end(json::object(), "Made by <code>sonify report</code> from " + esc(album.json_path) + ".");
  return html;
}

// PNG files of a track page, beside it.
Status add_pngs(const TrackPage& page, const std::string& page_path, std::vector<Pending>* files) {
  const std::string stem = (fs::path(page_path).parent_path() / fs::path(page_path).stem()).string();
  SONIFY_ASSIGN_OR_RETURN(roll, roll_png(page.roll, page.title));
  files->push_back({stem + ".roll.png", std::move(roll)});
  if (!page.spectra.empty()) {
    SONIFY_ASSIGN_OR_RETURN(spectra, spectra_png(page.spectra, "Singular-value spectra: " + page.title));
    files->push_back({stem + ".spectra.png", std::move(spectra)});
  }
  return Status::Ok();
}

// Writes every file under a temporary name first, then renames them all.
Status write_all(const std::vector<Pending>& files) {
  std::vector<AtomicFile> open;
  for (const Pending& f : files) {
    std::error_code ec;
    const fs::path parent = fs::path(f.path).parent_path();
    if (!parent.empty() && !fs::is_directory(parent, ec)) {
      fs::create_directories(parent, ec);
      if (ec) return fail(parent.string(), ": cannot create the directory: ", ec.message());
    }
    SONIFY_ASSIGN_OR_RETURN(file, AtomicFile::create(f.path));
    SONIFY_TRY(file.write(f.bytes));
    open.push_back(std::move(file));
  }
  for (AtomicFile& f : open) SONIFY_TRY(f.commit());
  return Status::Ok();
}

std::string page_path_for(const ReportOptions& options, const std::string& default_path) {
  std::error_code ec;
  if (options.output.empty()) return default_path;
  if (fs::is_directory(options.output, ec))
    return (fs::path(options.output) / fs::path(default_path).filename()).string();
  return options.output;
}

}  // namespace
}  // namespace report

Result<ReportOutput> report_write(const std::string& run_path, const ReportOptions& options) {
  using namespace report;
  SONIFY_ASSIGN_OR_RETURN(run, run_locate(run_path));
  ReportOutput out;
  out.kind = run_kind_name(run.kind);
  std::vector<Pending> files;
  if (run.kind != RunKind::Album) {
    const std::string page_path = page_path_for(options, run.file(".html"));
    SONIFY_ASSIGN_OR_RETURN(page, track_page(run, page_path, options, "", &out.notes));
    files.push_back({page_path, page.html});
    if (options.png) SONIFY_TRY(add_pngs(page, page_path, &files));
  } else {
    const std::string index_path = page_path_for(options, run.dir + "/index.html");
    const std::string index_dir = page_dir_of(index_path);
    std::vector<AlbumTrack> tracks;
    std::vector<Pending> track_files;
    for (const json& row : run.json["tracks"]) {
      AlbumTrack t{row, ""};
      const std::string name = str(row, "name");
      if (!row.contains("error") && !name.empty()) {
        const std::string json_path = run.dir + "/" + name + ".json";
        auto track_run = run_locate(json_path);
        if (!track_run.ok() || track_run->kind != RunKind::Prompt) {
          const std::string why =
              track_run.ok() ? json_path + ": not a prompt track" : track_run.error().message;
          out.notes.push_back(why);
          t.row["error"] = why;
        } else {
          const std::string page_path = run.dir + "/" + name + ".html";
          auto page = track_page(*track_run, page_path, options, href(index_path, run.dir), &out.notes);
          if (!page.ok()) {
            out.notes.push_back(page.error().message);
            t.row["error"] = page.error().message;
          } else {
            track_files.push_back({page_path, page->html});
            if (options.png) SONIFY_TRY(add_pngs(*page, page_path, &track_files));
            t.href = href(page_path, index_dir);
          }
        }
      }
      tracks.push_back(std::move(t));
    }
    files.push_back({index_path, album_page(run, index_path, options, tracks, &out.notes)});
    for (auto& f : track_files) files.push_back(std::move(f));
  }
  SONIFY_TRY(write_all(files));
  for (const Pending& f : files) out.written.push_back(f.path);
  return out;
}

}  // namespace sonify
