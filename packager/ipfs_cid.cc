// IPFS CIDs as `ipfs add` (defaults) computes them. The block encodings follow go-unixfs and
// go-merkledag byte for byte; tests/unit/ipfs_cid_test.cc checks them against Debian's
// `ipfs_cid` (package ipfs-cid) and published CIDs.
//
// The protobuf messages are written by hand: they are three tiny, fixed messages (PBNode,
// PBLink, UnixFS Data) with varint and length-delimited fields only, so a protobuf library
// would add a dependency and a code generator for a few dozen lines. Field order matters for
// the hash and is the order go-merkledag and go-unixfs serialize in:
//   PBNode:  Links (field 2, repeated) first, then Data (field 1)
//   PBLink:  Hash (1), Name (2, written even when empty: 0x12 0x00), Tsize (3)
//   Data:    Type (1) = File (2), Data (2, leaves only, omitted when empty), filesize (3),
//            blocksizes (4, repeated, not packed: proto2)
#include "packager/ipfs_cid.h"

#include <algorithm>

#include "format/crypto.h"
#include "format/file.h"

namespace capsule::packager {
using format::Bytes;
using format::ByteView;

namespace {

constexpr uint8_t kUnixFsFile = 2;
constexpr size_t kReadPiece = 256 * 1024;

void PutVarint(Bytes& b, uint64_t v) {
  while (v >= 0x80) {
    b.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  b.push_back(static_cast<uint8_t>(v));
}

size_t VarintLen(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Key byte of a protobuf field: (number << 3) | wire type (0 varint, 2 length-delimited).
constexpr uint8_t Key(int field, int wire) { return static_cast<uint8_t>(field << 3 | wire); }

void PutBytesField(Bytes& b, int field, ByteView v) {
  b.push_back(Key(field, 2));
  PutVarint(b, v.size());
  b.insert(b.end(), v.begin(), v.end());
}

// sha2-256 multihash: code 0x12, length 0x20, digest. `prefix` goes before it (CID header).
Bytes Multihash(const std::array<uint8_t, 32>& digest, ByteView prefix = {}) {
  Bytes m(prefix.size() + 2 + digest.size());
  std::copy(prefix.begin(), prefix.end(), m.begin());
  m[prefix.size()] = 0x12;
  m[prefix.size() + 1] = 0x20;
  std::copy(digest.begin(), digest.end(), m.begin() + static_cast<ptrdiff_t>(prefix.size()) + 2);
  return m;
}

}  // namespace

std::string Base32Lower(ByteView bytes) {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

UnixFsFileHasher::UnixFsFileHasher() { chunk_.reserve(kIpfsChunkSize); }

void UnixFsFileHasher::Update(ByteView bytes) {
  while (!bytes.empty()) {
    size_t take = std::min(kIpfsChunkSize - chunk_.size(), bytes.size());
    chunk_.insert(chunk_.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(take));
    bytes = bytes.subspan(take);
    total_ += take;
    // A full chunk is a leaf at once: a file of exactly k chunks has k leaves (the splitter
    // yields no empty last chunk).
    if (chunk_.size() == kIpfsChunkSize) FlushLeaf();
  }
}

// Leaf block: PBNode{Data = UnixFS Data{Type=File, Data=chunk, filesize=len}}. Hashed in three
// pieces so the chunk is not copied again.
void UnixFsFileHasher::FlushLeaf() {
  const uint64_t n = chunk_.size();
  const uint64_t unixfs_len = 2 + 1 + VarintLen(n) + n + 1 + VarintLen(n);
  Bytes head;
  head.push_back(Key(1, 2));  // PBNode.Data
  PutVarint(head, unixfs_len);
  head.push_back(Key(1, 0));  // Data.Type
  head.push_back(kUnixFsFile);
  head.push_back(Key(2, 2));  // Data.Data
  PutVarint(head, n);
  Bytes tail;
  tail.push_back(Key(3, 0));  // Data.filesize
  PutVarint(tail, n);
  format::Sha256 h;
  h.Update(head);
  h.Update(chunk_);
  h.Update(tail);
  Link leaf;
  leaf.digest = h.Final();
  leaf.file_size = n;
  leaf.tsize = head.size() + n + tail.size();
  chunk_.clear();
  AddLink(0, leaf);
}

// The balanced builder (go-unixfs importer/balanced) fills a node of depth d with 174 full
// subtrees of depth d−1 before it starts the next one, so completed nodes can be built as soon
// as a level holds 174 entries; Finish() closes the partial nodes bottom-up.
void UnixFsFileHasher::AddLink(size_t level, const Link& link) {
  if (levels_.size() <= level) levels_.resize(level + 1);
  levels_[level].push_back(link);
  if (levels_[level].size() == kIpfsMaxLinks) {
    Link node = BuildNode(levels_[level]);
    levels_[level].clear();
    AddLink(level + 1, node);
  }
}

// Internal block: PBNode{Links = [PBLink{Hash, Name="", Tsize}…], Data = UnixFS Data{Type=File,
// filesize=Σ, blocksizes=[each child's file size]}}.
UnixFsFileHasher::Link UnixFsFileHasher::BuildNode(const std::vector<Link>& children) const {
  Bytes node;
  uint64_t file_size = 0, below = 0;
  for (const Link& c : children) {
    Bytes link;
    PutBytesField(link, 1, Multihash(c.digest));  // Hash
    PutBytesField(link, 2, {});                   // Name: go-merkledag writes the empty string
    link.push_back(Key(3, 0));                    // Tsize
    PutVarint(link, c.tsize);
    PutBytesField(node, 2, link);
    file_size += c.file_size;
    below += c.tsize;
  }
  Bytes unixfs = {Key(1, 0), kUnixFsFile, Key(3, 0)};
  PutVarint(unixfs, file_size);
  for (const Link& c : children) {
    unixfs.push_back(Key(4, 0));
    PutVarint(unixfs, c.file_size);
  }
  PutBytesField(node, 1, unixfs);
  Link out;
  out.digest = format::Sha256Of(node);
  out.file_size = file_size;
  out.tsize = node.size() + below;
  return out;
}

IpfsCid UnixFsFileHasher::Finish() {
  Link root;
  if (total_ == 0) {
    // An empty file is one leaf with no Data field: PBNode{Data = Data{Type=File, filesize=0}}
    // (QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH).
    const Bytes empty = {Key(1, 2), 4, Key(1, 0), kUnixFsFile, Key(3, 0), 0};
    root.digest = format::Sha256Of(empty);
    root.tsize = empty.size();
  } else {
    if (!chunk_.empty()) FlushLeaf();
    // A partial node at depth d is still a node even with one child (go's fillNodeRec), so
    // every level below the top is closed into the next; the top level's single entry is the
    // root (a one-chunk file's root is its leaf).
    for (size_t k = 0; k < levels_.size(); ++k) {
      bool higher = false;
      for (size_t j = k + 1; j < levels_.size(); ++j) higher = higher || !levels_[j].empty();
      if (!higher && levels_[k].size() == 1) {
        root = levels_[k][0];
        break;
      }
      if (levels_[k].empty()) continue;
      Link node = BuildNode(levels_[k]);
      levels_[k].clear();
      AddLink(k + 1, node);
    }
  }
  IpfsCid cid;
  cid.digest = root.digest;
  cid.file_size = total_;
  cid.cumulative_size = root.tsize;
  cid.v0 = format::Base58Encode(Multihash(root.digest));
  const uint8_t kCidV1DagPb[] = {0x01, 0x70};  // CID version 1, codec dag-pb
  cid.v1 = "b" + Base32Lower(Multihash(root.digest, kCidV1DagPb));
  levels_.clear();
  total_ = 0;
  return cid;
}

IpfsCid IpfsCidOf(ByteView bytes) {
  UnixFsFileHasher h;
  h.Update(bytes);
  return h.Finish();
}

Result<IpfsCid> IpfsCidOfFile(const std::string& path, const Progress& progress) {
  CAPSULE_ASSIGN_OR_RETURN(format::InputFile f, format::InputFile::Open(path));
  UnixFsFileHasher h;
  Bytes piece(kReadPiece);
  for (uint64_t off = 0; off < f.size();) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kReadPiece, f.size() - off));
    CAPSULE_RETURN_IF_ERROR(f.ReadAt(off, piece.data(), n));
    h.Update(ByteView(piece.data(), n));
    off += n;
    if (progress) progress(off, f.size());
  }
  return h.Finish();
}

}  // namespace capsule::packager
