// The forward pass against other people's code: llama2.c (TinyStories-656K), nanoGPT
// (tiny GPT-2), gemma_pytorch (tiny Gemma 3) from ../shared/fixtures/reference, and a
// float64 numpy forward (tests/oracles/forward_llama.py) for a Phi-3 checkpoint with
// fused projections. Built only with SONIFY_WITH_TORCH.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "sonify/checkpoint.h"
#include "sonify/runtime.h"
#include "test_support.h"

using namespace sonify;
using nlohmann::json;
using sonify::test::fixtures_dir;
using sonify::test::read_file;
using sonify::test::run_program;
using sonify::test::run_sonify;
using sonify::test::TempDir;
using sonify::test::write_file;

namespace {

// The plugin sits beside the sonify binary, not beside the test.
struct PluginDir {
  PluginDir() { setenv("SONIFY_PLUGIN_DIR", SONIFY_PLUGIN_DIR, 1); }
} plugin_dir;

json reference(const std::string& name) {
  return json::parse(read_file(fixtures_dir() + "/reference/" + name));
}

std::string model_dir(const std::string& name) { return fixtures_dir() + "/models/" + name; }

// Flattens a nested JSON array of numbers row-major.
void flatten(const json& j, std::vector<double>* out) {
  if (j.is_array())
    for (const auto& e : j) flatten(e, out);
  else
    out->push_back(j.get<double>());
}

// Largest |a - b| over two arrays of equal size.
double max_abs_diff(const std::vector<float>& ours, const json& expected) {
  std::vector<double> ref;
  flatten(expected, &ref);
  REQUIRE(ours.size() == ref.size());
  double worst = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(ours[i] - ref[i]));
  return worst;
}

std::vector<std::int64_t> ids_of(const json& c) { return c["token_ids"].get<std::vector<std::int64_t>>(); }

std::vector<float> stack(const std::vector<Activation>& layers) {
  std::vector<float> out;
  for (const auto& a : layers) out.insert(out.end(), a.values.begin(), a.values.end());
  return out;
}

std::string join(const std::vector<std::int64_t>& ids) {
  std::string s;
  for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s;
}

}  // namespace

TEST_CASE("llama2.c: TinyStories-656K logits at every position and the 40-token greedy path") {
  const json ref = reference("tinystories-656k.json");
  auto model = Model::open(model_dir("TinyStories-656K"));
  REQUIRE(model.ok());
  auto runtime = runtime_open(*model);
  INFO((runtime.ok() ? "" : runtime.error().message));
  REQUIRE(runtime.ok());
  CaptureRequest request;
  request.logits = LogitPositions::All;
  for (const auto& c : ref["cases"]) {
    INFO(c["name"].get<std::string>());
    auto trace = (*runtime)->forward(ids_of(c), request);
    REQUIRE(trace.ok());
    CHECK(trace->logits.shape ==
          std::vector<std::int64_t>{static_cast<std::int64_t>(c["token_ids"].size()), 2048});
    CHECK(max_abs_diff(trace->logits.values, c["logits"]) <= 1e-4);
    GenerateOptions greedy;
    greedy.max_tokens = 40;
    greedy.stop_at_eos = false;
    auto generation = generate(**runtime, ids_of(c), greedy);
    REQUIRE(generation.ok());
    CHECK(generation->ids == c["greedy_continuation_ids"].get<std::vector<std::int64_t>>());
    CHECK(generation->stop_reason == "max_tokens");
  }
}

