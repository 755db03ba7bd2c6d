// The genre registry, the parameter registry and the helpers the genres share.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/text_file.h"
#include "genre_util.h"

namespace sonify {

const char* param_type_name(ParamType type) {
  switch (type) {
    case ParamType::Int:
      return "int";
    case ParamType::Number:
      return "number";
    case ParamType::Choice:
      return "choice";
  }
  return "?";
}

namespace {
std::string num_text(double v) {
  std::ostringstream os;
  os.precision(10);
  os << v;
  return os.str();
}
}  // namespace

std::string param_range_text(const ParamSpec& spec) {
  if (spec.type == ParamType::Choice) {
    std::string s;
    for (const auto& c : spec.choices) s += (s.empty() ? "" : "|") + c;
    return s;
  }
  return num_text(spec.min) + ".." + num_text(spec.max);
}

double GenreParams::number(const std::string& name) const { return std::strtod(text(name).c_str(), nullptr); }
int GenreParams::integer(const std::string& name) const {
  return genres::round_int(number(name), -genres::kIntMax, genres::kIntMax);
}
const std::string& GenreParams::text(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    // A genre reading a parameter it never declared: no user input can cause this.
    std::fprintf(stderr, "sonify: internal error: genre parameter '%s' is not declared\n", name.c_str());
    std::abort();
  }
  return it->second;
}

const std::vector<Genre>& all_genres() {
  static const std::vector<Genre> genres = {genres::acid_genre(), genres::house_genre(),
                                            genres::suite_genre(), genres::opera_genre()};
  return genres;
}

Result<const Genre*> find_genre(std::string_view name) {
  std::string names;
  for (const auto& g : all_genres()) {
    if (g.name == name) return &g;
    names += (names.empty() ? "" : ", ") + g.name;
  }
  return fail("unknown genre '", std::string(name), "' (valid genres: ", names, ")");
}

Result<std::string> param_check(const ParamSpec& spec, const std::string& value, const std::string& where) {
  if (spec.type == ParamType::Choice) {
    for (const auto& c : spec.choices)
      if (c == value) return value;
    return fail(where, ": '", value, "' is not one of ", param_range_text(spec));
  }
  const char* s = value.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s, &end);
  if (value.empty() || end == s || *end != '\0' || errno == ERANGE || !std::isfinite(v))
    return fail(where, ": '", value, "' is not a ", spec.type == ParamType::Int ? "whole number" : "number");
  if (spec.type == ParamType::Int && v != std::floor(v))
    return fail(where, ": '", value, "' is not a whole number");
  if (v < spec.min || v > spec.max)
    return fail(where, ": ", value, " is out of range ", param_range_text(spec));
  return spec.type == ParamType::Int ? std::to_string(static_cast<long long>(v)) : num_text(v);
}

Result<GenreParams> resolve_params(const Genre& genre, std::string_view config_json,
                                   const std::string& config_name,
                                   const std::vector<std::string>& overrides) {
  GenreParams params;
  auto spec_of = [&](const std::string& name) -> const ParamSpec* {
    for (const auto& s : genre.params)
      if (s.name == name) return &s;
    return nullptr;
  };
  for (const auto& s : genre.params) params.set(s.name, s.default_value);
  if (!config_json.empty()) {
    nlohmann::json j = nlohmann::json::parse(config_json, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(config_name, ": not a JSON object");
    if (j.contains("genre") && j["genre"] != genre.name)
      return fail(config_name, ": is for genre ", j["genre"].dump(), ", not ", genre.name);
    if (j.contains("defaults")) {  // other keys ("comment") are free text
      if (!j["defaults"].is_object()) return fail(config_name, ": \"defaults\" is not an object");
      for (auto it = j["defaults"].begin(); it != j["defaults"].end(); ++it) {
        const ParamSpec* spec = spec_of(it.key());
        if (spec == nullptr)
          return fail(config_name, ": genre ", genre.name, " has no parameter '", it.key(), "'");
        std::string v = it->is_string() ? it->get<std::string>() : it->dump();
        SONIFY_ASSIGN_OR_RETURN(canon, param_check(*spec, v, config_name + ": " + it.key()));
        params.set(spec->name, canon);
      }
    }
  }
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0) return fail("--set ", o, ": expected key=value");
    const std::string key = o.substr(0, eq);
    const ParamSpec* spec = spec_of(key);
    if (spec == nullptr)
      return fail("--set ", o, ": genre ", genre.name, " has no parameter '", key, "' (see: sonify genres ",
                  genre.name, ")");
    SONIFY_ASSIGN_OR_RETURN(canon, param_check(*spec, o.substr(eq + 1), "--set " + key));
    params.set(key, canon);
  }
  if (params.integer("pitch_lo") >= params.integer("pitch_hi"))
    return fail("--set pitch_lo/pitch_hi: pitch_lo (", params.text("pitch_lo"), ") must be below pitch_hi (",
                params.text("pitch_hi"), ")");
  return params;
}

