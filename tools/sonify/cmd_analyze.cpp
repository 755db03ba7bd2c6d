// `sonify analyze`: measure a model's weights into a features JSON (doc/features.md),
// through the per-checkpoint cache unless --no-cache.
#include <unistd.h>

#include <cstdio>

#include "cli_common.h"
#include "core/atomic_file.h"
#include "core/progress.h"
#include "sonify/analysis.h"

namespace sonify::cli {
namespace {

struct Options {
  std::string model;
  std::string output;
  bool no_cache = false;
  bool quiet = false;
  bool allow_nonfinite = false;
  int threads = 0;
  int bins = 32;
  std::string svd = "auto";
  std::uint64_t seed = 0;
};

int run_analyze(const Options& o) {
  if (!analysis_cpu_supported())
    return report(
        fail("this sonify was built for CPUs with AVX2 and FMA; rebuild with "
             "-DSONIFY_ANALYSIS_AVX2=OFF to analyse on this machine"));
  SONIFY_ASSIGN_OR_REPORT(path, model_path_or_default(o.model));
  if (Status s = check_not_input(o.output, {path}); !s.ok()) return report(s.error());
  SONIFY_ASSIGN_OR_REPORT(model, Model::open(path));
  AnalyzeOptions options;
  options.histogram_bins = o.bins;
  options.threads = o.threads;
  options.allow_nonfinite = o.allow_nonfinite;
  options.svd = svd_method(o.svd);
  options.seed = o.seed;
  // "analysing 57/145 tensors, 12 s left" on a terminal; nothing with -q or off a terminal.
  ProgressLine::Options line;
  line.verb = "analysing";
  line.unit = "tensors";
  line.terminal = !o.quiet && stderr_is_terminal();
  auto bar = std::make_shared<ProgressLine>(line);
  options.progress = [bar](std::size_t done, std::size_t total, double work) {
    bar->update(done, total, work);
  };
  bool from_cache = false;
  std::string note;
  auto analysed = o.no_cache ? analyze_weights(model, options)
                             : analyze_weights_cached(model, options, &from_cache, &note);
  bar->clear();  // before any error or note
  if (!analysed.ok()) return report(analysed.error());
  const WeightFeatures& features = *analysed;
  if (!note.empty()) std::fprintf(stderr, "sonify: note: %s\n", note.c_str());
  const std::string json = features_to_json(features);
  if (o.output.empty()) {
    std::fwrite(json.data(), 1, json.size(), stdout);
  } else if (Status s = write_file_atomic(o.output, json); !s.ok()) {
    return report(s.error());
  }
  if (!o.quiet && ::isatty(STDERR_FILENO) && from_cache)
    std::fprintf(stderr, "features from the cache (--no-cache to recompute)\n");
  return 0;
}

}  // namespace

void register_analyze(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<Options>();
  CLI::App* cmd =
      app.add_subcommand("analyze", "Measure every weight statistic of a model into a features JSON");
  add_model_option(cmd, &opts->model);
  cmd->add_option("-o,--output", opts->output, "Write the features JSON here (default: stdout)");
  cmd->add_flag("--no-cache", opts->no_cache, "Neither read nor write the features cache");
  cmd->add_flag("-q,--quiet", opts->quiet, "No progress bar");
  cmd->add_flag("--allow-nonfinite", opts->allow_nonfinite,
                "Leave tensors holding NaN or Inf out (listed in skipped_nonfinite) instead of failing");
  cmd->add_option("--threads", opts->threads,
                  "Worker threads (default: $SONIFY_THREADS or all cores; the output does not depend on it)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--bins", opts->bins, "Histogram bins per matrix (default 32)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--svd", opts->svd, svd_help())->check(CLI::IsMember({"auto", "exact", "gram", "fast"}));
  cmd->add_option("--seed", opts->seed,
                  "Seed of the --svd fast sketches (default 0; recorded in the features)");
  cmd->callback([opts, exit_code] { *exit_code = run_analyze(*opts); });
}

}  // namespace sonify::cli
