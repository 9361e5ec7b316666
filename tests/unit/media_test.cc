// Media probing and preview cutting on real files (DESIGN §3.10): Debian's Scratch sounds and
// Asterisk music-on-hold, GPL-3 and the Jargon File, plus inputs generated here with sox, lame and
// ffmpeg. Expected values come from independent tools (ffprobe, soxi, wc), not from our parser;
// previews are written out and decoded by those tools.
#include "packager/media.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "packager/mp3.h"
#include "packager/text.h"

namespace capsule::packager {
namespace {

namespace fs = std::filesystem;

const std::string kScratch = "/usr/share/scratch/Media/Sounds";
const std::string kMoh = "/usr/share/asterisk/moh";

// ---------------------------------------------------------------------------------------------
// Helpers

std::string g_temp_dir;

class TempDirEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* base = std::getenv("CAPSULE_TEST_TMP");
    const std::string root = base && *base ? base : "/tmp";
    fs::create_directories(root);
    std::string tmpl = root + "/media-test-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    ASSERT_NE(mkdtemp(buf.data()), nullptr) << "mkdtemp under " << root;
    g_temp_dir = buf.data();
  }
  void TearDown() override {
    if (!g_temp_dir.empty()) fs::remove_all(g_temp_dir);
  }
};
[[maybe_unused]] ::testing::Environment* const g_env =
    ::testing::AddGlobalTestEnvironment(new TempDirEnvironment);

std::string Tmp(const std::string& name) { return g_temp_dir + "/" + name; }

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs a shell command; returns its exit status and, if asked, its standard output.
int Shell(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  const int status = pclose(p);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define SH(cmd)                                        \
  do {                                                 \
    const std::string sh_cmd_ = (cmd);                 \
    ASSERT_EQ(0, Shell(sh_cmd_ + " 2>&1")) << sh_cmd_; \
  } while (0)

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// key=value lines from ffprobe -of default=nw=1.
std::map<std::string, std::string> Ffprobe(const std::string& path, const std::string& entries,
                                           bool count_frames = false) {
  std::string out;
  const std::string cmd =
      std::string("ffprobe -v error ") + (count_frames ? "-count_frames " : "") +
      "-select_streams a:0 -show_entries " + entries + " -of default=nw=1 " + Quote(path);
  EXPECT_EQ(0, Shell(cmd, &out)) << cmd;
  std::map<std::string, std::string> m;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) m[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return m;
}

double FfprobeSeconds(const std::string& path) {
  auto m = Ffprobe(path, "format=duration");
  EXPECT_TRUE(m.count("duration")) << path;
  return m.count("duration") ? std::stod(m["duration"]) : -1;
}

uint64_t SoxiNumber(const std::string& flag, const std::string& path) {
  std::string out;
  EXPECT_EQ(0, Shell("soxi " + flag + " " + Quote(path), &out)) << path;
  return out.empty() ? 0 : std::stoull(out);
}

std::vector<std::string> FindFiles(const std::string& dir, const std::string& ext) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ext) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// Samples per MP3 frame: 1152 for MPEG-1 (32 kHz and up), 576 for MPEG-2/2.5.
uint32_t Mp3FrameSamples(uint32_t rate) { return rate >= 32000 ? 1152 : 576; }
double Mp3FrameSeconds(uint32_t rate) { return double(Mp3FrameSamples(rate)) / rate; }

// Offsets of the frames of an MP3 without tags or garbage, found with the header parser alone.
std::vector<size_t> FrameOffsets(const std::string& bytes) {
  std::vector<size_t> offsets;
  for (size_t pos = 0; pos + 4 <= bytes.size();) {
    auto h = ParseMp3FrameHeader(reinterpret_cast<const uint8_t*>(bytes.data() + pos));
    if (!h || h->frame_bytes == 0 || pos + h->frame_bytes > bytes.size()) break;
    offsets.push_back(pos);
    pos += h->frame_bytes;
  }
  return offsets;
}

// Bytes of the ID3v2 tag at the start (10 + syncsafe size), 0 without one.
size_t Id3v2Bytes(const std::string& b) {
  if (b.size() < 10 || b.compare(0, 3, "ID3") != 0) return 0;
  auto u = [&b](int i) { return size_t(static_cast<uint8_t>(b[i])); };
  return 10 + (u(6) << 21 | u(7) << 14 | u(8) << 7 | u(9));
}

struct XingFields {
  std::string tag;  // "Xing" or "Info"
  uint32_t flags = 0, frames = 0, bytes = 0;
  uint32_t frame_bytes = 0;
};

XingFields ReadXing(const std::string& file) {
  XingFields x;
  const auto* p = reinterpret_cast<const uint8_t*>(file.data());
  auto h = ParseMp3FrameHeader(p);
  if (!h) return x;
  const size_t off = 4 + h->side_info_bytes;
  auto be32 = [p](size_t at) {
    return uint32_t(p[at]) << 24 | uint32_t(p[at + 1]) << 16 | uint32_t(p[at + 2]) << 8 | p[at + 3];
  };
  x.tag = file.substr(off, 4);
  x.flags = be32(off + 4);
  x.frames = be32(off + 8);
  x.bytes = be32(off + 12);
  x.frame_bytes = h->frame_bytes;
  return x;
}

void PutLe(std::string& s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s += static_cast<char>(v >> (8 * i));
}
uint32_t GetLe32(const std::string& s, size_t at) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data() + at);
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

std::string RiffChunk(const std::string& id, const std::string& payload) {
  std::string c = id;
  PutLe(c, payload.size(), 4);
  c += payload;
  if (payload.size() & 1) c += '\0';
  return c;
}

std::string PcmFmt(uint16_t tag, uint16_t channels, uint32_t rate, uint16_t bits) {
  std::string f;
  PutLe(f, tag, 2);
  PutLe(f, channels, 2);
  PutLe(f, rate, 4);
  PutLe(f, uint64_t(rate) * channels * bits / 8, 4);
  PutLe(f, channels * bits / 8, 2);
  PutLe(f, bits, 2);
  return f;
}

std::string RiffWave(const std::string& chunks) {
  std::string w = "RIFF";
  PutLe(w, 4 + chunks.size(), 4);
  return w + "WAVE" + chunks;
}

// The chunks of a RIFF/WAVE file, in order (id → payload); independent of the code under test.
std::vector<std::pair<std::string, std::string>> RiffChunks(const std::string& file) {
  std::vector<std::pair<std::string, std::string>> chunks;
  for (size_t pos = 12; pos + 8 <= file.size();) {
    const uint32_t size = GetLe32(file, pos + 4);
    chunks.emplace_back(file.substr(pos, 4), file.substr(pos + 8, size));
    pos += 8 + size + (size & 1);
  }
  return chunks;
}

std::string Payload(const std::vector<std::pair<std::string, std::string>>& chunks,
                    const std::string& id) {
  for (const auto& c : chunks)
    if (c.first == id) return c.second;
  return "";
}

Result<MediaInfo> ProbeOk(const std::string& path) {
  auto r = ProbeMedia(path);
  EXPECT_TRUE(r.ok()) << path << ": " << r.status().ToString();
  return r;
}

void ExpectError(const std::string& path, Code code, const std::string& needle = "") {
  auto r = ProbeMedia(path);
  ASSERT_FALSE(r.ok()) << path << " was accepted";
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  EXPECT_NE(r.status().detail().find(path), std::string::npos)
      << "message does not name the file: " << r.status().detail();
  if (!needle.empty()) {
    EXPECT_NE(r.status().detail().find(needle), std::string::npos) << r.status().detail();
  }
}

