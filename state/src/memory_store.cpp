#include "keys.hpp"
#include "pavewatch/state/segment_store.hpp"

#include <map>

namespace pavewatch::state {
namespace {

/// The in-memory fake: an ordered map with the same key layout as the RocksDB store.
class MemorySegmentStore final : public SegmentStore {
public:
    tl::expected<std::optional<std::string>, StoreError>
    Get(std::int32_t partition, pipeline::SegmentId segment) override {
        const auto it = data_.find(detail::StateKey(partition, segment));
        if (it == data_.end()) {
            return std::optional<std::string>{};
        }
        return std::optional<std::string>(it->second);
    }
    tl::expected<std::optional<PartitionMeta>, StoreError> GetMeta(std::int32_t partition
    ) override {
        const auto it = data_.find(detail::MetaKey(partition));
        if (it == data_.end()) {
            return std::optional<PartitionMeta>{};
        }
        return detail::DecodeMeta(it->second);
    }
    tl::expected<void, StoreError> Write(const StoreBatch& batch) override {
        for (const auto& [segment, bytes] : batch.puts) {
            data_[detail::StateKey(batch.partition, segment)] = bytes;
        }
        if (batch.meta) {
            data_[detail::MetaKey(batch.partition)] = detail::EncodeMeta(*batch.meta);
        }
        return {};
    }
    tl::expected<void, StoreError> Load(
        std::int32_t partition,
        std::vector<std::pair<pipeline::SegmentId, std::string_view>>& states
    ) override {
        for (const auto& [segment, bytes] : states) {
            data_[detail::StateKey(partition, segment)] = std::string(bytes);
        }
        states.clear();
        return {};
    }
    tl::expected<void, StoreError> DropPartition(std::int32_t partition) override {
        data_.erase(
            data_.lower_bound(detail::PartitionPrefix(partition)),
            data_.lower_bound(detail::PartitionPrefix(partition + 1))
        );
        data_.erase(detail::MetaKey(partition));
        return {};
    }
    tl::expected<void, StoreError> ForEach(
        std::int32_t partition,
        const std::function<void(pipeline::SegmentId, std::string_view)>& visit
    ) override {
        const auto end = data_.lower_bound(detail::PartitionPrefix(partition + 1));
        for (auto it = data_.lower_bound(detail::PartitionPrefix(partition)); it != end; ++it) {
            visit(detail::SegmentOfKey(it->first), it->second);
        }
        return {};
    }
    StoreStats Stats() override {
        StoreStats s;
        s.estimated_keys = data_.size();
        return s;
    }

private:
    std::map<std::string, std::string> data_;
};

}  // namespace

std::unique_ptr<SegmentStore> MakeMemorySegmentStore() {
    return std::make_unique<MemorySegmentStore>();
}

}  // namespace pavewatch::state
