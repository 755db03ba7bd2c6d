// Times Tokenizer::encode on one text file: prints one JSON line with the bytes, the
// token count and the best of RUNS wall times. Usage: bench_tokenize TOKENIZER_JSON TEXT [RUNS]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "sonify/tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_tokenize TOKENIZER_JSON TEXT [RUNS]\n");
    return 2;
  }
  auto tok = sonify::Tokenizer::from_file(argv[1]);
  if (!tok.ok()) {
    std::fprintf(stderr, "bench_tokenize: %s\n", tok.error().message.c_str());
    return 1;
  }
  std::ifstream in(argv[2], std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  const int runs = argc > 3 ? std::atoi(argv[3]) : 5;
  double best = 1e30;
  std::size_t tokens = 0;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    auto enc = tok->encode(text, {false, true});
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!enc.ok()) {
      std::fprintf(stderr, "bench_tokenize: %s\n", enc.error().message.c_str());
      return 1;
    }
    tokens = enc->ids.size();
    best = std::min(best, s);
  }
  std::printf("{\"bytes\": %zu, \"tokens\": %zu, \"seconds\": %.6f}\n", text.size(), tokens, best);
  return 0;
}
