// The pre-tokenizers' regex split patterns, written out by hand as scanners over code
// points, plus the Unicode and UTF-8 helpers they need. Each scanner follows the
// regex's leftmost-first alternation exactly, including the backtracking of
// \s+(?!\S) (a run of spaces before a word gives up its last space to the word).
#include <algorithm>

#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode_tables.h"

namespace sonify {
namespace unicode {
namespace {

bool in_ranges(const CodepointRange* ranges, std::size_t count, std::uint32_t cp) {
  const CodepointRange* end = ranges + count;
  const CodepointRange* it =
      std::upper_bound(ranges, end, cp, [](std::uint32_t c, const CodepointRange& r) { return c < r.first; });
  return it != ranges && cp <= (it - 1)->last;
}

}  // namespace

bool is_letter(std::uint32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return in_ranges(kLetterRanges, kLetterRanges_count, cp);
}

bool is_number(std::uint32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return in_ranges(kNumberRanges, kNumberRanges_count, cp);
}

bool is_nfc_unsafe(std::uint32_t cp) {
  return cp >= 0x300 && in_ranges(kNfcUnsafeRanges, kNfcUnsafeRanges_count, cp);
}

bool is_whitespace(std::uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

}  // namespace unicode

namespace tok {

Piece Piece::slice(std::size_t begin, std::size_t end) const {
  Piece p;
  p.text = text.substr(begin, end - begin);
  p.align.assign(align.begin() + static_cast<std::ptrdiff_t>(begin),
                 align.begin() + static_cast<std::ptrdiff_t>(end));
  return p;
}

void Piece::append(std::string_view s, ByteRange range) {
  text.append(s);
  align.insert(align.end(), s.size(), range);
}

ByteRange Piece::span(std::size_t begin, std::size_t end) const {
  if (begin >= end)
    return begin < align.size() ? ByteRange{align[begin].begin, align[begin].begin} : ByteRange{};
  std::size_t lo = align[begin].begin, hi = align[begin].end;
  for (std::size_t i = begin + 1; i < end; ++i) {
    lo = std::min(lo, align[i].begin);
    hi = std::max(hi, align[i].end);
  }
  return {lo, hi};
}

std::uint32_t utf8_next(std::string_view text, std::size_t* i) {
  const auto c = static_cast<unsigned char>(text[*i]);
  int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  std::uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (int k = 1; k < len && *i + k < text.size(); ++k)
    cp = (cp << 6) | (static_cast<unsigned char>(text[*i + k]) & 0x3F);
  *i += len;
  return cp;
}

void utf8_append(std::string* out, std::uint32_t cp) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

namespace {

using unicode::is_letter;
using unicode::is_number;
using unicode::is_whitespace;

constexpr std::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

constexpr std::uint32_t kPastEnd = 0x110000;  // not a code point: in no class

bool is_other(std::uint32_t cp) {
  return cp < kPastEnd && !is_whitespace(cp) && !is_letter(cp) && !is_number(cp);
}
bool is_newline(std::uint32_t cp) { return cp == '\r' || cp == '\n'; }

// Code points of the text being split, with a sentinel past the end.
class Scanner {
 public:
  explicit Scanner(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
      pos_.push_back(i);
      cps_.push_back(utf8_next(text, &i));
    }
    pos_.push_back(text.size());
  }
  std::size_t size() const { return cps_.size(); }
  // The code point at index k, or kPastEnd.
  std::uint32_t at(std::size_t k) const { return k < cps_.size() ? cps_[k] : kPastEnd; }
  bool has(std::size_t k) const { return k < cps_.size(); }
  std::size_t byte(std::size_t k) const { return pos_[k]; }

  template <class Pred>
  std::size_t run(std::size_t k, Pred pred) const {
    while (k < cps_.size() && pred(cps_[k])) ++k;
    return k;
  }

