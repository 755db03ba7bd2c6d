// In-process FluidSynth rendering. MIDI events are turned into sample frames through
// the tempo map, and each synth renders straight to the next event's 64-frame block
// (FluidSynth's own granularity), so no real-time pacing and no player thread.
// Channels are split into groups, each rendered by its own synth on its own thread,
// and the groups are summed in a fixed order: FluidSynth's voices, reverb and chorus
// are linear, so the mix equals one synth's render up to float rounding, and the same
// input gives the same samples on every run.
#include "sonify/render.h"

#include <fluidsynth.h>
#include <glib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <tuple>

#include "sonify/soundfont.h"
#include "sonify/system_probe.h"

namespace sonify {
namespace {

constexpr int kBlock = 64;               // FluidSynth's internal block (FLUID_BUFSIZE)
constexpr int kChunk = 1024 * kBlock;    // frames rendered per group between mixes (1.5 s)
constexpr int kTailChunk = 16 * kBlock;  // tail rendered in chunks of this many frames
constexpr float kSilence = 1e-4f;        // tail ends when a chunk stays below this (-80 dBFS)
constexpr int kMaxSynths = 2;            // default channel groups (see channel_groups)

// FluidSynth reports errors through a global log function; keep the last error of the
// calling thread to put into our one-line message, print nothing.
thread_local std::string g_fluid_error;

void fluid_log(int level, const char* message, void*) {
  if (level <= FLUID_ERR && message != nullptr) g_fluid_error = message;
}

// Debian's FluidSynth tries libinstpatch's DLS loader on files its SF2 loader refuses,
// and libinstpatch reports through GLib's default log handler, straight to stderr.
void glib_log(const gchar*, GLogLevelFlags level, const gchar* message, gpointer) {
  if ((level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) != 0 && message != nullptr &&
      g_fluid_error.empty())
    g_fluid_error = message;
}

void install_log_functions() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int level : {FLUID_PANIC, FLUID_ERR, FLUID_WARN, FLUID_INFO, FLUID_DBG})
      fluid_set_log_function(level, fluid_log, nullptr);
    g_log_set_default_handler(glib_log, nullptr);
    // FluidSynth initialises its global tables (interpolation, conversions) in the
    // first new_fluid_synth(), guarded only by a flag: a second synth created on
    // another thread meanwhile would use half-filled tables. Create one here, once.
    fluid_settings_t* settings = new_fluid_settings();
    if (settings != nullptr) {
      delete_fluid_synth(new_fluid_synth(settings));
      delete_fluid_settings(settings);
    }
  });
}

struct SettingsDeleter {
  void operator()(fluid_settings_t* s) const { delete_fluid_settings(s); }
};
struct SynthDeleter {
  void operator()(fluid_synth_t* s) const { delete_fluid_synth(s); }
};

// A timed event for the synths: a channel message or a SysEx payload (F0 ... F7 stripped).
struct SynthEvent {
  std::int64_t frame;
  std::uint8_t status;
  std::uint8_t d1, d2;
  std::string sysex;
};

