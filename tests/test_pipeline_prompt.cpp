// run_prompt and run_album called directly (no subprocess) on the bundled sonify-tiny
// model and the TinyStories-656K fixture: the files they commit, the shared prompt
// options (ids, truncate), the composer's own provenance, and the album modes.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "sonify/activation.h"
#include "sonify/pipeline_album.h"
#include "sonify/pipeline_prompt.h"
#include "sonify/pipeline_tokens.h"
#include "sonify/system_probe.h"
#include "test_support.h"

using sonify::test::fixtures_dir;
using sonify::test::list_dir;
using sonify::test::read_file;
using sonify::test::TempDir;
using sonify::test::write_file;

namespace {

// The libtorch plugin beside the sonify binary, and a private cache per test binary.
struct Environment {
  Environment() {
    setenv("SONIFY_PLUGIN_DIR", SONIFY_PLUGIN_DIR, 1);
    setenv("XDG_CACHE_HOME", cache.path().c_str(), 1);
  }
  TempDir cache;
};
const Environment environment;

sonify::ActivationRequest activation(const std::string& model) {
  sonify::ActivationRequest r;
  r.model_path = model;
  r.data_dir = std::string(SONIFY_SOURCE_DIR) + "/data";
  r.pca_sentences = 64;
  r.midi_only = true;
  return r;
}

std::string bundled() { return std::string(SONIFY_SOURCE_DIR) + "/data/models/sonify-tiny"; }
std::string tinystories() { return fixtures_dir() + "/models/TinyStories-656K"; }

sonify::PromptRequest text_request(const std::string& model, const std::string& text, const std::string& out,
                                   const std::string& name) {
  sonify::PromptRequest r;
  r.activation = activation(model);
  r.activation.prompt.text = text;
  r.activation.prompt.have_text = true;
  r.out_dir = out;
  r.name = name;
  return r;
}

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_file(path)); }

}  // namespace

TEST_CASE("run_prompt on the bundled model writes the set into a new directory, deterministically") {
  TempDir dir;
  const std::string out = dir.file("new/deeper");  // does not exist yet: created, as weights -o does
  auto a = sonify::run_prompt(text_request(bundled(), "The old sailor pulled a heavy rope.", out, "a"));
  INFO((a.ok() ? "" : a.error().message));
  REQUIRE(a.ok());
  CHECK(a->base == out + "/a");
  CHECK(a->words == 7);
  CHECK(a->seconds > 0);
  // Prompts measure tension by default along the bundled calm-tense pairs (issue 13).
  CHECK(a->tension.has_value());
  // Exactly the set's members, no temporary left over, no WAV with midi_only.
  CHECK(list_dir(out) == std::vector<std::string>{"a.json", "a.mid", "a.timing.json"});
  CHECK(read_file(out + "/a.json") == a->provenance_json + "\n");
  auto b = sonify::run_prompt(text_request(bundled(), "The old sailor pulled a heavy rope.", out, "b"));
  REQUIRE(b.ok());
  CHECK(read_file(out + "/a.mid") == read_file(out + "/b.mid"));
  const auto prov = nlohmann::json::parse(a->provenance_json);
  CHECK(prov["voices"].size() == 3);
  // The voices composer's own record: one part per score track (3 voices + the drone).
  REQUIRE(prov["parts"].size() == 4);
  CHECK(prov["parts"][3]["part"] == "drone");
  CHECK(prov["parts"][0]["hidden_state"] == prov["voices"][0]["hidden_state"]);
  // The thread count a run needs to be reproduced: the default, or --threads.
  CHECK(prov["threads"] == sonify::default_threads());
  auto request = text_request(bundled(), "The old sailor pulled a heavy rope.", out, "c");
  request.activation.threads = 2;
  auto c = sonify::run_prompt(request);
  REQUIRE(c.ok());
  CHECK(nlohmann::json::parse(c->provenance_json)["threads"] == 2);
}

