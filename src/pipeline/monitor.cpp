#include "monitor.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/output_set.h"
#include "sonify/activation.h"
#include "sonify/pipeline_tokens.h"
#include "sonify/synth.h"

namespace sonify::pipeline {
namespace {

using nlohmann::ordered_json;

constexpr int kRate = 44100;

void put32(std::string* s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A 16-bit stereo PCM header. On a pipe the sizes cannot be fixed later, so they are the
// largest possible, as streaming tools (sox, ffmpeg) write them: readers play to the end.
std::string wav_header(std::uint32_t data_bytes, std::uint32_t riff_bytes) {
  std::string h = "RIFF";
  put32(&h, riff_bytes);
  h += "WAVEfmt ";
  put32(&h, 16);
  put32(&h, 1 | (2u << 16));  // PCM, 2 channels
  put32(&h, kRate);
  put32(&h, kRate * 4);
  put32(&h, 4 | (16u << 16));  // block align 4, 16 bits
  h += "data";
  put32(&h, data_bytes);
  return h;
}

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class MonitorImpl final : public Monitor {
 public:
  MonitorImpl(const MonitorRequest& request, Runtime& runtime, const std::optional<Tokenizer>& tokenizer,
              std::vector<std::int64_t> ids)
      : request_(request),
        runtime_(runtime),
        tokenizer_(tokenizer),
        ids_(std::move(ids)),
        voice_(options()) {}

  ~MonitorImpl() override {
    if (file_ && file_ != stdout) std::fclose(file_);
  }

  MonitorOptions options() const {
    MonitorOptions o;
    o.sample_rate_hz = kRate;
    o.step_seconds = request_.step_seconds;
    return o;
  }

  Status start() {
    if (!request_.direction.empty()) {
      if (!tokenizer_) return fail("--direction needs the model's tokenizer.json (the pair file is text)");
      SONIFY_ASSIGN_OR_RETURN(set, contrast_set_read(request_.direction));
      if (set.pairs.empty()) return fail(request_.direction, ": the contrast set has no pairs");
      SONIFY_ASSIGN_OR_RETURN(d, contrast_direction_fit(runtime_, *tokenizer_, set, "mean"));
      direction_ = std::move(d);
    }
    const bool pipe = request_.wav == "-";
    const std::string record = pipe ? request_.json : request_.wav;
    if (!record.empty()) {
      const std::filesystem::path p(record);
      SONIFY_ASSIGN_OR_RETURN(
          set, OutputSet::open(p.has_parent_path() ? p.parent_path().string() : ".", p.stem().string()));
      set_.emplace(std::move(set));
    }
    if (pipe) {
      file_ = stdout;
    } else {
      const std::string temp = set_->temp_path(".wav");
      file_ = std::fopen(temp.c_str(), "wb");
      if (!file_) return fail(temp, ": cannot write (", std::strerror(errno), ")");
    }
    const std::string header = pipe ? wav_header(0xffffffffu, 0xffffffffu) : wav_header(0, 36);
    SONIFY_TRY(write(header.data(), header.size()));
    data_bytes_ = 0;  // counts the samples only
    return Status::Ok();
  }

  TokenObserver observer() override {
    TokenObserver o;
    if (direction_) o.capture = hidden_states_request();  // the new token's states from the cached step
    o.on_token = [this](const TokenStep& step) -> Result<bool> {
      const std::vector<float>& logits = step.logits;
      const std::int64_t next = step.id;
      const double logits_at = std::chrono::duration<double>(step.logits_at.time_since_epoch()).count();
      ids_.push_back(next);
      double top = logits[0];
      for (float v : logits) top = std::max(top, static_cast<double>(v));
      double total = 0;
      for (float v : logits) total += std::exp(static_cast<double>(v) - top);
      const double surprisal = top + std::log(total) - logits[static_cast<std::size_t>(next)];
      vocab_ = logits.size();
      const double max_surprisal = std::log(static_cast<double>(vocab_));
      double raw = surprisal / max_surprisal;
      std::optional<double> tension;
      if (direction_) {
        SONIFY_ASSIGN_OR_RETURN(t, token_tension(step.appended));
        tension = t;
        raw = tension_level(t);
      }
      block_.clear();
      const MonitorStep s = voice_.step(raw, surprisal, max_surprisal, &block_);
      const Status written = write(block_.data(), block_.size() * sizeof(std::int16_t));
      if (!written.ok() && !listener_gone_) return written.error();
      const double written_at = seconds_now();
      ordered_json t = {{"index", steps_.size()},
                        {"id", next},
                        {"start", static_cast<double>(steps_.size()) * request_.step_seconds},
                        {"surprisal", surprisal},
                        {"raw_score", s.raw_score},
                        {"score", s.score},
                        {"x", s.x},
                        {"note", s.note},
                        {"hz", s.hz},
                        {"dissonant_allowed", s.dissonant},
                        {"fm_index", s.fm_index},
                        {"cutoff_hz", s.cutoff_hz},
                        {"drive", s.drive}};
      if (tension) t["tension"] = *tension;
      if (tokenizer_) t["piece"] = decode_or_empty(tokenizer_, {next});
      steps_.push_back(std::move(t));
      timing_.push_back({{"logits_at", logits_at},
                         {"written_at", written_at},
                         {"latency_ms", 1000 * (written_at - logits_at)}});
      return !listener_gone_ && !(request_.stop && *request_.stop);
    };
    return o;
  }

  Status finish(const GenerateRun& run, const std::string& model_path) override {
    block_.clear();
    voice_.release(&block_);
    if (!listener_gone_) SONIFY_TRY(write(block_.data(), block_.size() * sizeof(std::int16_t)));
    if (file_ != stdout) {
      const std::uint32_t data = static_cast<std::uint32_t>(data_bytes_);
      const std::string header = wav_header(data, data + 36);
      if (std::fseek(file_, 0, SEEK_SET) != 0 ||
          std::fwrite(header.data(), 1, header.size(), file_) != header.size())
        return fail("writing the monitor's WAV header: ", std::strerror(errno));
      const int closed = std::fclose(file_);
      file_ = nullptr;
      if (closed != 0) return fail("closing the monitor's WAV: ", std::strerror(errno));
    }
    if (!set_) return Status::Ok();
    ordered_json j;
    j["model"] = model_path;
    j["prompt_ids"] = run.prompt_ids;
    j["ids"] = run.generation.ids;
    j["stop_reason"] = listener_gone_ ? "listener closed the pipe" : run.generation.stop_reason;
    j["vocab_size"] = vocab_;
    j["sample_rate"] = kRate;
    j["step_seconds"] = request_.step_seconds;
    j["seconds"] = static_cast<double>(data_bytes_) / (4.0 * kRate);
    j["voice"] = {{"smoothing", voice_.smoothing()},
                  {"alert_threshold", MonitorOptions{}.alert_threshold},
                  {"glide_seconds", MonitorOptions{}.glide_seconds},
                  {"pitch",
                   "x = 4 surprisal / ln(vocab) - 2; MIDI 48 + 36 sigmoid(x) snapped to "
                   "classes {0,2,4,7,9} (+{1,6} when score >= threshold)"}};
    if (direction_)
      j["score"] = {{"source", "direction"},
                    {"statistic", "tension_level(contrast token tension) = clamp(0.5 + 0.75 t, 0, 1)"},
                    {"hidden_states",
                     "the token's, from the KV-cached step that appended it (a token chosen with the "
                     "context full: a forward pass over the last context-length tokens)"},
                    {"set", direction_->name},
                    {"set_hash", direction_->set_hash},
                    {"method", direction_->method},
                    {"states", direction_->states}};
    else
      j["score"] = {{"source", "surprisal"}, {"statistic", "surprisal / ln(vocab)"}};
    j["tokens"] = steps_;
    SONIFY_TRY(set_->write(".json", j.dump(1) + "\n"));
    SONIFY_TRY(set_->write(
        ".timing.json",
        ordered_json{{"clock", "steady_clock (CLOCK_MONOTONIC) seconds"}, {"tokens", timing_}}.dump(1) +
            "\n"));
    SONIFY_TRY(set_->commit());
    return Status::Ok();
  }

  double seconds() const override { return static_cast<double>(data_bytes_) / (4.0 * kRate); }

 private:
  // The new token's tension along the direction, from its hidden states as the cached step
  // that appended it computed them: one step per token, not a pass over the whole sequence.
  // Only a token chosen when the context is full has no such step; it gets a forward pass
  // over the last context-length tokens (the oldest drop out).
  Result<double> token_tension(const Trace* appended) {
    if (appended != nullptr) {
      SONIFY_ASSIGN_OR_RETURN(h, hidden_states_from_trace(*appended));
      return contrast_token_tension(*direction_, h).back();
    }
    const int context = runtime_.spec().context_length;
    const std::size_t keep =
        context > 0 ? std::min(ids_.size(), static_cast<std::size_t>(context)) : ids_.size();
    const std::vector<std::int64_t> window(ids_.end() - static_cast<std::ptrdiff_t>(keep), ids_.end());
    CaptureRequest capture = hidden_states_request();
    capture.logits = LogitPositions::None;
    SONIFY_ASSIGN_OR_RETURN(trace, runtime_.forward(window, capture));
    SONIFY_ASSIGN_OR_RETURN(h, hidden_states_from_trace(trace));
    return contrast_token_tension(*direction_, h).back();
  }

  // Writes and flushes, so a listener hears each token as soon as it is chosen. A closed
  // pipe (the player quit) ends the generation instead of failing it.
  Status write(const void* bytes, std::size_t n) {
    if (listener_gone_) return Status::Ok();
    if (std::fwrite(bytes, 1, n, file_) != n || std::fflush(file_) != 0) {
      if (errno == EPIPE && file_ == stdout) {
        listener_gone_ = true;
        return fail("the listener closed the pipe");
      }
      return fail("writing the monitor's audio: ", std::strerror(errno));
    }
    data_bytes_ += n;
    return Status::Ok();
  }

  MonitorRequest request_;
  Runtime& runtime_;
  const std::optional<Tokenizer>& tokenizer_;
  std::vector<std::int64_t> ids_;
  MonitorVoice voice_;
  std::optional<ContrastDirection> direction_;
  std::optional<OutputSet> set_;
  std::FILE* file_ = nullptr;
  std::size_t data_bytes_ = 0;
  std::size_t vocab_ = 0;
  std::vector<std::int16_t> block_;
  ordered_json steps_ = ordered_json::array();
  ordered_json timing_ = ordered_json::array();
  bool listener_gone_ = false;
};

}  // namespace

Status Monitor::check(const MonitorRequest& request) {
  if (request.wav.empty()) {
    if (!request.direction.empty() || !request.json.empty() ||
        request.step_seconds != MonitorRequest{}.step_seconds)
      return fail(
          "--direction, --monitor-json and --monitor-step shape the monitor: add --monitor FILE.wav or -");
    return Status::Ok();
  }
  if (request.wav != "-" && std::filesystem::path(request.wav).extension() != ".wav")
    return fail("--monitor ", request.wav, ": give a .wav file, or - for stdout");
  if (!request.json.empty() && request.wav != "-")
    return fail("--monitor-json: only with --monitor - (a WAV file gets its record beside it, NAME.json)");
  if (!request.json.empty() && std::filesystem::path(request.json).extension() != ".json")
    return fail("--monitor-json ", request.json, ": give a .json file");
  if (!(request.step_seconds >= 0.02 && request.step_seconds <= 5))
    return fail("--monitor-step: between 0.02 and 5 seconds");
  return Status::Ok();
}

Result<std::unique_ptr<Monitor>> Monitor::open(const MonitorRequest& request, Runtime& runtime,
                                               const std::optional<Tokenizer>& tokenizer,
                                               const std::vector<std::int64_t>& prompt_ids) {
  auto m = std::make_unique<MonitorImpl>(request, runtime, tokenizer, prompt_ids);
  SONIFY_TRY(m->start());
  return std::unique_ptr<Monitor>(std::move(m));
}

}  // namespace sonify::pipeline
