#include "pavewatch/pipeline/error.hpp"

namespace pavewatch::pipeline {

const char* ToString(ErrorCode code) {
    switch (code) {
        case ErrorCode::kMalformed:
            return "malformed";
        case ErrorCode::kMissingField:
            return "missing_field";
        case ErrorCode::kWrongType:
            return "wrong_type";
        case ErrorCode::kOutOfRange:
            return "out_of_range";
        case ErrorCode::kInconsistent:
            return "inconsistent";
        case ErrorCode::kUnknownKind:
            return "unknown_kind";
        case ErrorCode::kUnknownSensor:
            return "unknown_sensor";
        case ErrorCode::kNotOnNetwork:
            return "not_on_network";
        case ErrorCode::kUnsupportedVersion:
            return "unsupported_version";
    }
    return "unknown";
}

std::string Error::Describe() const {
    std::string text = ToString(code);
    if (!field.empty()) {
        text += " at ";
        text += field;
    }
    if (!message.empty()) {
        text += ": ";
        text += message;
    }
    return text;
}

}  // namespace pavewatch::pipeline
