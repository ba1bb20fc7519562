#include "core/event_file.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

namespace nas::core {
namespace {

namespace fs = std::filesystem;

std::string temp_dir() {
  auto dir = fs::temp_directory_path() / ("nas-event-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint64_t little_endian(const std::string& s, size_t at, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(s[at + i])} << (8 * i);
  return v;
}

TEST(EventFile, Crc32cOfTheStandardCheckString) {
  // The CRC-32C check value (RFC 3720 / the Castagnoli catalogue entry).
  EXPECT_EQ(crc32c("123456789"), 0xe3069283u);
  EXPECT_EQ(crc32c(""), 0u);
  const uint32_t c = crc32c("123456789");
  EXPECT_EQ(masked_crc32c("123456789"), ((c >> 15) | (c << 17)) + 0xa282ead8u);
}

TEST(EventFile, JsonScalarsFlattenNumbersOnly) {
  const auto j = nlohmann::json::parse(
      R"({"b": {"d": "text", "c": 2.5}, "a": 1, "e": [1, null, 3], "f": true, "g": null})");
  const std::vector<Scalar> expected = {{"a", 1}, {"b/c", 2.5}, {"e/0", 1}, {"e/2", 3}};
  EXPECT_EQ(json_scalars(j), expected);
}

TEST(EventFile, RecordsAreFramedWithMaskedCrcs) {
  const auto dir = temp_dir();
  const EventFile file(dir);
  file.scalars(3, {{"train_loss", 0.5}});
  const auto bytes = read_bytes(file.path());
  size_t at = 0;
  std::vector<std::string> records;
  while (at < bytes.size()) {
    ASSERT_LE(at + 12, bytes.size());
    const auto length = little_endian(bytes, at, 8);
    EXPECT_EQ(little_endian(bytes, at + 8, 4), masked_crc32c(bytes.substr(at, 8)));
    ASSERT_LE(at + 12 + length + 4, bytes.size());
    const auto data = bytes.substr(at + 12, length);
    EXPECT_EQ(little_endian(bytes, at + 12 + length, 4), masked_crc32c(data));
    records.push_back(data);
    at += 12 + length + 4;
  }
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0][0], 0x09);  // wall_time: field 1, fixed64
  EXPECT_NE(records[0].find("brain.Event:2"), std::string::npos);
  // step 3 (field 2, varint), then the summary (field 5) holding the tag and
  // 0.5f (field 2 of the value, fixed32 0x3f000000).
  EXPECT_EQ(records[1].substr(9, 2), std::string("\x10\x03", 2));
  EXPECT_NE(records[1].find("train_loss"), std::string::npos);
  EXPECT_NE(records[1].find(std::string("\x15\x00\x00\x00\x3f", 5)), std::string::npos);
  fs::remove_all(dir);
}

TEST(EventFile, ANewFileSortsAfterTheFilesThere) {
  const auto dir = temp_dir();
  const auto later = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() +
                     100;
  const auto old_name = event_file_name(later, "zzzz", 99999);
  std::ofstream(dir + "/" + old_name).put('x');
  const EventFile file(dir);
  const auto name = fs::path(file.path()).filename().string();
  EXPECT_GT(name, old_name);
  EXPECT_EQ(name.rfind(event_file_name(later + 1, "", 0).substr(0, 31), 0), 0u) << name;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace nas::core
