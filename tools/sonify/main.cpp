// sonify: hear transformer language models. Each subcommand lives in its own cmd_*.cpp.
#include <cstdio>
#include <exception>

#include "cli_common.h"
#include "core/atomic_file.h"
#include "sonify/system_probe.h"

int main(int argc, char** argv) {
  CLI::App app{"sonify: turn transformer language models into music", "sonify"};
  app.set_version_flag("--version", std::string("sonify ") + SONIFY_VERSION);
  app.require_subcommand(1);
  int exit_code = 0;
  sonify::cli::register_doctor(app, &exit_code);
  sonify::cli::register_inspect(app, &exit_code);
  sonify::cli::register_render(app, &exit_code);
  sonify::cli::register_synth_checkpoint(app, &exit_code);
  sonify::cli::register_train(app, &exit_code);
  sonify::cli::register_trace(app, &exit_code);
  sonify::cli::register_generate(app, &exit_code);
  sonify::cli::register_tokenize(app, &exit_code);
  sonify::cli::register_analyze(app, &exit_code);
  sonify::cli::register_weights(app, &exit_code);
  sonify::cli::register_genres(app, &exit_code);
  sonify::cli::register_prompt(app, &exit_code);
  sonify::cli::register_album(app, &exit_code);
  sonify::cli::register_report(app, &exit_code);
  sonify::cli::register_compare(app, &exit_code);
  sonify::cli::register_models(app, &exit_code);
  sonify::cli::register_sample(app, &exit_code);
  sonify::cli::require_finite_floats(&app);
  // Any command may be given --force (after its own options too): it lets an output replace
  // an existing file of another kind, which is refused otherwise.
  app.add_flag_callback(
      "--force", [] { sonify::set_replace_other_kinds(true); },
      "Let an output replace an existing file of another kind (a text file by a WAV, ...)");
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) sub->fallthrough();
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    std::string commands;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      known = known || sub->get_name() == argv[1];
      if (!sub->get_group().empty()) commands += (commands.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      std::fprintf(stderr, "sonify: error: unknown command '%s' (commands: %s)\n", argv[1], commands.c_str());
      return 2;
    }
  }
  if (const sonify::Status env = sonify::check_threads_env(); !env.ok()) {
    std::fprintf(stderr, "sonify: error: %s\n", env.error().message.c_str());
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "sonify: error: %s (see sonify --help)\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "sonify: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sonify: error: %s\n", e.what());
    return 1;
  }
  return exit_code;
}
