// `sonify train`: trains a small GPT-2 or Llama-family model on text files and writes
// an ordinary Hugging Face model directory (config.json, model.safetensors,
// tokenizer.json, tokenizer_config.json) plus training.json with the run's history.
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "core/atomic_file.h"
#include "sonify/bpe_train.h"
#include "sonify/checkpoint_write.h"
#include "sonify/system_probe.h"
#include "sonify/torch_info.h"
#include "sonify/train.h"
#include "sonify/utf8.h"
#include "train_tokenize.h"

namespace sonify::cli {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_stop{false};

extern "C" void on_sigint(int) {
  if (g_stop.load()) std::_Exit(130);  // a second Ctrl-C ends at once
  g_stop.store(true);
}

struct Options {
  std::vector<std::string> corpus;
  std::string out;
  TrainConfig config;
  int vocab_size = 1024;
  double val_fraction = 0.1;
  bool force = false;
  bool quiet = false;
  std::string save_check;
  std::string command_line;
};

// Documents: the non-empty lines of every corpus file, in order.
Result<std::vector<std::string>> read_corpus(const std::vector<std::string>& files) {
  std::vector<std::string> docs;
  for (const std::string& path : files) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return fail(path, ": corpus file not found");
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return fail(path, ": cannot read the corpus file");
    std::string text;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    const bool bad = std::ferror(f) != 0;
    std::fclose(f);
    if (bad) return fail(path, ": read error");
    if (auto at = utf8_first_invalid(text)) return fail(path, ": invalid UTF-8 at byte offset ", *at);
    std::istringstream lines(text);
    std::string line;
    std::size_t before = docs.size();
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") != std::string::npos) docs.push_back(line);
    }
    if (docs.size() == before) return fail(path, ": corpus file is empty (no non-blank lines)");
  }
  return docs;
}

// Every k-th document goes to validation so both splits cover the whole corpus.
void split_docs(const std::vector<std::string>& docs, double fraction, std::vector<std::string>* train,
                std::vector<std::string>* val) {
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const bool to_val = std::floor((i + 1) * fraction) > std::floor(i * fraction);
    (to_val ? val : train)->push_back(docs[i]);
  }
}

// Cross-entropy (nats per token) of the validation tokens under the training tokens'
// unigram distribution with add-one smoothing: the baseline a model must beat.
double unigram_loss(const std::vector<std::int32_t>& train, const std::vector<std::int32_t>& val, int vocab) {
  std::vector<double> counts(vocab, 1.0);
  for (std::int32_t id : train) counts[id] += 1;
  const double total = static_cast<double>(train.size()) + vocab;
  double loss = 0;
  for (std::int32_t id : val) loss -= std::log(counts[id] / total);
  return loss / std::max<std::size_t>(1, val.size());
}

std::string config_json(const TrainConfig& c) {
  nlohmann::ordered_json j;
  if (c.arch == "gpt2") {
    j = {{"architectures", {"GPT2LMHeadModel"}}, {"model_type", "gpt2"}, {"vocab_size", c.vocab},
         {"n_positions", c.context}, {"n_ctx", c.context}, {"n_embd", c.dim}, {"n_layer", c.layers},
         {"n_head", c.heads}, {"n_inner", nullptr}, {"activation_function", "gelu_new"},
         {"layer_norm_epsilon", c.norm_eps}, {"resid_pdrop", 0.0}, {"embd_pdrop", 0.0}, {"attn_pdrop", 0.0},
         {"initializer_range", 0.02}, {"scale_attn_weights", true}, {"tie_word_embeddings", true},
         {"bos_token_id", c.bos_id}, {"eos_token_id", c.eos_id}, {"torch_dtype", "float32"}};
  } else {
    const int inter = ((8 * c.dim / 3) + 15) / 16 * 16;
    j = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"vocab_size", c.vocab},
         {"hidden_size", c.dim}, {"intermediate_size", inter}, {"num_hidden_layers", c.layers},
         {"num_attention_heads", c.heads}, {"num_key_value_heads", c.heads},
         {"max_position_embeddings", c.context}, {"rms_norm_eps", c.norm_eps}, {"rope_theta", c.rope_theta},
         {"hidden_act", "silu"}, {"attention_bias", false}, {"tie_word_embeddings", true},
         {"bos_token_id", c.bos_id}, {"eos_token_id", c.eos_id}, {"torch_dtype", "float32"}};
  }
  return j.dump(2) + "\n";
}