class Synth {
 public:
  static Result<std::unique_ptr<Synth>> create(const SynthOptions& o, const std::string& soundfont) {
    install_log_functions();
    auto synth = std::unique_ptr<Synth>(new Synth());
    synth->settings_.reset(new_fluid_settings());
    if (!synth->settings_) return fail("fluidsynth: cannot create settings");
    fluid_settings_t* s = synth->settings_.get();
    Status st = Status::Ok();
    auto num = [&](const char* name, double v) {
      if (st.ok() && fluid_settings_setnum(s, name, v) != FLUID_OK)
        st = fail("fluidsynth: cannot set ", name, " = ", v);
    };
    auto integer = [&](const char* name, int v) {
      if (st.ok() && fluid_settings_setint(s, name, v) != FLUID_OK)
        st = fail("fluidsynth: cannot set ", name, " = ", v);
    };
    auto str = [&](const char* name, const char* v) {
      if (st.ok() && fluid_settings_setstr(s, name, v) != FLUID_OK)
        st = fail("fluidsynth: cannot set ", name, " = ", v);
    };
    num("synth.sample-rate", o.sample_rate_hz);
    num("synth.gain", o.gain);
    integer("synth.polyphony", o.polyphony);
    integer("synth.audio-channels", 1);
    integer("synth.audio-groups", 1);
    integer("synth.effects-channels", 2);
    integer("synth.effects-groups", 1);
    integer("synth.cpu-cores", 1);
    integer("synth.midi-channels", 16);
    integer("synth.device-id", 0);
    integer("synth.min-note-length", 10);
    integer("synth.dynamic-sample-loading", 0);
    integer("synth.lock-memory", 0);
    integer("synth.threadsafe-api", 0);
    integer("synth.ladspa.active", 0);
    integer("synth.verbose", 0);
    str("synth.midi-bank-select", "gs");
    num("synth.overflow.age", 1000);
    num("synth.overflow.important", 5000);
    num("synth.overflow.percussion", 4000);
    num("synth.overflow.released", -2000);
    num("synth.overflow.sustained", -1000);
    num("synth.overflow.volume", 500);
    integer("synth.reverb.active", o.reverb ? 1 : 0);
    num("synth.reverb.room-size", o.reverb_room_size);
    num("synth.reverb.damp", o.reverb_damping);
    num("synth.reverb.width", o.reverb_width);
    num("synth.reverb.level", o.reverb_level);
    integer("synth.chorus.active", o.chorus ? 1 : 0);
    integer("synth.chorus.nr", o.chorus_voices);
    num("synth.chorus.level", o.chorus_level);
    num("synth.chorus.speed", o.chorus_speed_hz);
    num("synth.chorus.depth", o.chorus_depth_ms);
    SONIFY_TRY(st);
    synth->synth_.reset(new_fluid_synth(s));
    if (!synth->synth_) return fail("fluidsynth: cannot create a synthesizer");
    fluid_synth_t* fs = synth->synth_.get();
    fluid_synth_set_interp_method(fs, -1, FLUID_INTERP_4THORDER);
    for (int ch = 0; ch < 16; ++ch) {  // 2.3's defaults, pinned: glide only between overlapping notes
      fluid_synth_set_portamento_mode(fs, ch, FLUID_CHANNEL_PORTAMENTO_MODE_LEGATO_ONLY);
      fluid_synth_set_legato_mode(fs, ch, FLUID_CHANNEL_LEGATO_MODE_MULTI_RETRIGGER);
    }
    if (o.filter_ccs) SONIFY_TRY(synth->add_filter_modulators());
    g_fluid_error.clear();
    if (fluid_synth_sfload(fs, soundfont.c_str(), 1) == FLUID_FAILED)
      return fail(soundfont, ": FluidSynth cannot load this soundfont",
                  g_fluid_error.empty() ? std::string() : " (" + g_fluid_error + ")",
                  "; pass another with --soundfont or install Debian's fluid-soundfont-gm");
    return synth;
  }

  void apply(const SynthEvent& e) {
    fluid_synth_t* s = synth_.get();
    const int ch = e.status & 0x0F;
    switch (e.status & 0xF0) {
      case 0x80:
        fluid_synth_noteoff(s, ch, e.d1);
        break;
      case 0x90:
        if (e.d2 > 0)
          fluid_synth_noteon(s, ch, e.d1, e.d2);
        else
          fluid_synth_noteoff(s, ch, e.d1);
        break;
      case 0xA0:
        fluid_synth_key_pressure(s, ch, e.d1, e.d2);
        break;
      case 0xB0:
        fluid_synth_cc(s, ch, e.d1, e.d2);
        break;
      case 0xC0:
        fluid_synth_program_change(s, ch, e.d1);
        break;
      case 0xD0:
        fluid_synth_channel_pressure(s, ch, e.d1);
        break;
      case 0xE0:
        fluid_synth_pitch_bend(s, ch, e.d1 | (e.d2 << 7));
        break;
      case 0xF0:
        fluid_synth_sysex(s, e.sysex.data(), static_cast<int>(e.sysex.size()), nullptr, nullptr, nullptr, 0);
        break;
      default:
        break;
    }
    peak_voices_ = std::max(peak_voices_, fluid_synth_get_active_voice_count(s));
  }