PreviewRequest Ms(uint64_t ms) { return {PreviewRequest::Unit::kMilliseconds, ms}; }
PreviewRequest Lines(uint64_t n) { return {PreviewRequest::Unit::kLines, n}; }
PreviewRequest Chars(uint64_t n) { return {PreviewRequest::Unit::kCharacters, n}; }

// A generated 5.3 s stereo test tone (a sweep plus a fixed sine, so VBR varies its bitrate).
std::string ToneWav() {
  const std::string path = Tmp("tone.wav");
  if (!fs::exists(path)) {
    EXPECT_EQ(0, Shell("sox -n -r 44100 -c 2 -b 16 " + Quote(path) +
                       " synth 5.3 sine 300-3000 sine 440 2>&1"));
  }
  return path;
}

std::string Lame(const std::string& name, const std::string& args) {
  const std::string out = Tmp(name);
  EXPECT_EQ(0, Shell("lame --quiet " + args + " " + Quote(ToneWav()) + " " + Quote(out) + " 2>&1"))
      << args;
  return out;
}

// ---------------------------------------------------------------------------------------------
// MP3

TEST(Mp3HeaderTest, DecodesHeaders) {
  const uint8_t mpeg1[4] = {0xFF, 0xFB, 0x90, 0x64};  // 128 kbit/s, 44.1 kHz, joint stereo
  auto h = ParseMp3FrameHeader(mpeg1);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->version, MpegVersion::kMpeg1);
  EXPECT_EQ(h->layer, 3);
  EXPECT_FALSE(h->crc);
  EXPECT_EQ(h->bitrate_kbps, 128u);
  EXPECT_EQ(h->sample_rate, 44100u);
  EXPECT_EQ(h->channels, 2);
  EXPECT_EQ(h->frame_bytes, 417u);  // 144000 × 128 / 44100
  EXPECT_EQ(h->samples, 1152u);
  EXPECT_EQ(h->side_info_bytes, 32u);
  const uint8_t padded[4] = {0xFF, 0xFB, 0x92, 0x64};
  EXPECT_EQ(ParseMp3FrameHeader(padded)->frame_bytes, 418u);
  const uint8_t mpeg2[4] = {0xFF, 0xF2, 0x40, 0xC0};  // MPEG-2, CRC, 32 kbit/s, 22.05 kHz, mono
  h = ParseMp3FrameHeader(mpeg2);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->version, MpegVersion::kMpeg2);
  EXPECT_TRUE(h->crc);
  EXPECT_EQ(h->bitrate_kbps, 32u);
  EXPECT_EQ(h->sample_rate, 22050u);
  EXPECT_EQ(h->channels, 1);
  EXPECT_EQ(h->frame_bytes, 104u);  // 72000 × 32 / 22050
  EXPECT_EQ(h->samples, 576u);
  EXPECT_EQ(h->side_info_bytes, 9u);
  const uint8_t mpeg25[4] = {0xFF, 0xE3, 0x28, 0xC0};  // MPEG-2.5, 16 kbit/s, 8 kHz
  h = ParseMp3FrameHeader(mpeg25);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->version, MpegVersion::kMpeg25);
  EXPECT_EQ(h->sample_rate, 8000u);
  EXPECT_EQ(h->frame_bytes, 144u);
  const uint8_t layer2[4] = {0xFF, 0xFD, 0x90, 0x64};
  EXPECT_EQ(ParseMp3FrameHeader(layer2)->layer, 2);

  const uint8_t bad[][4] = {
      {0xFF, 0x7B, 0x90, 0x64},  // no sync
      {0xFF, 0xEB, 0x90, 0x64},  // reserved version
      {0xFF, 0xF9, 0x90, 0x64},  // reserved layer
      {0xFF, 0xFB, 0xF0, 0x64},  // bitrate index 15
      {0xFF, 0xFB, 0x9C, 0x64},  // reserved sample rate
      {0xFF, 0xFB, 0x90, 0x66},  // reserved emphasis
  };
  for (const auto& b : bad) EXPECT_FALSE(ParseMp3FrameHeader(b)) << int(b[1]) << " " << int(b[2]);
}

// Every MP3 Debian ships with Scratch (MPEG-1 and MPEG-2, with and without ID3v2, CRC-protected
// frames, no Xing): frame counts equal what ffmpeg decodes; duration is within one frame of
// ffprobe's (which estimates from the bitrate for these files).
TEST(Mp3Test, ScratchSoundsAgreeWithFfprobe) {
  const auto files = FindFiles(kScratch, ".mp3");
  ASSERT_GE(files.size(), 40u);
  int with_id3 = 0, mpeg2 = 0;
  for (const auto& path : files) {
    SCOPED_TRACE(path);
    auto info = ProbeOk(path);
    ASSERT_TRUE(info.ok());
    auto ff =
        Ffprobe(path, "stream=sample_rate,channels,bit_rate,nb_read_frames:format=duration", true);
    EXPECT_EQ(info->kind, MediaKind::kMp3);
    EXPECT_EQ(info->mime, "audio/mpeg");
    EXPECT_EQ(info->codec, "mp3");
    EXPECT_EQ(info->size_bytes, fs::file_size(path));
    EXPECT_EQ(std::to_string(info->sample_rate), ff["sample_rate"]);
    EXPECT_EQ(std::to_string(info->channels), ff["channels"]);
    EXPECT_EQ(std::to_string(info->frames), ff["nb_read_frames"]);
    EXPECT_EQ(info->duration_ms,
              info->frames * Mp3FrameSamples(info->sample_rate) * 1000 / info->sample_rate);
    EXPECT_NEAR(info->duration_ms / 1000.0, std::stod(ff["duration"]),
                Mp3FrameSeconds(info->sample_rate));
    EXPECT_FALSE(info->vbr);
    EXPECT_EQ(std::to_string(info->bitrate_kbps * 1000), ff["bit_rate"]);
    with_id3 += info->has_id3v2;
    mpeg2 += info->sample_rate < 32000;
  }
  EXPECT_GT(with_id3, 10);
  EXPECT_GT(mpeg2, 5);
}

TEST(Mp3Test, KnownScratchFiles) {
  auto garden = ProbeOk(kScratch + "/Music Loops/Garden.mp3");  // CRC-protected, no tags
  ASSERT_TRUE(garden.ok());
  EXPECT_FALSE(garden->has_id3v2);
  EXPECT_FALSE(garden->has_xing);
  EXPECT_EQ(garden->frames, 645u);
  EXPECT_EQ(garden->duration_ms, 16848u);  // 645 × 1152 / 44100 s
  EXPECT_EQ(garden->sample_rate, 44100u);
  EXPECT_EQ(garden->channels, 1);
  EXPECT_EQ(garden->bitrate_kbps, 64u);
  auto cat = ProbeOk(kScratch + "/Animal/Cat.mp3");  // ID3v2.3
  ASSERT_TRUE(cat.ok());
  EXPECT_TRUE(cat->has_id3v2);
  EXPECT_EQ(cat->frames, 19u);
  EXPECT_EQ(cat->duration_ms, 496u);
}

struct LameCase {
  std::string name, args;
  uint32_t sample_rate;  // 0: whatever lame picks (checked against ffprobe)
  uint16_t channels;
  bool vbr, xing, id3v2;
  uint32_t kbps;  // CBR only
};

