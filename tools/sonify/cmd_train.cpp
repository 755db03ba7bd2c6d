// `sonify train`: trains a small GPT-2 or Llama-family model on text or MIDI files into a
// Hugging Face model directory (run_train in sonify/pipeline_train.h). This file adds
// what belongs to a terminal: the progress line and Ctrl-C.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli_common.h"
#include "sonify/pipeline_train.h"

namespace sonify::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_sigint(int) {
  if (g_stop.load()) std::_Exit(130);  // a second Ctrl-C ends at once
  g_stop.store(true);
}

struct Options {
  TrainRunRequest request;
  bool quiet = false;
};

int run_train_command(const Options& o) {
  TrainRunRequest request = o.request;
  const TrainConfig& c = request.config;
  const bool tty = !o.quiet && isatty(2) != 0;
  double last_val = -1;
  // One line redrawn in place on a terminal; one line per evaluation otherwise (logs).
  if (!o.quiet)
    request.progress = [&](int step, double loss, double tps, const TrainEval* eval) {
      if (eval != nullptr) last_val = eval->val_loss;
      if (tty) {
        const double eta = tps > 0 ? (c.steps - step) * static_cast<double>(c.batch) * c.context / tps : 0;
        std::fprintf(stderr, "\rstep %d/%d  loss %.4f  val %s  %.0f tok/s  eta %dm%02ds   ", step, c.steps,
                     loss, last_val < 0 ? "-" : std::to_string(last_val).substr(0, 6).c_str(), tps,
                     static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
        if (step == c.steps) std::fprintf(stderr, "\n");
      } else if (eval != nullptr) {
        std::fprintf(stderr, "step %d/%d  train %.4f  val %.4f  lr %.2e  %.0f tok/s\n", step, c.steps,
                     eval->train_loss, eval->val_loss, eval->lr, tps);
      }
      std::fflush(stderr);
    };
  g_stop.store(false);
  request.stop = &g_stop;
  auto previous = std::signal(SIGINT, on_sigint);
  auto run = run_train(request);
  std::signal(SIGINT, previous);
  if (!run.ok()) return report(run.error());
  if (run->interrupted) {
    if (tty) std::fprintf(stderr, "\n");  // end the progress line
    std::fprintf(stderr, "sonify: interrupted at step %d of %d; saved what was trained\n", run->steps_done,
                 run->steps);
  }
  if (!o.quiet) {
    std::fprintf(stderr, "trained %lld parameters for %d steps in %.1f s (%.0f tokens/s, %d threads, %s)\n",
                 static_cast<long long>(run->parameters), run->steps_done, run->seconds,
                 run->tokens_per_second, run->threads, run->blas.c_str());
    std::fprintf(stderr, "validation loss %.4f nats/token (bigram baseline %.4f, unigram %.4f)\n",
                 run->final_val_loss, run->bigram_val_loss, run->unigram_val_loss);
    if (run->midi_skipped > 0)
      std::fprintf(stderr, "skipped %d files that are not MIDI\n", run->midi_skipped);
  }
  std::printf("%s\n", request.out.c_str());
  return 0;
}

}  // namespace

void register_train(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  TrainRunRequest& r = o->request;
  TrainConfig& c = r.config;
  CLI::App* cmd = app.add_subcommand(
      "train", "Train a small transformer on text or MIDI files (writes a Hugging Face model dir)");
  auto* corpus = cmd->add_option("--corpus", r.corpus, "Text files, one document per line")->expected(1, -1);
  cmd->add_option("--midi", r.midi, "MIDI files or folders (event tokens; the seed's 3x128 shape by default)")
      ->expected(1, -1)
      ->excludes(corpus);
  cmd->add_option("-o,--out", r.out, "Output model directory (missing parents are created)")->required();
  // Numeric options show their default and are range-checked.
  auto number = [cmd](const char* name, auto* value, const char* help, auto lo, auto hi) {
    cmd->add_option(name, *value, help)->capture_default_str()->check(CLI::Range(lo, hi));
  };
  cmd->add_option("--arch", c.arch, "gpt2 or llama")->capture_default_str();
  number("--layers", &c.layers, "Transformer blocks", 1, 64);
  number("--dim", &c.dim, "Model width", 8, 4096);
  number("--heads", &c.heads, "Attention heads", 1, 64);
  number("--context", &c.context, "Context length in tokens", 2, 4096);
  number("--vocab-size", &r.vocab_size, "Byte-level BPE vocabulary size (257 = plain bytes)", 257, 65536);
  number("--steps", &c.steps, "Optimizer steps", 1, 10000000);
  number("--batch", &c.batch, "Sequences per step", 1, 4096);
  number("--lr", &c.lr, "Peak learning rate (AdamW, warm-up then cosine)", 1e-7, 1.0);
  number("--warmup", &c.warmup, "Warm-up steps (0: 5% of --steps)", 0, 10000000);
  cmd->add_option("--val-fraction", r.val_fraction, "Share of documents held out for validation")
      ->capture_default_str();
  cmd->add_option("--seed", c.seed, "Random seed (weights and batches)")->capture_default_str();
  number("--threads", &c.threads,
         "Threads (0: $SONIFY_THREADS or all cores; the same count gives the same weights)", 0, 256);
  cmd->add_flag("--force", r.force, "Replace an existing output directory");
  cmd->add_flag("-q,--quiet", o->quiet, "No progress output");
  cmd->add_option("--save-check", r.save_check,
                  "Also write the in-memory model's logits on the first validation tokens (safetensors)")
      ->group("");
  cmd->callback([o, cmd, exit_code] {
    if (!o->request.midi.empty())
      midi_train_defaults(&o->request.config, [cmd](const char* option) { return cmd->count(option) > 0; });
    *exit_code = run_train_command(*o);
  });
}

}  // namespace sonify::cli
