#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/atomic_file.h"
#include "core/output_set.h"
#include "pipeline/train_corpus.h"
#include "sonify/bpe_train.h"
#include "sonify/checkpoint_write.h"
#include "sonify/pipeline_train.h"
#include "sonify/system_probe.h"
#include "sonify/tokenizer.h"
#include "sonify/torch_info.h"
#include "sonify/utf8.h"

namespace sonify {
namespace {

namespace fs = std::filesystem;

// The tokenizer a run learns: byte-level BPE over the training documents.
struct TrainTokenizer {
  BpeVocabulary vocab;
  std::int32_t special_id = 0;  // <|endoftext|>: document separator, BOS and EOS
  std::string json;             // tokenizer.json text
  // The token stream of `docs`: each document preceded by the separator.
  Result<std::vector<std::int32_t>> encode_docs(const std::vector<std::string>& docs) const;
};

Result<TrainTokenizer> train_tokenizer(const std::vector<std::string>& docs, int vocab_size,
                                       const std::string& special) {
  SONIFY_ASSIGN_OR_RETURN(vocab, bpe_train(bpe_word_counts(docs), vocab_size, {special}));
  TrainTokenizer t;
  t.vocab = std::move(vocab);
  t.special_id = static_cast<std::int32_t>(t.vocab.tokens.size() - 1);
  t.json = bpe_tokenizer_json(t.vocab);
  return t;
}

Result<std::vector<std::int32_t>> TrainTokenizer::encode_docs(const std::vector<std::string>& docs) const {
  // The corpus is encoded by the same tokenizer that will read the saved tokenizer.json,
  // so the model trains on exactly the ids a prompt gets later.
  SONIFY_ASSIGN_OR_RETURN(tokenizer, Tokenizer::parse(json, "", "trained tokenizer.json"));
  EncodeOptions options;
  options.add_special_tokens = false;
  std::vector<std::int32_t> ids;
  for (const std::string& d : docs) {
    ids.push_back(special_id);
    SONIFY_ASSIGN_OR_RETURN(encoding, tokenizer.encode(d, options));
    ids.insert(ids.end(), encoding.ids.begin(), encoding.ids.end());
  }
  return ids;
}

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

void split_docs(const std::vector<std::string>& docs, double fraction, std::vector<std::string>* train,
                std::vector<std::string>* val) {
  for (std::size_t i = 0; i < docs.size(); ++i)
    (train_doc_to_validation(i, fraction) ? val : train)->push_back(docs[i]);
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

// The same for a bigram distribution smoothed toward the unigram one,
// P(b | a) = (count(a b) + alpha P(b)) / (count(a) + alpha), at the alpha of four that
// suits the validation tokens best: a strong baseline, so beating it means something.
double bigram_loss(const std::vector<std::int32_t>& train, const std::vector<std::int32_t>& val, int vocab) {
  std::vector<double> uni(vocab, 1.0);
  for (std::int32_t id : train) uni[id] += 1;
  const double total = static_cast<double>(train.size()) + vocab;
  for (double& u : uni) u /= total;
  std::vector<double> pair(static_cast<std::size_t>(vocab) * vocab, 0.0), from(vocab, 0.0);
  for (std::size_t i = 1; i < train.size(); ++i) {
    pair[static_cast<std::size_t>(train[i - 1]) * vocab + train[i]] += 1;
    from[train[i - 1]] += 1;
  }
  double best = std::numeric_limits<double>::infinity();
  for (double alpha : {0.1, 1.0, 10.0, 100.0}) {
    double loss = 0;
    for (std::size_t i = 1; i < val.size(); ++i) {
      const double c = pair[static_cast<std::size_t>(val[i - 1]) * vocab + val[i]];
      loss -= std::log((c + alpha * uni[val[i]]) / (from[val[i - 1]] + alpha));
    }
    best = std::min(best, loss / std::max<std::size_t>(1, val.size() - 1));
  }
  return best;
}

std::string config_json(const TrainConfig& c) {
  nlohmann::ordered_json j;
  if (c.arch == "gpt2") {
    j = {{"architectures", {"GPT2LMHeadModel"}},
         {"model_type", "gpt2"},
         {"vocab_size", c.vocab},
         {"n_positions", c.context},
         {"n_ctx", c.context},
         {"n_embd", c.dim},
         {"n_layer", c.layers},
         {"n_head", c.heads},
         {"n_inner", nullptr},
         {"activation_function", "gelu_new"},
         {"layer_norm_epsilon", c.norm_eps},
         {"resid_pdrop", 0.0},
         {"embd_pdrop", 0.0},
         {"attn_pdrop", 0.0},
         {"initializer_range", 0.02},
         {"scale_attn_weights", true},
         {"tie_word_embeddings", true},
         {"bos_token_id", c.bos_id},
         {"eos_token_id", c.eos_id},
         {"torch_dtype", "float32"}};
  } else {
    const int inter = ((8 * c.dim / 3) + 15) / 16 * 16;
    j = {{"architectures", {"LlamaForCausalLM"}},
         {"model_type", "llama"},
         {"vocab_size", c.vocab},
         {"hidden_size", c.dim},
         {"intermediate_size", inter},
         {"num_hidden_layers", c.layers},
         {"num_attention_heads", c.heads},
         {"num_key_value_heads", c.heads},
         {"max_position_embeddings", c.context},
         {"rms_norm_eps", c.norm_eps},
         {"rope_theta", c.rope_theta},
         {"hidden_act", "silu"},
         {"attention_bias", false},
         {"tie_word_embeddings", true},
         {"bos_token_id", c.bos_id},
         {"eos_token_id", c.eos_id},
         {"torch_dtype", "float32"}};
  }
  return j.dump(2) + "\n";
}

std::string tokenizer_config_json(const std::string& special, int context) {
  nlohmann::ordered_json j = {{"tokenizer_class", "GPT2Tokenizer"},
                              {"bos_token", special},
                              {"eos_token", special},
                              {"unk_token", special},
                              {"add_bos_token", true},
                              {"add_prefix_space", false},
                              {"model_max_length", context}};
  return j.dump(2) + "\n";
}

// The command line that reproduces the run, recorded in training.json.
std::string command_line(const TrainRunRequest& o) {
  std::ostringstream s;
  s << "sonify train";
  for (const std::string& f : o.corpus) s << " --corpus " << f;
  for (const std::string& f : o.midi) s << " --midi " << f;
  const TrainConfig& c = o.config;
  s << " --out " << o.out << " --arch " << c.arch << " --layers " << c.layers << " --dim " << c.dim
    << " --heads " << c.heads << " --context " << c.context;
  if (o.midi.empty()) s << " --vocab-size " << o.vocab_size;
  s << " --steps " << c.steps << " --batch " << c.batch << " --lr " << c.lr << " --warmup " << c.warmup
    << " --val-fraction " << o.val_fraction << " --seed " << c.seed << " --threads " << c.threads;
  return s.str();
}

// Where `out` will be made: it must be creatable (missing parents are, like every -o
// DIR), so the nearest existing ancestor must be a writable directory.
Status check_output(const TrainRunRequest& o) {
  const fs::path out(o.out);
  std::error_code ec;
  if (fs::exists(out, ec) && !o.force && !(fs::is_directory(out, ec) && fs::is_empty(out, ec)))
    return fail(o.out, ": already exists and is not empty (use --force to replace it)");
  fs::path existing = fs::absolute(out, ec).parent_path();
  while (!fs::exists(existing, ec) && existing.has_parent_path() && existing != existing.parent_path())
    existing = existing.parent_path();
  if (!fs::is_directory(existing, ec)) return fail(o.out, ": ", existing.string(), " is not a directory");
  if (access(existing.c_str(), W_OK) != 0) return fail(o.out, ": output directory is not writable");
  return Status::Ok();
}

// training.json: how the run was made (command, corpus, tokenizer, configuration) and
// what it gave (loss history, final losses against the unigram baseline, speed).
std::string training_log(const TrainRunRequest& o, const TrainConfig& c, const TrainRequest& req,
                         const TrainResult& r, const TrainCorpus& corpus, const std::string& blas,
                         double unigram, double bigram) {
  nlohmann::ordered_json hist = nlohmann::ordered_json::array();
  for (const TrainEval& e : r.history)
    hist.push_back({{"step", e.step},
                    {"train_loss", e.train_loss},
                    {"val_loss", e.val_loss},
                    {"lr", e.lr},
                    {"seconds", e.seconds}});
  nlohmann::ordered_json log = {
      {"command", command_line(o)},
      {"corpus", o.midi.empty() ? o.corpus : o.midi},
      {"documents", {{"train", corpus.docs_train}, {"validation", corpus.docs_val}}},
      {"tokens", {{"train", req.train_ids.size()}, {"validation", req.val_ids.size()}}},
      {"tokenizer", corpus.tokenizer_log},
      {"config",
       {{"arch", c.arch},
        {"layers", c.layers},
        {"dim", c.dim},
        {"heads", c.heads},
        {"context", c.context},
        {"steps", c.steps},
        {"batch", c.batch},
        {"lr", c.lr},
        {"warmup", c.warmup},
        {"min_lr_ratio", c.min_lr_ratio},
        {"weight_decay", c.weight_decay},
        {"grad_clip", c.grad_clip},
        {"seed", c.seed}}},
      {"parameters", r.parameters},
      {"steps_done", r.steps_done},
      {"interrupted", r.interrupted},
      {"seconds", r.seconds},
      {"tokens_per_second", r.tokens_per_second},
      {"threads", r.threads},
      {"blas", blas},
      {"final_train_loss", r.history.empty() ? 0.0 : r.history.back().train_loss},
      {"final_val_loss", r.history.empty() ? 0.0 : r.history.back().val_loss},
      {"unigram_val_loss", unigram},
      {"bigram_val_loss", bigram},
      {"history", hist}};
  if (!o.midi.empty()) log["midi"] = corpus.midi_log;
  return log.dump(2) + "\n";
}

// The logits of the in-memory model on the check ids, for the reload test.
Status save_check(const std::string& path, const std::vector<std::int32_t>& check_ids,
                  const std::vector<float>& logits, int vocab) {
  const auto n = static_cast<std::int64_t>(check_ids.size());
  return safetensors_write(path, {{"check_ids", DType::I64, {n}}, {"logits", DType::F32, {n, vocab}}}, {},
                           [&](std::size_t i, unsigned char* dst, std::size_t nbytes) {
                             if (i == 0) {
                               for (std::size_t k = 0; k < check_ids.size(); ++k) {
                                 const std::int64_t v = check_ids[k];
                                 std::memcpy(dst + 8 * k, &v, 8);
                               }
                             } else {
                               std::memcpy(dst, logits.data(), nbytes);
                             }
                           });
}

// Text files → byte-level BPE learned from the training split → token streams.
Result<TrainCorpus> text_train_corpus(const TrainRunRequest& o) {
  SONIFY_ASSIGN_OR_RETURN(docs, read_corpus(o.corpus));
  std::vector<std::string> train_docs, val_docs;
  split_docs(docs, o.val_fraction, &train_docs, &val_docs);
  if (val_docs.empty())
    return fail("the corpus has too few lines for a validation split (", docs.size(), ")");
  const std::string special = "<|endoftext|>";
  SONIFY_ASSIGN_OR_RETURN(tok, train_tokenizer(train_docs, o.vocab_size, special));
  TrainCorpus corpus;
  corpus.vocab = static_cast<int>(tok.vocab.tokens.size());
  corpus.bos_id = corpus.eos_id = tok.special_id;
  corpus.docs_train = train_docs.size();
  corpus.docs_val = val_docs.size();
  SONIFY_ASSIGN_OR_RETURN(train_ids, tok.encode_docs(train_docs));
  SONIFY_ASSIGN_OR_RETURN(val_ids, tok.encode_docs(val_docs));
  corpus.train_ids = std::move(train_ids);
  corpus.val_ids = std::move(val_ids);
  const auto window = static_cast<std::size_t>(o.config.context) + 1;
  if (corpus.train_ids.size() < window)
    return fail("the corpus is smaller than one context window: ", corpus.train_ids.size(),
                " training tokens, need ", window, " (lower --context or add text)");
  if (corpus.val_ids.size() < window)
    return fail("the validation split is smaller than one context window: ", corpus.val_ids.size(),
                " tokens, need ", window, " (raise --val-fraction, lower --context or add text)");
  corpus.files = {{"tokenizer.json", tok.json},
                  {"tokenizer_config.json", tokenizer_config_json(special, o.config.context)}};
  corpus.tokenizer_log = {
      {"type", "byte-level BPE"}, {"vocab_size", corpus.vocab}, {"merges", tok.vocab.merges.size()}};
  return corpus;
}

}  // namespace

bool train_doc_to_validation(std::size_t i, double fraction) {
  return std::floor((i + 1) * fraction) > std::floor(i * fraction);
}

Result<TrainRun> run_train(const TrainRunRequest& o) {
  TrainConfig c = o.config;
  // Check the output before spending minutes on training.
  SONIFY_TRY(check_output(o));
  if (!(o.val_fraction > 0 && o.val_fraction < 0.5)) return fail("--val-fraction must be in (0, 0.5)");
  // The shape checks the plugin repeats, made here too so a typo fails before the corpus
  // is read and the tokenizer learned.
  if (c.arch != "gpt2" && c.arch != "llama")
    return fail("--arch: unknown architecture '", c.arch, "' (gpt2 or llama)");
  if (c.dim % c.heads != 0) return fail("--dim (", c.dim, ") must be a multiple of --heads (", c.heads, ")");
  if (c.arch == "llama" && (c.dim / c.heads) % 2 != 0)
    return fail("--arch llama needs an even head size (--dim / --heads)");

  if (o.corpus.empty() == o.midi.empty()) return fail("give either --corpus (text) or --midi (MIDI files)");
  SONIFY_ASSIGN_OR_RETURN(corpus, o.midi.empty() ? text_train_corpus(o) : midi_train_corpus(o));
  c.vocab = corpus.vocab;
  c.bos_id = corpus.bos_id;
  c.eos_id = corpus.eos_id;

  SONIFY_ASSIGN_OR_RETURN(plugin, torch_plugin_open());
  if (plugin.train == nullptr) return fail("the libtorch plugin has no training entry point");

  if (c.warmup <= 0) c.warmup = std::max(1, c.steps / 20);  // recorded as the value used
  TrainRequest req;
  req.config = c;
  req.train_ids = corpus.train_ids;
  req.val_ids = corpus.val_ids;
  req.check_ids.assign(req.val_ids.begin(), req.val_ids.begin() + std::min<std::size_t>(c.context, 32));
  req.progress = o.progress;
  req.stop = o.stop;
  SONIFY_ASSIGN_OR_RETURN(r, plugin.train(req));
  if (r.steps_done == 0) return fail("interrupted before the first step; nothing saved");

  // Write everything into a temporary directory beside OUT, then rename it into place.
  const fs::path out(o.out);
  std::error_code ec;
  SONIFY_TRY(ensure_output_dir(out.has_parent_path() ? out.parent_path().string() : std::string(".")));
  fs::path tmp = out;
  tmp += ".partial-" + std::to_string(getpid());
  fs::remove_all(tmp, ec);
  if (!fs::create_directory(tmp, ec))
    return fail(o.out, ": cannot create the output directory (", ec.message(), ")");
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
  for (const auto& [name, text] : corpus.files) SONIFY_TRY(write_file_atomic((tmp / name).string(), text));

  const double unigram = unigram_loss(req.train_ids, req.val_ids, c.vocab);
  const double bigram = bigram_loss(req.train_ids, req.val_ids, c.vocab);
  const double val_loss = r.history.empty() ? 0.0 : r.history.back().val_loss;
  const BlasInfo blas = blas_probe();
  const std::string log = training_log(o, c, req, r, corpus, blas.kind, unigram, bigram);
  SONIFY_TRY(write_file_atomic((tmp / "training.json").string(), log));
  if (!o.midi.empty())
    SONIFY_TRY(write_file_atomic(
        (tmp / "MODEL_CARD.md").string(),
        midi_model_card(o, c, corpus, r.parameters, r.steps_done, val_loss, unigram, bigram)));
  if (!o.save_check.empty()) SONIFY_TRY(save_check(o.save_check, req.check_ids, r.check_logits, c.vocab));
  if (fs::exists(out, ec)) fs::remove_all(out, ec);
  fs::rename(tmp, out, ec);
  if (ec) return fail(o.out, ": cannot move the trained model into place (", ec.message(), ")");
  cleanup.keep = true;
  TrainRun run;
  run.parameters = r.parameters;
  run.steps = c.steps;
  run.steps_done = r.steps_done;
  run.interrupted = r.interrupted;
  run.seconds = r.seconds;
  run.tokens_per_second = r.tokens_per_second;
  run.threads = r.threads;
  run.blas = blas.kind;
  run.final_val_loss = val_loss;
  run.unigram_val_loss = unigram;
  run.bigram_val_loss = bigram;
  run.midi_files = corpus.midi_files;
  run.midi_skipped = corpus.midi_skipped;
  return run;
}

}  // namespace sonify
