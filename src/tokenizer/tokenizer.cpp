// tokenizer.json → Tokenizer, and the encode/decode pipelines:
//   text → split on added tokens that match the raw text → normalizer → split on added
//   tokens that match normalized text → pre-tokenizer → BPE → post-processor (BOS/EOS).
// The order and the semantics of each step follow Hugging Face tokenizers; every step
// carries a per-byte alignment to the original text so tokens know their byte offsets.
#include "sonify/tokenizer.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/gguf_file.h"
#include "core/json_strict.h"
#include "sonify/utf8.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode_tables.h"

namespace sonify {

using nlohmann::json;
using tok::Piece;
using tok::RawToken;

namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

struct AddedToken {
  int id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

enum class NormKind { Prepend, Replace, Nfc };
struct NormStep {
  NormKind kind;
  std::string from;  // Replace: the pattern; Prepend: the prefix
  std::string to;    // Replace: the content
};

enum class PrependScheme { Always, First, Never };
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

bool split_behavior_from_name(const std::string& name, SplitBehavior* behavior) {
  static const std::pair<const char*, SplitBehavior> names[] = {
      {"Removed", SplitBehavior::Removed},
      {"Isolated", SplitBehavior::Isolated},
      {"MergedWithPrevious", SplitBehavior::MergedWithPrevious},
      {"MergedWithNext", SplitBehavior::MergedWithNext},
      {"Contiguous", SplitBehavior::Contiguous}};
  for (const auto& [n, b] : names)
    if (name == n) {
      *behavior = b;
      return true;
    }
  return false;
}

// Splits `text` on occurrences of `literal`, then arranges the pieces the way Hugging
// Face's SplitDelimiterBehavior does (a delimiter alone, glued to a neighbour, dropped,
// or runs of delimiters kept together).
std::vector<std::pair<std::size_t, std::size_t>> split_literal(const std::string& text,
                                                               const std::string& literal,
                                                               SplitBehavior behavior) {
  struct Part {
    std::size_t begin, end;
    bool is_match;
  };
  std::vector<Part> parts;
  std::size_t at = 0;
  for (std::size_t hit = text.find(literal); hit != std::string::npos;
       hit = text.find(literal, hit + literal.size())) {
    if (hit > at) parts.push_back({at, hit, false});
    parts.push_back({hit, hit + literal.size(), true});
    at = hit + literal.size();
  }
  if (at < text.size()) parts.push_back({at, text.size(), false});

  std::vector<std::pair<std::size_t, std::size_t>> out;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::Removed:
      for (const Part& p : parts)
        if (!p.is_match) out.emplace_back(p.begin, p.end);
      break;
    case SplitBehavior::Isolated:
      for (const Part& p : parts) out.emplace_back(p.begin, p.end);
      break;
    case SplitBehavior::MergedWithPrevious:
      for (const Part& p : parts) {
        if (p.is_match && !previous_match && !out.empty())
          out.back().second = p.end;
        else
          out.emplace_back(p.begin, p.end);
        previous_match = p.is_match;
      }
      break;
    case SplitBehavior::MergedWithNext:
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty())
          out.back().first = it->begin;
        else
          out.emplace_back(it->begin, it->end);
        previous_match = it->is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
    case SplitBehavior::Contiguous:
      for (const Part& p : parts) {
        if (p.is_match && previous_match)
          out.back().second = p.end;
        else
          out.emplace_back(p.begin, p.end);
        previous_match = p.is_match;
      }
      break;
  }
  return out;
}

enum class PreKind { ByteLevel, Metaspace, Split, Digits };
struct PreStep {
  PreKind kind;
  bool add_prefix_space = false;                        // ByteLevel
  bool use_regex = true;                                // ByteLevel
  tok::SplitPattern pattern = tok::SplitPattern::Gpt2;  // Split with a regex
  std::string literal;                                  // Split with a String pattern
  SplitBehavior behavior = SplitBehavior::Isolated;     // Split with a String pattern
  std::string replacement;                              // Metaspace
  PrependScheme scheme = PrependScheme::Always;         // Metaspace
  bool split = true;                                    // Metaspace
  bool individual_digits = false;                       // Digits
};

enum class DecKind { ByteLevel, ByteFallback, Fuse, Replace, Strip, Metaspace };
struct DecStep {
  DecKind kind;
  std::string from, to;  // Replace; Metaspace uses `from` as the replacement
  std::string strip;     // Strip: the character
  int start = 0, stop = 0;
  PrependScheme scheme = PrependScheme::Always;
};