std::string tokenizer_config_json(const std::string& special, int context) {
  nlohmann::ordered_json j = {{"tokenizer_class", "GPT2Tokenizer"}, {"bos_token", special},
                              {"eos_token", special}, {"unk_token", special},
                              {"add_bos_token", true}, {"add_prefix_space", false},
                              {"model_max_length", context}};
  return j.dump(2) + "\n";
}

class ProgressLine {
 public:
  ProgressLine(int steps, bool quiet) : steps_(steps), quiet_(quiet), tty_(isatty(2) != 0) {}
  void step(int step, double loss, double tps, const TrainEval* eval) {
    if (quiet_) return;
    if (eval != nullptr) last_val_ = eval->val_loss;
    if (tty_) {
      const double eta = tps > 0 ? (steps_ - step) * tokens_per_step_ / tps : 0;
      std::fprintf(stderr, "\rstep %d/%d  loss %.4f  val %s  %.0f tok/s  eta %dm%02ds   ", step, steps_, loss,
                   last_val_ < 0 ? "-" : std::to_string(last_val_).substr(0, 6).c_str(), tps,
                   static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
      if (step == steps_) std::fprintf(stderr, "\n");
    } else if (eval != nullptr) {
      std::fprintf(stderr, "step %d/%d  train %.4f  val %.4f  lr %.2e  %.0f tok/s\n", step, steps_, eval->train_loss,
                   eval->val_loss, eval->lr, tps);
    }
    std::fflush(stderr);
  }
  void set_tokens_per_step(double t) { tokens_per_step_ = t; }
  void finish_line() {
    if (!quiet_ && tty_) std::fprintf(stderr, "\n");
  }

 private:
  int steps_;
  bool quiet_, tty_;
  double last_val_ = -1;
  double tokens_per_step_ = 0;
};

Status run(const Options& o) {
  TrainConfig c = o.config;
  // Check the output before spending minutes on training.
  const fs::path out(o.out);
  std::error_code ec;
  if (fs::exists(out, ec) && !o.force && !(fs::is_directory(out, ec) && fs::is_empty(out, ec)))
    return fail(o.out, ": already exists and is not empty (use --force to replace it)");
  const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec)) return fail(o.out, ": parent directory does not exist");
  if (access(parent.c_str(), W_OK) != 0) return fail(o.out, ": output directory is not writable");
  if (!(o.val_fraction > 0 && o.val_fraction < 0.5)) return fail("--val-fraction must be in (0, 0.5)");
  // The shape checks the plugin repeats, made here too so a typo fails before the corpus
  // is read and the tokenizer learned.
  if (c.arch != "gpt2" && c.arch != "llama") return fail("--arch: unknown architecture '", c.arch, "' (gpt2 or llama)");
  if (c.dim % c.heads != 0) return fail("--dim (", c.dim, ") must be a multiple of --heads (", c.heads, ")");
  if (c.arch == "llama" && (c.dim / c.heads) % 2 != 0) return fail("--arch llama needs an even head size (--dim / --heads)");

  SONIFY_ASSIGN_OR_RETURN(docs, read_corpus(o.corpus));
  std::vector<std::string> train_docs, val_docs;
  split_docs(docs, o.val_fraction, &train_docs, &val_docs);
  if (val_docs.empty()) return fail("the corpus has too few lines for a validation split (", docs.size(), ")");

  // Tokenizer: byte-level BPE learned from the training split only.
  const std::string special = "<|endoftext|>";
  SONIFY_ASSIGN_OR_RETURN(tok, train_tokenizer(train_docs, o.vocab_size, special));
  c.vocab = static_cast<int>(tok.vocab.tokens.size());
  c.bos_id = c.eos_id = tok.special_id;
  SONIFY_ASSIGN_OR_RETURN(train_ids, tok.encode_docs(train_docs));
  SONIFY_ASSIGN_OR_RETURN(val_ids, tok.encode_docs(val_docs));
  const auto window = static_cast<std::size_t>(c.context) + 1;
  if (train_ids.size() < window)
    return fail("the corpus is smaller than one context window: ", train_ids.size(), " training tokens, need ",
                window, " (lower --context or add text)");
  if (val_ids.size() < window)
    return fail("the validation split is smaller than one context window: ", val_ids.size(), " tokens, need ",
                window, " (raise --val-fraction, lower --context or add text)");

  SONIFY_ASSIGN_OR_RETURN(plugin, torch_plugin_open());
  if (plugin.train == nullptr) return fail("the libtorch plugin has no training entry point");

  if (c.warmup <= 0) c.warmup = std::max(1, c.steps / 20);  // recorded as the value used
  TrainRequest req;
  req.config = c;
  req.train_ids = std::move(train_ids);
  req.val_ids = std::move(val_ids);
  req.check_ids.assign(req.val_ids.begin(), req.val_ids.begin() + std::min<std::size_t>(c.context, 32));
  ProgressLine progress(c.steps, o.quiet);
  progress.set_tokens_per_step(static_cast<double>(c.batch) * c.context);
  req.progress = [&](int step, double loss, double tps, const TrainEval* e) { progress.step(step, loss, tps, e); };
  g_stop.store(false);
  req.stop = &g_stop;
  auto previous = std::signal(SIGINT, on_sigint);
  Result<TrainResult> trained = plugin.train(req);
  std::signal(SIGINT, previous);
  if (!trained.ok()) return trained.error();
  TrainResult& r = trained.value();
  if (r.interrupted) {
    progress.finish_line();
    std::fprintf(stderr, "sonify: interrupted at step %d of %d; saving what was trained\n", r.steps_done, c.steps);
  }
  if (r.steps_done == 0) return fail("interrupted before the first step; nothing saved");

  // Write everything into a temporary directory beside OUT, then rename it into place.
  fs::path tmp = out;
  tmp += ".partial-" + std::to_string(getpid());
  fs::remove_all(tmp, ec);
  if (!fs::create_directory(tmp, ec)) return fail(o.out, ": cannot create the output directory (", ec.message(), ")");
  struct Cleanup {
    fs::path p;
    bool keep = false;
    ~Cleanup() {
      std::error_code e;
      if (!keep) fs::remove_all(p, e);
    }
  } cleanup{tmp};

  std::vector<TensorDecl> decls;
  for (const NamedTensor& t : r.tensors) decls.push_back({t.name, DType::F32, t.shape});
  SONIFY_TRY(safetensors_write((tmp / "model.safetensors").string(), decls, {{"format", "pt"}},
                               [&](std::size_t i, unsigned char* dst, std::size_t nbytes) {
                                 std::memcpy(dst, r.tensors[i].data.data(), nbytes);
                               }));
  SONIFY_TRY(write_file_atomic((tmp / "config.json").string(), config_json(c)));
  SONIFY_TRY(write_file_atomic((tmp / "tokenizer.json").string(), tok.json));
  SONIFY_TRY(write_file_atomic((tmp / "tokenizer_config.json").string(), tokenizer_config_json(special, c.context)));

  const double baseline = unigram_loss(req.train_ids, req.val_ids, c.vocab);
  nlohmann::ordered_json hist = nlohmann::ordered_json::array();
  for (const TrainEval& e : r.history)
    hist.push_back({{"step", e.step}, {"train_loss", e.train_loss}, {"val_loss", e.val_loss}, {"lr", e.lr},
                    {"seconds", e.seconds}});
  const BlasInfo blas = blas_probe();
  nlohmann::ordered_json log = {
      {"command", o.command_line},
      {"corpus", o.corpus},
      {"documents", {{"train", train_docs.size()}, {"validation", val_docs.size()}}},
      {"tokens", {{"train", req.train_ids.size()}, {"validation", req.val_ids.size()}}},
      {"tokenizer", {{"type", "byte-level BPE"}, {"vocab_size", c.vocab}, {"merges", tok.vocab.merges.size()}}},
      {"config",
       {{"arch", c.arch}, {"layers", c.layers}, {"dim", c.dim}, {"heads", c.heads}, {"context", c.context},
        {"steps", c.steps}, {"batch", c.batch}, {"lr", c.lr}, {"warmup", c.warmup}, {"min_lr_ratio", c.min_lr_ratio},
        {"weight_decay", c.weight_decay}, {"grad_clip", c.grad_clip}, {"seed", c.seed}}},
      {"parameters", r.parameters},
      {"steps_done", r.steps_done},
      {"interrupted", r.interrupted},
      {"seconds", r.seconds},
      {"tokens_per_second", r.tokens_per_second},
      {"threads", r.threads},
      {"blas", blas.kind},
      {"final_train_loss", r.history.empty() ? 0.0 : r.history.back().train_loss},
      {"final_val_loss", r.history.empty() ? 0.0 : r.history.back().val_loss},
      {"unigram_val_loss", baseline},
      {"history", hist}};
  SONIFY_TRY(write_file_atomic((tmp / "training.json").string(), log.dump(2) + "\n"));
  // The logits of the in-memory model on the check ids, for the reload test.
  if (!o.save_check.empty())
  SONIFY_TRY(safetensors_write(o.save_check,
                               {{"check_ids", DType::I64, {static_cast<std::int64_t>(req.check_ids.size())}},
                                {"logits", DType::F32,
                                 {static_cast<std::int64_t>(req.check_ids.size()), static_cast<std::int64_t>(c.vocab)}}},
                               {},
                               [&](std::size_t i, unsigned char* dst, std::size_t nbytes) {
                                 if (i == 0) {
                                   for (std::size_t k = 0; k < req.check_ids.size(); ++k) {
                                     const std::int64_t v = req.check_ids[k];
                                     std::memcpy(dst + 8 * k, &v, 8);
                                   }
                                 } else {
                                   std::memcpy(dst, r.check_logits.data(), nbytes);
                                 }
                               }));

  if (fs::exists(out, ec)) fs::remove_all(out, ec);
  fs::rename(tmp, out, ec);
  if (ec) return fail(o.out, ": cannot move the trained model into place (", ec.message(), ")");
  cleanup.keep = true;
  if (!o.quiet) {
    std::fprintf(stderr, "trained %lld parameters for %d steps in %.1f s (%.0f tokens/s, %d threads, %s)\n",
                 static_cast<long long>(r.parameters), r.steps_done, r.seconds, r.tokens_per_second, r.threads,
                 blas.kind.c_str());
    std::fprintf(stderr, "validation loss %.4f nats/token (unigram baseline %.4f)\n",
                 r.history.empty() ? 0.0 : r.history.back().val_loss, baseline);
  }
  std::printf("%s\n", o.out.c_str());
  return {};
}

}  // namespace

