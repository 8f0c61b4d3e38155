// One stored record: the value under a big-endian u64 offset in a partition's
// database. The layout (format version 2, schemas/STORAGE.md):
//
//     0  u32  CRC-32C of the payload (key, type, JSON) followed by bytes 4..P
//              (P: where the key starts), so the payload's part can be
//              computed before the header is known
//     4  u8   flags (bit 0: the record has a routing key;
//                    bit 1: the event has a subject and a stream link follows;
//                    bit 2: a tombstone of a compacted topic)
//     5  u8   reserved, 0
//     6  u16  key length K          (little-endian)
//     8  u16  type length T
//    10  u16  reserved, 0
//    12  i64  append time, microseconds since the Unix epoch
//    20  if bit 1: u64 version in the subject's stream (1-based), u32 partition
//        and u64 offset of the stream's previous event (offset 2^64-1: none)
//    then K bytes key, T bytes type, then the event's canonical JSON
//
// Pure functions; decode() returns ErrorKind::corrupt for a short value or a
// CRC mismatch.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string>
#include <string_view>

#include "core/util/result.hpp"
#include "core/util/units.hpp"

namespace evt::log {

constexpr std::size_t kRecordHeader = 20;
constexpr std::uint8_t kFlagKey = 1, kFlagLink = 2, kFlagTombstone = 4;

constexpr std::size_t kStreamLink = 20;
constexpr std::uint64_t kNoOffset = ~0ull;

// Where the previous event of the same subject is (the stream is a chain).
struct StreamLink {
    std::uint64_t version = 0;  // 0: the event has no subject
    std::uint32_t prev_partition = 0;
    std::uint64_t prev_offset = kNoOffset;
};

struct RecordView {
    std::uint32_t partition = 0;
    std::uint64_t offset = 0;
    Micros time = 0;
    bool has_key = false;
    bool tombstone = false;
    std::string_view key;
    std::string_view type;
    std::string_view json;
    StreamLink link;
    std::string_view headers;  // a remote record's headers, rendered name=value,... (%h); empty locally
};

inline std::size_t record_size(std::string_view key, std::string_view type, std::string_view json,
                               const StreamLink& link) {
    return kRecordHeader + (link.version ? kStreamLink : 0) + key.size() + type.size() + json.size();
}
// The CRC-32C of a record's payload (key, type, JSON): the first part of its checksum.
std::uint32_t payload_crc(std::string_view key, std::string_view type, std::string_view json) noexcept;
// Encodes into exactly record_size(...) bytes at out; payload_crc is
// payload_crc(key, type, json), computed by the caller (perhaps earlier, on
// another thread).
void encode_record(char* out, Micros time, bool has_key, std::string_view key, std::string_view type,
                   std::string_view json, const StreamLink& link, std::uint32_t payload_crc,
                   bool tombstone = false);
// Appends the encoded record to out.
void encode_record(std::string& out, Micros time, bool has_key, std::string_view key, std::string_view type,
                   std::string_view json, const StreamLink& link);
// Decodes without checking the CRC (the hot read path); false if malformed.
bool decode_record(std::string_view value, RecordView& out) noexcept;
Result<RecordView> decode_record(std::string_view value);
// Checks the CRC as well.
Result<RecordView> verify_record(std::string_view value);

inline void put_be64(char* p, std::uint64_t v) {
    for (int i = 7; i >= 0; --i) {
        p[i] = static_cast<char>(v & 0xff);
        v >>= 8;
    }
}
inline std::uint64_t get_be64(const char* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}
template <class T>
inline void put_le(char* p, T v) {
    std::memcpy(p, &v, sizeof v);
}
template <class T>
inline T get_le(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// Offset keys: native unsigned 64-bit integers in MDB_INTEGERKEY databases,
// so LMDB compares them as numbers (and MDB_APPEND applies).
struct OffsetKey {
    std::uint64_t value;
    explicit OffsetKey(std::uint64_t o) : value(o) {}
    std::string_view view() const { return {reinterpret_cast<const char*>(&value), 8}; }
};
inline std::uint64_t offset_of(const void* key) { return get_le<std::uint64_t>(static_cast<const char*>(key)); }

}  // namespace evt::log
