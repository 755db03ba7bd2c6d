// The BPE merge loop, as Hugging Face tokenizers runs it: start from one symbol per
// character (or byte), then repeatedly merge the adjacent pair with the lowest merge
// rank (ties: the leftmost), until no adjacent pair has a merge. A heap of candidate
// pairs with lazy invalidation keeps a long piece (a whole line of SentencePiece-style
// text has no pre-tokenizer splits) at O(n log n).
#include <algorithm>
#include <cstdio>
#include <queue>

#include "tokenizer/tokenizer_internal.h"

namespace sonify::tok {
namespace {

std::uint64_t pair_key(int a, int b) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
}

struct Symbol {
  int id;
  int prev;
  int next;
  std::uint32_t begin;  // bytes of the piece
  std::uint32_t end;
  bool alive;
};

struct Candidate {
  int rank;
  int left;  // index of the left symbol
  bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
};

std::string hex_cp(std::uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", cp);
  return buf;
}

}  // namespace

Status BpeModel::add_merge(const std::string& a, const std::string& b, const std::string& what) {
  const auto ia = vocab.find(a), ib = vocab.find(b), iab = vocab.find(a + b);
  if (ia == vocab.end() || ib == vocab.end() || iab == vocab.end())
    return fail(what, ": merge #", next_rank_, " (\"", a, "\" \"", b,
                "\") uses a token that is not in the vocab");
  merges_.emplace(pair_key(ia->second, ib->second), MergeValue{next_rank_, iab->second});
  ++next_rank_;
  return Status::Ok();
}

void BpeModel::finish() {
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    auto it = vocab.find(name);
    byte_ids[b] = it == vocab.end() ? -1 : it->second;
    std::string ch;
    utf8_append(&ch, byte_level_chars()[b]);
    it = vocab.find(ch);
    byte_level_ids[b] = it == vocab.end() ? -1 : it->second;
    if (b < 128) {
      it = vocab.find(std::string(1, static_cast<char>(b)));
      ascii_ids[b] = it == vocab.end() ? -1 : it->second;
    }
  }
}

Status BpeModel::tokenize(const Piece& piece, bool byte_level, std::vector<RawToken>* out,
                          BpeCache* cache) const {
  const std::string& text = piece.text;
  if (text.empty()) return Status::Ok();
  constexpr std::size_t kCachedLength = 64;
  const std::vector<PieceToken>* tokens = nullptr;
  std::vector<PieceToken> fresh;
  if (cache != nullptr && text.size() <= kCachedLength) {
    auto it = cache->find(text);
    if (it == cache->end()) {
      SONIFY_TRY(merge(text, byte_level, piece, &fresh));
      it = cache->emplace(text, std::move(fresh)).first;
    }
    tokens = &it->second;
  } else {
    SONIFY_TRY(merge(text, byte_level, piece, &fresh));
    tokens = &fresh;
  }
  for (const PieceToken& t : *tokens) out->push_back({t.id, piece.span(t.begin, t.end)});
  return Status::Ok();
}

Status BpeModel::merge(const std::string& text, bool byte_level, const Piece& piece,
                       std::vector<PieceToken>* out) const {
  const auto n_bytes = static_cast<std::uint32_t>(text.size());
  if (ignore_merges) {
    std::string whole;
    if (byte_level) {
      for (unsigned char c : text) utf8_append(&whole, byte_level_chars()[c]);
    } else {
      whole = text;
    }
    if (auto it = vocab.find(whole); it != vocab.end()) {
      out->push_back({it->second, 0, n_bytes});
      return Status::Ok();
    }
  }

  std::vector<Symbol> syms;
  syms.reserve(text.size());
  auto add = [&](int id, std::uint32_t begin, std::uint32_t end) {
    const int n = static_cast<int>(syms.size());
    syms.push_back({id, n - 1, -1, begin, end, true});
    if (n > 0) syms[n - 1].next = n;
  };
  bool last_was_unk = false;
  if (byte_level) {
    for (std::uint32_t i = 0; i < n_bytes; ++i) {
      const auto byte = static_cast<unsigned char>(text[i]);
      const int id = byte_level_ids[byte];
      if (id < 0)
        return fail("tokenizer: byte ", hex_cp(byte).substr(2), " has no byte-level token in the vocab");
      add(id, i, i + 1);
    }
  } else {
    std::size_t i = 0;
    while (i < text.size()) {
      const auto start = static_cast<std::uint32_t>(i);
      const auto lead = static_cast<unsigned char>(text[i]);
      int id = -1;
      std::uint32_t cp = lead;
      if (lead < 0x80) {
        id = ascii_ids[lead];
        ++i;
      } else {
        cp = utf8_next(text, &i);
        if (auto it = vocab.find(text.substr(start, i - start)); it != vocab.end()) id = it->second;
      }
      const auto end = static_cast<std::uint32_t>(i);
      if (id >= 0) {
        add(id, start, end);
        last_was_unk = false;
        continue;
      }
      bool all_bytes = byte_fallback;
      for (std::uint32_t k = start; all_bytes && k < end; ++k)
        all_bytes = byte_ids[static_cast<unsigned char>(text[k])] >= 0;
      if (all_bytes) {
        for (std::uint32_t k = start; k < end; ++k)
          add(byte_ids[static_cast<unsigned char>(text[k])], k, k + 1);
        last_was_unk = false;
        continue;
      }
      if (unk_id < 0)
        return fail(
            "tokenizer: character ", hex_cp(cp), " at byte ", piece.span(start, end).begin,
            " is not in the vocabulary, and the tokenizer has neither byte fallback nor an unk token");
      if (fuse_unk && last_was_unk)
        syms.back().end = end;
      else
        add(unk_id, start, end);
      last_was_unk = true;
    }
  }

  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto consider = [&](int left) {
    const int right = syms[left].next;
    if (right < 0) return;
    auto it = merges_.find(pair_key(syms[left].id, syms[right].id));
    if (it != merges_.end()) heap.push({it->second.rank, left});
  };
  for (int k = 0; k + 1 < static_cast<int>(syms.size()); ++k) consider(k);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Symbol& left = syms[c.left];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = syms[left.next];
    auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.rank != c.rank) continue;  // stale candidate
    left.id = it->second.new_id;
    left.end = right.end;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) syms[right.next].prev = c.left;
    if (left.prev >= 0) consider(left.prev);
    consider(c.left);
  }
  for (int k = 0; k >= 0 && k < static_cast<int>(syms.size()); k = syms[k].next)
    out->push_back({syms[k].id, syms[k].begin, syms[k].end});
  return Status::Ok();
}

}  // namespace sonify::tok