TEST_CASE("run_prompt: --ids give the same track as the text they encode") {
  TempDir dir;
  auto text =
      sonify::run_prompt(text_request(tinystories(), "Once upon a time there was a cat.", dir.path(), "t"));
  REQUIRE(text.ok());
  const auto prov = nlohmann::json::parse(text->provenance_json);
  std::string ids;
  for (const auto& id : prov["token_ids"]) ids += (ids.empty() ? "" : ",") + std::to_string(id.get<int>());
  sonify::PromptRequest r = text_request(tinystories(), "", dir.path(), "i");
  r.activation.prompt.have_text = false;
  r.activation.prompt.have_ids = true;
  r.activation.prompt.ids = ids;
  auto from_ids = sonify::run_prompt(r);
  INFO((from_ids.ok() ? "" : from_ids.error().message));
  REQUIRE(from_ids.ok());
  CHECK(from_ids->words == text->words);
  CHECK(read_json(dir.file("i.timing.json"))["words"][7]["text"] == "cat.");
  // Same notes; only the title (the prompt's text, decoded) may differ in spacing.
  CHECK(read_json(dir.file("i.timing.json"))["words"] == read_json(dir.file("t.timing.json"))["words"]);
}

TEST_CASE("run_prompt: an over-long prompt suggests --truncate, and --truncate plays the first tokens") {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 300; ++i) text += "the cat sat on the mat. ";  // far beyond the 512-token context
  auto refused = sonify::run_prompt(text_request(tinystories(), text, dir.path(), "long"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("pass --truncate") != std::string::npos);
  CHECK(list_dir(dir.path()).empty());
  sonify::PromptRequest r = text_request(tinystories(), text, dir.path(), "long");
  r.activation.prompt.truncate = true;
  auto cut = sonify::run_prompt(r);
  INFO((cut.ok() ? "" : cut.error().message));
  REQUIRE(cut.ok());
  REQUIRE(cut->notes.size() == 1);
  CHECK(cut->notes[0].find("truncated") != std::string::npos);
  CHECK(nlohmann::json::parse(cut->provenance_json)["token_ids"].size() == 512);
}

TEST_CASE("run_prompt: the markov composer reports its own layers and programs") {
  TempDir dir;
  sonify::PromptRequest r = text_request(bundled(), "A storm broke the old tree.", dir.path(), "m");
  r.activation.style = "markov";
  r.activation.seed = 3;
  auto run = sonify::run_prompt(r);
  INFO((run.ok() ? "" : run.error().message));
  REQUIRE(run.ok());
  const auto prov = nlohmann::json::parse(run->provenance_json);
  // sonify-tiny has 4 blocks: lead on hidden state NL/2 = 2, entropy of block NL/2-1 = 1,
  // MLP sparsity of block NL/3 = 1.
  CHECK(prov["markov"]["lead_hidden_state"] == 2);
  CHECK(prov["markov"]["attention_layer"] == 1);
  CHECK(prov["markov"]["mlp_layer"] == 1);
  // The instruments are the palette of the prompt's tension level (the celesta part is
  // left out when no token is sparse enough).
  const sonify::Palette palette =
      sonify::palette_for_level(sonify::tension_level(prov["direction"]["tension"]));
  CHECK(prov["markov"]["programs"]["lead"] == palette.lead);
  CHECK(prov["markov"]["programs"]["organ"] == palette.chords);
  if (prov["markov"]["programs"].contains("celesta"))
    CHECK(prov["markov"]["programs"]["celesta"] == palette.sparkle);
}

TEST_CASE("run_prompt: bad options fail with one line and write nothing") {
  TempDir dir;
  sonify::PromptRequest key = text_request(bundled(), "Hello there.", dir.path(), "x");
  key.key = "H";
  auto r = sonify::run_prompt(key);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "--key: 'H' is not a pitch name (C, C#, D, ... B)");
  sonify::PromptRequest layers = text_request(bundled(), "Hello there.", dir.path(), "x");
  layers.activation.layers = "1,2,9";
  r = sonify::run_prompt(layers);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("--layers: hidden state 9 does not exist") == 0);
  sonify::PromptRequest none = text_request(bundled(), "", dir.path(), "x");
  none.activation.prompt.have_text = false;
  r = sonify::run_prompt(none);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("no prompt") == 0);
  CHECK(list_dir(dir.path()).empty());
}