const std::vector<LameCase>& LameCases() {
  static const std::vector<LameCase> cases = {
      {"cbr_id3.mp3", "-b 128 --id3v2-only --tt Title --ta Artist", 44100, 2, false, true, true,
       128},
      {"vbr.mp3", "-V 2", 44100, 2, true, true, false, 0},
      {"vbr_id3.mp3", "-V 5 --add-id3v2 --tt Song", 44100, 2, true, true, true, 0},
      {"cbr_noxing.mp3", "-b 160 -t", 44100, 2, false, false, false, 160},
      {"mpeg2_mono.mp3", "--resample 22.05 -m m -b 32", 22050, 1, false, false, false, 32},
      {"mpeg2_stereo.mp3", "--resample 24 -b 64", 24000, 2, false, true, false, 64},
      {"mpeg25.mp3", "--resample 8 -m m -b 16", 8000, 1, false, false, false, 16},
      {"crc.mp3", "-b 64 -p", 0, 2, false, true, false, 64},
      {"id3v1.mp3", "-b 96 --id3v1-only --tt Name", 0, 2, false, true, false, 96},
  };
  return cases;
}

TEST(Mp3Test, GeneratedWithLame) {
  for (const auto& c : LameCases()) {
    SCOPED_TRACE(c.name + " (lame " + c.args + ")");
    const std::string path = Lame(c.name, c.args);
    auto info = ProbeOk(path);
    ASSERT_TRUE(info.ok());
    auto ff = Ffprobe(path, "stream=sample_rate,channels:format=duration,bit_rate");
    if (c.sample_rate) {
      EXPECT_EQ(info->sample_rate, c.sample_rate);
    }
    EXPECT_EQ(std::to_string(info->sample_rate), ff["sample_rate"]);
    EXPECT_EQ(info->channels, c.channels);
    EXPECT_EQ(info->vbr, c.vbr);
    EXPECT_EQ(info->has_xing, c.xing);
    EXPECT_EQ(info->has_id3v2, c.id3v2);
    const double ff_seconds = std::stod(ff["duration"]);
    if (info->has_xing) {
      // ffprobe takes the duration from the Xing/Info frame count: exact up to our rounding down.
      EXPECT_NEAR(info->duration_ms / 1000.0, ff_seconds, 0.0011);
      XingFields x = ReadXing(ReadFile(path).substr(Id3v2Bytes(ReadFile(path))));
      EXPECT_EQ(x.frames, info->frames);
    } else {
      EXPECT_NEAR(info->duration_ms / 1000.0, ff_seconds, Mp3FrameSeconds(info->sample_rate));
    }
    // The source is 5.3 s; the encoder adds its delay and padding (< 3 frames).
    EXPECT_GE(info->duration_ms, 5300u);
    EXPECT_LE(info->duration_ms,
              5300u + 3 * 1000 * Mp3FrameSamples(info->sample_rate) / info->sample_rate);
    if (c.vbr) {
      EXPECT_NEAR(info->bitrate_kbps, std::stod(ff["bit_rate"]) / 1000, 3);
    } else {
      EXPECT_EQ(info->bitrate_kbps, c.kbps);
    }
  }
}

// An ID3v1 tag, an APEv2 tag and an appended ID3v2 tag after the frames are not audio.
TEST(Mp3Test, TrailingTagsAreNotFrames) {
  const std::string plain = Lame("plain.mp3", "-b 128 -t");
  auto base = ProbeOk(plain);
  ASSERT_TRUE(base.ok());
  const std::string audio = ReadFile(plain);

  std::string ape_items;
  PutLe(ape_items, 4, 4);
  PutLe(ape_items, 0, 4);
  ape_items += std::string("Title\0Song", 10);
  auto ape_part = [&](uint32_t flags) {
    std::string s = "APETAGEX";
    PutLe(s, 2000, 4);
    PutLe(s, ape_items.size() + 32, 4);
    PutLe(s, 1, 4);
    PutLe(s, flags, 4);
    s += std::string(8, '\0');
    return s;
  };
  const std::string ape = ape_part(0xA0000000u) + ape_items + ape_part(0x80000000u);
  std::string id3v1 = "TAG" + std::string(125, ' ');
  std::string id3v2 = std::string("ID3\x04\x00\x10\x00\x00\x00\x0A", 10) + std::string(10, 'x') +
                      std::string("3DI\x04\x00\x10\x00\x00\x00\x0A", 10);

  const std::vector<std::pair<std::string, std::string>> variants = {
      {"v1.mp3", audio + id3v1},
      {"ape.mp3", audio + ape},
      {"ape_v1.mp3", audio + ape + id3v1},
      {"id3v2_end.mp3", audio + id3v2},
      {"id3v2_end_v1.mp3", audio + id3v2 + id3v1},
  };
  for (const auto& [name, bytes] : variants) {
    SCOPED_TRACE(name);
    WriteFile(Tmp(name), bytes);
    auto info = ProbeOk(Tmp(name));
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->frames, base->frames);
    EXPECT_EQ(info->duration_ms, base->duration_ms);
    EXPECT_EQ(info->size_bytes, bytes.size());
  }
}