  // Starts a new chunk: the chunk buffers are emptied (memory stays one chunk long).
  void begin_chunk() {
    left_.clear();
    right_.clear();
  }

  // Appends `frames` (a multiple of kBlock) to the chunk; returns their peak.
  float render(std::int64_t frames) {
    const std::size_t at = left_.size();
    left_.resize(at + static_cast<std::size_t>(frames));
    right_.resize(at + static_cast<std::size_t>(frames));
    fluid_synth_write_float(synth_.get(), static_cast<int>(frames), left_.data() + at, 0, 1,
                            right_.data() + at, 0, 1);
    frames_ += frames;
    float peak = 0;
    for (std::size_t i = at; i < left_.size(); ++i)
      peak = std::max({peak, std::fabs(left_[i]), std::fabs(right_[i])});
    return peak;
  }

  // Plays `key` at `velocity` on `channel` (with its current program) just long enough
  // to see the voices it starts: their count and their longest volume release in
  // seconds (negative for unlooped samples: the sample's end, not the key, ends them).
  // Renders nothing; the voices are switched off again.
  std::pair<int, double> probe(int channel, int key, int velocity) {
    fluid_synth_t* s = synth_.get();
    fluid_synth_noteon(s, channel, key, velocity);
    fluid_voice_t* voices[64] = {};
    fluid_synth_get_voicelist(s, voices, 64, -1);
    // The list holds every playing voice; this note's voices share the newest ID.
    unsigned newest = 0;
    for (fluid_voice_t* v : voices)
      if (v != nullptr && fluid_voice_is_on(v)) newest = std::max(newest, fluid_voice_get_id(v));
    int count = 0;
    double release = 0;
    for (fluid_voice_t* v : voices) {
      if (v == nullptr || !fluid_voice_is_on(v) || fluid_voice_get_id(v) != newest) continue;
      ++count;
      // An unlooped sample (drums, plucks) ends by itself: count about half a second.
      const bool looped = static_cast<int>(fluid_voice_gen_get(v, GEN_SAMPLEMODE)) & 1;
      release = std::max(release,
                         looped ? std::pow(2.0, fluid_voice_gen_get(v, GEN_VOLENVRELEASE) / 1200.0) : -0.5);
    }
    fluid_synth_all_sounds_off(s, channel);
    return {count, release};
  }

  int active_voices() { return fluid_synth_get_active_voice_count(synth_.get()); }
  std::int64_t frames() const { return frames_; }
  int peak_voices() const { return peak_voices_; }
  const std::vector<float>& left() const { return left_; }
  const std::vector<float>& right() const { return right_; }

 private:
  Synth() = default;

  // CC74 -> filter cutoff and CC71 -> filter Q, bipolar around 64 (FluidSynth sets the
  // sound controllers 70-79 to 64 at reset), so files without them sound unchanged.
  Status add_filter_modulators() {
    struct Row {
      int cc;
      int dest;
      double amount;
    };
    for (const Row& row : {Row{74, GEN_FILTERFC, 4800.0}, Row{71, GEN_FILTERQ, 200.0}}) {
      fluid_mod_t* mod = new_fluid_mod();
      if (mod == nullptr) return fail("fluidsynth: out of memory");
      fluid_mod_set_source1(mod, row.cc,
                            FLUID_MOD_CC | FLUID_MOD_LINEAR | FLUID_MOD_BIPOLAR | FLUID_MOD_POSITIVE);
      fluid_mod_set_source2(mod, FLUID_MOD_NONE, 0);
      fluid_mod_set_dest(mod, row.dest);
      fluid_mod_set_amount(mod, row.amount);
      const int r = fluid_synth_add_default_mod(synth_.get(), mod, FLUID_SYNTH_ADD);
      delete_fluid_mod(mod);
      if (r != FLUID_OK) return fail("fluidsynth: cannot add the CC", row.cc, " filter modulator");
    }
    return Status::Ok();
  }