// The text with maximal ill-formed subsequences replaced by U+FFFD, each aligned to
// the bytes it replaced; `replaced` counts those bytes.
Piece original_piece(std::string_view text, bool replace_invalid, std::size_t* replaced,
                     Result<bool>* error) {
  Piece p;
  p.text.reserve(text.size());
  p.align.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    auto bad = utf8_first_invalid(text.substr(i));
    const std::size_t valid_end = bad ? i + *bad : text.size();
    for (std::size_t k = i; k < valid_end; ++k) {
      p.text += text[k];
      p.align.push_back({k, k + 1});
    }
    if (!bad) break;
    if (!replace_invalid) {
      *error = fail("invalid UTF-8 in the text at byte ", valid_end,
                    " (pass --replace-invalid to turn invalid bytes into U+FFFD)");
      return p;
    }
    // The maximal subpart: a lead byte and the continuation bytes that still fit it.
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    std::size_t len = 1;
    const unsigned char c = s[valid_end];
    const std::size_t want = (c >= 0xC2 && c <= 0xDF)   ? 2
                             : (c >= 0xE0 && c <= 0xEF) ? 3
                             : (c >= 0xF0 && c <= 0xF4) ? 4
                                                        : 1;
    while (len < want && valid_end + len < text.size()) {
      const unsigned char n = s[valid_end + len];
      unsigned char lo = 0x80, hi = 0xBF;
      if (len == 1) {
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
      }
      if (n < lo || n > hi) break;
      ++len;
    }
    p.append(kReplacementChar, {valid_end, valid_end + len});
    *replaced += len;
    i = valid_end + len;
  }
  return p;
}

// `bytes` as UTF-8 with invalid sequences replaced by U+FFFD.
std::string lossy_utf8(const std::string& bytes) {
  if (!utf8_first_invalid(bytes)) return bytes;
  std::size_t unused = 0;
  Result<bool> err = true;
  return original_piece(bytes, true, &unused, &err).text;
}

// A boolean field; absent or null gives `fallback`, anything else but a bool throws a
// json::exception that parse() reports.
bool flag(const json& j, const char* key, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  return j[key].get<bool>();
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

Result<std::string> read_text(const std::string& path) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(st)) return fail(path, ": no such file");
  if (!std::filesystem::is_regular_file(st)) return fail(path, ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path, ": cannot open for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in && !in.eof()) return fail(path, ": read error");
  return ss.str();
}

}  // namespace

struct Tokenizer::Impl {
  std::string what;
  tok::BpeModel bpe;
  std::vector<AddedToken> added;  // longest first
  std::vector<std::vector<int>> added_by_first_byte =
      std::vector<std::vector<int>>(256);  // indices into added
  std::vector<std::string> id_pieces;
  std::vector<char> special;
  std::unordered_map<std::string, int> added_ids;
  std::vector<NormStep> normalizers;
  std::vector<PreStep> pre;
  bool byte_level = false;
  bool has_decoder = false;
  std::vector<DecStep> decoders;
  std::vector<int> prefix, suffix;
  std::vector<std::string> summary;  // for describe()

  Status load(const json& root, const json* config);
  Status load_model(const json& m);
  Status load_added(const json& list);
  Status load_normalizer(const json& n);
  Status load_pre_tokenizer(const json& p);
  Status load_post_processor(const json& p);
  Status load_decoder(const json& d);
  Status apply_config(const json& config);
  Result<int> special_id(const json& token_field) const;

  // Segments of `piece`: added tokens of the phase (raw: normalized == false) and the
  // text between them.
  struct Segment {
    bool is_token = false;
    int id = 0;
    Piece text;
    ByteRange range;
  };
  std::vector<Segment> split_added(const Piece& piece, bool normalized_phase) const;
  Result<Piece> normalize(Piece piece) const;
  std::vector<Piece> pre_tokenize(Piece piece) const;
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const;
};

// ---------------------------------------------------------------------------- loading

