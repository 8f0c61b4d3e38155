#include "core/stream/stream_index.hpp"

#include <cstring>
#include <string>

#include "core/log/record.hpp"
#include "core/util/hash.hpp"

namespace evt::stream {

using log::get_le;
using log::put_le;

namespace {
constexpr std::size_t kHeadFixed = 20;

struct Key {  // native u64: the database is MDB_INTEGERKEY
    std::uint64_t slot;
    explicit Key(std::uint64_t s) : slot(s) {}
    std::string_view view() const { return {reinterpret_cast<const char*>(&slot), 8}; }
};
}  // namespace

std::uint64_t subject_hash(std::string_view s) noexcept { return hash64(s); }

Result<Head> find_head(store::Cursor& cursor, std::string_view subject, std::uint64_t hash) {
    for (std::uint64_t slot = hash;; ++slot) {
        Key key(slot);
        MDB_val k = store::val(key.view()), v;
        EVT_ASSIGN(bool found, cursor.get(k, v, MDB_SET_KEY));
        Head h;
        h.slot = slot;
        if (!found) return h;
        std::string_view value = store::view(v);
        if (value.size() < kHeadFixed) return Error{ErrorKind::corrupt, "stream index head is too short"};
        if (value.substr(kHeadFixed) == subject) {
            h.exists = true;
            h.version = get_le<std::uint64_t>(value.data());
            h.last_partition = get_le<std::uint32_t>(value.data() + 8);
            h.last_offset = get_le<std::uint64_t>(value.data() + 12);
            return h;
        }
        if (slot - hash > 1024) return Error{ErrorKind::corrupt, "stream index: too many colliding subjects"};
    }
}

Result<Head> find_head(store::Txn& txn, MDB_dbi dbi, std::string_view subject, std::uint64_t hash) {
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, dbi));
    return find_head(c, subject, hash);
}

Status put_head(store::Cursor& cursor, std::string_view subject, const Head& head) {
    Key key(head.slot);
    MDB_val k = store::val(key.view());
    MDB_val v{kHeadFixed + subject.size(), nullptr};
    EVT_TRY(cursor.put(k, v, MDB_RESERVE));
    char* d = static_cast<char*>(v.mv_data);
    put_le<std::uint64_t>(d, head.version);
    put_le<std::uint32_t>(d + 8, head.last_partition);
    put_le<std::uint64_t>(d + 12, head.last_offset);
    std::memcpy(d + kHeadFixed, subject.data(), subject.size());
    return {};
}

}  // namespace evt::stream
