// `sonify synth-checkpoint` (hidden): a seeded random-weight checkpoint in Hugging Face
// layout from an architecture config, so tests and benchmarks can exercise full-size
// shapes without downloads.
#include <cstdio>

#include "cli_common.h"
#include "sonify/checkpoint_write.h"

namespace sonify::cli {

namespace {

struct Options {
  std::string arch;
  std::string out;
  std::string dtype = "F32";
  std::uint64_t seed = 0;
};

int run_synth_checkpoint(const Options& o) {
  auto dtype = dtype_from_name(o.dtype);
  if (!dtype) return report(fail("--dtype: unknown dtype '", o.dtype, "'"));
  if (Status s = synthetic_checkpoint_write(o.arch, o.out, *dtype, o.seed); !s.ok()) return report(s.error());
  std::printf("%s\n", o.out.c_str());
  return 0;
}

}  // namespace

void register_synth_checkpoint(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("synth-checkpoint",
                                     "Write a seeded random-weight checkpoint from an architecture config");
  cmd->group("");  // hidden: a tool for tests and benchmarks
  cmd->add_option("--arch", opts->arch, "Architecture config.json (see configs/architectures/)")->required();
  cmd->add_option("-o,--out", opts->out, "Output model directory")->required();
  cmd->add_option("--dtype", opts->dtype, "F32, BF16 or F16")->capture_default_str();
  cmd->add_option("--seed", opts->seed, "Random seed (0 to 2^64-1)")
      ->check([](const std::string& s) {
        return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos
                   ? std::string()
                   : std::string("must be a non-negative integer");
      })
      ->capture_default_str();
  cmd->callback([opts, exit_code] { *exit_code = run_synth_checkpoint(*opts); });
}

}  // namespace sonify::cli