Status Tokenizer::Impl::load_model(const json& m) {
  if (!m.is_object()) return fail(what, ": 'model' must be an object");
  const std::string type = m.contains("type") ? m["type"].get<std::string>() : "BPE";
  if (type != "BPE")
    return fail(what, ": model type '", type, "' is not supported (sonify reads BPE tokenizers only)");
  if (m.contains("dropout") && !m["dropout"].is_null() && m["dropout"].get<double>() != 0)
    return fail(what, ": BPE dropout is not supported (it makes tokenization random)");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (m.contains(key) && !m[key].is_null() && !m[key].get<std::string>().empty())
      return fail(what, ": BPE '", key, "' is not supported");
  if (!m.contains("vocab") || !m["vocab"].is_object()) return fail(what, ": model.vocab must be an object");
  for (const auto& [piece, id_json] : m["vocab"].items()) {
    if (!id_json.is_number_integer() || id_json.get<std::int64_t>() < 0 ||
        id_json.get<std::int64_t>() >= (1 << 24))
      return fail(what, ": vocab entry \"", piece, "\" has an invalid id");
    const int id = id_json.get<int>();
    bpe.vocab.emplace(piece, id);
    if (static_cast<std::size_t>(id) >= bpe.pieces.size()) bpe.pieces.resize(id + 1);
    if (!bpe.pieces[id].empty()) return fail(what, ": vocab id ", id, " is used twice");
    bpe.pieces[id] = piece;
  }
  bpe.byte_fallback = flag(m, "byte_fallback", false);
  bpe.fuse_unk = flag(m, "fuse_unk", false);
  bpe.ignore_merges = flag(m, "ignore_merges", false);
  if (m.contains("unk_token") && !m["unk_token"].is_null()) {
    auto it = bpe.vocab.find(m["unk_token"].get<std::string>());
    if (it == bpe.vocab.end())
      return fail(what, ": unk_token \"", m["unk_token"].get<std::string>(), "\" is not in the vocab");
    bpe.unk_id = it->second;
  }
  if (!m.contains("merges") || !m["merges"].is_array()) return fail(what, ": model.merges must be a list");
  for (const auto& merge : m["merges"]) {
    std::string a, b;
    if (merge.is_string()) {
      const std::string s = merge.get<std::string>();
      const auto space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
        return fail(what, ": merge \"", s, "\" is not two tokens separated by one space");
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      a = merge[0].get<std::string>();
      b = merge[1].get<std::string>();
    } else {
      return fail(what, ": each merge must be \"a b\" or [\"a\", \"b\"]");
    }
    SONIFY_TRY(bpe.add_merge(a, b, what));
  }
  bpe.finish();
  summary.push_back("BPE");
  if (bpe.byte_fallback) summary.push_back("byte fallback");
  if (bpe.ignore_merges) summary.push_back("ignore_merges");
  return Status::Ok();
}

Status Tokenizer::Impl::load_added(const json& list) {
  if (list.is_null()) return Status::Ok();
  if (!list.is_array()) return fail(what, ": 'added_tokens' must be a list");
  for (const auto& t : list) {
    AddedToken a;
    a.id = t.at("id").get<int>();
    a.content = t.at("content").get<std::string>();
    a.special = flag(t, "special", false);
    a.lstrip = flag(t, "lstrip", false);
    a.rstrip = flag(t, "rstrip", false);
    a.single_word = flag(t, "single_word", false);
    a.normalized = flag(t, "normalized", !a.special);
    if (a.id < 0 || a.id >= (1 << 24))
      return fail(what, ": added token \"", a.content, "\" has an invalid id");
    if (a.content.empty()) continue;
    added_ids[a.content] = a.id;
    added.push_back(a);
  }
  // Leftmost-longest matching: at a position, the longest token that fits wins.
  std::stable_sort(added.begin(), added.end(), [](const AddedToken& x, const AddedToken& y) {
    return x.content.size() > y.content.size();
  });
  for (std::size_t k = 0; k < added.size(); ++k)
    added_by_first_byte[static_cast<unsigned char>(added[k].content[0])].push_back(static_cast<int>(k));
  return Status::Ok();
}

Status Tokenizer::Impl::load_normalizer(const json& n) {
  if (n.is_null()) return Status::Ok();
  const std::string type = n.at("type").get<std::string>();
  if (type == "Sequence") {
    for (const auto& sub : n.at("normalizers")) SONIFY_TRY(load_normalizer(sub));
  } else if (type == "Prepend") {
    normalizers.push_back({NormKind::Prepend, n.at("prepend").get<std::string>(), ""});
    summary.push_back("Prepend normalizer");
  } else if (type == "Replace") {
    if (!n.at("pattern").contains("String"))
      return fail(what, ": Replace normalizer with a regex pattern is not supported");
    normalizers.push_back(
        {NormKind::Replace, n["pattern"]["String"].get<std::string>(), n.at("content").get<std::string>()});
    if (normalizers.back().from.empty()) return fail(what, ": Replace normalizer with an empty pattern");
    summary.push_back("Replace normalizer");
  } else if (type == "NFC") {
    normalizers.push_back({NormKind::Nfc, "", ""});
    summary.push_back("NFC normalizer");
  } else {
    return fail(what, ": normalizer type '", type,
                "' is not supported (supported: Prepend, Replace, NFC, Sequence)");
  }
  return Status::Ok();
}

