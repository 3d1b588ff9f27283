#pragma once

#include <string>

namespace pavewatch::pipeline {

/// Why a piece of input was refused. Carried as a value (never thrown) from the domain to the
/// adapters, which route the input to the dead-letter topic with `Code()` as the reason.
enum class ErrorCode {
    kMalformed,      ///< not parseable at all (bad JSON, bad binary framing)
    kMissingField,   ///< a required field is absent
    kWrongType,      ///< a field has the wrong JSON type
    kOutOfRange,     ///< a number or a length outside its documented range
    kInconsistent,   ///< fields disagree with each other (array lengths, time order)
    kUnknownKind,    ///< a message kind or enum value we do not know
    kUnknownSensor,  ///< an embedded sensor that is not in the sensor registry
    kNotOnNetwork,   ///< no GPS fix of the message lies near a road of the network
    kUnsupportedVersion,
};

/// Stable text of an error code: the DLQ `reason` and the metric label value.
const char* ToString(ErrorCode code);

/// A refusal: what, where (a JSON-pointer-like path to the field, e.g. "gps[3].lat"), and a
/// sentence for a human.
struct Error {
    ErrorCode code = ErrorCode::kMalformed;
    std::string field;
    std::string message;

    /// "out_of_range at gps[3].lat: must be within [-90, 90]"
    std::string Describe() const;
};

}  // namespace pavewatch::pipeline