 private:
  std::vector<std::uint32_t> cps_;
  std::vector<std::size_t> pos_;
};

// 's 't 're 've 'm 'll 'd at k; returns the end or 0. Case-insensitive matching folds
// like the regex engines do: 'S' and U+017F (long s) match 's', U+212A (Kelvin) 'k' is
// not involved.
std::size_t match_contraction(const Scanner& s, std::size_t k, bool ignore_case) {
  if (s.at(k) != '\'') return 0;
  auto is = [&](std::size_t i, char c) {
    const std::uint32_t cp = s.at(i);
    if (cp == static_cast<std::uint32_t>(c)) return true;
    if (!ignore_case) return false;
    if (cp == static_cast<std::uint32_t>(c - 'a' + 'A')) return true;
    return c == 's' && cp == 0x17F;
  };
  if (is(k + 1, 's') || is(k + 1, 't') || is(k + 1, 'm') || is(k + 1, 'd')) return k + 2;
  if ((is(k + 1, 'r') || is(k + 1, 'v')) && is(k + 2, 'e')) return k + 3;
  if (is(k + 1, 'l') && is(k + 2, 'l')) return k + 3;
  return 0;
}

// \s+(?!\S) then \s+ at a whitespace code point k.
std::size_t match_spaces(const Scanner& s, std::size_t k) {
  const std::size_t end = s.run(k, is_whitespace);
  if (end == s.size()) return end;  // (?!\S) holds at the end of the text
  if (end - 1 > k) return end - 1;  // give the last space back to the next word
  return end;                       // a single space before \S: plain \s+
}

std::size_t next_gpt2(const Scanner& s, std::size_t k) {
  if (std::size_t e = match_contraction(s, k, false)) return e;
  const std::uint32_t c = s.at(k);
  const std::size_t j = (c == ' ' && s.has(k + 1)) ? k + 1 : k;  // optional leading space
  if (is_letter(s.at(j))) return s.run(j, is_letter);
  if (is_number(s.at(j))) return s.run(j, is_number);
  if (is_other(s.at(j))) return s.run(j, is_other);
  return match_spaces(s, k);
}

std::size_t next_llama3(const Scanner& s, std::size_t k, std::size_t max_digits) {
  if (std::size_t e = match_contraction(s, k, true)) return e;
  const std::uint32_t c = s.at(k);
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (is_letter(c)) return s.run(k, is_letter);
  if (!is_newline(c) && !is_number(c) && is_letter(s.at(k + 1))) return s.run(k + 1, is_letter);
  // \p{N}{1,3} (Qwen2: \p{N})
  if (is_number(c)) {
    std::size_t e = k;
    while (e < s.size() && e - k < max_digits && is_number(s.at(e))) ++e;
    return e;
  }
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  const std::size_t j = (c == ' ') ? k + 1 : k;
  if (is_other(s.at(j))) return s.run(s.run(j, is_other), is_newline);
  // \s*[\r\n]+ : the whitespace run up to and including its last newline.
  const std::size_t end = s.run(k, is_whitespace);
  for (std::size_t e = end; e > k; --e)
    if (is_newline(s.at(e - 1))) return e;
  return match_spaces(s, k);
}

}  // namespace

bool split_pattern_from_regex(std::string_view regex, SplitPattern* pattern) {
  if (regex == kGpt2Regex)
    *pattern = SplitPattern::Gpt2;
  else if (regex == kLlama3Regex)
    *pattern = SplitPattern::Llama3;
  else if (regex == kQwen2Regex)
    *pattern = SplitPattern::Qwen2;
  else
    return false;
  return true;
}

std::string_view split_pattern_name(SplitPattern pattern) {
  switch (pattern) {
    case SplitPattern::Gpt2:
      return "GPT-2";
    case SplitPattern::Llama3:
      return "Llama 3";
    case SplitPattern::Qwen2:
      return "Qwen2";
  }
  return "?";
}

std::vector<std::pair<std::size_t, std::size_t>> split_matches(SplitPattern pattern, std::string_view text) {
  const Scanner s(text);
  std::vector<std::pair<std::size_t, std::size_t>> out;
  std::size_t k = 0;
  while (k < s.size()) {
    std::size_t e = 0;
    switch (pattern) {
      case SplitPattern::Gpt2:
        e = next_gpt2(s, k);
        break;
      case SplitPattern::Llama3:
        e = next_llama3(s, k, 3);
        break;
      case SplitPattern::Qwen2:
        e = next_llama3(s, k, 1);
        break;
    }
    if (e <= k) e = k + 1;  // unreachable: every code point matches some alternative
    out.emplace_back(s.byte(k), s.byte(e));
    k = e;
  }
  return out;
}

std::vector<std::pair<std::size_t, std::size_t>> split_digits(std::string_view text, bool individual) {
  const Scanner s(text);
  std::vector<std::pair<std::size_t, std::size_t>> out;
  std::size_t k = 0;
  while (k < s.size()) {
    std::size_t e;
    if (is_number(s.at(k)))
      e = individual ? k + 1 : s.run(k, is_number);
    else
      e = s.run(k, [](std::uint32_t cp) { return !is_number(cp); });
    out.emplace_back(s.byte(k), s.byte(e));
    k = e;
  }
  return out;
}

const std::vector<std::uint32_t>& byte_level_chars() {
  static const std::vector<std::uint32_t> table = [] {
    std::vector<std::uint32_t> t(256, 0);
    std::uint32_t next = 256;
    for (std::uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      t[b] = printable ? b : next++;
    }
    return t;
  }();
  return table;
}

}  // namespace tok
}  // namespace sonify