TEST_CASE("nanoGPT: tiny GPT-2 hidden states, attention probabilities and logits through sonify trace") {
  const json ref = reference("tiny-gpt2-random.json");
  for (const auto& c : ref["cases"]) {
    INFO(c["name"].get<std::string>());
    TempDir dir;
    const std::string out = dir.file("trace.safetensors");
    auto r = run_sonify({"trace", "--model", model_dir("tiny-gpt2-random"), "--ids", join(ids_of(c)),
                         "--logits", "all", "-o", out});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto file = Checkpoint::open_file(out);
    REQUIRE(file.ok());
    auto get = [&](const std::string& name) {
      const TensorInfo* info = file->find(name);
      REQUIRE(info != nullptr);
      return file->to_f32(*info).value();
    };
    CHECK(max_abs_diff(get("hook_embed"), c["hidden_after_embeddings"]) <= 1e-4);
    std::vector<float> resid, pattern;
    for (int l = 0; l < 3; ++l) {
      const auto h = get("blocks." + std::to_string(l) + ".hook_resid_post");
      const auto p = get("blocks." + std::to_string(l) + ".attn.hook_pattern");
      resid.insert(resid.end(), h.begin(), h.end());
      pattern.insert(pattern.end(), p.begin(), p.end());
      CHECK(file->find("blocks." + std::to_string(l) + ".mlp.hook_post")->shape ==
            std::vector<std::int64_t>{static_cast<std::int64_t>(c["token_ids"].size()), 256});
    }
    CHECK(max_abs_diff(resid, c["hidden_after_block"]) <= 1e-4);
    CHECK(max_abs_diff(pattern, c["attention_probs"]) <= 1e-5);
    CHECK(max_abs_diff(get("logits"), c["logits"]) <= 1e-4);
    const TensorInfo* ids = file->find("token_ids");
    REQUIRE(ids != nullptr);
    CHECK(ids->dtype == DType::I64);
    std::vector<std::int64_t> stored(static_cast<std::size_t>(ids->numel()));
    std::memcpy(stored.data(), file->bytes(*ids).data, ids->nbytes);
    CHECK(stored == ids_of(c));
    const json sidecar = json::parse(read_file(dir.file("trace.json")));
    CHECK(sidecar["tensors"]["blocks.2.mlp.hook_post"]["hf_module"] == "transformer.h.2.mlp.act (output)");
    CHECK(sidecar["tensors"]["hook_embed"]["shape"] == json::array({c["token_ids"].size(), 64}));
  }
}

TEST_CASE("gemma_pytorch: tiny Gemma 3 hidden states and logits, sliding and global layers") {
  const json ref = reference("tiny-gemma3-random.json");
  auto model = Model::open(model_dir("tiny-gemma3-random"));
  REQUIRE(model.ok());
  auto runtime = runtime_open(*model);
  REQUIRE(runtime.ok());
  for (const auto& c : ref["cases"]) {
    INFO(c["name"].get<std::string>());
    auto trace = (*runtime)->forward(ids_of(c), CaptureRequest::all());
    REQUIRE(trace.ok());
    CHECK(max_abs_diff(trace->embed.values, c["hidden_after_embeddings"]) <= 1e-4);
    CHECK(max_abs_diff(stack(trace->resid_post), c["hidden_after_layer"]) <= 1e-4);
    CHECK(max_abs_diff(trace->logits.values, c["logits"]) <= 1e-4);
    REQUIRE(trace->attn_pattern.size() == 4);
    // Sliding layer 0 (window 4): the last query sees exactly its 4 nearest keys.
    const auto& p = trace->attn_pattern[0];
    const std::int64_t t = p.shape[1];
    for (std::int64_t k = 0; k < t; ++k) {
      const float v = p.values[static_cast<std::size_t>((t - 1) * t + k)];
      if (k <= t - 1 - 4)
        CHECK(v == 0.0f);
      else
        CHECK(v > 0.0f);
    }
  }
}

