// crash_writer <rocksdb folder> <wal 0|1> <count>: writes NumberedBatch(1..count) to the store
// and exits without closing it, as a process killed with `kill -9` after its last write would.
// A program of its own (not a fork of the test) because RocksDB's background threads do not
// survive a fork.
#include "numbered_batches.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

int main(int argc, char** argv) {
    using pavewatch::state::RocksSegmentStore;
    namespace test_batches = pavewatch::state::test_batches;
    if (argc != 4) {
        std::fprintf(stderr, "usage: crash_writer <folder> <wal 0|1> <count>\n");
        return 2;
    }
    const bool wal = std::string(argv[2]) == "1";
    const long count = std::strtol(argv[3], nullptr, 10);
    auto store = RocksSegmentStore::Open(argv[1], test_batches::SmallMemtables(wal));
    if (!store) {
        std::fprintf(stderr, "%s\n", store.error().message.c_str());
        return 3;
    }
    for (long k = 1; k <= count; ++k) {
        if (auto written = (*store)->Write(test_batches::NumberedBatch(k)); !written) {
            std::fprintf(stderr, "%s\n", written.error().message.c_str());
            return 4;
        }
    }
    ::_exit(0);  // no destructor, no Close(): unflushed memtables die with the process
}
