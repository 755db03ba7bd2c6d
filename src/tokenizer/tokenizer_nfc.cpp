// NFC for the tokenizer's NFC normalizer (Qwen2), following UAX #15: decompose every
// character canonically (Hangul algorithmically), put combining marks in canonical
// order, then compose starters with the marks that are not blocked from them. Text made
// only of characters that NFC leaves alone is returned as it is, without this work.
#include <algorithm>

#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode_tables.h"

namespace sonify::tok {
namespace {

using unicode::kCombiningClasses;
using unicode::kCombiningClasses_count;
using unicode::kCompositions;
using unicode::kCompositions_count;
using unicode::kDecompositions;
using unicode::kDecompositions_count;

constexpr std::uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr std::uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                        kSCount = kLCount * kNCount;

struct Char {
  std::uint32_t cp;
  ByteRange range;
};

int combining_class(std::uint32_t cp) {
  const auto* end = kCombiningClasses + kCombiningClasses_count;
  const auto* it =
      std::upper_bound(kCombiningClasses, end, cp,
                       [](std::uint32_t c, const unicode::CombiningClassRange& r) { return c < r.first; });
  if (it == kCombiningClasses || cp > (it - 1)->last) return 0;
  return (it - 1)->ccc;
}

void decompose(std::uint32_t cp, ByteRange range, std::vector<Char>* out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const std::uint32_t s = cp - kSBase;
    out->push_back({kLBase + s / kNCount, range});
    out->push_back({kVBase + (s % kNCount) / kTCount, range});
    if (s % kTCount != 0) out->push_back({kTBase + s % kTCount, range});
    return;
  }
  const auto* end = kDecompositions + kDecompositions_count;
  const auto* it = std::lower_bound(
      kDecompositions, end, cp, [](const unicode::Decomposition& d, std::uint32_t c) { return d.cp < c; });
  if (it == end || it->cp != cp) {
    out->push_back({cp, range});
    return;
  }
  decompose(it->first, range, out);
  if (it->second != 0) decompose(it->second, range, out);
}

// The primary composite of (a, b), or 0.
std::uint32_t compose(std::uint32_t a, std::uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  const auto* end = kCompositions + kCompositions_count;
  const auto* it =
      std::lower_bound(kCompositions, end, std::make_pair(a, b),
                       [](const unicode::Composition& c, const std::pair<std::uint32_t, std::uint32_t>& k) {
                         return c.first != k.first ? c.first < k.first : c.second < k.second;
                       });
  return (it != end && it->first == a && it->second == b) ? it->composite : 0;
}

ByteRange join(ByteRange a, ByteRange b) { return {std::min(a.begin, b.begin), std::max(a.end, b.end)}; }

}  // namespace

Piece nfc(const Piece& piece) {
  const std::string& text = piece.text;
  bool needed = false;
  for (std::size_t i = 0; i < text.size() && !needed;) needed = unicode::is_nfc_unsafe(utf8_next(text, &i));
  if (!needed) return piece;

  std::vector<Char> chars;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t start = i;
    const std::uint32_t cp = utf8_next(text, &i);
    decompose(cp, piece.span(start, i), &chars);
  }
  // Canonical ordering: a stable sort of each run of non-starters by combining class.
  for (std::size_t i = 0; i < chars.size();) {
    if (combining_class(chars[i].cp) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < chars.size() && combining_class(chars[j].cp) != 0) ++j;
    std::stable_sort(
        chars.begin() + static_cast<std::ptrdiff_t>(i), chars.begin() + static_cast<std::ptrdiff_t>(j),
        [](const Char& x, const Char& y) { return combining_class(x.cp) < combining_class(y.cp); });
    i = j;
  }
  // Canonical composition (UAX #15 sample code): a mark composes with the last starter
  // unless a character between them has the same or a higher class (or is a starter).
  std::vector<Char> out;
  out.reserve(chars.size());
  std::size_t starter = 0;
  bool have_starter = false;
  int last_class = 0;
  for (const Char& c : chars) {
    const int cls = combining_class(c.cp);
    if (have_starter && (last_class < cls || last_class == 0)) {
      if (const std::uint32_t composite = compose(out[starter].cp, c.cp)) {
        out[starter] = {composite, join(out[starter].range, c.range)};
        continue;
      }
    }
    if (cls == 0) {
      starter = out.size();
      have_starter = true;
    }
    last_class = cls;
    out.push_back(c);
  }
  Piece result;
  std::string bytes;
  for (const Char& c : out) {
    bytes.clear();
    utf8_append(&bytes, c.cp);
    result.append(bytes, c.range);
  }
  return result;
}

}  // namespace sonify::tok