// Garbage between frames: a short run is skipped by resynchronisation (a fake sync inside it is
// not believed because no frame follows it); a long run ends the audio.
TEST(Mp3Test, GarbageBetweenFrames) {
  const std::string audio = ReadFile(Lame("plain.mp3", "-b 128 -t"));
  const auto offsets = FrameOffsets(audio);
  ASSERT_GT(offsets.size(), 100u);
  std::string junk(700, '\x55');
  junk.replace(100, 4, "\xFF\xFB\x90\x64");
  std::string with_junk = audio;
  with_junk.insert(offsets[20], junk);
  WriteFile(Tmp("junk.mp3"), with_junk);
  auto info = ProbeOk(Tmp("junk.mp3"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->frames, offsets.size());

  std::string long_junk = audio;
  long_junk.insert(offsets[20], std::string(100 * 1024, '\x55'));
  WriteFile(Tmp("long_junk.mp3"), long_junk);
  info = ProbeOk(Tmp("long_junk.mp3"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->frames, 20u);

  // A final frame cut short is not counted.
  WriteFile(Tmp("cut_frame.mp3"), audio.substr(0, offsets[50] + 100));
  info = ProbeOk(Tmp("cut_frame.mp3"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->frames, 50u);
}

TEST(Mp3Test, RefusesBrokenAndUnsupportedStreams) {
  const std::string tagged = ReadFile(Lame("cbr_id3.mp3", "-b 128 --id3v2-only --tt Title"));
  ASSERT_EQ(tagged.substr(0, 3), "ID3");
  const size_t tag_bytes = Id3v2Bytes(tagged);
  ASSERT_GT(tag_bytes, 20u);
  // Cut inside the ID3v2 header, inside the tag, right after it, and inside the first frame.
  WriteFile(Tmp("cut_id3_header.mp3"), tagged.substr(0, 6));
  ExpectError(Tmp("cut_id3_header.mp3"), Code::MediaTruncated, "ID3v2");
  WriteFile(Tmp("cut_in_tag.mp3"), tagged.substr(0, tag_bytes / 2));
  ExpectError(Tmp("cut_in_tag.mp3"), Code::MediaTruncated, "ID3v2 tag");
  WriteFile(Tmp("only_tag.mp3"), tagged.substr(0, tag_bytes));
  ExpectError(Tmp("only_tag.mp3"), Code::MediaTruncated, "no complete MPEG audio frame");
  WriteFile(Tmp("cut_first_frame.mp3"), tagged.substr(0, tag_bytes + 100));
  ExpectError(Tmp("cut_first_frame.mp3"), Code::MediaTruncated);
  // Only the Info frame, no audio after it.
  const XingFields x = ReadXing(tagged.substr(tag_bytes));
  ASSERT_EQ(x.tag, "Info");
  WriteFile(Tmp("only_info.mp3"), tagged.substr(0, tag_bytes + x.frame_bytes));
  ExpectError(Tmp("only_info.mp3"), Code::MediaTruncated, "no complete audio frame");
  WriteFile(Tmp("three_bytes.mp3"), std::string("\xFF\xFB\x90", 3));
  ExpectError(Tmp("three_bytes.mp3"), Code::MediaTruncated);
  // An ID3v2 tag followed by noise.
  WriteFile(Tmp("tag_then_noise.mp3"), tagged.substr(0, tag_bytes) + std::string(5000, 'z'));
  ExpectError(Tmp("tag_then_noise.mp3"), Code::MediaTruncated);
  ExpectError(Tmp("missing.mp3"), Code::IoOpen);
  WriteFile(Tmp("empty.mp3"), "");
  ExpectError(Tmp("empty.mp3"), Code::MediaTruncated, "empty");

  // MPEG-1 Layer II from ffmpeg, bare and behind an ID3v2 tag.
  SH("ffmpeg -v error -y -f lavfi -i sine=frequency=440:duration=2 -c:a mp2 -f mp2 " +
     Quote(Tmp("layer2.mp3")));
  ExpectError(Tmp("layer2.mp3"), Code::MediaUnsupported, "Layer II");
  WriteFile(Tmp("layer2_id3.mp3"), tagged.substr(0, tag_bytes) + ReadFile(Tmp("layer2.mp3")));
  ExpectError(Tmp("layer2_id3.mp3"), Code::MediaUnsupported, "Layer II");
  // Free format: bitrate index 0.
  WriteFile(Tmp("free.mp3"), std::string("\xFF\xFB\x00\x64", 4) + std::string(4000, '\0'));
  ExpectError(Tmp("free.mp3"), Code::MediaUnsupported, "free-format");
}

// Previews: a fresh Info (CBR) or Xing (VBR) frame, then the source's first frames byte for
// byte; ffprobe and sox decode them to the requested length within one frame.
TEST(Mp3PreviewTest, CutsWholeFramesWithXingOrInfo) {
  struct Case {
    std::string path;
    uint64_t ms;
  };
  std::vector<Case> cases = {{kScratch + "/Music Loops/Garden.mp3", 3000},
                             {kScratch + "/Animal/Cat.mp3", 300},
                             {kScratch + "/Animal/SeaLion.mp3", 1000},     // MPEG-2, CRC
                             {kScratch + "/Human/Laugh-male3.mp3", 777}};  // MPEG-2, ID3v2
  for (const auto& c : LameCases()) cases.push_back({Lame(c.name, c.args), 2500});
  cases.push_back({Lame("vbr.mp3", "-V 2"), 60});  // three frames
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path + " " + std::to_string(c.ms) + " ms");
    auto info = ProbeOk(c.path);
    ASSERT_TRUE(info.ok());
    auto preview = CutPreview(c.path, *info, Ms(c.ms));
    ASSERT_TRUE(preview.ok()) << preview.status().ToString();
    const std::string& bytes = preview->bytes;
    const double frame_s = Mp3FrameSeconds(info->sample_rate);
    EXPECT_GE(preview->duration_ms, c.ms);
    EXPECT_LT(preview->duration_ms / 1000.0, c.ms / 1000.0 + frame_s);
    EXPECT_NE(bytes.substr(0, 3), "ID3");

    const XingFields x = ReadXing(bytes);
    EXPECT_EQ(x.tag, info->vbr ? "Xing" : "Info");
    EXPECT_EQ(x.flags & 3, 3u);
    EXPECT_EQ(x.bytes, bytes.size());
    // The audio after the header frame is the source's first audio frames, unchanged.
    const std::string audio = bytes.substr(x.frame_bytes);
    const std::string source = ReadFile(c.path);
    const size_t at = source.find(audio);
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(FrameOffsets(audio).size(), x.frames);

    const std::string out = Tmp("preview.mp3");
    WriteFile(out, bytes);
    auto again = ProbeOk(out);
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again->has_xing);
    EXPECT_FALSE(again->has_id3v2);
    EXPECT_EQ(again->frames, x.frames);
    EXPECT_EQ(again->duration_ms, preview->duration_ms);
    EXPECT_EQ(again->sample_rate, info->sample_rate);
    EXPECT_EQ(again->channels, info->channels);

    auto ff = Ffprobe(out, "stream=codec_name,sample_rate,channels:format=duration");
    EXPECT_EQ(ff["codec_name"], "mp3");
    EXPECT_EQ(ff["sample_rate"], std::to_string(info->sample_rate));
    EXPECT_EQ(ff["channels"], std::to_string(info->channels));
    EXPECT_NEAR(std::stod(ff["duration"]), c.ms / 1000.0, frame_s);
    EXPECT_NEAR(std::stod(ff["duration"]), preview->duration_ms / 1000.0, 0.0011);
    // Decoded by ffmpeg and by sox (libmad): exactly the preview's frames, no error, and the
    // requested length within one frame. (soxi's MP3 duration is an estimate, so decode.)
    const uint64_t samples = uint64_t(x.frames) * Mp3FrameSamples(info->sample_rate);
    std::string errors;
    EXPECT_EQ(0, Shell("ffmpeg -v error -i " + Quote(out) + " -f s16le -ac 1 - 2>" +
                           Quote(Tmp("ffmpeg.err")) + " | wc -c",
                       &errors));
    EXPECT_EQ(std::stoull(errors), samples * 2);
    EXPECT_EQ(ReadFile(Tmp("ffmpeg.err")), "");
    std::string sox;
    EXPECT_EQ(0, Shell("sox -V1 " + Quote(out) + " -t raw -e signed -b 16 -c 1 - | wc -c", &sox));
    // libmad may hold back a few samples at the end of the stream.
    EXPECT_NEAR(std::stoull(sox) / 2.0, samples, Mp3FrameSamples(info->sample_rate));
    EXPECT_NEAR(double(samples) / info->sample_rate, c.ms / 1000.0, frame_s);

    auto json = preview->ToJson();
    EXPECT_EQ(json,
              nlohmann::json({{"size", bytes.size()}, {"duration_ms", preview->duration_ms}}));
  }
}

// ffmpeg cannot open an MP3 with a single audio frame, so the shortest preview has two.
TEST(Mp3PreviewTest, ShortestPreviewHasTwoFrames) {
  const std::string path = Lame("vbr.mp3", "-V 2");
  auto info = ProbeOk(path);
  ASSERT_TRUE(info.ok());
  auto preview = CutPreview(path, *info, Ms(1));
  ASSERT_TRUE(preview.ok()) << preview.status().ToString();
  EXPECT_EQ(ReadXing(preview->bytes).frames, 2u);
  EXPECT_EQ(ReadXing(preview->bytes).tag, "Xing");
  EXPECT_EQ(preview->duration_ms, 2 * 1152 * 1000 / 44100);
  const std::string out = Tmp("short.mp3");
  WriteFile(out, preview->bytes);
  EXPECT_NEAR(FfprobeSeconds(out), 2 * 1152 / 44100.0, 1e-6);
  std::string bytes;
  EXPECT_EQ(0, Shell("ffmpeg -v error -i " + Quote(out) + " -f s16le -ac 1 - | wc -c", &bytes));
  EXPECT_EQ(std::stoull(bytes), 2u * 1152 * 2);
}

