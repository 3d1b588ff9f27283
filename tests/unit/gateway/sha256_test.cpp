#include "pavewatch/gateway/sha256.hpp"

#include <gtest/gtest.h>

namespace pavewatch::gateway {
namespace {

TEST(Sha256, MatchesTheFips180TestVectors) {
    // FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA256_2.pdf") and the empty string.
    EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(
        Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
    EXPECT_EQ(
        Sha256Hex(std::string(1000000, 'a')),
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    );
}

TEST(Sha256, PadsEveryLengthAroundABlockBoundary) {
    // Lengths 55, 56 and 64 switch between one and two padding blocks; all must differ from
    // each other and be stable.
    const auto a = Sha256Hex(std::string(55, 'x'));
    const auto b = Sha256Hex(std::string(56, 'x'));
    const auto c = Sha256Hex(std::string(64, 'x'));
    EXPECT_NE(a, b);
    EXPECT_NE(b, c);
    EXPECT_EQ(Sha256Hex(std::string(56, 'x')), b);
    EXPECT_EQ(
        Sha256Hex(std::string(64, 'a')),
        "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"
    );
}

TEST(ConstantTimeEquals, ComparesWholeStrings) {
    EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
    EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
    EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

}  // namespace
}  // namespace pavewatch::gateway
