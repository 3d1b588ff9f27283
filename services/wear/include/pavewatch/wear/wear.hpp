#pragma once

#include "pavewatch/common/options.hpp"
#include "pavewatch/state/rocks_store.hpp"

#include <chrono>
#include <cstddef>
#include <string>

namespace pavewatch::wear {

/// Settings of `pavewatch wear`.
struct WearOptions {
    common::KafkaOptions kafka;
    common::CommonOptions common;
    /// Folder of this instance's RocksDB state. Default ./pavewatch-state/wear.
    std::string state_dir = "pavewatch-state/wear";
    /// Stable name of this instance (the StatefulSet pod name); its transactional id is
    /// `pavewatch-wear-<instance-id>`. Default: the host name.
    std::string instance_id;
    std::string group_id = "pavewatch-wear";
    /// Time between transaction commits. Default 100 ms.
    std::chrono::milliseconds commit_interval{100};
    /// Segment states kept in memory (dirty ones always, clean ones up to this). Default 200 000
    /// (about 60 MiB with the current state size).
    std::size_t cache_entries = 200000;
    state::RocksOptions rocks;
    /// Memory for states read from the changelog during restores, shared by the partitions
    /// restoring side by side; each partition's share is loaded into the store as one sorted
    /// file whenever it fills. Default 256 MiB.
    std::size_t restore_buffer_bytes = 256ULL << 20;
    /// Kafka transaction timeout: how long a crashed instance's open transaction blocks
    /// read_committed readers before the broker aborts it. Default 10 s.
    std::chrono::milliseconds transaction_timeout{10000};
    /// Consumer group session timeout: how fast a dead instance's partitions move. Default 10 s.
    std::chrono::milliseconds session_timeout{10000};
};

/// `pavewatch wear`: parses flags and environment, then runs the wear processor until SIGINT
/// or SIGTERM. Returns the process exit code (2 for bad configuration).
int Main(int argc, char** argv);

}  // namespace pavewatch::wear
