#include "cli_common.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "core/partial_files.h"
#include "core/progress.h"
#include "sonify/hf_cache.h"

namespace sonify::cli {

StepProgressLine step_progress_line(bool quiet) {
  struct State {
    std::string verb;
    std::unique_ptr<ProgressLine> line;
  };
  auto state = std::make_shared<State>();
  if (quiet || !stderr_is_terminal()) return {[](const StepProgress&) {}, [] {}};
  return {[state](const StepProgress& p) {
            if (!state->line || state->verb != p.verb) {
              state->line.reset();  // clears the previous step's line
              ProgressLine::Options o;
              o.verb = p.verb;
              o.unit = p.unit;
              o.terminal = true;
              state->line = std::make_unique<ProgressLine>(o);
              state->verb = p.verb;
            }
            state->line->update(p.done, p.total, p.work);
          },
          [state] { state->line.reset(); }};
}

// Seconds rendered with the time left on a terminal (a 10^6-note file takes minutes), or
// with --progress json a line per percent.
std::function<void(double, double)> render_progress(const std::string& mode, const StepProgressLine& line) {
  if (mode == "none" || (mode == "auto" && !::isatty(STDERR_FILENO))) return nullptr;
  if (mode == "auto")
    return [update = line.update](double done, double total) {
      update({"rendering", "s of audio", static_cast<std::size_t>(done), static_cast<std::size_t>(total),
              total > 0 ? done / total : 1.0});
    };
  auto print = progress_printer(mode, "render", "%");
  auto last = std::make_shared<int>(-1);
  return [print, last](double done, double total) {
    const int percent = total > 0 ? static_cast<int>(std::floor(100 * done / total)) : 100;
    if (percent == *last) return;
    *last = percent;
    print(percent, 100);
  };
}

std::function<void(int, int)> progress_printer(const std::string& mode, const std::string& what,
                                               const std::string& unit) {
  if (mode == "json") {
    const auto t0 = std::chrono::steady_clock::now();
    return [t0](int done, int total) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double eta = done > 0 ? elapsed / done * (total - done) : 0.0;
      std::fprintf(stderr, "{\"done\":%d,\"total\":%d,\"elapsed\":%.3f,\"eta\":%.3f}\n", done, total, elapsed,
                   eta);
      std::fflush(stderr);
    };
  }
  return [what, unit](int done, int total) {
    if (!isatty(STDERR_FILENO)) {
      std::fprintf(stderr, "%s: %d/%d %s\n", what.c_str(), done, total, unit.c_str());
      return;
    }
    const int width = 30;
    const int filled = total > 0 ? done * width / total : width;
    std::fprintf(stderr, "\r[%s%s] %d/%d %s", std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), done, total,
                 unit.c_str());
    if (done == total) std::fprintf(stderr, "\n");
  };
}

int report(const Error& error) {
  std::string line = public_paths(error.message);
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::fprintf(stderr, "sonify: error: %s\n", line.c_str());
  return 1;
}

std::string data_dir() {
  if (const char* env = std::getenv("SONIFY_DATA_DIR"); env != nullptr && *env != '\0') return env;
  return std::string(SONIFY_SOURCE_DIR) + "/data";
}

std::string genre_config_dir() {
  if (const char* env = std::getenv("SONIFY_GENRE_CONFIG_DIR"); env != nullptr && *env != '\0') return env;
  return std::string(SONIFY_SOURCE_DIR) + "/configs/genres";
}

Result<std::string> model_path_or_default(const std::string& given) {
  if (!given.empty()) return resolve_model_reference(given);
  const std::string bundled = data_dir() + "/models/sonify-tiny";
  std::error_code ec;
  if (std::filesystem::is_directory(bundled, ec)) return bundled;
  return fail("no --model given and the bundled default model is not at ", bundled,
              ": pass --model DIR (a Hugging Face model directory or a .safetensors file)");
}

void add_model_option(CLI::App* app, std::string* model) {
  app->add_option("-m,--model", *model,
                  "Model directory (config.json + *.safetensors), .safetensors file, or ORG/NAME[@REVISION] "
                  "in the Hugging Face cache; default: the bundled sonify-tiny model");
}

static std::string finite_or_why(std::string& s) {
  return std::isfinite(std::strtod(s.c_str(), nullptr)) ? "" : "must be finite, not " + s;
}

void require_finite_floats(CLI::App* app) {
  for (CLI::Option* opt : app->get_options())
    if (opt->get_type_name().rfind("FLOAT", 0) == 0) opt->check(CLI::Validator(finite_or_why, ""));
  for (CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; })) require_finite_floats(sub);
}

std::string svd_help() {
  return "Singular values: auto (default: exact below 256 wide, else Gram eigenvalues, the Gram matrix in "
         "double for square or ill-conditioned matrices up to 2^22 entries; fast for models over " +
         std::to_string(kSvdAutoFastWeights / 1000000000) +
         " billion matrix weights), exact, gram, or fast (leading 64 by seeded block Lanczos, the rest "
         "estimated, "
         "with error estimates in the features)";
}

SvdMethod svd_method(const std::string& name) {
  if (name == "exact") return SvdMethod::Exact;
  if (name == "gram") return SvdMethod::Gram;
  if (name == "fast") return SvdMethod::Fast;
  return SvdMethod::Auto;
}

}  // namespace sonify::cli