TEST(Mp3PreviewTest, RefusesBadRequests) {
  const std::string path = Lame("cbr_id3.mp3", "-b 128 --id3v2-only --tt Title");
  auto info = ProbeOk(path);
  ASSERT_TRUE(info.ok());
  auto whole = CutPreview(path, *info, Ms(info->duration_ms));
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(ReadXing(whole->bytes).frames, info->frames);
  EXPECT_EQ(whole->duration_ms, info->duration_ms);
  for (const auto& request : {Ms(info->duration_ms + 1), Ms(0), Lines(3), Chars(10)}) {
    auto r = CutPreview(path, *info, request);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::BadPreview) << r.status().ToString();
  }
  auto r = CutPreview(path, *info, Ms(info->duration_ms + 1));
  EXPECT_NE(r.status().detail().find("longer than the audio"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// WAV

// Asterisk's music-on-hold and Scratch's sounds (8-bit unsigned and 16-bit, some with an odd
// trailing byte in `data`): duration = whole sample frames / rate, as soxi counts them.
TEST(WavTest, DebianFilesAgreeWithSoxi) {
  auto files = FindFiles(kMoh, ".wav");
  ASSERT_EQ(files.size(), 5u);
  const auto scratch = FindFiles(kScratch, ".wav");
  ASSERT_GE(scratch.size(), 60u);
  files.insert(files.end(), scratch.begin(), scratch.end());
  int eight_bit = 0;
  for (const auto& path : files) {
    SCOPED_TRACE(path);
    auto info = ProbeOk(path);
    ASSERT_TRUE(info.ok());
    const uint64_t samples = SoxiNumber("-s", path);
    const uint64_t rate = SoxiNumber("-r", path);
    EXPECT_EQ(info->kind, MediaKind::kWav);
    EXPECT_EQ(info->mime, "audio/wav");
    EXPECT_EQ(info->codec, "pcm");
    EXPECT_EQ(info->sample_rate, rate);
    EXPECT_EQ(info->channels, SoxiNumber("-c", path));
    EXPECT_EQ(info->bits_per_sample, SoxiNumber("-b", path));
    EXPECT_EQ(info->duration_ms, samples * 1000 / rate);
    EXPECT_EQ(info->data_size / (info->channels * info->bits_per_sample / 8), samples);
    EXPECT_EQ(info->size_bytes, fs::file_size(path));
    eight_bit += info->bits_per_sample == 8;
  }
  EXPECT_GE(eight_bit, 1);
}

struct SoxCase {
  std::string name, args;
  uint16_t channels, bits;
  uint32_t rate;
  std::string codec;
  uint16_t format_tag;  // as written by sox
};

const std::vector<SoxCase>& SoxCases() {
  static const std::vector<SoxCase> cases = {
      {"u8.wav", "-r 22050 -c 1 -b 8 -e unsigned", 1, 8, 22050, "pcm", 1},
      {"s16.wav", "-r 44100 -c 2 -b 16 -e signed", 2, 16, 44100, "pcm", 1},
      {"s24.wav", "-r 48000 -c 2 -b 24 -e signed", 2, 24, 48000, "pcm", 0xFFFE},
      {"s32.wav", "-r 96000 -c 1 -b 32 -e signed", 1, 32, 96000, "pcm", 0xFFFE},
      {"f32.wav", "-r 44100 -c 2 -b 32 -e float", 2, 32, 44100, "float", 3},
      {"f64.wav", "-r 32000 -c 1 -b 64 -e float", 1, 64, 32000, "float", 3},
      {"s16_6ch.wav", "-r 8000 -c 6 -b 16 -e signed", 6, 16, 8000, "pcm", 0xFFFE},
      {"u8_11k.wav", "-r 11025 -c 1 -b 8 -e unsigned", 1, 8, 11025, "pcm", 1},
  };
  return cases;
}

std::string Sox(const SoxCase& c, const std::string& length = "2.345") {
  const std::string out = Tmp(c.name);
  EXPECT_EQ(0,
            Shell("sox -n " + c.args + " " + Quote(out) + " synth " + length + " sine 440 2>&1"));
  return out;
}

TEST(WavTest, GeneratedFormats) {
  for (const auto& c : SoxCases()) {
    SCOPED_TRACE(c.name);
    const std::string path = Sox(c);
    const std::string bytes = ReadFile(path);
    ASSERT_EQ(GetLe32(bytes, 20) & 0xFFFF, c.format_tag) << "sox wrote another format";
    auto info = ProbeOk(path);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->channels, c.channels);
    EXPECT_EQ(info->bits_per_sample, c.bits);
    EXPECT_EQ(info->sample_rate, c.rate);
    EXPECT_EQ(info->codec, c.codec);
    const uint64_t samples = SoxiNumber("-s", path);
    EXPECT_EQ(info->duration_ms, samples * 1000 / c.rate);
    EXPECT_NEAR(info->duration_ms / 1000.0, FfprobeSeconds(path), 0.0011);
    EXPECT_EQ(info->data_size, samples * c.channels * c.bits / 8);
    EXPECT_EQ(bytes.substr(info->data_offset - 8, 4), "data");
  }
}

// Chunks before `fmt ` and between `fmt ` and `data`, with odd sizes and their pad bytes.
TEST(WavTest, SkipsOtherChunksWithPadding) {
  std::string samples;
  for (int i = 0; i < 8000; ++i) PutLe(samples, (i * 37) & 0xFFFF, 2);
  const std::string file =
      RiffWave(RiffChunk("LIST", "INFOx") + RiffChunk("fmt ", PcmFmt(1, 1, 8000, 16)) +
               RiffChunk("junk", "abc") + RiffChunk("fact", "\x40\x1F\x00\x00") +
               RiffChunk("data", samples) + RiffChunk("id3 ", "tail"));
  const std::string path = Tmp("chunks.wav");
  WriteFile(path, file);
  auto info = ProbeOk(path);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->duration_ms, 1000u);
  EXPECT_EQ(info->data_size, samples.size());
  EXPECT_EQ(file.substr(info->data_offset, samples.size()), samples);
  EXPECT_EQ(SoxiNumber("-s", path), 8000u);  // sox agrees the file is well formed
  EXPECT_NEAR(FfprobeSeconds(path), 1.0, 1e-6);
}