TEST_CASE("KV-cache decoding equals a full forward, across Gemma 3's sliding window") {
  const json ref = reference("tiny-gemma3-random.json");
  const auto ids = ids_of(ref["cases"][1]);
  auto model = Model::open(model_dir("tiny-gemma3-random"));
  REQUIRE(model.ok());
  auto runtime = runtime_open(*model);
  REQUIRE(runtime.ok());
  Runtime& rt = **runtime;
  rt.reset();
  auto first = rt.extend({ids.begin(), ids.begin() + 3});
  REQUIRE(first.ok());
  std::vector<float> stepwise = *first;
  for (std::size_t i = 3; i < ids.size(); ++i) {
    auto next = rt.extend({ids[i]});
    REQUIRE(next.ok());
    CHECK(rt.cached_tokens() == static_cast<std::int64_t>(i + 1));
    if (i + 1 == ids.size()) stepwise = *next;
  }
  std::vector<float> last_row(ref["cases"][1]["logits"].back().begin(),
                              ref["cases"][1]["logits"].back().end());
  double worst = 0;
  for (std::size_t v = 0; v < last_row.size(); ++v)
    worst = std::max(worst, double(std::abs(stepwise[v] - last_row[v])));
  CHECK(worst <= 1e-4);
  // forward() neither uses nor disturbs the cache.
  auto trace = rt.forward(ids, CaptureRequest{});
  REQUIRE(trace.ok());
  CHECK(rt.cached_tokens() == static_cast<std::int64_t>(ids.size()));
  CHECK(trace->logits.shape == std::vector<std::int64_t>{1, 300});
  CHECK(trace->resid_post.empty());
  CHECK(trace->attn_pattern.empty());
  CHECK(trace->embed.empty());
}

TEST_CASE(
    "generate with a capture: each token's hidden states from its KV-cached step are a full forward's rows") {
  // The monitor's --direction score reads them (issue 16): one cached step per token instead
  // of a forward pass over the whole sequence. Rounding differs (a 1-row query against cached
  // keys instead of the whole sequence's product), so equal within a float32 tolerance.
  const std::string bundled = std::string(SONIFY_SOURCE_DIR) + "/data/models/sonify-tiny";
  for (const std::string& path : {model_dir("TinyStories-656K"), bundled, model_dir("tiny-gemma3-random"),
                                  model_dir("tiny-gpt2-random")}) {
    INFO(path);
    auto model = Model::open(path);
    REQUIRE(model.ok());
    auto runtime = runtime_open(*model);
    REQUIRE(runtime.ok());
    Runtime& rt = **runtime;
    GenerateOptions greedy;
    greedy.max_tokens = 24;
    greedy.stop_at_eos = false;
    const std::vector<std::int64_t> prompt = {1, 5, 9};
    std::vector<std::vector<float>> rows;  // per token: embed then every resid_post, [1, D] each
    TokenObserver observer;
    observer.capture.embed = true;
    observer.capture.resid_post = true;
    observer.on_token = [&](const TokenStep& step) -> Result<bool> {
      REQUIRE(step.appended != nullptr);
      CHECK(step.appended->token_ids == std::vector<std::int64_t>{step.id});
      CHECK(step.appended->embed.shape == std::vector<std::int64_t>{1, rt.spec().hidden_size});
      std::vector<float> r = step.appended->embed.values;
      for (const Activation& a : step.appended->resid_post)
        r.insert(r.end(), a.values.begin(), a.values.end());
      rows.push_back(std::move(r));
      return true;
    };
    auto observed = generate(rt, prompt, greedy, observer);
    REQUIRE(observed.ok());
    REQUIRE(rows.size() == 24);
    CHECK(rt.cached_tokens() == 3 + 24);  // a step ran for the last token too
    auto plain = generate(rt, prompt, greedy);
    REQUIRE(plain.ok());
    CHECK(observed->ids == plain->ids);  // capturing does not change what is generated
    CHECK(rt.cached_tokens() == 3 + 23);
    std::vector<std::int64_t> all = prompt;
    all.insert(all.end(), observed->ids.begin(), observed->ids.end());
    CaptureRequest request;
    request.embed = true;
    request.resid_post = true;
    request.logits = LogitPositions::None;
    auto full = rt.forward(all, request);
    REQUIRE(full.ok());
    const auto width = static_cast<std::size_t>(rt.spec().hidden_size);
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const std::size_t at = (prompt.size() + i) * width;
      std::vector<float> want(full->embed.values.begin() + at, full->embed.values.begin() + at + width);
      for (const Activation& a : full->resid_post)
        want.insert(want.end(), a.values.begin() + at, a.values.begin() + at + width);
      REQUIRE(rows[i].size() == want.size());
      for (std::size_t k = 0; k < want.size(); ++k) {
        worst = std::max(worst, double(std::abs(rows[i][k] - want[k])));
        scale = std::max(scale, double(std::abs(want[k])));
      }
    }
    INFO("largest |cached - full| " << worst << " of values up to " << scale);
    CHECK(worst <= 1e-5 * std::max(1.0, scale));
  }
}