Status Tokenizer::Impl::load_pre_tokenizer(const json& p) {
  if (p.is_null()) return Status::Ok();
  const std::string type = p.at("type").get<std::string>();
  if (byte_level && type != "Sequence")
    return fail(what, ": pre-tokenizer '", type, "' after ByteLevel is not supported");
  PreStep s{};
  if (type == "Sequence") {
    for (const auto& sub : p.at("pretokenizers")) SONIFY_TRY(load_pre_tokenizer(sub));
    return Status::Ok();
  } else if (type == "ByteLevel") {
    s.kind = PreKind::ByteLevel;
    s.add_prefix_space = flag(p, "add_prefix_space", true);
    s.use_regex = flag(p, "use_regex", true);
    byte_level = true;
    summary.push_back(std::string("byte-level") + (s.use_regex ? " (GPT-2 split pattern)" : ""));
  } else if (type == "Metaspace") {
    s.kind = PreKind::Metaspace;
    s.replacement = p.value("replacement", std::string("\xE2\x96\x81"));
    s.split = flag(p, "split", true);
    if (p.contains("prepend_scheme") && !p["prepend_scheme"].is_null()) {
      const std::string scheme = p["prepend_scheme"].get<std::string>();
      if (scheme == "always")
        s.scheme = PrependScheme::Always;
      else if (scheme == "first")
        s.scheme = PrependScheme::First;
      else if (scheme == "never")
        s.scheme = PrependScheme::Never;
      else
        return fail(what, ": unknown Metaspace prepend_scheme '", scheme, "'");
    } else {
      s.scheme = flag(p, "add_prefix_space", true) ? PrependScheme::Always : PrependScheme::Never;
    }
    summary.push_back("Metaspace");
  } else if (type == "Split") {
    s.kind = PreKind::Split;
    const json& pattern = p.at("pattern");
    const std::string behavior = p.value("behavior", std::string());
    if (!split_behavior_from_name(behavior, &s.behavior))
      return fail(what, ": Split pre-tokenizer behavior '", behavior, "' is not supported");
    if (flag(p, "invert", false))
      return fail(what, ": Split pre-tokenizer with invert true is not supported");
    if (pattern.contains("String")) {
      s.literal = pattern["String"].get<std::string>();
      if (s.literal.empty()) return fail(what, ": Split pre-tokenizer with an empty pattern");
      summary.push_back("split on \"" + s.literal + "\"");
    } else {
      if (!pattern.contains("Regex") ||
          !tok::split_pattern_from_regex(pattern["Regex"].get<std::string>(), &s.pattern))
        return fail(what, ": Split pre-tokenizer pattern ", pattern.dump(),
                    " is not one sonify implements (GPT-2, Llama 3 and Qwen2 patterns are)");
      // Our scanners return matches that tile the text; other behaviors would regroup them.
      if (s.behavior != SplitBehavior::Isolated)
        return fail(what, ": Split pre-tokenizer with a regex needs behavior Isolated, not '", behavior, "'");
      summary.push_back(std::string(tok::split_pattern_name(s.pattern)) + " split pattern");
    }
  } else if (type == "Digits") {
    s.kind = PreKind::Digits;
    s.individual_digits = flag(p, "individual_digits", false);
    summary.push_back(s.individual_digits ? "single digits" : "digit runs");
  } else {
    return fail(what, ": pre-tokenizer type '", type,
                "' is not supported (supported: ByteLevel, Metaspace, Split, Digits, Sequence)");
  }
  pre.push_back(s);
  return Status::Ok();
}

Result<int> Tokenizer::Impl::special_id(const json& field) const {
  std::string content;
  if (field.is_string())
    content = field.get<std::string>();
  else if (field.is_object() && field.contains("content"))
    content = field["content"].get<std::string>();
  else
    return -1;
  if (auto it = added_ids.find(content); it != added_ids.end()) return it->second;
  if (auto it = bpe.vocab.find(content); it != bpe.vocab.end()) return it->second;
  return fail(what, ": special token \"", content, "\" is not in the vocabulary");
}

Status Tokenizer::Impl::load_post_processor(const json& p) {
  if (p.is_null()) return Status::Ok();
  const std::string type = p.at("type").get<std::string>();
  if (type == "Sequence") {
    for (const auto& sub : p.at("processors")) SONIFY_TRY(load_post_processor(sub));
  } else if (type == "ByteLevel") {
    // Only trims offsets; ids are unchanged.
  } else if (type == "TemplateProcessing") {
    bool seen_sequence = false;
    for (const auto& item : p.at("single")) {
      if (item.contains("Sequence")) {
        if (item["Sequence"].at("id").get<std::string>() != "A")
          return fail(what, ": TemplateProcessing single template uses sequence B");
        seen_sequence = true;
      } else if (item.contains("SpecialToken")) {
        const std::string name = item["SpecialToken"].at("id").get<std::string>();
        const json& specials = p.at("special_tokens");
        if (!specials.contains(name))
          return fail(what, ": template token \"", name, "\" is not in special_tokens");
        for (const auto& id : specials[name].at("ids"))
          (seen_sequence ? suffix : prefix).push_back(id.get<int>());
      } else {
        return fail(what, ": unknown TemplateProcessing item ", item.dump());
      }
    }
  } else if (type == "RobertaProcessing" || type == "BertProcessing") {
    prefix.push_back(p.at("cls").at(1).get<int>());
    suffix.push_back(p.at("sep").at(1).get<int>());
  } else {
    return fail(what, ": post-processor type '", type,
                "' is not supported (supported: TemplateProcessing, ByteLevel, RobertaProcessing, "
                "BertProcessing, Sequence)");
  }
  return Status::Ok();
}