TEST(WavTest, RefusesBrokenAndUnsupportedFiles) {
  const std::string good = ReadFile(Sox(SoxCases()[1]));
  WriteFile(Tmp("cut_header.wav"), good.substr(0, 30));
  ExpectError(Tmp("cut_header.wav"), Code::MediaTruncated);
  WriteFile(Tmp("cut_riff.wav"), good.substr(0, 8));
  ExpectError(Tmp("cut_riff.wav"), Code::MediaTruncated, "RIFF header");
  WriteFile(Tmp("cut_data.wav"), good.substr(0, good.size() / 2));
  ExpectError(Tmp("cut_data.wav"), Code::MediaTruncated, "'data'");
  WriteFile(Tmp("no_data.wav"), RiffWave(RiffChunk("fmt ", PcmFmt(1, 2, 44100, 16))));
  ExpectError(Tmp("no_data.wav"), Code::MediaTruncated, "no data chunk");
  WriteFile(Tmp("no_fmt.wav"), RiffWave(RiffChunk("data", std::string(400, '\0'))));
  ExpectError(Tmp("no_fmt.wav"), Code::MediaTruncated, "no fmt chunk");

  // block_align that contradicts channels × bytes per sample.
  std::string fmt = PcmFmt(1, 7, 44100, 16);
  fmt[12] = 4;
  fmt[13] = 0;
  WriteFile(Tmp("song.wav"),
            RiffWave(RiffChunk("fmt ", fmt) + RiffChunk("data", std::string(400, '\0'))));
  ExpectError(Tmp("song.wav"), Code::MediaTruncated,
              "fmt chunk declares 7 channels of 16-bit samples but block_align 4");
  WriteFile(Tmp("zero_channels.wav"),
            RiffWave(RiffChunk("fmt ", PcmFmt(1, 0, 44100, 16)) + RiffChunk("data", "")));
  ExpectError(Tmp("zero_channels.wav"), Code::MediaTruncated, "0 channels");

  // Codecs sox can write that we do not decode.
  const std::vector<std::pair<std::string, std::string>> codecs = {
      {"-e a-law", "A-law"},
      {"-e u-law", "mu-law"},
      {"-e ima-adpcm", "IMA ADPCM"},
      {"-e ms-adpcm", "Microsoft ADPCM"},
      {"-e gsm-full-rate", "GSM"}};
  for (const auto& [args, name] : codecs) {
    SCOPED_TRACE(args);
    SH("sox -n -r 8000 -c 1 " + args + " " + Quote(Tmp("codec.wav")) + " synth 1 sine 440");
    ExpectError(Tmp("codec.wav"), Code::MediaUnsupported, name);
  }
  WriteFile(Tmp("pcm12.wav"), RiffWave(RiffChunk("fmt ", PcmFmt(1, 1, 8000, 12)) +
                                       RiffChunk("data", std::string(400, '\0'))));
  ExpectError(Tmp("pcm12.wav"), Code::MediaUnsupported, "12-bit PCM");
  WriteFile(Tmp("float16.wav"), RiffWave(RiffChunk("fmt ", PcmFmt(3, 1, 8000, 16)) +
                                         RiffChunk("data", std::string(400, '\0'))));
  ExpectError(Tmp("float16.wav"), Code::MediaUnsupported, "16-bit IEEE float");
  // WAVE_FORMAT_EXTENSIBLE whose subformat GUID is not PCM/float.
  std::string ext = ReadFile(Sox(SoxCases()[2]));
  ASSERT_EQ(ext.substr(12, 4), "fmt ");
  ext[20 + 24 + 10] = 0x12;  // inside the GUID's fixed tail
  WriteFile(Tmp("guid.wav"), ext);
  ExpectError(Tmp("guid.wav"), Code::MediaUnsupported, "subformat");
  // Other RIFF forms and RF64.
  WriteFile(Tmp("avi.wav"), std::string("RIFF\x04\x00\x00\x00"
                                        "AVI ",
                                        12));
  ExpectError(Tmp("avi.wav"), Code::MediaUnsupported, "'AVI '");
  std::string rf64 = good;
  rf64.replace(0, 4, "RF64");
  WriteFile(Tmp("rf64.wav"), rf64);
  ExpectError(Tmp("rf64.wav"), Code::MediaUnsupported, "RF64");
}

// The preview's `data` is the first whole sample frames of the source, byte for byte; its RIFF
// and data sizes match the file; sox and ffprobe read the requested length.
TEST(WavPreviewTest, ByteIdenticalPrefix) {
  std::vector<std::pair<std::string, uint64_t>> cases = {
      {kMoh + "/macroform-cold_day.wav", 30000},
      {kScratch + "/Animal/Rooster.wav", 1234},  // odd data size
      {kScratch + "/Animal/Rooster.wav", 1},
  };
  for (const auto& c : SoxCases()) cases.push_back({Sox(c), 1501});
  for (const auto& [path, ms] : cases) {
    SCOPED_TRACE(path + " " + std::to_string(ms) + " ms");
    auto info = ProbeOk(path);
    ASSERT_TRUE(info.ok());
    auto preview = CutPreview(path, *info, Ms(ms));
    ASSERT_TRUE(preview.ok()) << preview.status().ToString();
    const std::string& bytes = preview->bytes;
    const std::string source = ReadFile(path);
    const uint32_t block = info->channels * info->bits_per_sample / 8;
    const uint64_t frames = (ms * info->sample_rate + 999) / 1000;  // whole frames covering ms

    ASSERT_EQ(bytes.substr(0, 4), "RIFF");
    EXPECT_EQ(GetLe32(bytes, 4), bytes.size() - 8);
    EXPECT_EQ(bytes.substr(8, 4), "WAVE");
    const auto chunks = RiffChunks(bytes);
    ASSERT_EQ(chunks.size(), 2u);
    EXPECT_EQ(chunks[0].first, "fmt ");
    EXPECT_EQ(chunks[0].second, Payload(RiffChunks(source), "fmt "));
    EXPECT_EQ(chunks[1].first, "data");
    EXPECT_EQ(chunks[1].second.size(), frames * block);
    EXPECT_EQ(chunks[1].second, source.substr(info->data_offset, frames * block));
    EXPECT_EQ(preview->duration_ms, frames * 1000 / info->sample_rate);

    const std::string out = Tmp("preview.wav");
    WriteFile(out, bytes);
    EXPECT_EQ(SoxiNumber("-s", out), frames);
    std::string sox;
    ASSERT_EQ(0, Shell("soxi -D " + Quote(out), &sox));
    EXPECT_NEAR(std::stod(sox), ms / 1000.0, 1.0 / info->sample_rate);
    EXPECT_NEAR(FfprobeSeconds(out), ms / 1000.0, 1.0 / info->sample_rate + 1e-6);
    auto again = ProbeOk(out);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->duration_ms, preview->duration_ms);
    EXPECT_EQ(again->codec, info->codec);
    EXPECT_EQ(preview->ToJson(),
              nlohmann::json({{"size", bytes.size()}, {"duration_ms", preview->duration_ms}}));
  }
}

TEST(WavPreviewTest, RefusesTooLongAndOverCap) {
  const std::string path = Sox(SoxCases()[1]);
  auto info = ProbeOk(path);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(CutPreview(path, *info, Ms(info->duration_ms)).ok());
  for (const auto& request : {Ms(info->duration_ms + 1), Ms(0), Lines(1)}) {
    auto r = CutPreview(path, *info, request);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::BadPreview);
  }
  // 8 channels of 32-bit float at 48 kHz: 1.5 MB/s. A sparse 100 MiB data chunk is a valid
  // 68 s file; a 50 s preview (73 MiB) is over the 64 MiB cap, a 10 s one is not.
  const std::string big = Tmp("big.wav");
  const uint64_t data_bytes = 100ull << 20;
  std::string header = "RIFF";
  PutLe(header, 4 + 8 + 16 + 8 + data_bytes, 4);
  header += "WAVEfmt ";
  PutLe(header, 16, 4);
  header += PcmFmt(3, 8, 48000, 32) + "data";
  PutLe(header, data_bytes, 4);
  WriteFile(big, header);
  fs::resize_file(big, header.size() + data_bytes);
  auto big_info = ProbeOk(big);
  ASSERT_TRUE(big_info.ok());
  EXPECT_EQ(big_info->duration_ms, data_bytes / 32 * 1000 / 48000);
  auto r = CutPreview(big, *big_info, Ms(50000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::BadPreview);
  EXPECT_NE(r.status().detail().find("64 MiB"), std::string::npos) << r.status().detail();
  auto ok = CutPreview(big, *big_info, Ms(10000));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->bytes.size(), 44u + 480000u * 32);
}

