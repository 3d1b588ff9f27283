#pragma once

// Private to pavewatch::state: the key layout shared by the RocksDB store and the in-memory
// fake, so both sort and group keys the same way.
//   state:    'S' | partition (u32 big-endian) | segment id (u64 big-endian)
//   metadata: 'M' | partition (u32 big-endian)
// Big-endian so that byte order is numeric order and one partition is one contiguous range.

#include "pavewatch/pipeline/ids.hpp"
#include "pavewatch/state/segment_store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pavewatch::state::detail {

inline void PutBigEndian(std::string& out, std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) {
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    }
}

inline std::uint64_t GetBigEndian(std::string_view in, std::size_t at, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
        v = (v << 8) | static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)]);
    }
    return v;
}

/// Bytes of PartitionPrefix: 'S' and the partition.
inline constexpr std::size_t kPartitionPrefixBytes = 5;

inline std::string PartitionPrefix(std::int32_t partition) {
    std::string k(1, 'S');
    PutBigEndian(k, static_cast<std::uint32_t>(partition), 4);
    return k;
}

inline std::string StateKey(std::int32_t partition, pipeline::SegmentId segment) {
    std::string k = PartitionPrefix(partition);
    PutBigEndian(k, segment.value(), 8);
    return k;
}

inline pipeline::SegmentId SegmentOfKey(std::string_view key) {
    return pipeline::SegmentId{GetBigEndian(key, 5, 8)};
}

inline std::string MetaKey(std::int32_t partition) {
    std::string k(1, 'M');
    PutBigEndian(k, static_cast<std::uint32_t>(partition), 4);
    return k;
}

inline std::string EncodeMeta(const PartitionMeta& m) {
    std::string v;
    PutBigEndian(v, static_cast<std::uint64_t>(m.input_offset), 8);
    PutBigEndian(v, static_cast<std::uint64_t>(m.action_offset), 8);
    PutBigEndian(v, static_cast<std::uint64_t>(m.changelog_offset), 8);
    return v;
}

inline std::optional<PartitionMeta> DecodeMeta(std::string_view v) {
    if (v.size() != 24) {
        return std::nullopt;
    }
    return PartitionMeta{
        static_cast<std::int64_t>(GetBigEndian(v, 0, 8)),
        static_cast<std::int64_t>(GetBigEndian(v, 8, 8)),
        static_cast<std::int64_t>(GetBigEndian(v, 16, 8))};
}

}  // namespace pavewatch::state::detail