  std::unique_ptr<fluid_settings_t, SettingsDeleter> settings_;
  std::unique_ptr<fluid_synth_t, SynthDeleter> synth_;
  std::vector<float> left_, right_;  // the current chunk
  std::int64_t frames_ = 0;          // frames rendered so far
  int peak_voices_ = 0;
};

// All channel and SysEx events of all tracks, in time order (ties: track order, then
// file order), with frames from the tempo map.
std::vector<SynthEvent> synth_events(const MidiFile& file, int sample_rate_hz, std::int64_t* end_frame) {
  const MidiTempoMap tempo(file);
  std::vector<std::pair<std::int64_t, SynthEvent>> timed;
  std::int64_t end_tick = 0;
  for (const auto& track : file.tracks) {
    for (const auto& e : track) {
      end_tick = std::max(end_tick, e.tick);
      SynthEvent se{0, e.status, 0, 0, {}};
      if (e.is_channel()) {
        se.d1 = e.data.empty() ? 0 : static_cast<std::uint8_t>(e.data[0]);
        se.d2 = e.data.size() < 2 ? 0 : static_cast<std::uint8_t>(e.data[1]);
      } else if (e.status == 0xF0) {
        se.sysex = e.data;
        if (!se.sysex.empty() && static_cast<std::uint8_t>(se.sysex.back()) == 0xF7) se.sysex.pop_back();
      } else {
        continue;  // meta events (tempo is in the map) and SysEx continuations
      }
      timed.emplace_back(e.tick, std::move(se));
    }
  }
  std::stable_sort(timed.begin(), timed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<SynthEvent> events;
  events.reserve(timed.size());
  for (auto& [tick, e] : timed) {
    e.frame = static_cast<std::int64_t>(std::floor(tempo.seconds_at(tick) * sample_rate_hz));
    events.push_back(std::move(e));
  }
  *end_frame = static_cast<std::int64_t>(std::ceil(tempo.seconds_at(end_tick) * sample_rate_hz));
  return events;
}

// Splits the 16 channels into at most `groups` sets with similar work, largest first
// onto the least loaded group. A note's work is estimated as the voices it starts times
// its length plus its release (capped at 4 s), as FluidSynth reports them for that
// program, key and velocity on `probe`, a synth that never renders.
std::vector<std::vector<int>> channel_groups(const std::vector<SynthEvent>& events, int sample_rate_hz,
                                             int groups, Synth& probe) {
  std::vector<double> cost(16, 0.0);
  std::vector<bool> used(16, false);
  struct Open {
    std::int64_t frame = -1;
    double weight = 0, release = 0;
  };
  std::vector<Open> open(16 * 128);
  std::map<std::tuple<int, int, int, int, int>, std::pair<int, double>> probed;
  int program[16] = {}, bank[16] = {};
  for (const auto& e : events) {
    const int kind = e.status & 0xF0, ch = e.status & 0x0F;
    if (kind == 0xC0 || (kind == 0xB0 && (e.d1 == 0 || e.d1 == 32))) {
      probe.apply(e);  // programs and banks, so the probe plays what the file selects
      if (kind == 0xC0) program[ch] = e.d1;
      if (kind == 0xB0) bank[ch] = e.d1 == 0 ? (e.d2 << 7) | (bank[ch] & 0x7F) : (bank[ch] & ~0x7F) | e.d2;
      continue;
    }
    if (kind != 0x80 && kind != 0x90) continue;
    used[static_cast<std::size_t>(ch)] = true;
    Open& o = open[static_cast<std::size_t>(ch * 128 + e.d1)];
    if (o.frame >= 0) {
      const double held = static_cast<double>(e.frame - o.frame) / sample_rate_hz;
      cost[static_cast<std::size_t>(ch)] +=
          o.weight * (o.release < 0 ? 0.5 : held + std::min(o.release, 4.0));
    }
    o.frame = -1;
    if (kind == 0x90 && e.d2 > 0) {
      const auto key = std::make_tuple(ch, bank[ch], program[ch], static_cast<int>(e.d1), e.d2 / 8);
      auto it = probed.find(key);
      if (it == probed.end()) it = probed.emplace(key, probe.probe(ch, e.d1, e.d2)).first;
      o = Open{e.frame, static_cast<double>(it->second.first), it->second.second};
    }
  }
  std::vector<int> order;
  for (int ch = 0; ch < 16; ++ch)
    if (used[static_cast<std::size_t>(ch)]) order.push_back(ch);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return cost[static_cast<std::size_t>(a)] > cost[static_cast<std::size_t>(b)];
  });
  groups = std::max(1, std::min(groups, static_cast<int>(order.size())));
  std::vector<std::vector<int>> out(static_cast<std::size_t>(groups));
  std::vector<double> load(static_cast<std::size_t>(groups), 0.0);
  // Largest first onto the least loaded group: group 0 ends up the heaviest, so it
  // starts first.
  for (int ch : order) {
    const auto g = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    out[g].push_back(ch);
    load[g] += cost[static_cast<std::size_t>(ch)];
  }
  // Channels without notes (controllers only) still get their events, in group 0.
  for (int ch = 0; ch < 16; ++ch)
    if (!used[static_cast<std::size_t>(ch)]) out[0].push_back(ch);
  return out;
}

