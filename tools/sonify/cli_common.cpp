#include "cli_common.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "sonify/hf_cache.h"

namespace sonify::cli {

int report(const Error& error) {
  std::string line = error.message;
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

}  // namespace sonify::cli
