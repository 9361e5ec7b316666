// The local state store (DESIGN §4, §9.16): per (capsule, holder, licence) play counts and
// first-play time, and the last time the store saw (for the clock rule: time never goes back).
// Locked against concurrent opens, crash-safe (temp file + rename + fsync), and tamper-evident:
// deleting or rolling back one record file is detected. It cannot survive deletion of the
// whole store; docs/threat-model.md says so.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "capsule/status.h"

namespace capsule::runtime {

// Whose record: plays and the first play are counted per licence (each licence is a separate
// purchase, docs/spec/license.md §5) of one holder for one capsule.
struct RecordId {
  std::array<uint8_t, 16> capsule{};
  std::array<uint8_t, 20> holder{};
  std::array<uint8_t, 16> license{};  // the licence's `id`
};

struct PlayRecord {
  uint64_t plays_used = 0;
  std::optional<int64_t> first_play;  // Unix seconds
};

class StateStore {
 public:
  // Opens (creating when absent) the store under `dir` (default: $CAPSULE_HOME/state).
  static Result<std::unique_ptr<StateStore>> Open(const std::string& dir);
  // Whether a store is under `dir` (default as for Open): its key, and a manifest or records.
  // A dry run (`capsule-run test`) reads an existing store but must not create one.
  static bool Exists(const std::string& dir);
  // Opens an existing store to read it (Read, LastSeen) and changes nothing in it: no directory,
  // lock file or manifest is created, no leftover is cleaned up. Only Read may be used.
  static Result<std::unique_ptr<StateStore>> OpenForReading(const std::string& dir);
  virtual ~StateStore() = default;
  // The latest time the store has seen (0 when new).
  virtual int64_t LastSeen() const = 0;
  // Durably raises the store's last-seen time to `now` (never lowers it). Needs no session: it
  // takes the store lock alone, so it may run while another thread of this process holds a
  // record lock.
  virtual Status Touch(int64_t now) = 0;
  // Locks the record of (capsule, holder, licence) for this process until the returned session
  // ends. StateLocked when another open holds it and `wait` is false.
  class Session {
   public:
    virtual ~Session() = default;
    virtual const PlayRecord& record() const = 0;
    // Durably records one more play (and the first-play time) *before* content is released:
    // a crash after this point counts the play.
    virtual Status CountPlay(int64_t now) = 0;
    virtual Status Touch(int64_t now) = 0;  // raises LastSeen, as StateStore::Touch
  };
  virtual Result<std::unique_ptr<Session>> Begin(const RecordId& id, bool wait) = 0;
  // The record as committed (empty when there is none), without a session: for dry runs, which
  // write nothing — not even a record lock.
  virtual Result<PlayRecord> Read(const RecordId& id) = 0;
};

}  // namespace capsule::runtime
