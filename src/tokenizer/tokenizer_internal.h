// Pieces shared by the tokenizer's source files: text with its alignment to the
// original input, the hand-written split patterns, and the BPE merge loop.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sonify/result.h"
#include "sonify/tokenizer.h"

namespace sonify::tok {

// Text on its way through the pipeline. align[i] is the range of original bytes that
// byte i of `text` came from; inserted text (a prepended "▁") has an empty range.
struct Piece {
  std::string text;
  std::vector<ByteRange> align;

  // Bytes [begin, end) of this piece, with their alignment.
  Piece slice(std::size_t begin, std::size_t end) const;
  // Appends `s`, every byte aligned to `range`.
  void append(std::string_view s, ByteRange range);
  // The original bytes covered by bytes [begin, end): from the first byte's begin to
  // the last byte's end.
  ByteRange span(std::size_t begin, std::size_t end) const;
};

// Decodes one UTF-8 code point of valid text at `i`, advancing `i`.
std::uint32_t utf8_next(std::string_view text, std::size_t* i);
// Appends the UTF-8 form of `cp`.
void utf8_append(std::string* out, std::uint32_t cp);

// The regex split patterns we implement by hand. Each splits text into matches that
// tile it completely (every character matches some alternative).
enum class SplitPattern { Gpt2, Llama3, Qwen2 };

// The pattern whose regex source is `regex`, or nullopt-like false.
bool split_pattern_from_regex(std::string_view regex, SplitPattern* pattern);
std::string_view split_pattern_name(SplitPattern pattern);

// Byte boundaries of the matches of `pattern` in valid UTF-8 `text`: consecutive
// [begin, end) ranges covering all of it.
std::vector<std::pair<std::size_t, std::size_t>> split_matches(SplitPattern pattern, std::string_view text);

// Digits pre-tokenizer: runs of \p{N} (or single ones) isolated from the rest.
std::vector<std::pair<std::size_t, std::size_t>> split_digits(std::string_view text, bool individual);

// The NFC form of a piece of valid UTF-8 (Unicode 14 data): canonical decomposition,
// canonical ordering, canonical composition. A composed character is aligned to the
// union of the original bytes it came from.
Piece nfc(const Piece& piece);

// GPT-2's bytes_to_unicode: the printable character standing for each byte.
const std::vector<std::uint32_t>& byte_level_chars();

// A token produced by the model, before post-processing.
struct RawToken {
  int id = 0;
  ByteRange range;
};

// A token as bytes [begin, end) of the piece it came from.
struct PieceToken {
  int id;
  std::uint32_t begin;
  std::uint32_t end;
};

// Results of earlier pieces within one encode() call (text repeats words a lot).
using BpeCache = std::unordered_map<std::string, std::vector<PieceToken>>;

// The BPE model: vocabulary, ranked merges, unknown/byte-fallback handling.
class BpeModel {
 public:
  std::unordered_map<std::string, int> vocab;
  std::vector<std::string> pieces;  // by id ("" where no token)
  int unk_id = -1;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
  int byte_ids[256];        // <0xNN> tokens, -1 when missing (byte fallback)
  int byte_level_ids[256];  // ids of bytes_to_unicode chars, -1 when missing
  int ascii_ids[128];       // ids of one-character ASCII tokens, -1 when missing

  // Adds merge (a, b) with the next rank; fails when a, b or a+b is not in the vocab.
  Status add_merge(const std::string& a, const std::string& b, const std::string& what);
  // Call once after all merges and the vocab are in place.
  void finish();

  // Tokens of one pre-tokenized piece. With `byte_level`, each byte of the piece is a
  // starting symbol (through bytes_to_unicode); otherwise each character is, falling
  // back to <0xNN> tokens or unk.
  // `cache` (may be null) remembers short pieces' results.
  Status tokenize(const Piece& piece, bool byte_level, std::vector<RawToken>* out, BpeCache* cache) const;

 private:
  Status merge(const std::string& text, bool byte_level, const Piece& piece,
               std::vector<PieceToken>* out) const;

  struct MergeValue {
    int rank;
    int new_id;
  };
  std::unordered_map<std::uint64_t, MergeValue> merges_;
  int next_rank_ = 0;
};

// A tokenizer from a GGUF file's tokenizer.ggml.* metadata (tokenizer_gguf.cpp).
Result<Tokenizer> tokenizer_from_gguf(const std::string& path);

}  // namespace sonify::tok