std::string genre_config_path(const std::string& config_dir, std::string_view genre) {
  return config_dir + "/" + std::string(genre) + ".json";
}

Result<GenreParams> genre_params(const Genre& genre, const std::string& config_dir,
                                 const std::vector<std::string>& sets) {
  std::string text, path;
  if (!config_dir.empty()) {
    path = genre_config_path(config_dir, genre.name);
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
      SONIFY_ASSIGN_OR_RETURN(t, read_text(path));
      text = std::move(t);
    }
  }
  return resolve_params(genre, text, path, sets);
}

namespace genres {

std::vector<ParamSpec> common_params(double bpm, const std::string& mode_default, int pitch_lo,
                                     int pitch_hi) {
  std::vector<std::string> roots = {"auto"};
  for (int pc = 0; pc < 12; ++pc) roots.push_back(pitch_class_name(pc));
  std::vector<std::string> modes = {"auto"};
  for (Mode m : all_modes())
    if (m != Mode::chromatic) modes.emplace_back(mode_name(m));
  return {
      {"bpm", ParamType::Number, num_text(bpm), 40, 240, {}, "tempo in beats per minute"},
      {"bars", ParamType::Int, "0", 0, 4096, {}, "length in bars; 0 = the genre's own length from the model"},
      {"root", ParamType::Choice, "auto", 0, 0, roots, "key root; auto = the analysis core's tonality"},
      {"mode", ParamType::Choice, mode_default, 0, 0, modes,
       "scale mode; auto = the analysis core's tonality"},
      {"pitch_lo",
       ParamType::Int,
       std::to_string(pitch_lo),
       12,
       120,
       {},
       "lowest MIDI pitch of the main voice"},
      {"pitch_hi",
       ParamType::Int,
       std::to_string(pitch_hi),
       13,
       127,
       {},
       "highest MIDI pitch of the main voice"},
      {"max_minutes", ParamType::Number, "15", 0.1, 1000, {}, "warn when the result is longer than this"},
  };
}

std::vector<double> norm01(const std::vector<double>& x) {
  if (x.empty()) return {};
  const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
  std::vector<double> out(x.size(), 0.0);
  if (*hi - *lo <= 0) return out;
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = (x[i] - *lo) / (*hi - *lo + 1e-9);
  return out;
}

std::vector<double> robust01(const std::vector<double>& x) {
  if (x.empty()) return {};
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  };
  const double med = median(x);
  std::vector<double> dev(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) dev[i] = std::fabs(x[i] - med);
  const double mad = median(dev);
  if (!(mad > 0)) return norm01(x);
  std::vector<double> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    out[i] = 0.5 + 0.5 * std::tanh((x[i] - med) / (2 * 1.4826 * mad));
  return out;
}

std::vector<double> strided(const std::vector<float>& v, int n) {
  std::vector<double> out(static_cast<std::size_t>(n), 0.0);
  if (v.empty()) return out;
  for (int i = 0; i < n; ++i) {
    const std::size_t idx = v.size() >= static_cast<std::size_t>(n)
                                ? static_cast<std::size_t>(i) * v.size() / n
                                : static_cast<std::size_t>(i);
    if (idx < v.size()) out[static_cast<std::size_t>(i)] = v[idx];
  }
  return out;
}

LayerSeries layer_series(const WeightFeatures& f, const std::vector<std::string>& roles,
                         const std::function<double(const MatrixFeatures&)>& stat) {
  LayerSeries s;
  s.values.assign(static_cast<std::size_t>(std::max(f.n_layers, 0)), 0.0);
  for (int l = 0; l < f.n_layers; ++l) {
    for (const auto& r : roles) {
      if (const MatrixFeatures* m = f.matrix(l, r)) {
        s.values[static_cast<std::size_t>(l)] = stat(*m);
        s.tensors.push_back(m->tensor);
        if (s.role.empty()) s.role = r;
        break;
      }
    }
  }
  return s;
}

double spectral_decay(const MatrixFeatures& m) {
  const auto& sv = m.spectrum.singular_values;
  if (sv.empty() || sv[0] <= 0) return 0;
  const std::size_t n = std::min<std::size_t>(16, sv.size());
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += std::log1p(sv[i]);
  return sum / static_cast<double>(n) / std::log1p(sv[0]);
}

