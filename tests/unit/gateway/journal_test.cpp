// The feed's journal: a ring of the latest updates that sessions read by range (after a
// resubscription) or by the indices the hub found for them.

#include "pavewatch/gateway/feed.hpp"

#include <gtest/gtest.h>

namespace pavewatch::gateway {
namespace {

JournalEntry Entry(std::size_t segment_index) {
    JournalEntry e;
    e.segment_index = segment_index;
    e.key = "c:" + std::to_string(segment_index);
    e.payload = std::make_shared<const std::string>("{}");
    return e;
}

TEST(Journal, ReadsRangesAndIndicesUntilTheyAreOverwritten) {
    Journal journal(16);  // the smallest ring it keeps
    for (std::size_t i = 0; i < 6; ++i) {
        EXPECT_EQ(journal.Append(Entry(i)), i + 1);  // indices start at 1
    }
    EXPECT_EQ(journal.next(), 7U);

    const auto range = journal.Read(2, 3);
    ASSERT_TRUE(range);
    ASSERT_EQ(range->size(), 3U);
    EXPECT_EQ((*range)[0].index, 2U);
    EXPECT_EQ((*range)[2].segment_index, 3U);

    // By index: only those asked for, those below `from` left out.
    const auto picked = journal.ReadAt({1, 3, 6}, 2);
    ASSERT_TRUE(picked);
    ASSERT_EQ(picked->size(), 2U);
    EXPECT_EQ((*picked)[0].index, 3U);
    EXPECT_EQ((*picked)[1].index, 6U);
    EXPECT_EQ((*picked)[1].key, "c:5");

    // Fourteen more: entries 1..4 are overwritten (the ring holds 16).
    for (std::size_t i = 6; i < 20; ++i) {
        journal.Append(Entry(i));
    }
    EXPECT_FALSE(journal.ReadAt({3, 6}, 1)) << "an overwritten entry cannot be read";
    EXPECT_FALSE(journal.Read(4, 2));
    const auto kept = journal.ReadAt({3, 6}, 5);  // 3 is below `from`: not needed
    ASSERT_TRUE(kept);
    ASSERT_EQ(kept->size(), 1U);
    EXPECT_EQ((*kept)[0].index, 6U);
}

}  // namespace
}  // namespace pavewatch::gateway
