#include "core/log/record.hpp"

#include "core/util/crc32c.hpp"

namespace evt::log {

void encode_record(std::string& out, Micros time, bool has_key, std::string_view key, std::string_view type,
                   std::string_view json, const StreamLink& link) {
    std::size_t start = out.size();
    out.resize(start + record_size(key, type, json, link));
    encode_record(out.data() + start, time, has_key, key, type, json, link, payload_crc(key, type, json));
}

std::uint32_t payload_crc(std::string_view key, std::string_view type, std::string_view json) noexcept {
    return crc32c(crc32c(crc32c(0, key.data(), key.size()), type.data(), type.size()), json.data(), json.size());
}

void encode_record(char* p, Micros time, bool has_key, std::string_view key, std::string_view type,
                   std::string_view json, const StreamLink& link, std::uint32_t payload, bool tombstone) {
    std::size_t size = record_size(key, type, json, link);
    p[4] = static_cast<char>((has_key ? kFlagKey : 0) | (link.version ? kFlagLink : 0) |
                             (tombstone ? kFlagTombstone : 0));
    p[5] = 0;
    put_le<std::uint16_t>(p + 6, static_cast<std::uint16_t>(key.size()));
    put_le<std::uint16_t>(p + 8, static_cast<std::uint16_t>(type.size()));
    put_le<std::uint16_t>(p + 10, 0);
    put_le<std::int64_t>(p + 12, time);
    char* q = p + kRecordHeader;
    if (link.version) {
        put_le<std::uint64_t>(q, link.version);
        put_le<std::uint32_t>(q + 8, link.prev_partition);
        put_le<std::uint64_t>(q + 12, link.prev_offset);
        q += kStreamLink;
    }
    std::memcpy(q, key.data(), key.size());
    q += key.size();
    std::memcpy(q, type.data(), type.size());
    q += type.size();
    std::memcpy(q, json.data(), json.size());
    std::size_t header = size - key.size() - type.size() - json.size();
    put_le<std::uint32_t>(p, crc32c(payload, p + 4, header - 4));
}

bool decode_record(std::string_view v, RecordView& r) noexcept {
    if (v.size() < kRecordHeader) return false;
    const char* p = v.data();
    r.has_key = (p[4] & kFlagKey) != 0;
    r.tombstone = (p[4] & kFlagTombstone) != 0;
    std::size_t pos = kRecordHeader;
    auto klen = get_le<std::uint16_t>(p + 6);
    auto tlen = get_le<std::uint16_t>(p + 8);
    r.time = get_le<std::int64_t>(p + 12);
    if (p[4] & 2) {
        if (v.size() < pos + kStreamLink) return false;
        r.link.version = get_le<std::uint64_t>(p + pos);
        r.link.prev_partition = get_le<std::uint32_t>(p + pos + 8);
        r.link.prev_offset = get_le<std::uint64_t>(p + pos + 12);
        pos += kStreamLink;
    } else {
        r.link = StreamLink{};
    }
    if (pos + klen + tlen > v.size()) return false;
    r.key = v.substr(pos, klen);
    r.type = v.substr(pos + klen, tlen);
    r.json = v.substr(pos + klen + tlen);
    return true;
}

Result<RecordView> decode_record(std::string_view v) {
    RecordView r;
    if (!decode_record(v, r)) return Error{ErrorKind::corrupt, "record is malformed (its lengths exceed its size)"};
    return r;
}

Result<RecordView> verify_record(std::string_view v) {
    if (v.size() < kRecordHeader) return Error{ErrorKind::corrupt, "record shorter than its header"};
    std::uint32_t want = get_le<std::uint32_t>(v.data());
    RecordView r;
    if (!decode_record(v, r)) return Error{ErrorKind::corrupt, "record is malformed (its lengths exceed its size)"};
    std::size_t header = v.size() - r.key.size() - r.type.size() - r.json.size();
    std::uint32_t got = crc32c(crc32c(0, v.data() + header, v.size() - header), v.data() + 4, header - 4);
    if (want != got) return make_error(ErrorKind::corrupt, "CRC mismatch (stored {:08x}, computed {:08x})", want, got);
    return r;
}

}  // namespace evt::log