// ---------------------------------------------------------------------------------------------
// Detection and extension checks

TEST(MediaTest, ContentMustMatchExtension) {
  const std::string mp3 = ReadFile(kScratch + "/Animal/Cat.mp3");
  const std::string bare_mp3 = ReadFile(kScratch + "/Music Loops/Garden.mp3");
  const std::string wav = ReadFile(kMoh + "/reno_project-system.wav");
  const std::string text = ReadFile("/usr/share/common-licenses/GPL-3");
  Result<MediaInfo> info = Status(Code::Internal, "unset");
  WriteFile(Tmp("cat.wav"), mp3);
  ExpectError(Tmp("cat.wav"), Code::MediaMismatch, "MP3");
  WriteFile(Tmp("garden.wav"), bare_mp3);
  ExpectError(Tmp("garden.wav"), Code::MediaMismatch, "MPEG audio");
  WriteFile(Tmp("garden.txt"), bare_mp3);
  ExpectError(Tmp("garden.txt"), Code::MediaMismatch);
  WriteFile(Tmp("system.mp3"), wav);
  ExpectError(Tmp("system.mp3"), Code::MediaMismatch, "WAV");
  WriteFile(Tmp("system.md"), wav);
  ExpectError(Tmp("system.md"), Code::MediaMismatch, "WAV");
  WriteFile(Tmp("gpl.mp3"), text);
  ExpectError(Tmp("gpl.mp3"), Code::MediaMismatch, "content is text");
  WriteFile(Tmp("gpl.wav"), text);
  ExpectError(Tmp("gpl.wav"), Code::MediaMismatch, "content is text");
  SH("sox -n -r 44100 " + Quote(Tmp("tone.flac")) + " synth 0.5 sine 440");
  ExpectError(Tmp("tone.flac"), Code::MediaUnsupported, ".flac");
  WriteFile(Tmp("tone.wav.mp3"), ReadFile(Tmp("tone.flac")));
  ExpectError(Tmp("tone.wav.mp3"), Code::MediaMismatch, "FLAC");
  SH("gzip -c /usr/share/common-licenses/GPL-3 > " + Quote(Tmp("gpl.gz.txt")));
  ExpectError(Tmp("gpl.gz.txt"), Code::MediaMismatch, "gzip");
  // Text that merely starts with an ASCII signature is still text.
  WriteFile(Tmp("riff.txt"), "RIFFs and FORMs\n");
  info = ProbeOk(Tmp("riff.txt"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->kind, MediaKind::kText);
  ExpectError(Tmp("no-extension"), Code::MediaUnsupported, "(none)");
  WriteFile(Tmp("empty.wav"), "");
  ExpectError(Tmp("empty.wav"), Code::MediaTruncated, "empty");

  // Extensions are case-insensitive.
  WriteFile(Tmp("CAT.MP3"), mp3);
  info = ProbeOk(Tmp("CAT.MP3"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->kind, MediaKind::kMp3);
  WriteFile(Tmp("Readme.MD"), "# hi\n");
  info = ProbeOk(Tmp("Readme.MD"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->kind, MediaKind::kText);
}

TEST(MediaTest, ToJsonHasExactlyTheManifestFields) {
  auto mp3 = ProbeOk(Lame("vbr.mp3", "-V 2"));
  ASSERT_TRUE(mp3.ok());
  EXPECT_EQ(mp3->ToJson(), nlohmann::json({{"type", "audio/mpeg"},
                                           {"size", mp3->size_bytes},
                                           {"duration_ms", mp3->duration_ms},
                                           {"sample_rate", 44100},
                                           {"channels", 2},
                                           {"bitrate_kbps", mp3->bitrate_kbps},
                                           {"vbr", true},
                                           {"codec", "mp3"}}));
  auto wav = ProbeOk(Sox(SoxCases()[4]));
  ASSERT_TRUE(wav.ok());
  EXPECT_EQ(wav->ToJson(), nlohmann::json({{"type", "audio/wav"},
                                           {"size", wav->size_bytes},
                                           {"duration_ms", wav->duration_ms},
                                           {"sample_rate", 44100},
                                           {"channels", 2},
                                           {"bits_per_sample", 32},
                                           {"codec", "float"}}));
  WriteFile(Tmp("bom.txt"), "\xEF\xBB\xBFhello\nw\xC3\xB6rld");
  auto text = ProbeOk(Tmp("bom.txt"));
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->ToJson(), nlohmann::json({{"type", "text/plain; charset=utf-8"},
                                            {"size", 15},
                                            {"lines", 2},
                                            {"characters", 11},
                                            {"bom", true}}));
  for (const auto& j : {mp3->ToJson(), wav->ToJson(), text->ToJson()})
    for (const auto& [key, value] : j.items())
      EXPECT_FALSE(value.is_number_float()) << key << " is a float";
  // The serialised form is what goes into the canonical manifest.
  EXPECT_EQ(text->ToJson().dump(),
            "{\"bom\":true,\"characters\":11,\"lines\":2,\"size\":15,"
            "\"type\":\"text/plain; charset=utf-8\"}");
}

// ---------------------------------------------------------------------------------------------
// Text

uint64_t WcNumber(const std::string& flag, const std::string& path) {
  std::string out;
  EXPECT_EQ(0, Shell("LC_ALL=C.UTF-8 wc " + flag + " < " + Quote(path), &out));
  return out.empty() ? 0 : std::stoull(out);
}

TEST(TextTest, DebianTextsAgreeWithWc) {
  const std::string gpl = Tmp("GPL-3.txt");
  SH("cp /usr/share/common-licenses/GPL-3 " + Quote(gpl));
  const std::string jargon = Tmp("jargon.txt");
  SH("zcat /usr/share/doc/jargon-text/jargon.txt.gz > " + Quote(jargon));
  for (const auto& path : {gpl, jargon}) {
    SCOPED_TRACE(path);
    auto info = ProbeOk(path);
    ASSERT_TRUE(info.ok());
    const std::string bytes = ReadFile(path);
    EXPECT_EQ(info->kind, MediaKind::kText);
    EXPECT_EQ(info->mime, "text/plain; charset=utf-8");
    EXPECT_EQ(info->size_bytes, bytes.size());
    EXPECT_FALSE(info->bom);
    // Neither file has a "\r", so wc's newline count is the line count (+1 if unterminated).
    ASSERT_EQ(bytes.find('\r'), std::string::npos);
    EXPECT_EQ(info->lines, WcNumber("-l", path) + (bytes.back() != '\n'));
    EXPECT_EQ(info->characters, WcNumber("-m", path));
  }
  auto j = ProbeOk(jargon);
  ASSERT_TRUE(j.ok());
  EXPECT_LT(j->characters, j->size_bytes);  // it has multi-byte characters
  EXPECT_GT(j->lines, 40000u);
}

TEST(TextTest, LineAndCharacterRules) {
  struct Case {
    std::string bytes;
    uint64_t lines, characters;
    bool bom;
  };
  const std::vector<Case> cases = {
      {"", 0, 0, false},
      {"a", 1, 1, false},
      {"a\n", 1, 2, false},
      {"a\nb", 2, 3, false},
      {"\n", 1, 1, false},
      {"\n\n", 2, 2, false},
      {"a\r\nb\r\n", 2, 6, false},
      {"a\rb", 2, 3, false},
      {"\r\r\n\n", 3, 4, false},
      {"\r", 1, 1, false},
      {"\xEF\xBB\xBF", 0, 0, true},
      {"\xEF\xBB\xBFx", 1, 1, true},
      {"\xEF\xBB\xBF\r\n", 1, 2, true},
      {"x\xEF\xBB\xBF", 1, 2, false},  // U+FEFF later is a character, not a BOM
      {"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 1, 3, false},
      {"\xF4\x8F\xBF\xBF\xED\x9F\xBF\xEE\x80\x80", 1, 3, false},  // U+10FFFF, U+D7FF, U+E000
      {std::string("a\0b\n", 4), 1, 4, false},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string path = Tmp("rules" + std::to_string(i++) + ".txt");
    SCOPED_TRACE(path);
    WriteFile(path, c.bytes);
    auto info = ProbeOk(path);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->lines, c.lines);
    EXPECT_EQ(info->characters, c.characters);
    EXPECT_EQ(info->bom, c.bom);
    EXPECT_EQ(info->size_bytes, c.bytes.size());
  }
  for (const char* ext : {".text", ".md", ".TXT"}) {
    WriteFile(Tmp(std::string("doc") + ext), "one\ntwo\n");
    auto info = ProbeOk(Tmp(std::string("doc") + ext));
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->lines, 2u);
  }
}

TEST(TextTest, RejectsInvalidUtf8WithOffset) {
  struct Case {
    std::string bytes;
    uint64_t offset;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"ab\xC0\x80", 2, "overlong"},
      {"\xC1\xBF", 0, "overlong"},
      {"\xE0\x80\x80", 0, "overlong"},
      {"\xE0\x9F\xBF", 0, "overlong"},
      {"\xF0\x8F\xBF\xBF", 0, "overlong"},
      {"x\xED\xA0\x80", 1, "surrogate"},
      {"xy\xED\xBF\xBF", 2, "surrogate"},
      {"\xF4\x90\x80\x80", 0, "U+10FFFF"},
      {"abc\xF5\x80\x80\x80", 3, "0xF4"},
      {"\xFF", 0, "0xF4"},
      {"ok\x80", 2, "continuation"},
      {"\xE2\x28\xA1", 0, "cut short"},
      {"\xF0\x9F\x98"
       "A",
       0, "cut short"},
      {"abc\xE2\x82", 3, "ends inside"},
      {"\xC3", 0, "ends inside"},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string path = Tmp("bad" + std::to_string(i++) + ".txt");
    SCOPED_TRACE(path);
    WriteFile(path, c.bytes);
    ExpectError(path, Code::TextNotUtf8, "byte offset " + std::to_string(c.offset) + ":");
    ExpectError(path, Code::TextNotUtf8, c.why);
  }
  // Far past the first read buffer, and a valid sequence split across the 64 KiB boundary.
  std::string big(100000, 'a');
  big.replace(65534, 4, "\xF0\x9F\x98\x80");
  WriteFile(Tmp("split.txt"), big);
  auto info = ProbeOk(Tmp("split.txt"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->characters, 100000u - 3);
  big[99999] = '\xBF';
  WriteFile(Tmp("late.txt"), big);
  ExpectError(Tmp("late.txt"), Code::TextNotUtf8, "byte offset 99999:");
}

TEST(TextPreviewTest, FirstLinesKeepTerminatorsAndBom) {
  const std::string bytes = "\xEF\xBB\xBFone\r\ntwo\rthree\n\nfive";
  const std::string path = Tmp("lines.txt");
  WriteFile(path, bytes);
  auto info = ProbeOk(path);
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->lines, 5u);
  const std::vector<std::string> expected = {"\xEF\xBB\xBFone\r\n", "\xEF\xBB\xBFone\r\ntwo\r",
                                             "\xEF\xBB\xBFone\r\ntwo\rthree\n",
                                             "\xEF\xBB\xBFone\r\ntwo\rthree\n\n", bytes};
  for (uint64_t n = 1; n <= 5; ++n) {
    SCOPED_TRACE(n);
    auto p = CutPreview(path, *info, Lines(n));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->bytes, expected[n - 1]);
    EXPECT_EQ(p->lines, n);
    EXPECT_EQ(
        p->ToJson(),
        nlohmann::json({{"size", p->bytes.size()}, {"lines", n}, {"characters", p->characters}}));
  }
  EXPECT_EQ(CutPreview(path, *info, Lines(2))->characters, 9u);
  for (const auto& request : {Lines(6), Lines(0), Ms(100)}) {
    auto r = CutPreview(path, *info, request);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::BadPreview);
  }

  // A "\r\n" split across the 64 KiB read blocks stays one terminator, kept whole.
  std::string crlf(65535, 'x');
  crlf += "\r\nnext\n";
  WriteFile(Tmp("crlf.txt"), crlf);
  auto crlf_info = ProbeOk(Tmp("crlf.txt"));
  ASSERT_TRUE(crlf_info.ok());
  EXPECT_EQ(crlf_info->lines, 2u);
  auto first = CutPreview(Tmp("crlf.txt"), *crlf_info, Lines(1));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->bytes, crlf.substr(0, 65537));
  // A lone "\r" at the very end.
  WriteFile(Tmp("cr_end.txt"), "a\rb\r");
  auto cr_info = ProbeOk(Tmp("cr_end.txt"));
  ASSERT_TRUE(cr_info.ok());
  EXPECT_EQ(CutPreview(Tmp("cr_end.txt"), *cr_info, Lines(2))->bytes, "a\rb\r");
}

