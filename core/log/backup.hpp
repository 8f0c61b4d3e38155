// Copies of a log: a hot backup, and giving free pages back to the file
// system (schemas/STORAGE.md section 14).
//
// backup() writes a consistent copy of the whole log into a new (or empty)
// directory while readers and writers go on: LMDB copies one read snapshot
// (mdb_env_copy2 with MDB_CP_COMPACT, which also leaves free pages out), so
// the copy holds, per partition, exactly the records committed before that
// snapshot - a prefix of what the writers go on to append. A backup is itself
// a log: restore it by stopping the log's users and putting the directory in
// its place (or point -L at it).
//
// compact_file() shrinks data.mdb to what the records need (LMDB reuses freed
// pages but never shrinks the file): a compacting copy, verified, is swapped
// in. It needs the log to itself (store::compact_in_place).
//
// Errors: usage (the backup directory exists and is not empty), io, busy,
// corrupt (the compacted copy did not verify; nothing was replaced).
#pragma once

#include <string>

#include "core/log/log.hpp"

namespace evt::log {

Status backup(Log& log, const std::string& dir);
Result<store::CompactResult> compact_file(const std::string& dir);

}  // namespace evt::log
