// A tokenizer from a GGUF file's tokenizer.ggml.* metadata, written out as the
// tokenizer.json Hugging Face uses for the same vocabulary and parsed by the one loader,
// so GGUF and tokenizer.json models share every step of encoding and decoding.
//   llama (SentencePiece): BPE with byte fallback, "▁" for spaces (prepended), the
//     decoder chain of transformers' LlamaConverter. Merges come from tokenizer.ggml.merges
//     when the file has them, else from the scores as transformers' SentencePieceExtractor
//     derives them: every pair of pieces whose concatenation is a piece, ordered by that
//     piece's score (highest first), then by the pair's ids.
//   gpt2: byte-level BPE with the GPT-2 split pattern (tokenizer.ggml.pre absent, "default"
//     or "gpt-2"); other pre-tokenizers are refused by name.
// BOS/EOS follow tokenizer.ggml.add_bos_token / add_eos_token (llama.cpp's defaults: BOS
// yes for llama, no for gpt2; EOS no).
#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>
#include <unordered_map>

#include "core/gguf_file.h"
#include "tokenizer/tokenizer_internal.h"

namespace sonify::tok {
namespace {

using nlohmann::json;

const gguf::Value* find(const gguf::File& f, const std::string& key) {
  auto it = f.metadata.find(key);
  return it == f.metadata.end() ? nullptr : &it->second;
}

Result<const gguf::Array*> array_of(const gguf::File& f, const std::string& key, gguf::ValueType element,
                                    const std::string& path) {
  const gguf::Value* v = find(f, key);
  if (v == nullptr) return static_cast<const gguf::Array*>(nullptr);
  if (v->type != gguf::ValueType::Array || v->element_type != element)
    return fail(path, ": GGUF metadata '", key, "' is not an array of the expected type");
  return &std::get<gguf::Array>(v->data);
}

// An id key (tokenizer.ggml.bos_token_id, ...) or -1.
Result<int> token_id(const gguf::File& f, const std::string& key, std::size_t n, const std::string& path) {
  const gguf::Value* v = find(f, key);
  if (v == nullptr) return -1;
  const auto* u = std::get_if<std::uint64_t>(&v->data);
  const auto* i = std::get_if<std::int64_t>(&v->data);
  if (u == nullptr && i == nullptr) return fail(path, ": GGUF metadata '", key, "' is not an integer");
  if (u != nullptr ? *u >= n : (*i < 0 || static_cast<std::uint64_t>(*i) >= n))
    return fail(path, ": GGUF metadata '", key, "' is not a token id of the ", n, "-token vocabulary");
  return static_cast<int>(u != nullptr ? *u : static_cast<std::uint64_t>(*i));
}

Result<bool> flag(const gguf::File& f, const std::string& key, bool fallback, const std::string& path) {
  const gguf::Value* v = find(f, key);
  if (v == nullptr) return fallback;
  if (const auto* b = std::get_if<bool>(&v->data)) return *b;
  return fail(path, ": GGUF metadata '", key, "' is not a bool");
}

// transformers' SentencePieceExtractor.extract: for each piece, every split into two
// pieces of the vocabulary is a merge; merges ordered by the merged piece's score
// (descending), ties by the ids of the two parts.
json merges_from_scores(const std::vector<std::string>& tokens, const std::vector<double>& scores,
                        const std::vector<std::int64_t>& types) {
  std::unordered_map<std::string, int> id;
  for (std::size_t i = 0; i < tokens.size(); ++i)
    if (types[i] == 1 || types[i] == 6 || types[i] == 4) id.emplace(tokens[i], static_cast<int>(i));
  std::vector<std::tuple<double, int, int, int>> found;  // -score, merged id, left id, right id
  for (const auto& [piece, merged] : id)
    for (std::size_t cut = 1; cut < piece.size(); ++cut) {
      auto l = id.find(piece.substr(0, cut));
      auto r = id.find(piece.substr(cut));
      if (l != id.end() && r != id.end()) found.emplace_back(-scores[merged], merged, l->second, r->second);
    }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(std::get<0>(a), std::get<1>(a), std::get<2>(a), std::get<3>(a)) <
           std::make_tuple(std::get<0>(b), std::get<1>(b), std::get<2>(b), std::get<3>(b));
  });
  json merges = json::array();
  for (const auto& m : found) merges.push_back(tokens[std::get<2>(m)] + " " + tokens[std::get<3>(m)]);
  return merges;
}

}  // namespace