TEST_CASE("run_album: the three modes on the bundled model, -j 2 equals -j 1, progress reported") {
  TempDir dir;
  write_file(dir.file("list.txt"),
             "The cat slept by the warm fire.\nThe monster screamed and broke the door.\n"
             "Lily smiled at the sun.\nThe storm was loud and everyone was afraid.\n");
  auto request = [&](const std::string& mode, const std::string& out, int jobs) {
    sonify::AlbumRequest r;
    r.activation = activation(bundled());
    r.file = dir.file("list.txt");
    r.out_dir = dir.file(out);
    r.mode = mode;
    r.jobs = jobs;
    return r;
  };
  sonify::AlbumRequest one = request("album", "j1", 1);
  int calls = 0, last = 0;
  one.on_progress = [&](int done, int total) {
    ++calls;
    last = done;
    CHECK(total == 4);
  };
  auto a1 = sonify::run_album(one);
  INFO((a1.ok() ? "" : a1.error().message));
  REQUIRE(a1.ok());
  CHECK(a1->done == 4);
  CHECK(a1->failures == 0);
  CHECK(calls == 4);
  CHECK(last == 4);
  auto a2 = sonify::run_album(request("album", "j2", 2));
  REQUIRE(a2.ok());
  const auto files = list_dir(dir.file("j1"));
  CHECK(files == list_dir(dir.file("j2")));
  for (const auto& f : files)
    if (f.size() > 4 && f.substr(f.size() - 4) == ".mid")
      CHECK(read_file(dir.file("j1/" + f)) == read_file(dir.file("j2/" + f)));
  CHECK(std::find(files.begin(), files.end(), "album.mid") != files.end());
  // The bundled calm-tense pairs are the default direction: every track has a tension.
  const auto manifest = read_json(dir.file("j1/manifest.json"));
  for (const auto& t : manifest["tracks"]) CHECK(t.contains("tension"));

  auto dialogue = sonify::run_album(request("dialogue", "d", 1));
  REQUIRE(dialogue.ok());
  CHECK(read_json(dir.file("d/manifest.json"))["tracks"].size() == 4);
  auto contrast = sonify::run_album(request("contrast", "c", 1));
  REQUIRE(contrast.ok());
  const auto pairs = read_json(dir.file("c/manifest.json"))["tracks"];
  REQUIRE(pairs.size() == 4);
  CHECK(std::abs(pairs[0]["duration"].get<double>() - pairs[1]["duration"].get<double>()) < 0.002);

  auto bad = sonify::run_album(request("shuffle", "x", 1));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "--mode shuffle: expected album, dialogue or contrast");
}

TEST_CASE("prompt_tokens: one path for text and ids, with the limits and notes every command shares") {
  auto tokenizer = sonify::Tokenizer::from_model_path(bundled());
  REQUIRE(tokenizer.ok());
  sonify::PromptOptions text;
  text.text = "A red ball rolled.";
  text.have_text = true;
  auto t = sonify::prompt_tokens(text, &*tokenizer, 0, 0);
  REQUIRE(t.ok());
  CHECK(t->from_text);
  CHECK(t->notes.empty());
  // The same ids given directly decode back to the text, each token over the same bytes.
  std::string list;
  for (int id : t->ids) list += (list.empty() ? "" : ",") + std::to_string(id);
  sonify::PromptOptions ids;
  ids.ids = list;
  ids.have_ids = true;
  auto i = sonify::prompt_tokens(ids, &*tokenizer, 0, 0);
  REQUIRE(i.ok());
  CHECK(i->ids == t->ids);
  sonify::prompt_text_from_ids(*tokenizer, &*i);
  CHECK(i->text == text.text);
  REQUIRE(i->offsets.size() == t->offsets.size());
  for (std::size_t k = 0; k < t->offsets.size(); ++k) {
    CHECK(i->offsets[k].begin == t->offsets[k].begin);
    CHECK(i->offsets[k].end == t->offsets[k].end);
  }
  // Limits: a context of 3 refuses the prompt and names --truncate; truncate keeps 3.
  auto over = sonify::prompt_tokens(text, &*tokenizer, 0, 3);
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().message.find("pass --truncate to keep the first 3") != std::string::npos);
  text.truncate = true;
  auto cut = sonify::prompt_tokens(text, &*tokenizer, 0, 3);
  REQUIRE(cut.ok());
  CHECK(cut->ids.size() == 3);
  CHECK(cut->truncated_from == t->ids.size());
  CHECK(cut->notes.size() == 1);
  ids.ids = "1,99999";
  auto out_of_range = sonify::prompt_tokens(ids, &*tokenizer, 1000, 0);
  REQUIRE_FALSE(out_of_range.ok());
  CHECK(out_of_range.error().message.find("--ids: id 99999 is out of range") == 0);
  text.text = "caf\xe9";
  text.replace_invalid = true;
  text.truncate = false;
  auto replaced = sonify::prompt_tokens(text, &*tokenizer, 0, 0);
  REQUIRE(replaced.ok());
  CHECK(replaced->notes == std::vector<std::string>{"replaced 1 invalid UTF-8 byte with U+FFFD"});
}
