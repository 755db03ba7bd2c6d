// Text ↔ token ids for the models sonify plays, read from a Hugging Face tokenizer.json
// (plus tokenizer_config.json beside it). Supported: the BPE model with the byte-level
// pre-tokenizer (GPT-2, Llama 3, Qwen2, SmolLM) and with SentencePiece-style spaces
// and byte fallback (Llama 2, TinyLlama, Gemma). Anything else in the file (another
// model type, an unknown pre-tokenizer, normalizer, split pattern, post-processor or
// decoder) is refused when the file is loaded, never silently approximated.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sonify/result.h"

namespace sonify {

// A half-open byte range [begin, end) of the caller's original text.
struct ByteRange {
  std::size_t begin = 0;
  std::size_t end = 0;
};

// The tokens of one text. The three vectors have the same length.
struct Encoding {
  std::vector<int> ids;
  std::vector<std::string> pieces;  // vocabulary strings: "Ġworld", "▁the", "<0x0A>", "<s>"
  // Bytes of the original text each token came from. Tokens the post-processor added
  // (BOS/EOS) and a prepended "▁" or space cover an empty range at their position.
  std::vector<ByteRange> offsets;
  std::vector<bool> special;               // added special tokens and post-processor tokens
  std::size_t invalid_bytes_replaced = 0;  // with replace_invalid: bytes turned into U+FFFD
};

struct EncodeOptions {
  bool add_special_tokens = true;  // BOS/EOS from the post-processor / tokenizer_config.json
  bool replace_invalid = false;    // each invalid UTF-8 byte becomes U+FFFD instead of an error
};

struct DecodeOptions {
  bool skip_special = false;  // drop special tokens (BOS, EOS, <|endoftext|>, ...)
};

// A loaded tokenizer. Immutable after loading, so one instance may be shared by threads.
class Tokenizer {
 public:
  // Parses tokenizer.json text; `config_json` is tokenizer_config.json text or empty.
  // `what` names the source in error messages.
  static Result<Tokenizer> parse(std::string_view tokenizer_json, std::string_view config_json,
                                 const std::string& what);

  // Reads a tokenizer.json file and the tokenizer_config.json beside it, if any.
  static Result<Tokenizer> from_file(const std::string& tokenizer_json_path);

  // Reads DIR/tokenizer.json of a model directory (or of the directory holding a
  // .safetensors file). A missing file is an error that suggests passing --ids.
  static Result<Tokenizer> from_model_path(const std::string& model_path);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Tokens of `text`. Invalid UTF-8 is an error naming the byte offset, unless
  // options.replace_invalid. Empty text gives only the post-processor's tokens.
  Result<Encoding> encode(std::string_view text, const EncodeOptions& options = {}) const;

  // Text of `ids` through the file's decoder chain. Byte sequences that are not valid
  // UTF-8 come out as U+FFFD. An id outside the vocabulary is an error.
  Result<std::string> decode(const std::vector<int>& ids, const DecodeOptions& options = {}) const;

  // One more than the largest id of the vocabulary and the added tokens.
  int vocab_size() const;

  // The vocabulary string of `id`, or nullopt when no token has that id.
  std::optional<std::string> piece(int id) const;

  // The id of a vocabulary string or added token, or nullopt.
  std::optional<int> token_id(std::string_view piece) const;

  // True for added tokens marked special (BOS, EOS, <|endoftext|>, ...).
  bool is_special(int id) const;

  // The BOS/EOS ids encode() adds with add_special_tokens (either may be empty).
  const std::vector<int>& prefix_ids() const;
  const std::vector<int>& suffix_ids() const;

  // One line describing the pipeline, e.g. "BPE (byte-level, GPT-2 split pattern), 50257 tokens".
  std::string describe() const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The Unicode version of the letter/number tables behind the split patterns.
std::string_view tokenizer_unicode_version();

}  // namespace sonify