Result<Tokenizer> tokenizer_from_gguf(const std::string& path) {
  SONIFY_ASSIGN_OR_RETURN(map, MappedFile::open(path));
  SONIFY_ASSIGN_OR_RETURN(file, gguf::parse(map));
  const gguf::Value* model = find(file, "tokenizer.ggml.model");
  if (model == nullptr || !std::holds_alternative<std::string>(model->data))
    return fail(path,
                ": GGUF has no tokenizer.ggml.model, so text cannot be tokenized; pass token ids "
                "instead with --ids 1,2,3");
  const std::string kind = std::get<std::string>(model->data);
  if (kind != "llama" && kind != "gpt2")
    return fail(path, ": GGUF tokenizer '", kind, "' is not supported (llama and gpt2 are)");
  SONIFY_ASSIGN_OR_RETURN(tokens_v, array_of(file, "tokenizer.ggml.tokens", gguf::ValueType::String, path));
  if (tokens_v == nullptr || tokens_v->empty()) return fail(path, ": GGUF has no tokenizer.ggml.tokens");
  const std::size_t n = tokens_v->size();
  std::vector<std::string> tokens;
  for (const auto& t : *tokens_v) tokens.push_back(std::get<std::string>(t.data));
  std::vector<std::int64_t> types(n, 1);
  SONIFY_ASSIGN_OR_RETURN(types_v, array_of(file, "tokenizer.ggml.token_type", gguf::ValueType::I32, path));
  if (types_v != nullptr) {
    if (types_v->size() != n)
      return fail(path, ": GGUF tokenizer.ggml.token_type has ", types_v->size(), " entries for ", n,
                  " tokens");
    for (std::size_t i = 0; i < n; ++i) types[i] = std::get<std::int64_t>((*types_v)[i].data);
  }
  std::vector<double> scores(n, 0.0);
  SONIFY_ASSIGN_OR_RETURN(scores_v, array_of(file, "tokenizer.ggml.scores", gguf::ValueType::F32, path));
  if (scores_v != nullptr) {
    if (scores_v->size() != n)
      return fail(path, ": GGUF tokenizer.ggml.scores has ", scores_v->size(), " entries for ", n, " tokens");
    for (std::size_t i = 0; i < n; ++i) scores[i] = std::get<double>((*scores_v)[i].data);
  }
  SONIFY_ASSIGN_OR_RETURN(merges_v, array_of(file, "tokenizer.ggml.merges", gguf::ValueType::String, path));
  SONIFY_ASSIGN_OR_RETURN(bos, token_id(file, "tokenizer.ggml.bos_token_id", n, path));
  SONIFY_ASSIGN_OR_RETURN(eos, token_id(file, "tokenizer.ggml.eos_token_id", n, path));
  SONIFY_ASSIGN_OR_RETURN(unk, token_id(file, "tokenizer.ggml.unknown_token_id", n, path));
  const bool llama = kind == "llama";
  SONIFY_ASSIGN_OR_RETURN(add_bos, flag(file, "tokenizer.ggml.add_bos_token", llama, path));
  SONIFY_ASSIGN_OR_RETURN(add_eos, flag(file, "tokenizer.ggml.add_eos_token", false, path));

  json vocab = json::object();
  json added = json::array();
  for (std::size_t i = 0; i < n; ++i) {
    if (vocab.contains(tokens[i])) return fail(path, ": GGUF token '", tokens[i], "' appears twice");
    vocab[tokens[i]] = i;
    // llama_token_type: 2 unknown, 3 control, 4 user-defined are added tokens.
    if (types[i] >= 2 && types[i] <= 4)
      added.push_back({{"id", i},
                       {"content", tokens[i]},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", types[i] == 4},
                       {"special", types[i] != 4}});
  }
  json merges = json::array();
  if (merges_v != nullptr)
    for (const auto& m : *merges_v) merges.push_back(std::get<std::string>(m.data));
  else if (llama)
    merges = merges_from_scores(tokens, scores, types);

  json root;
  root["version"] = "1.0";
  root["added_tokens"] = added;
  root["model"] = {{"type", "BPE"},          {"unk_token", unk >= 0 ? json(tokens[unk]) : json()},
                   {"fuse_unk", llama},      {"byte_fallback", llama},
                   {"ignore_merges", false}, {"vocab", vocab},
                   {"merges", merges}};
  if (llama) {
    const std::string space = "\xE2\x96\x81";  // ▁
    root["normalizer"] = {{"type", "Sequence"},
                          {"normalizers",
                           {{{"type", "Prepend"}, {"prepend", space}},
                            {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", space}}}}};
    root["pre_tokenizer"] = nullptr;
    root["decoder"] = {{"type", "Sequence"},
                       {"decoders",
                        {{{"type", "Replace"}, {"pattern", {{"String", space}}}, {"content", " "}},
                         {{"type", "ByteFallback"}},
                         {{"type", "Fuse"}},
                         {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  } else {
    const gguf::Value* pre = find(file, "tokenizer.ggml.pre");
    const std::string pre_name = pre != nullptr && std::holds_alternative<std::string>(pre->data)
                                     ? std::get<std::string>(pre->data)
                                     : "";
    if (!pre_name.empty() && pre_name != "default" && pre_name != "gpt-2")
      return fail(path, ": GGUF pre-tokenizer '", pre_name, "' is not supported (gpt-2 is)");
    root["normalizer"] = nullptr;
    root["pre_tokenizer"] = {
        {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
    root["decoder"] = {
        {"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  }
  json single = json::array();
  json specials = json::object();
  if (add_bos && bos >= 0) {
    single.push_back({{"SpecialToken", {{"id", tokens[bos]}, {"type_id", 0}}}});
    specials[tokens[bos]] = {{"id", tokens[bos]}, {"ids", {bos}}, {"tokens", {tokens[bos]}}};
  }
  single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
  if (add_eos && eos >= 0) {
    single.push_back({{"SpecialToken", {{"id", tokens[eos]}, {"type_id", 0}}}});
    specials[tokens[eos]] = {{"id", tokens[eos]}, {"ids", {eos}}, {"tokens", {tokens[eos]}}};
  }
  root["post_processor"] = {{"type", "TemplateProcessing"}, {"single", single}, {"special_tokens", specials}};
  std::string text;
  try {
    text = root.dump();
  } catch (const json::exception&) {
    return fail(path, ": GGUF tokenizer.ggml.tokens holds a token that is not valid UTF-8");
  }
  return Tokenizer::parse(text, "", path + " (GGUF tokenizer)");
}

}  // namespace sonify::tok
