// IPFS content identifiers of a file exactly as `ipfs add` computes them with its defaults
// (docs/spec/token-metadata.md §4): 262,144-byte chunks, each a dag-pb leaf holding a UnixFS
// `File` message with the bytes inline (no raw leaves), linked by the balanced DAG builder with
// at most 174 links per node; the root's sha2-256 multihash gives CIDv0 (`Qm…`, base58btc) and
// the CIDv1 of the same DAG (dag-pb 0x70, base32 `bafybei…`).
// Memory does not grow with the file: only the current chunk and, per tree level, the hashes
// and sizes of at most 174 children are kept.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "capsule/capsule.h"
#include "capsule/status.h"
#include "format/bytes.h"

namespace capsule::packager {

inline constexpr size_t kIpfsChunkSize = 262144;  // `ipfs add` default: size-262144
inline constexpr size_t kIpfsMaxLinks = 174;      // go-unixfs helpers.DefaultLinksPerBlock

struct IpfsCid {
  std::array<uint8_t, 32> digest{};  // SHA-256 of the root block
  std::string v0;                    // "Qm…": base58btc of the multihash 0x12 0x20 ‖ digest
  std::string v1;  // "bafybei…": multibase 'b' + base32 of 0x01 0x70 0x12 0x20 ‖ digest
  uint64_t file_size = 0;
  uint64_t cumulative_size =
      0;  // all blocks of the DAG (what `ipfs object stat` calls CumulativeSize)
};

// Incremental builder: feed the file's bytes in order (any piece sizes), then Finish().
class UnixFsFileHasher {
 public:
  UnixFsFileHasher();
  void Update(format::ByteView bytes);
  IpfsCid Finish();

 private:
  struct Link {
    std::array<uint8_t, 32> digest{};
    uint64_t file_size = 0;  // UnixFS bytes below this child (its blocksizes entry)
    uint64_t tsize = 0;      // serialized size of the child's block plus all blocks below it
  };
  void FlushLeaf();
  void AddLink(size_t level, const Link& link);
  Link BuildNode(const std::vector<Link>& children) const;

  format::Bytes chunk_;                    // the current chunk (at most kIpfsChunkSize bytes)
  std::vector<std::vector<Link>> levels_;  // levels_[0]: leaves not yet linked; [k]: depth-k nodes
  uint64_t total_ = 0;
};

// CIDs of the file at `path`, read with pread in 256 KiB pieces. `progress` (may be null) gets
// (bytes done, file size).
Result<IpfsCid> IpfsCidOfFile(const std::string& path, const Progress& progress = nullptr);
// Same for bytes in memory (tests, small files).
IpfsCid IpfsCidOf(format::ByteView bytes);

// RFC 4648 base32, lowercase, unpadded (the multibase 'b' alphabet).
std::string Base32Lower(format::ByteView bytes);

}  // namespace capsule::packager