TEST_CASE("generate with a capture at the context limit: the token chosen with the cache full has no step") {
  auto model = Model::open(std::string(SONIFY_SOURCE_DIR) + "/data/models/sonify-tiny");
  REQUIRE(model.ok());
  auto runtime = runtime_open(*model);
  REQUIRE(runtime.ok());
  REQUIRE((*runtime)->spec().context_length == 128);
  const std::vector<std::int64_t> prompt(120, 11);
  GenerateOptions greedy;
  greedy.max_tokens = 20;
  greedy.stop_at_eos = false;
  std::vector<bool> had_step;
  TokenObserver observer;
  observer.capture.resid_post = true;
  observer.on_token = [&](const TokenStep& step) -> Result<bool> {
    had_step.push_back(step.appended != nullptr);
    return true;
  };
  auto g = generate(**runtime, prompt, greedy, observer);
  REQUIRE(g.ok());
  CHECK(g->stop_reason == "context");
  // Tokens 1..8 fill the cache to 128; the 9th is chosen from it and cannot be appended.
  CHECK(had_step == std::vector<bool>{true, true, true, true, true, true, true, true, false});
  CHECK((*runtime)->cached_tokens() == 128);
  auto plain = generate(**runtime, prompt, greedy);
  REQUIRE(plain.ok());
  CHECK(plain->ids == g->ids);
  CHECK(plain->stop_reason == "context");
}

TEST_CASE("Phi-3 with fused qkv and gate_up matches a float64 numpy forward past its sliding window") {
  TempDir dir;
  const std::string oracles = std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/";
  REQUIRE(
      run_program({"/usr/bin/python3", oracles + "role_tensors.py", "--make-phi3", dir.path()}).exit_code ==
      0);
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 80; ++i) ids.push_back((i * 37 + 5) % 100);  // 80 > sliding_window 64
  auto oracle = run_program({"/usr/bin/python3", oracles + "forward_llama.py", dir.path(), join(ids)});
  INFO(oracle.err);
  REQUIRE(oracle.exit_code == 0);
  const json expected = json::parse(oracle.out)["logits"];
  auto model = Model::open(dir.path());
  REQUIRE(model.ok());
  auto runtime = runtime_open(*model);
  REQUIRE(runtime.ok());
  CaptureRequest request;
  request.logits = LogitPositions::All;
  auto trace = (*runtime)->forward(ids, request);
  REQUIRE(trace.ok());
  std::vector<double> ref;
  flatten(expected, &ref);
  double scale = 0;
  for (double v : ref) scale = std::max(scale, std::abs(v));
  // The weights are N(0, 1), so logits reach ~20: compare relative to their range.
  CHECK(max_abs_diff(trace->logits.values, expected) <= 2e-5 * scale);
}

