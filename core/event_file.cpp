#include "core/event_file.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_io.h"

namespace nas::core {

namespace {

constexpr const char* kPrefix = "events.out.tfevents.";

// Protobuf wire format: a field's key is (number << 3) | wire type.
enum Wire : uint32_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_key(std::string& out, uint32_t field, Wire wire) { put_varint(out, (field << 3) | wire); }

template <typename T>
void put_little_endian(std::string& out, T bits) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

void put_bytes(std::string& out, uint32_t field, const std::string& bytes) {
  put_key(out, field, kBytes);
  put_varint(out, bytes.size());
  out += bytes;
}

/// An Event's common head: wall_time (1) and step (2).
std::string event_head(int64_t step) {
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  uint64_t bits = 0;
  std::memcpy(&bits, &now, sizeof bits);
  std::string e;
  put_key(e, 1, kFixed64);
  put_little_endian(e, bits);
  put_key(e, 2, kVarint);
  put_varint(e, static_cast<uint64_t>(step));
  return e;
}

/// Summary.Value { tag = 1; simple_value = 2 (float) }.
std::string summary_value(const std::string& tag, double value) {
  const auto f = static_cast<float>(value);
  uint32_t bits = 0;
  std::memcpy(&bits, &f, sizeof bits);
  std::string v;
  put_bytes(v, 1, tag);
  put_key(v, 2, kFixed32);
  put_little_endian(v, bits);
  return v;
}

/// TFRecord framing: uint64 length, masked CRC of the length, the data,
/// masked CRC of the data (all little-endian).
std::string record(const std::string& data) {
  std::string length;
  put_little_endian(length, static_cast<uint64_t>(data.size()));
  std::string r = length;
  put_little_endian(r, masked_crc32c(length));
  r += data;
  put_little_endian(r, masked_crc32c(data));
  return r;
}

/// The seconds a new file's name carries: now, or one past the latest file
/// already in `dir`, so the new one sorts last.
int64_t name_seconds(const std::string& dir) {
  int64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    if (name.rfind(kPrefix, 0) != 0) continue;
    const auto stamp = name.substr(std::strlen(kPrefix), name.find('.', std::strlen(kPrefix)) -
                                                             std::strlen(kPrefix));
    try {
      seconds = std::max<int64_t>(seconds, std::stoll(stamp) + 1);
    } catch (const std::exception&) {
      // A stray file of another name shape sorts where it sorts.
    }
  }
  return seconds;
}

void flatten(const nlohmann::json& j, const std::string& prefix, std::vector<Scalar>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      flatten(*it, prefix.empty() ? it.key() : prefix + "/" + it.key(), out);
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) flatten(j[i], fmt::format("{}/{}", prefix, i), out);
  } else if (j.is_number() && std::isfinite(j.get<double>())) {
    out.emplace_back(prefix, j.get<double>());
  }
}

}  // namespace

uint32_t crc32c(const std::string& data) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0x82f63b78u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xffffffffu;
  for (const char ch : data) crc = table[(crc ^ static_cast<uint8_t>(ch)) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

uint32_t masked_crc32c(const std::string& data) {
  const uint32_t crc = crc32c(data);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string event_file_name(int64_t seconds, const std::string& host, int64_t pid) {
  return fmt::format("{}{:010d}.{}.{}", kPrefix, seconds, host, pid);
}

EventFile::EventFile(const std::string& dir) {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) std::strcpy(host.data(), "localhost");
  path_ = dir + "/" + event_file_name(name_seconds(dir), host.data(), ::getpid());
  auto e = event_head(0);
  put_bytes(e, 3, "brain.Event:2");
  append(e);
}

void EventFile::scalars(int64_t step, const std::vector<Scalar>& values) const {
  std::string summary;
  for (const auto& [tag, value] : values) put_bytes(summary, 1, summary_value(tag, value));
  auto e = event_head(step);
  put_bytes(e, 5, summary);
  append(e);
}

void EventFile::session_start(int64_t step) const {
  std::string session_log;
  put_key(session_log, 1, kVarint);
  put_varint(session_log, 1);  // SessionLog.START
  auto e = event_head(step);
  put_bytes(e, 7, session_log);
  append(e);
}

void EventFile::append(const std::string& event) const { append_bytes(path_, record(event)); }

std::vector<Scalar> json_scalars(const nlohmann::json& object) {
  std::vector<Scalar> out;
  flatten(object, "", out);
  return out;
}

}  // namespace nas::core