// CPU time of the calling thread, for the timing report.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// One channel group: its synth, its channels, and the next event to look at.
struct Group {
  std::unique_ptr<Synth> synth;
  bool mine[16] = {};
  std::size_t next_event = 0;
};

// Plays the group's events (SysEx goes to every synth) that fall before `until`, each
// at the start of its 64-frame block, and renders up to `until`. Returns the peak of
// what it rendered.
float advance(Group& g, const std::vector<SynthEvent>& events, std::int64_t until) {
  Synth& synth = *g.synth;
  float peak = 0;
  for (; g.next_event < events.size(); ++g.next_event) {
    const SynthEvent& e = events[g.next_event];
    const std::int64_t block_start = e.frame / kBlock * kBlock;
    if (block_start >= until) break;
    if (e.status != 0xF0 && !g.mine[e.status & 0x0F]) continue;
    if (block_start > synth.frames()) peak = std::max(peak, synth.render(block_start - synth.frames()));
    synth.apply(e);
  }
  if (until > synth.frames()) peak = std::max(peak, synth.render(until - synth.frames()));
  return peak;
}

// Runs task(i) for i in 0..n-1 on up to `threads` threads (the calling one included).
template <class Task>
void run_parallel(std::size_t n, int threads, const Task& task) {
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < n;) task(i);
  };
  std::vector<std::thread> workers;
  for (int t = 1; t < threads && static_cast<std::size_t>(t) < n; ++t) workers.emplace_back(work);
  work();
  for (auto& w : workers) w.join();
}

