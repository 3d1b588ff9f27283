#include "pavewatch/pipeline/ids.hpp"

namespace pavewatch::pipeline {

std::string ToString(SegmentId id) {
    return std::to_string(id.value());
}

}  // namespace pavewatch::pipeline
