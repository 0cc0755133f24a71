// SPDX-License-Identifier: GPL-2.0-or-later
// Anti-replay window over 64-bit sequence numbers (like IPsec's): a seq above the highest seen
// is new; one within the last kSize below it is new unless already seen (reordering is fine);
// anything older is rejected. check() never changes state; accept() is called only after the
// frame's tag has verified, so forged frames cannot move the window.
#pragma once

#include <bitset>
#include <cstdint>

namespace veeamha::net {

template <uint64_t kSize>
class ReplayWindow {
    static_assert(kSize >= 8 && (kSize & (kSize - 1)) == 0, "power of two");

public:
    enum class Verdict { Fresh, Replayed, TooOld };

    Verdict check(uint64_t seq) const {
        if (!any_ || seq > highest_) return Verdict::Fresh;
        if (highest_ - seq >= kSize) return Verdict::TooOld;
        return seen_.test(seq % kSize) ? Verdict::Replayed : Verdict::Fresh;
    }

    void accept(uint64_t seq) {
        if (!any_) {
            any_ = true;
            highest_ = seq;
            seen_.reset();
        } else if (seq > highest_) {
            if (seq - highest_ >= kSize) {
                seen_.reset();
            } else {
                for (uint64_t s = highest_ + 1; s <= seq; ++s) seen_.reset(s % kSize);
            }
            highest_ = seq;
        } else if (highest_ - seq >= kSize) {
            return;  // too old; check() would have refused it
        }
        seen_.set(seq % kSize);
    }

    void reset() {
        any_ = false;
        highest_ = 0;
        seen_.reset();
    }

    bool any() const { return any_; }
    uint64_t highest() const { return highest_; }

private:
    bool any_ = false;
    uint64_t highest_ = 0;
    std::bitset<kSize> seen_;
};

}  // namespace veeamha::net