// Renders all groups up to end_block on `threads` worker threads (thread t owns groups
// t, t + threads, ...) while the calling thread mixes finished chunks in group order.
// A group may run up to kAhead chunks ahead of the mix, so a group that is light in one
// section does not wait for a heavy one chunk by chunk; memory stays kAhead chunks per
// group. Timing never changes a sample: each synth sees the same calls in the same order.
void play_pipelined(std::vector<Group>& gs, const std::vector<SynthEvent>& events, std::int64_t end_block,
                    int threads, std::vector<double>& cpu, std::vector<float>& out,
                    const std::function<void(std::int64_t frames_done)>& progress) {
  constexpr std::int64_t kAhead = 16;
  const std::int64_t chunks = (end_block + kChunk - 1) / kChunk;
  struct Slot {
    std::vector<float> left, right;
  };
  std::vector<std::vector<Slot>> slots(gs.size(), std::vector<Slot>(kAhead));
  std::vector<std::int64_t> produced(gs.size(), 0);
  std::int64_t mixed = 0;
  std::mutex m;
  std::condition_variable cv;
  auto worker = [&](int t) {
    for (std::int64_t k = 0; k < chunks; ++k) {
      {
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return k < mixed + kAhead; });
      }
      for (std::size_t g = static_cast<std::size_t>(t); g < gs.size();
           g += static_cast<std::size_t>(threads)) {
        const double start = thread_cpu_seconds();
        Synth& synth = *gs[g].synth;
        synth.begin_chunk();
        (void)advance(gs[g], events, std::min(end_block, (k + 1) * kChunk));
        Slot& slot = slots[g][static_cast<std::size_t>(k % kAhead)];
        slot.left = synth.left();
        slot.right = synth.right();
        cpu[g] += thread_cpu_seconds() - start;
        std::lock_guard<std::mutex> lock(m);
        produced[g] = k + 1;
        cv.notify_all();
      }
    }
  };
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) workers.emplace_back(worker, t);
  for (std::int64_t k = 0; k < chunks; ++k) {
    {
      std::unique_lock<std::mutex> lock(m);
      cv.wait(lock, [&] {
        return std::all_of(produced.begin(), produced.end(), [&](std::int64_t p) { return p > k; });
      });
    }
    const std::size_t frames = slots[0][static_cast<std::size_t>(k % kAhead)].left.size();
    const std::size_t at = out.size();
    out.resize(at + 2 * frames, 0.0f);
    for (std::size_t g = 0; g < gs.size(); ++g) {
      const Slot& slot = slots[g][static_cast<std::size_t>(k % kAhead)];
      for (std::size_t i = 0; i < frames; ++i) {
        out[at + 2 * i] += slot.left[i];
        out[at + 2 * i + 1] += slot.right[i];
      }
    }
    {
      std::lock_guard<std::mutex> lock(m);
      mixed = k + 1;
      cv.notify_all();
    }
    if (progress) progress(static_cast<std::int64_t>(out.size() / 2));
  }
  for (auto& w : workers) w.join();
}

// Adds every group's current chunk to `out`, in group order (a fixed float sum).
void mix_chunk(const std::vector<Group>& groups, std::vector<float>& out) {
  const std::size_t frames = groups[0].synth->left().size();
  const std::size_t at = out.size();
  out.resize(at + 2 * frames, 0.0f);
  for (const auto& g : groups) {
    const auto& l = g.synth->left();
    const auto& r = g.synth->right();
    for (std::size_t i = 0; i < frames; ++i) {
      out[at + 2 * i] += l[i];
      out[at + 2 * i + 1] += r[i];
    }
  }
}

}  // namespace