TEST(TextPreviewTest, FirstCharactersOnCodePointBoundaries) {
  const std::string bytes =
      "\xEF\xBB\xBF"
      "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\nb";
  const std::string path = Tmp("chars.txt");
  WriteFile(path, bytes);
  auto info = ProbeOk(path);
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->characters, 6u);
  const std::vector<size_t> ends = {4, 6, 9, 13, 14, 15};
  for (uint64_t n = 1; n <= 6; ++n) {
    auto p = CutPreview(path, *info, Chars(n));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->bytes, bytes.substr(0, ends[n - 1]));
    EXPECT_EQ(p->characters, n);
  }
  EXPECT_EQ(CutPreview(path, *info, Chars(5))->lines, 1u);
  EXPECT_EQ(CutPreview(path, *info, Chars(6))->lines, 2u);
  auto r = CutPreview(path, *info, Chars(7));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::BadPreview);

  // The Jargon File: 5000 characters, checked with wc and as a byte prefix.
  const std::string jargon = Tmp("jargon.txt");
  SH("zcat /usr/share/doc/jargon-text/jargon.txt.gz > " + Quote(jargon));
  auto j = ProbeOk(jargon);
  ASSERT_TRUE(j.ok());
  for (uint64_t n : {5000ull, 123457ull}) {
    auto p = CutPreview(jargon, *j, Chars(n));
    ASSERT_TRUE(p.ok());
    WriteFile(Tmp("jargon_preview.txt"), p->bytes);
    EXPECT_EQ(WcNumber("-m", Tmp("jargon_preview.txt")), n);
    EXPECT_EQ(WcNumber("-l", Tmp("jargon_preview.txt")) + (p->bytes.back() != '\n'), p->lines);
    EXPECT_EQ(ReadFile(jargon).compare(0, p->bytes.size(), p->bytes), 0);
    EXPECT_GT(p->bytes.size(), n);  // multi-byte characters were kept whole
  }
  auto lines = CutPreview(jargon, *j, Lines(1000));
  ASSERT_TRUE(lines.ok());
  std::string head;
  ASSERT_EQ(0, Shell("head -n 1000 " + Quote(jargon), &head));
  EXPECT_EQ(lines->bytes, head);
}

}  // namespace
}  // namespace capsule::packager