Status Tokenizer::Impl::load_decoder(const json& d) {
  if (d.is_null()) return Status::Ok();
  has_decoder = true;
  const std::string type = d.at("type").get<std::string>();
  DecStep s{};
  if (type == "Sequence") {
    for (const auto& sub : d.at("decoders")) SONIFY_TRY(load_decoder(sub));
    return Status::Ok();
  } else if (type == "ByteLevel") {
    s.kind = DecKind::ByteLevel;
  } else if (type == "ByteFallback") {
    s.kind = DecKind::ByteFallback;
  } else if (type == "Fuse") {
    s.kind = DecKind::Fuse;
  } else if (type == "Replace") {
    s.kind = DecKind::Replace;
    if (!d.at("pattern").contains("String"))
      return fail(what, ": Replace decoder with a regex pattern is not supported");
    s.from = d["pattern"]["String"].get<std::string>();
    s.to = d.at("content").get<std::string>();
    if (s.from.empty()) return fail(what, ": Replace decoder with an empty pattern");
  } else if (type == "Strip") {
    s.kind = DecKind::Strip;
    s.strip = d.at("content").get<std::string>();
    s.start = d.value("start", 0);
    s.stop = d.value("stop", 0);
  } else if (type == "Metaspace") {
    s.kind = DecKind::Metaspace;
    s.from = d.value("replacement", std::string("\xE2\x96\x81"));
    const std::string scheme = d.contains("prepend_scheme") && !d["prepend_scheme"].is_null()
                                   ? d["prepend_scheme"].get<std::string>()
                                   : (flag(d, "add_prefix_space", true) ? "always" : "never");
    s.scheme = scheme == "never" ? PrependScheme::Never : PrependScheme::Always;
  } else {
    return fail(
        what, ": decoder type '", type,
        "' is not supported (supported: ByteLevel, ByteFallback, Fuse, Replace, Strip, Metaspace, Sequence)");
  }
  decoders.push_back(s);
  return Status::Ok();
}

Status Tokenizer::Impl::apply_config(const json& config) {
  auto adjust = [&](const char* flag, const char* token, std::vector<int>* ends, bool front) -> Status {
    if (!config.contains(flag) || !config[flag].is_boolean() || !config.contains(token)) return Status::Ok();
    SONIFY_ASSIGN_OR_RETURN(id, special_id(config[token]));
    if (id < 0) return Status::Ok();
    const bool present = !ends->empty() && (front ? ends->front() : ends->back()) == id;
    if (config[flag].get<bool>() && !present) ends->insert(front ? ends->begin() : ends->end(), id);
    if (!config[flag].get<bool>() && present) ends->erase(front ? ends->begin() : ends->end() - 1);
    return Status::Ok();
  };
  SONIFY_TRY(adjust("add_bos_token", "bos_token", &prefix, true));
  SONIFY_TRY(adjust("add_eos_token", "eos_token", &suffix, false));
  return Status::Ok();
}