Result<Key> resolve_key(const WeightFeatures& f, const GenreParams& p) {
  Key k;
  k.root_pc = ((f.tonality.root % 12) + 12) % 12;
  const std::string& root = p.text("root");
  if (root != "auto") {
    for (int pc = 0; pc < 12; ++pc)
      if (root == pitch_class_name(pc)) k.root_pc = pc;
  }
  k.root_midi = 48 + k.root_pc;
  const bool from_tonality =
      p.text("mode") == "auto" || p.text("mode") == "sections" || p.text("mode") == "movements";
  const std::string mode = from_tonality ? f.tonality.mode : p.text("mode");
  auto m = mode_from_name(mode.empty() ? "major" : mode);
  if (!m.ok()) return m.error();
  k.mode = *m;
  return k;
}

void warn_length(GenreOutput& out, const GenreParams& p) {
  const double minutes = out.score.length_seconds() / 60.0;
  if (minutes > p.number("max_minutes")) {
    std::ostringstream os;
    os.precision(3);
    os << "the " << out.score.title << " score is " << minutes << " minutes long (over max_minutes "
       << p.text("max_minutes") << "; shorten it with --set "
       << (p.values().count("minutes") ? "minutes=N" : "bars=N") << ")";
    out.warnings.push_back(os.str());
  }
}

void add_section(GenreOutput& out, const std::string& name, int first_bar, int end_bar, int root_pc,
                 Mode mode) {
  out.sections.push_back({name, first_bar, end_bar, root_pc, std::string(mode_name(mode))});
  const std::int64_t tick = bar_tick(out.score, first_bar);
  out.score.mark(tick, name);
  const KeySignature ks = key_signature_for_mode(root_pc, mode, tick);
  if (out.score.key_signatures.empty() || out.score.key_signatures.back().sharps != ks.sharps ||
      out.score.key_signatures.back().minor != ks.minor)
    out.score.key_signatures.push_back(ks);
}

std::string tensor_of(const WeightFeatures& f, int layer, const std::string& role) {
  const MatrixFeatures* m = f.matrix(layer, role);
  return m ? m->tensor : std::string();
}

}  // namespace genres
}  // namespace sonify

namespace sonify::genres {

void fix_overlaps(Track& track) {
  std::vector<Note>& n = track.notes;
  std::vector<std::size_t> order(n.size());
  for (std::size_t i = 0; i < n.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return n[a].pitch != n[b].pitch ? n[a].pitch < n[b].pitch : n[a].start_ticks < n[b].start_ticks;
  });
  std::vector<bool> drop(n.size(), false);
  std::size_t prev = n.size();
  for (std::size_t idx : order) {
    if (prev != n.size() && n[prev].pitch == n[idx].pitch) {
      if (n[idx].start_ticks == n[prev].start_ticks) {
        drop[idx] = true;
        continue;
      }
      if (n[prev].start_ticks + n[prev].length_ticks > n[idx].start_ticks)
        n[prev].length_ticks = n[idx].start_ticks - n[prev].start_ticks;
    }
    prev = idx;
  }
  std::vector<Note> kept;
  for (std::size_t i = 0; i < n.size(); ++i)
    if (!drop[i]) kept.push_back(n[i]);
  n = std::move(kept);
}

std::vector<std::vector<double>> spectrum_across_layers(const WeightFeatures& f, const std::string& role,
                                                        const std::vector<int>& indices,
                                                        std::vector<std::string>* tensors) {
  const std::size_t L = static_cast<std::size_t>(std::max(f.n_layers, 0));
  std::vector<std::vector<double>> by_index(indices.size(), std::vector<double>(L, 0.0));
  for (std::size_t l = 0; l < L; ++l) {
    const MatrixFeatures* m = f.matrix(static_cast<int>(l), role);
    if (m == nullptr) continue;
    if (tensors) tensors->push_back(m->tensor);
    const auto& sv = m->spectrum.singular_values;
    for (std::size_t j = 0; j < indices.size(); ++j) {
      const std::size_t idx = static_cast<std::size_t>(indices[j]);
      by_index[j][l] = idx < sv.size() ? std::log1p(sv[idx]) : 0.0;
    }
  }
  std::vector<std::vector<double>> out(L, std::vector<double>(indices.size(), 0.0));
  for (std::size_t j = 0; j < indices.size(); ++j) {
    const auto n = norm01(by_index[j]);
    for (std::size_t l = 0; l < L; ++l) out[l][j] = n[l];
  }
  return out;
}

}  // namespace sonify::genres