Result<Audio> render_audio(const MidiFile& file, const SynthOptions& options, RenderStats* stats) {
  if (options.sample_rate_hz < 8000 || options.sample_rate_hz > 96000)
    return fail("sample rate ", options.sample_rate_hz, " Hz is outside 8000..96000 (use 44100 or 48000)");
  if (!(options.tail_max_seconds >= 0 && options.tail_max_seconds <= 60))
    return fail("tail of ", options.tail_max_seconds, " s is outside 0..60");
  const double minutes = midi_length_seconds(file) / 60;
  if (!(minutes <= options.max_minutes))
    return fail("the MIDI lasts ", minutes, " minutes, more than the limit of ", options.max_minutes,
                " (render --max-minutes raises it)");
  SONIFY_ASSIGN_OR_RETURN(soundfont, soundfont_find(options.soundfont));
  std::int64_t end_frame = 0;
  const auto events = synth_events(file, options.sample_rate_hz, &end_frame);
  const int wanted = options.synths > 0 ? std::min(options.synths, 16) : kMaxSynths;
  // The probe's load reads the soundfont; the synths below find its samples in
  // FluidSynth's sample cache as long as the probe lives (it dies at the end of this
  // function), so the data is read and held once.
  SONIFY_ASSIGN_OR_RETURN(probe, Synth::create(options, soundfont));
  const auto groups = channel_groups(events, options.sample_rate_hz, wanted, *probe);
  const int threads =
      std::min(static_cast<int>(groups.size()), options.threads > 0 ? options.threads : default_threads());
  const auto max_tail =
      static_cast<std::int64_t>(std::llround(options.tail_max_seconds * options.sample_rate_hz)) / kBlock *
      kBlock;

  // Groups render in chunks, in parallel; after each chunk the main thread sums them in
  // group order, so memory stays one chunk per group plus the output, and which thread
  // renders which group never changes a sample. Synths load in parallel too
  // (FluidSynth's sample cache shares the sample data between them).
  std::vector<Group> gs(groups.size());
  std::vector<Status> status(groups.size());
  run_parallel(groups.size(), threads, [&](std::size_t i) {
    auto synth = Synth::create(options, soundfont);
    if (!synth.ok()) {
      status[i] = synth.error();
      return;
    }
    gs[i].synth = std::move(synth).value();
    for (int ch : groups[i]) gs[i].mine[ch] = true;
  });
  for (const auto& st : status) SONIFY_TRY(st);

  Audio audio;
  audio.sample_rate_hz = options.sample_rate_hz;
  const std::int64_t end_block = (end_frame + kBlock - 1) / kBlock * kBlock;
  audio.samples.reserve(static_cast<std::size_t>(end_block + max_tail) * 2);  // no regrowth copy
  std::vector<double> cpu(gs.size(), 0.0);
  const double total_seconds = midi_length_seconds(file);
  const auto progress = [&](std::int64_t frames_done) {
    if (options.progress)
      options.progress(std::min(total_seconds, static_cast<double>(frames_done) / options.sample_rate_hz),
                       total_seconds);
  };
  play_pipelined(gs, events, end_block, threads, cpu, audio.samples, progress);
  // The tail: all groups on, in small chunks, until every voice is gone and the last
  // chunk of every group is silent, or max_tail.
  for (std::int64_t tail = 0; tail < max_tail;) {
    const std::int64_t n = std::min<std::int64_t>(kTailChunk, max_tail - tail);
    bool silent = true;
    for (auto& g : gs) {
      const bool voices = g.synth->active_voices() > 0;
      g.synth->begin_chunk();
      const float peak = advance(g, events, g.synth->frames() + n);  // events on the last block too
      silent = silent && !voices && peak < kSilence;
    }
    mix_chunk(gs, audio.samples);
    tail += n;
    if (silent) break;
  }
  const auto frames = static_cast<std::int64_t>(audio.frames());
  if (stats != nullptr) {
    stats->soundfont = soundfont;
    stats->midi_seconds = midi_length_seconds(file);
    stats->tail_seconds = static_cast<double>(frames) / options.sample_rate_hz - stats->midi_seconds;
    stats->synths = static_cast<int>(gs.size());
    stats->peak_voices = 0;
    for (const auto& g : gs) stats->peak_voices += g.synth->peak_voices();
    stats->synth_cpu_seconds = cpu;
  }
  return audio;
}

}  // namespace sonify
