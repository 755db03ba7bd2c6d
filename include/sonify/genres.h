// Weight genres: pure functions from a model's WeightFeatures (+ parameters) to a Score,
// registered by name, with a parameter registry that documents and validates every
// --set key. No libtorch, no Eigen, no randomness: same features and parameters, same Score.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sonify/features.h"
#include "sonify/result.h"
#include "sonify/score.h"

namespace sonify {

// The kinds of parameter values.
enum class ParamType { Int, Number, Choice };

// One parameter of a genre: what `sonify genres NAME` prints and --set is checked against.
struct ParamSpec {
  std::string name;
  ParamType type = ParamType::Number;
  std::string default_value;  // canonical text form
  double min = 0;             // Int/Number: inclusive range
  double max = 0;
  std::vector<std::string> choices;  // Choice: the allowed values
  std::string meaning;               // one line
};

// "int", "number", "choice".
const char* param_type_name(ParamType type);
// "60..200", "0.1..1" or "auto|C|C#|...".
std::string param_range_text(const ParamSpec& spec);

// Resolved parameter values (every parameter of the genre, defaults filled in). Asking
// for a name the genre does not declare is a programming error, not a missing value: it
// aborts naming the parameter instead of returning a silent 0 or "".
class GenreParams {
 public:
  double number(const std::string& name) const;  // Int or Number parameter
  int integer(const std::string& name) const;    // Int parameter
  const std::string& text(const std::string& name) const;
  const std::map<std::string, std::string>& values() const { return values_; }
  void set(const std::string& name, std::string value) { values_[name] = std::move(value); }

 private:
  std::map<std::string, std::string> values_;
};

// Which tensors and statistics drove one part (a track or a section) of a score.
struct Provenance {
  std::string part;                     // "track Acid Bass", "section drop", ...
  std::vector<std::string> tensors;     // stored tensor names
  std::vector<std::string> statistics;  // "down.row_norms (16 strided rows, norm01)", ...
};

// A section of the score: bars [first_bar, end_bar), with the scale it is written in.
struct Section {
  std::string name;
  int first_bar = 0;
  int end_bar = 0;
  int root = 0;      // pitch class of the section's scale
  std::string mode;  // mode_name() of the section's scale
};

// What a genre produces.
struct GenreOutput {
  Score score;
  int beats_per_bar = 4;
  std::vector<Section> sections;
  std::vector<Provenance> provenance;
  std::vector<std::string> chromatic_tracks;  // tracks whose notes leave the scale on purpose
  std::vector<std::string> warnings;          // e.g. a very long result
};

// A registered genre.
struct Genre {
  std::string name;
  std::string summary;  // one line
  std::vector<ParamSpec> params;
  Result<GenreOutput> (*compose)(const WeightFeatures& features, const GenreParams& params) = nullptr;
};

// Every genre, in listing order.
const std::vector<Genre>& all_genres();

// The genre called `name`; the error lists the valid names.
Result<const Genre*> find_genre(std::string_view name);

// Checks one value against its spec and returns its canonical form; `where` prefixes errors.
Result<std::string> param_check(const ParamSpec& spec, const std::string& value, const std::string& where);

// Defaults of the registry, then the config file's "defaults" object (config_json may be
// empty; `config_name` names it in errors), then each "key=value" override, all validated.
Result<GenreParams> resolve_params(const Genre& genre, std::string_view config_json,
                                   const std::string& config_name, const std::vector<std::string>& overrides);

// CONFIG_DIR/NAME.json: a user's file overriding some of a genre's registry defaults. The
// registry is the only place defaults are written; sonify ships no such file.
std::string genre_config_path(const std::string& config_dir, std::string_view genre);

// resolve_params with the override file genre_config_path(config_dir, genre.name) when it
// exists (an empty config_dir means none), then `sets` ("key=value", from --set).
Result<GenreParams> genre_params(const Genre& genre, const std::string& config_dir,
                                 const std::vector<std::string>& sets);

}  // namespace sonify