TEST_CASE("sampling is reproducible from its seed and recorded by generate --json") {
  auto model = Model::open(model_dir("TinyStories-656K"));
  REQUIRE(model.ok());
  auto runtime = runtime_open(*model);
  REQUIRE(runtime.ok());
  GenerateOptions sample;
  sample.max_tokens = 20;
  sample.temperature = 1.0;
  sample.top_k = 50;
  sample.stop_at_eos = false;
  sample.seed = 7;
  const std::vector<std::int64_t> prompt = {1, 403, 1261};
  auto a = generate(**runtime, prompt, sample);
  auto b = generate(**runtime, prompt, sample);
  sample.seed = 8;
  auto c = generate(**runtime, prompt, sample);
  REQUIRE((a.ok() && b.ok() && c.ok()));
  CHECK(a->ids == b->ids);
  CHECK(a->ids != c->ids);
  auto r =
      run_sonify({"generate", "--model", model_dir("TinyStories-656K"), "--ids", "1,403,1261", "--max-tokens",
                  "20", "--temperature", "1", "--top-k", "50", "--seed", "7", "--no-stop", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json j = json::parse(r.out);
  CHECK(j["seed"] == 7);
  CHECK(j["ids"].get<std::vector<std::int64_t>>() == a->ids);
}

TEST_CASE("generate stops at EOS unless told otherwise") {
  // The greedy path of bos_once_upon_a_time emits EOS (id 2) within 40 tokens iff the
  // reference says so; either way the stop reason must agree with the ids.
  const json ref = reference("tinystories-656k.json");
  const auto greedy = ref["cases"][0]["greedy_continuation_ids"].get<std::vector<std::int64_t>>();
  auto r = run_sonify({"generate", "--model", model_dir("TinyStories-656K"), "--ids",
                       join(ids_of(ref["cases"][0])), "--max-tokens", "40", "--json"});
  REQUIRE(r.exit_code == 0);
  const json j = json::parse(r.out);
  const auto ids = j["ids"].get<std::vector<std::int64_t>>();
  const auto eos = std::find(greedy.begin(), greedy.end(), 2);
  if (eos == greedy.end()) {
    CHECK(ids == greedy);
    CHECK(j["stop_reason"] == "max_tokens");
  } else {
    CHECK(ids == std::vector<std::int64_t>(greedy.begin(), eos + 1));
    CHECK(j["stop_reason"] == "eos");
  }
}

TEST_CASE("trace --top-k prints the last position's most likely ids, and --truncate keeps the first ids") {
  TempDir dir;
  std::vector<std::int64_t> long_prompt(70, 9);
  auto r = run_sonify({"trace", "--model", model_dir("tiny-gpt2-random"), "--ids", join(long_prompt),
                       "--truncate", "--top-k", "3", "--json", "-o", dir.file("t.safetensors")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json j = json::parse(r.out);
  CHECK(j["tokens"] == 64);
  REQUIRE(j["top_k"].size() == 3);
  CHECK(j["top_k"][0]["logit"].get<double>() >= j["top_k"][1]["logit"].get<double>());
  CHECK(r.err.find("truncat") != std::string::npos);
  // The top id is the argmax of the stored last-position logits.
  auto file = Checkpoint::open_file(dir.file("t.safetensors"));
  REQUIRE(file.ok());
  const auto logits = file->to_f32(*file->find("logits")).value();
  REQUIRE(logits.size() == 512);
  CHECK(j["top_k"][0]["id"] == std::max_element(logits.begin(), logits.end()) - logits.begin());
}

TEST_CASE("BF16 Llama: last-position logits and a KV-cache step match the numpy forward") {
  // vocab 3000 is not a multiple of the head's conversion block (2048 rows when few
  // positions are asked for), so the partial last block is exercised.
  TempDir dir;
  write_file(dir.file("config.json"), R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
    "intermediate_size": 96, "vocab_size": 3000, "max_position_embeddings": 128, "num_attention_heads": 4,
    "num_key_value_heads": 2, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": false})");
  const std::string model_path = dir.file("model");
  auto made = run_sonify({"synth-checkpoint", "--arch", dir.file("config.json"), "--dtype", "BF16", "--seed",
                          "3", "-o", model_path});
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 12; ++i) ids.push_back((i * 997 + 11) % 3000);
  auto oracle =
      run_program({"/usr/bin/python3", std::string(SONIFY_SOURCE_DIR) + "/tests/oracles/forward_llama.py",
                   model_path, join(ids)});
  INFO(oracle.err);
  REQUIRE(oracle.exit_code == 0);
  const json expected = json::parse(oracle.out)["logits"];
  auto model = Model::open(model_path);
  REQUIRE(model.ok());
  auto runtime = runtime_open(*model);
  REQUIRE(runtime.ok());
  auto trace = (*runtime)->forward(ids, CaptureRequest{});
  REQUIRE(trace.ok());
  CHECK(max_abs_diff(trace->logits.values, expected.back()) <= 1e-4);
  // Decoding: prefill all but the last id, then one cached step.
  (*runtime)->reset();
  REQUIRE((*runtime)->extend({ids.begin(), ids.end() - 1}).ok());
  auto step = (*runtime)->extend({ids.back()});
  REQUIRE(step.ok());
  CHECK(max_abs_diff(*step, expected.back()) <= 1e-4);
}

TEST_CASE("trace files are byte-identical across runs and thread counts") {
  TempDir dir;
  std::vector<std::string> files;
  for (const std::string threads : {"1", "2", "2"}) {
    const std::string out = dir.file("t" + std::to_string(files.size()) + ".safetensors");
    auto r = run_sonify({"trace", "--model", model_dir("tiny-gemma3-random"), "--ids", "2,5,9,200,17,3,3,8",
                         "--logits", "all", "--threads", threads, "-o", out});
    REQUIRE(r.exit_code == 0);
    files.push_back(read_file(out));
  }
  CHECK(files[0] == files[1]);
  CHECK(files[1] == files[2]);
}

// Before the runtime split its products itself, OpenBLAS's own threading changed the last
// bits with the thread count (TinyStories-656K's MLP from the first layer on).
TEST_CASE("a forward pass and KV-cache decoding give the same bits with 1, 2 and 3 threads") {
  for (const std::string name : {"TinyStories-656K", "tiny-gpt2-random", "tiny-gemma3-random"}) {
    auto model = Model::open(model_dir(name));
    REQUIRE(model.ok());
    const ModelSpec& spec = model->spec();
    std::vector<std::int64_t> ids;
    for (std::int64_t i = 0; i < std::min<std::int64_t>(200, spec.context_length - 4); ++i)
      ids.push_back((i * 37 + 11) % spec.vocab_size);
    std::vector<std::vector<float>> first;
    for (int threads : {1, 2, 3}) {
      RuntimeOptions options;
      options.threads = threads;
      auto runtime = runtime_open(*model, options);
      REQUIRE(runtime.ok());
      auto trace = (*runtime)->forward(ids, CaptureRequest::all());
      REQUIRE(trace.ok());
      std::vector<std::vector<float>> got = {stack(trace->resid_post), stack(trace->attn_pattern),
                                             stack(trace->mlp_post), trace->logits.values};
      REQUIRE((*runtime)->extend({ids.begin(), ids.end() - 2}).ok());
      for (std::int64_t id : {ids[ids.size() - 2], ids.back()}) {
        auto step = (*runtime)->extend({id});
        REQUIRE(step.ok());
        got.push_back(*step);
      }
      if (threads == 1) {
        first = got;
        continue;
      }
      INFO(name << " with " << threads << " threads");
      for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == first[i]);
    }
  }
}

TEST_CASE("text prompts: the tokenizer and the forward pass together reproduce llama2.c's greedy story") {
  // bos_once_upon_a_time came from text; sonify tokenizes the same text (adding BOS) and
  // must continue it exactly as run.c did.
  const json ref = reference("tinystories-656k.json");
  const json& c = ref["cases"][0];
  REQUIRE(c["bos_prepended"] == true);
  auto r = run_sonify({"generate", "--model", model_dir("TinyStories-656K"),
                       c["prompt_text"].get<std::string>(), "--max-tokens", "40", "--no-stop", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json j = json::parse(r.out);
  CHECK(j["prompt_ids"].get<std::vector<std::int64_t>>() == ids_of(c));
  CHECK(j["ids"].get<std::vector<std::int64_t>>() ==
        c["greedy_continuation_ids"].get<std::vector<std::int64_t>>());
  CHECK(j["text"].get<std::string>().size() > 40);
  // Without --json the decoded story is printed: prompt, then continuation.
  auto plain = run_sonify({"generate", "--model", model_dir("TinyStories-656K"),
                           c["prompt_text"].get<std::string>(), "--max-tokens", "40", "--no-stop"});
  REQUIRE(plain.exit_code == 0);
  CHECK(plain.out.rfind(c["prompt_text"].get<std::string>(), 0) == 0);
}