void register_train(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("train", "Train a small transformer on text files (writes a Hugging Face model dir)");
  cmd->add_option("--corpus", o->corpus, "Text files, one document per line")->required()->expected(1, -1);
  cmd->add_option("-o,--out", o->out, "Output model directory")->required();
  cmd->add_option("--arch", o->config.arch, "gpt2 or llama")->capture_default_str();
  cmd->add_option("--layers", o->config.layers, "Transformer blocks")->capture_default_str()->check(CLI::Range(1, 64));
  cmd->add_option("--dim", o->config.dim, "Model width")->capture_default_str()->check(CLI::Range(8, 4096));
  cmd->add_option("--heads", o->config.heads, "Attention heads")->capture_default_str()->check(CLI::Range(1, 64));
  cmd->add_option("--context", o->config.context, "Context length in tokens")->capture_default_str()->check(CLI::Range(2, 4096));
  cmd->add_option("--vocab-size", o->vocab_size, "Byte-level BPE vocabulary size (257 = plain bytes)")
      ->capture_default_str()->check(CLI::Range(257, 65536));
  cmd->add_option("--steps", o->config.steps, "Optimizer steps")->capture_default_str()->check(CLI::Range(1, 10000000));
  cmd->add_option("--batch", o->config.batch, "Sequences per step")->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--lr", o->config.lr, "Peak learning rate (AdamW, warm-up then cosine)")->capture_default_str()
      ->check(CLI::Range(1e-7, 1.0));
  cmd->add_option("--warmup", o->config.warmup, "Warm-up steps (0: 5% of --steps)")->capture_default_str()->check(CLI::Range(0, 10000000));
  cmd->add_option("--val-fraction", o->val_fraction, "Share of documents held out for validation")->capture_default_str();
  cmd->add_option("--seed", o->config.seed, "Random seed (weights and batches)")->capture_default_str();
  cmd->add_option("--threads", o->config.threads, "Threads (0: all cores; the same count gives the same weights)")
      ->capture_default_str()->check(CLI::Range(0, 256));
  cmd->add_flag("--force", o->force, "Replace an existing output directory");
  cmd->add_flag("-q,--quiet", o->quiet, "No progress output");
  cmd->add_option("--save-check", o->save_check,
                  "Also write the in-memory model's logits on the first validation tokens (safetensors)")
      ->group("");
  cmd->callback([o, exit_code, &app] {
    o->command_line = "sonify train";
    for (const std::string& f : o->corpus) o->command_line += " --corpus " + f;
    const TrainConfig& c = o->config;
    std::ostringstream s;
    s << " --out " << o->out << " --arch " << c.arch << " --layers " << c.layers << " --dim " << c.dim << " --heads "
      << c.heads << " --context " << c.context << " --vocab-size " << o->vocab_size << " --steps " << c.steps
      << " --batch " << c.batch << " --lr " << c.lr << " --warmup " << c.warmup << " --val-fraction "
      << o->val_fraction << " --seed " << c.seed << " --threads " << c.threads;
    o->command_line += s.str();
    Status st = run(*o);
    if (!st.ok()) *exit_code = report(st.error());
  });
}

}  // namespace sonify::cli