Status Tokenizer::Impl::load(const json& root, const json* config) {
  if (!root.is_object()) return fail(what, ": not a tokenizer.json object");
  if (!root.contains("model")) return fail(what, ": no 'model' (not a Hugging Face tokenizer.json)");
  SONIFY_TRY(load_model(root["model"]));
  SONIFY_TRY(load_added(root.value("added_tokens", json())));
  SONIFY_TRY(load_normalizer(root.value("normalizer", json())));
  SONIFY_TRY(load_pre_tokenizer(root.value("pre_tokenizer", json())));
  SONIFY_TRY(load_post_processor(root.value("post_processor", json())));
  SONIFY_TRY(load_decoder(root.value("decoder", json())));
  if (config != nullptr) SONIFY_TRY(apply_config(*config));

  id_pieces = bpe.pieces;
  for (const auto& a : added) {
    if (static_cast<std::size_t>(a.id) >= id_pieces.size()) id_pieces.resize(a.id + 1);
    id_pieces[a.id] = a.content;
  }
  special.assign(id_pieces.size(), 0);
  for (const auto& a : added) special[a.id] = a.special;
  for (int id : prefix) {
    if (id < 0 || static_cast<std::size_t>(id) >= id_pieces.size())
      return fail(what, ": post-processor id ", id, " is not in the vocab");
    special[id] = 1;
  }
  for (int id : suffix) {
    if (id < 0 || static_cast<std::size_t>(id) >= id_pieces.size())
      return fail(what, ": post-processor id ", id, " is not in the vocab");
    special[id] = 1;
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------- encoding

std::vector<Tokenizer::Impl::Segment> Tokenizer::Impl::split_added(const Piece& piece,
                                                                   bool normalized_phase) const {
  std::vector<Segment> out;
  const std::string& t = piece.text;
  auto word_char = [&](std::size_t at_byte, bool before) {
    // The code point just before / at `at_byte` is a letter, number or '_'.
    if (before ? at_byte == 0 : at_byte >= t.size()) return false;
    std::size_t k = at_byte;
    if (before) {
      --k;
      while (k > 0 && (static_cast<unsigned char>(t[k]) & 0xC0) == 0x80) --k;
    }
    const std::uint32_t cp = tok::utf8_next(t, &k);
    return cp == '_' || unicode::is_letter(cp) || unicode::is_number(cp);
  };
  std::size_t text_start = 0, i = 0;
  while (i < t.size()) {
    const AddedToken* hit = nullptr;
    for (int k : added_by_first_byte[static_cast<unsigned char>(t[i])]) {
      const AddedToken& a = added[k];
      if (a.normalized != normalized_phase || t.compare(i, a.content.size(), a.content) != 0) continue;
      if (a.single_word && (word_char(i, true) || word_char(i + a.content.size(), false))) continue;
      hit = &a;
      break;
    }
    if (hit == nullptr) {
      ++i;
      continue;
    }
    std::size_t begin = i, end = i + hit->content.size();
    // lstrip/rstrip take ASCII whitespace (HF takes any Unicode whitespace).
    auto ascii_space = [&](std::size_t at) {
      const auto c = static_cast<unsigned char>(t[at]);
      return c < 0x80 && unicode::is_whitespace(c);
    };
    if (hit->lstrip)
      while (begin > text_start && ascii_space(begin - 1)) --begin;
    if (hit->rstrip)
      while (end < t.size() && ascii_space(end)) ++end;
    if (begin > text_start) out.push_back({false, 0, piece.slice(text_start, begin), {}});
    out.push_back({true, hit->id, {}, piece.span(begin, end)});
    i = text_start = end;
  }
  if (text_start < t.size()) out.push_back({false, 0, piece.slice(text_start, t.size()), {}});
  return out;
}

Result<Piece> Tokenizer::Impl::normalize(Piece piece) const {
  for (const NormStep& n : normalizers) {
    if (piece.text.empty()) break;
    if (n.kind == NormKind::Prepend) {
      Piece p;
      p.append(n.from, {piece.align[0].begin, piece.align[0].begin});
      p.text += piece.text;
      p.align.insert(p.align.end(), piece.align.begin(), piece.align.end());
      piece = std::move(p);
    } else if (n.kind == NormKind::Replace) {
      Piece p;
      std::size_t i = 0;
      while (i < piece.text.size()) {
        if (piece.text.compare(i, n.from.size(), n.from) == 0) {
          p.append(n.to, piece.span(i, i + n.from.size()));
          i += n.from.size();
        } else {
          p.text += piece.text[i];
          p.align.push_back(piece.align[i]);
          ++i;
        }
      }
      piece = std::move(p);
    } else {
      piece = tok::nfc(piece);
    }
  }
  return piece;
}

std::vector<Piece> Tokenizer::Impl::pre_tokenize(Piece piece) const {
  std::vector<Piece> pieces;
  pieces.push_back(std::move(piece));
  auto split_each = [&](auto&& splitter) {
    std::vector<Piece> next;
    for (const Piece& p : pieces)
      for (const auto& [b, e] : splitter(p)) next.push_back(p.slice(b, e));
    pieces = std::move(next);
  };
  for (const PreStep& s : pre) {
    switch (s.kind) {
      case PreKind::ByteLevel:
        for (Piece& p : pieces) {
          if (s.add_prefix_space && !starts_with(p.text, " ")) {
            Piece q;
            q.append(" ", {p.align.empty() ? 0 : p.align[0].begin, p.align.empty() ? 0 : p.align[0].begin});
            q.text += p.text;
            q.align.insert(q.align.end(), p.align.begin(), p.align.end());
            p = std::move(q);
          }
        }
        if (s.use_regex)
          split_each([](const Piece& p) { return tok::split_matches(tok::SplitPattern::Gpt2, p.text); });
        break;
      case PreKind::Split:
        if (!s.literal.empty())
          split_each([&](const Piece& p) { return split_literal(p.text, s.literal, s.behavior); });
        else
          split_each([&](const Piece& p) { return tok::split_matches(s.pattern, p.text); });
        break;
      case PreKind::Digits:
        split_each([&](const Piece& p) { return tok::split_digits(p.text, s.individual_digits); });
        break;
      case PreKind::Metaspace:
        for (Piece& p : pieces) {
          Piece q;
          const bool prepend =
              !starts_with(p.text, s.replacement) &&
              (s.scheme == PrependScheme::Always ||
               (s.scheme == PrependScheme::First && !p.align.empty() && p.align[0].begin == 0));
          if (prepend && !p.text.empty()) q.append(s.replacement, {p.align[0].begin, p.align[0].begin});
          for (std::size_t i = 0; i < p.text.size(); ++i) {
            if (p.text[i] == ' ')
              q.append(s.replacement, p.align[i]);
            else
              q.append(std::string_view(&p.text[i], 1), p.align[i]);
          }
          p = std::move(q);
        }
        if (s.split)
          split_each([&](const Piece& p) {
            std::vector<std::pair<std::size_t, std::size_t>> out;
            std::size_t start = 0;
            for (std::size_t i = 1; i < p.text.size(); ++i)
              if (p.text.compare(i, s.replacement.size(), s.replacement) == 0) {
                out.emplace_back(start, i);
                start = i;
              }
            if (start < p.text.size()) out.emplace_back(start, p.text.size());
            return out;
          });
        break;
    }
  }
  return pieces;
}

Result<Encoding> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  const Impl& m = *impl_;
  Encoding enc;
  auto push = [&](int id, ByteRange range) {
    enc.ids.push_back(id);
    enc.pieces.push_back(m.id_pieces[id]);
    enc.offsets.push_back(range);
    enc.special.push_back(m.special[id] != 0);
  };
  if (options.add_special_tokens)
    for (int id : m.prefix) push(id, {0, 0});

  Result<bool> error = true;
  const Piece original = original_piece(text, options.replace_invalid, &enc.invalid_bytes_replaced, &error);
  if (!error.ok()) return error.error();

  std::vector<RawToken> raw;
  tok::BpeCache cache;
  for (const auto& seg : m.split_added(original, false)) {
    if (seg.is_token) {
      push(seg.id, seg.range);
      continue;
    }
    SONIFY_ASSIGN_OR_RETURN(normalized, m.normalize(seg.text));
    for (const auto& seg2 : m.split_added(normalized, true)) {
      if (seg2.is_token) {
        push(seg2.id, seg2.range);
        continue;
      }
      for (const Piece& p : m.pre_tokenize(seg2.text)) {
        raw.clear();
        SONIFY_TRY(m.bpe.tokenize(p, m.byte_level, &raw, &cache));
        for (const RawToken& r : raw) push(r.id, r.range);
      }
    }
  }
  if (options.add_special_tokens)
    for (int id : m.suffix) push(id, {text.size(), text.size()});
  return enc;
}

// ---------------------------------------------------------------------------- decoding

std::vector<std::string> Tokenizer::Impl::decode_chain(std::vector<std::string> tokens) const {
  for (const DecStep& d : decoders) {
    switch (d.kind) {
      case DecKind::ByteLevel: {
        static const std::unordered_map<std::uint32_t, unsigned char> to_byte = [] {
          std::unordered_map<std::uint32_t, unsigned char> m;
          for (int b = 0; b < 256; ++b) m[tok::byte_level_chars()[b]] = static_cast<unsigned char>(b);
          return m;
        }();
        std::string bytes;
        for (const std::string& t : tokens) {
          std::size_t i = 0;
          while (i < t.size()) {
            const std::size_t start = i;
            const std::uint32_t cp = tok::utf8_next(t, &i);
            auto it = to_byte.find(cp);
            if (it != to_byte.end())
              bytes += static_cast<char>(it->second);
            else
              bytes.append(t, start, i - start);
          }
        }
        tokens.assign(1, lossy_utf8(bytes));
        break;
      }
      case DecKind::ByteFallback: {
        std::vector<std::string> out;
        std::string pending;  // bytes of consecutive <0xNN> tokens
        std::size_t pending_count = 0;
        auto flush = [&] {
          if (pending_count == 0) return;
          if (utf8_first_invalid(pending)) {
            std::string r;
            for (std::size_t k = 0; k < pending_count; ++k) r += kReplacementChar;
            out.push_back(r);
          } else {
            out.push_back(pending);
          }
          pending.clear();
          pending_count = 0;
        };
        for (const std::string& t : tokens) {
          unsigned value = 0;
          if (t.size() == 6 && starts_with(t, "<0x") && t[5] == '>' &&
              std::sscanf(t.c_str() + 3, "%2X", &value) == 1 &&
              std::isxdigit(static_cast<unsigned char>(t[3])) &&
              std::isxdigit(static_cast<unsigned char>(t[4]))) {
            pending += static_cast<char>(value);
            ++pending_count;
          } else {
            flush();
            out.push_back(t);
          }
        }
        flush();
        tokens = std::move(out);
        break;
      }
      case DecKind::Fuse: {
        std::string all;
        for (const auto& t : tokens) all += t;
        tokens.assign(1, all);
        break;
      }
      case DecKind::Replace:
        for (std::string& t : tokens) {
          std::string r;
          std::size_t i = 0;
          while (i < t.size()) {
            if (t.compare(i, d.from.size(), d.from) == 0) {
              r += d.to;
              i += d.from.size();
            } else {
              r += t[i++];
            }
          }
          t = std::move(r);
        }
        break;
      case DecKind::Strip:
        for (std::string& t : tokens) {
          for (int k = 0; k < d.start && starts_with(t, d.strip); ++k) t.erase(0, d.strip.size());
          for (int k = 0; k < d.stop && t.size() >= d.strip.size() &&
                          t.compare(t.size() - d.strip.size(), d.strip.size(), d.strip) == 0;
               ++k)
            t.erase(t.size() - d.strip.size());
        }
        break;
      case DecKind::Metaspace:
        for (std::size_t i = 0; i < tokens.size(); ++i) {
          std::string& t = tokens[i];
          // Only the space the pre-tokenizer prepended goes; HF drops every "▁" of the
          // first token, which loses real leading spaces.
          if (i == 0 && d.scheme != PrependScheme::Never && starts_with(t, d.from)) t.erase(0, d.from.size());
          std::string r;
          std::size_t k = 0;
          while (k < t.size()) {
            if (t.compare(k, d.from.size(), d.from) == 0) {
              r += ' ';
              k += d.from.size();
            } else {
              r += t[k++];
            }
          }
          t = std::move(r);
        }
        break;
    }
  }
  return tokens;
}

Result<std::string> Tokenizer::decode(const std::vector<int>& ids, const DecodeOptions& options) const {
  const Impl& m = *impl_;
  std::vector<std::string> tokens;
  for (int id : ids) {
    if (id < 0 || static_cast<std::size_t>(id) >= m.id_pieces.size() || m.id_pieces[id].empty())
      return fail("token id ", id, " is not in the vocabulary (", m.id_pieces.size(), " ids)");
    if (options.skip_special && m.special[id]) continue;
    tokens.push_back(m.id_pieces[id]);
  }
  std::string text;
  if (m.has_decoder) {
    const std::vector<std::string> decoded = m.decode_chain(std::move(tokens));
    for (const auto& t : decoded) text += t;
  } else {
    for (std::size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
  }
  return lossy_utf8(text);
}

// ---------------------------------------------------------------------------- the rest

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Result<Tokenizer> Tokenizer::parse(std::string_view tokenizer_json, std::string_view config_json,
                                   const std::string& what) {
  SONIFY_ASSIGN_OR_RETURN(root, json_parse_strict(tokenizer_json, what));
  auto impl = std::make_unique<Impl>();
  impl->what = what;
  std::optional<json> config;
  if (!config_json.empty()) {
    SONIFY_ASSIGN_OR_RETURN(c, json_parse_strict(config_json, "tokenizer_config.json"));
    if (!c.is_object()) return fail("tokenizer_config.json: not a JSON object");
    config = std::move(c);
  }
  try {
    SONIFY_TRY(impl->load(root, config ? &*config : nullptr));
  } catch (const json::exception& e) {
    return fail(what, ": unexpected tokenizer.json structure: ", e.what());
  }
  return Tokenizer(std::move(impl));
}

Result<Tokenizer> Tokenizer::from_file(const std::string& path) {
  SONIFY_ASSIGN_OR_RETURN(text, read_text(path));
  const auto config_path = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  std::string config;
  std::error_code ec;
  if (std::filesystem::is_regular_file(config_path, ec)) {
    SONIFY_ASSIGN_OR_RETURN(c, read_text(config_path.string()));
    config = std::move(c);
  }
  return parse(text, config, path);
}

Result<Tokenizer> Tokenizer::from_model_path(const std::string& model_path) {
  std::error_code ec;
  const bool is_dir = std::filesystem::is_directory(model_path, ec);
  if (!is_dir && (std::filesystem::path(model_path).extension() == ".gguf" || gguf::has_magic(model_path)))
    return tok::tokenizer_from_gguf(model_path);
  const auto dir =
      is_dir ? std::filesystem::path(model_path) : std::filesystem::path(model_path).parent_path();
  const auto file = dir / "tokenizer.json";
  if (!std::filesystem::exists(file, ec))
    return fail(dir.string(),
                ": no tokenizer.json, so text cannot be tokenized; pass token ids instead with --ids 1,2,3");
  return from_file(file.string());
}

int Tokenizer::vocab_size() const { return static_cast<int>(impl_->id_pieces.size()); }

std::optional<std::string> Tokenizer::piece(int id) const {
  if (id < 0 || id >= vocab_size() || impl_->id_pieces[id].empty()) return std::nullopt;
  return impl_->id_pieces[id];
}

std::optional<int> Tokenizer::token_id(std::string_view piece) const {
  const std::string key(piece);
  if (auto it = impl_->added_ids.find(key); it != impl_->added_ids.end()) return it->second;
  if (auto it = impl_->bpe.vocab.find(key); it != impl_->bpe.vocab.end()) return it->second;
  return std::nullopt;
}

bool Tokenizer::is_special(int id) const { return id >= 0 && id < vocab_size() && impl_->special[id]; }
const std::vector<int>& Tokenizer::prefix_ids() const { return impl_->prefix; }
const std::vector<int>& Tokenizer::suffix_ids() const { return impl_->suffix; }

std::string Tokenizer::describe() const {
  std::string s;
  for (const auto& part : impl_->summary) s += (s.empty() ? "" : ", ") + part;
  return s + ", " + std::to_string(vocab_size()) + " ids";
}

std::string_view tokenizer_unicode_version() { return unicode::kUnicodeVersion; }

}  // namespace sonify
