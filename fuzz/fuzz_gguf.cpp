// A GGUF file through the container parser, the model mapping (config from metadata, roles,
// llama's Q/K unpermute), every small tensor's dequantisation, and the tokenizer from the
// tokenizer.ggml.* metadata. The bytes live in a memfd so the real mmap path runs.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "model/gguf.h"
#include "tokenizer/tokenizer_internal.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = ::memfd_create("fuzz.gguf", 0);
  if (fd < 0) return 0;
  if (::write(fd, data, size) == static_cast<ssize_t>(size)) {
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    auto model = sonify::gguf::open_model(path);
    if (model.ok())
      for (const auto& t : model->tensors())
        if (t.numel() <= (1 << 18)) (void)model->load_f32(t);
    auto tok = sonify::tok::tokenizer_from_gguf(path);
    if (tok.ok()) {
      sonify::EncodeOptions options;
      options.replace_invalid = true;
      auto enc = tok->encode("Once upon a time, h\xc3\xa9llo 123!", options);
      if (enc.ok()) {
        std::vector<int> ids(enc->ids.begin(), enc->ids.end());
        (void)tok->decode(ids, {});
      }
    }
  }
  ::close(fd);
  return 0;
}
