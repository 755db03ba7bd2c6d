// Inside sonify_pipeline: what a single album run and `album merge` share, so both write
// the same bytes: the album (or pair WAVs) assembled from the track files on disk, the
// manifest text, and the names of the files a shard records.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sonify/result.h"

namespace sonify::pipeline {

struct AlbumLayout {
  std::string dir;
  std::string mode;  // album, dialogue or contrast
  double gap_seconds = 2.0;
  bool midi_only = false;
  // album: tracks keep their unmastered render (NAME.raw.wav, float) until assembly, which
  // gives them one album gain and a true-peak limit; per-track: each NAME.wav was mastered
  // alone when rendered.
  std::string master = "album";
};

// Album mastering: integrated loudness of the whole album, and the true-peak ceiling of
// every track and the album.
constexpr double kAlbumLoudnessLufs = -14.0;
constexpr double kTruePeakCeilingDbtp = -1.0;

struct AlbumAssembly {
  double seconds = 0;                                        // without the trailing gap; 0 for contrast
  nlohmann::ordered_json master = nlohmann::ordered_json();  // what album mastering did (null otherwise)
};

// Assembles DIR/album.mid and album.wav (album, dialogue) or DIR/pair_NN.wav (contrast)
// from the tracks' files, reading every row in `rows` (track order) without "error";
// with album mastering first writes each track's NAME.wav from its NAME.raw.wav. Sets
// each row's "start" (album), "stereo" (contrast) and "master".
Result<AlbumAssembly> album_assemble(const AlbumLayout& layout, std::vector<nlohmann::ordered_json>* rows);

// manifest.json's text: model, mode, gap, master, complete and the rows.
std::string album_manifest_text(const std::string& model, const AlbumLayout& layout,
                                const nlohmann::ordered_json& master, bool complete,
                                const std::vector<nlohmann::ordered_json>& rows);

// The member files of a finished track, which shards record with their SHA-256.
std::vector<std::string> album_track_exts(const AlbumLayout& layout);

// OUT/shard-K-of-N.json.
std::string album_shard_path(const std::string& dir, int shard, int shards);

}  // namespace sonify::pipeline
