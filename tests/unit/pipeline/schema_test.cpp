// The JSON Schema files of docs/schemas/ against the code: their limits equal RawLimits, and
// sample messages that the schemas accept or refuse are accepted or refused by the parsers
// alike. A small validator for the subset of JSON Schema 2020-12 those files use is below.

#include "pavewatch/pipeline/condition.hpp"
#include "pavewatch/pipeline/map_matcher.hpp"
#include "pavewatch/pipeline/raw_message.hpp"
#include "pavewatch/pipeline/road_network.hpp"
#include "pavewatch/pipeline/segment_state.hpp"
#include "pavewatch/pipeline/sensor_registry.hpp"
#include "pavewatch/test_support/paths.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <regex>
#include <string>
#include <vector>

namespace pavewatch::pipeline {
namespace {

namespace json = boost::json;

/// Validates an instance against a schema of the subset used in docs/schemas/: type, enum,
/// const, minimum, maximum, minLength, maxLength, pattern, required, properties,
/// additionalProperties (boolean), items, minItems, maxItems, allOf, anyOf, oneOf, not,
/// if/then, and local $ref ("#/$defs/..."). Other keywords are annotations. Unsupported
/// keywords that would assert something fail the validation loudly.
class Validator {
public:
    explicit Validator(json::value root) : root_(std::move(root)) {}

    /// Empty when valid, else the first violation with its instance path.
    std::string Check(const json::value& instance) const { return Check(root_, instance, "$"); }

private:
    static bool IsInteger(const json::value& v) {
        if (v.is_int64() || v.is_uint64()) {
            return true;
        }
        return v.is_double() && std::isfinite(v.get_double()) &&
               v.get_double() == std::floor(v.get_double());
    }

    static bool HasType(const json::value& v, std::string_view type) {
        if (type == "object") {
            return v.is_object();
        }
        if (type == "array") {
            return v.is_array();
        }
        if (type == "string") {
            return v.is_string();
        }
        if (type == "number") {
            return v.is_number();
        }
        if (type == "integer") {
            return v.is_number() && IsInteger(v);
        }
        if (type == "boolean") {
            return v.is_bool();
        }
        if (type == "null") {
            return v.is_null();
        }
        ADD_FAILURE() << "unknown type " << type;
        return false;
    }

    static bool Equal(const json::value& a, const json::value& b) {
        if (a.is_number() && b.is_number()) {
            return a.to_number<double>() == b.to_number<double>();
        }
        return a == b;
    }

    const json::value& Resolve(const std::string& ref) const {
        EXPECT_TRUE(ref.starts_with("#/$defs/")) << "only local $defs references: " << ref;
        return root_.at("$defs").at(ref.substr(8));
    }

    std::string Check(const json::value& schema, const json::value& v, const std::string& at)
        const {
        if (schema.is_bool()) {
            return schema.get_bool() ? "" : at + ": false schema";
        }
        const json::object& s = schema.as_object();
        for (const auto& [key, value] : s) {
            static const std::vector<std::string> kKnown = {
                "$schema",   "$id",        "$comment",
                "$defs",     "title",      "description",
                "x-unit",    "type",       "enum",
                "const",     "minimum",    "maximum",
                "minLength", "maxLength",  "pattern",
                "required",  "properties", "additionalProperties",
                "items",     "minItems",   "maxItems",
                "allOf",     "anyOf",      "oneOf",
                "not",       "if",         "then",
                "$ref",      "default"};
            if (std::find(kKnown.begin(), kKnown.end(), std::string(key)) == kKnown.end()) {
                return at + ": the test's validator does not know keyword " + std::string(key);
            }
        }
        if (const auto* ref = s.if_contains("$ref")) {
            if (auto e = Check(Resolve(std::string(ref->as_string())), v, at); !e.empty()) {
                return e;
            }
        }
        if (const auto* type = s.if_contains("type")) {
            bool ok = false;
            if (type->is_string()) {
                ok = HasType(v, type->get_string());
            } else {
                for (const auto& t : type->as_array()) {
                    ok = ok || HasType(v, t.as_string());
                }
            }
            if (!ok) {
                return at + ": wrong type (" + json::serialize(*type) + ")";
            }
        }
        if (const auto* options = s.if_contains("enum")) {
            bool ok = false;
            for (const auto& o : options->as_array()) {
                ok = ok || Equal(o, v);
            }
            if (!ok) {
                return at + ": not one of " + json::serialize(*options);
            }
        }
        if (const auto* c = s.if_contains("const"); c != nullptr && !Equal(*c, v)) {
            return at + ": must be " + json::serialize(*c);
        }
        if (v.is_number()) {
            const double x = v.to_number<double>();
            if (const auto* m = s.if_contains("minimum");
                m != nullptr && x < m->to_number<double>()) {
                return at + ": below minimum";
            }
            if (const auto* m = s.if_contains("maximum");
                m != nullptr && x > m->to_number<double>()) {
                return at + ": above maximum";
            }
        }
        if (v.is_string()) {
            const auto& text = v.get_string();
            if (const auto* m = s.if_contains("minLength");
                m != nullptr && text.size() < m->to_number<std::size_t>()) {
                return at + ": too short";
            }
            if (const auto* m = s.if_contains("maxLength");
                m != nullptr && text.size() > m->to_number<std::size_t>()) {
                return at + ": too long";
            }
            if (const auto* p = s.if_contains("pattern")) {
                const std::regex re(std::string(p->as_string()), std::regex::ECMAScript);
                if (!std::regex_search(std::string(text), re)) {
                    return at + ": does not match " + std::string(p->as_string());
                }
            }
        }
        if (v.is_object()) {
            const auto& o = v.get_object();
            if (const auto* required = s.if_contains("required")) {
                for (const auto& k : required->as_array()) {
                    if (!o.contains(k.as_string())) {
                        return at + ": missing " + std::string(k.as_string());
                    }
                }
            }
            const json::object* properties = nullptr;
            if (const auto* p = s.if_contains("properties")) {
                properties = &p->as_object();
                for (const auto& [key, sub] : *properties) {
                    if (const auto* member = o.if_contains(key)) {
                        if (auto e = Check(sub, *member, at + "." + std::string(key)); !e.empty()) {
                            return e;
                        }
                    }
                }
            }
            if (const auto* extra = s.if_contains("additionalProperties")) {
                if (!extra->as_bool()) {
                    for (const auto& [key, member] : o) {
                        if (properties == nullptr || !properties->contains(key)) {
                            return at + ": unexpected member " + std::string(key);
                        }
                    }
                }
            }
        }
        if (v.is_array()) {
            const auto& a = v.get_array();
            if (const auto* m = s.if_contains("minItems");
                m != nullptr && a.size() < m->to_number<std::size_t>()) {
                return at + ": too few items";
            }
            if (const auto* m = s.if_contains("maxItems");
                m != nullptr && a.size() > m->to_number<std::size_t>()) {
                return at + ": too many items";
            }
            if (const auto* items = s.if_contains("items")) {
                for (std::size_t i = 0; i < a.size(); ++i) {
                    if (auto e = Check(*items, a[i], at + "[" + std::to_string(i) + "]");
                        !e.empty()) {
                        return e;
                    }
                }
            }
        }
        if (const auto* all = s.if_contains("allOf")) {
            for (const auto& sub : all->as_array()) {
                if (auto e = Check(sub, v, at); !e.empty()) {
                    return e;
                }
            }
        }
        if (const auto* any = s.if_contains("anyOf")) {
            bool ok = false;
            for (const auto& sub : any->as_array()) {
                ok = ok || Check(sub, v, at).empty();
            }
            if (!ok) {
                return at + ": matches none of anyOf";
            }
        }
        if (const auto* one = s.if_contains("oneOf")) {
            int matches = 0;
            for (const auto& sub : one->as_array()) {
                matches += Check(sub, v, at).empty() ? 1 : 0;
            }
            if (matches != 1) {
                return at + ": matches " + std::to_string(matches) + " of oneOf";
            }
        }
        if (const auto* n = s.if_contains("not"); n != nullptr && Check(*n, v, at).empty()) {
            return at + ": matches a schema it must not";
        }
        if (const auto* condition = s.if_contains("if")) {
            if (Check(*condition, v, at).empty()) {
                if (const auto* then = s.if_contains("then")) {
                    if (auto e = Check(*then, v, at); !e.empty()) {
                        return e;
                    }
                }
            }
        }
        return "";
    }

    json::value root_;
};

json::value LoadSchema(const std::string& name) {
    return json::parse(test_support::ReadFile(test_support::ProjectPath("docs/schemas/" + name)));
}

/// A number of the schema at a path of keys ("properties", "accel", ...).
double At(const json::value& schema, std::initializer_list<std::string_view> path) {
    const json::value* v = &schema;
    for (const auto key : path) {
        v = &v->as_object().at(key);
    }
    return v->to_number<double>();
}

// ---- samples ----------------------------------------------------------------------------

constexpr std::int64_t kT0 = 1763900000000LL;

json::object ValidVehicle() {
    json::object m;
    m["kind"] = "vehicle";
    m["schema_version"] = 1;
    m["vehicle_id"] = "bus-042";
    m["device_id"] = "phone-7f3a";
    m["vehicle_class"] = "bus";
    json::object accel;
    accel["t0_ms"] = kT0;
    accel["rate_hz"] = 100;
    accel["unit"] = "m/s2";
    json::array x;
    json::array y;
    json::array z;
    for (int i = 0; i < 200; ++i) {
        x.push_back(0.1);
        y.push_back(-0.2);
        z.push_back(9.8);
    }
    accel["x"] = x;
    accel["y"] = y;
    accel["z"] = z;
    m["accel"] = accel;
    json::array gps;
    for (int i = 0; i < 2; ++i) {
        gps.push_back(json::object{
            {"t_ms", kT0 + std::int64_t{1000} * i},
            {"lat", 43.25},
            {"lon", 76.9},
            {"speed_mps", 12.5},
            {"heading_deg", 90.0},
            {"accuracy_m", 4.0}});
    }
    m["gps"] = gps;
    return m;
}

using Mutation = std::pair<const char*, std::function<void(json::object&)>>;

json::object& Accel(json::object& m) {
    return m["accel"].as_object();
}
json::object& Fix(json::object& m, std::size_t i) {
    return m["gps"].as_array()[i].as_object();
}
void SetAll(json::object& m, std::size_t n, double value) {
    for (const char* axis : {"x", "y", "z"}) {
        json::array a;
        for (std::size_t i = 0; i < n; ++i) {
            a.push_back(value);
        }
        Accel(m)[axis] = a;
    }
}

std::vector<Mutation> VehicleMutations() {
    return {
        {"valid as it is", [](json::object&) {}},
        {"no schema_version", [](json::object& m) { m.erase("schema_version"); }},
        {"schema_version 2", [](json::object& m) { m["schema_version"] = 2; }},
        {"no kind", [](json::object& m) { m.erase("kind"); }},
        {"kind truck", [](json::object& m) { m["kind"] = "truck"; }},
        {"no vehicle_id", [](json::object& m) { m.erase("vehicle_id"); }},
        {"vehicle_id of 64", [](json::object& m) { m["vehicle_id"] = std::string(64, 'a'); }},
        {"vehicle_id of 65", [](json::object& m) { m["vehicle_id"] = std::string(65, 'a'); }},
        {"vehicle_id with a space", [](json::object& m) { m["vehicle_id"] = "bus 42"; }},
        {"empty device_id", [](json::object& m) { m["device_id"] = ""; }},
        {"device_id a number", [](json::object& m) { m["device_id"] = 7; }},
        {"vehicle_class tram", [](json::object& m) { m["vehicle_class"] = "tram"; }},
        {"no vehicle_class", [](json::object& m) { m.erase("vehicle_class"); }},
        {"no accel", [](json::object& m) { m.erase("accel"); }},
        {"no unit", [](json::object& m) { Accel(m).erase("unit"); }},
        {"unit mg", [](json::object& m) { Accel(m)["unit"] = "mg"; }},
        {"rate 5", [](json::object& m) { Accel(m)["rate_hz"] = 5; }},
        {"rate 4.9", [](json::object& m) { Accel(m)["rate_hz"] = 4.9; }},
        {"rate 400", [](json::object& m) { Accel(m)["rate_hz"] = 400; }},
        {"rate 400.1", [](json::object& m) { Accel(m)["rate_hz"] = 400.1; }},
        {"rate a string", [](json::object& m) { Accel(m)["rate_hz"] = "100"; }},
        {"neither rate nor offsets", [](json::object& m) { Accel(m).erase("rate_hz"); }},
        {"both rate and offsets",
         [](json::object& m) {
             json::array o;
             for (int i = 0; i < 200; ++i) {
                 o.push_back(i * 10.0);
             }
             Accel(m)["offsets_ms"] = o;
         }},
        {"offsets instead of a rate",
         [](json::object& m) {
             json::array o;
             for (int i = 0; i < 200; ++i) {
                 o.push_back(i * 10.0);
             }
             Accel(m).erase("rate_hz");
             Accel(m)["offsets_ms"] = o;
         }},
        {"offset above 60000",
         [](json::object& m) {
             json::array o;
             for (int i = 0; i < 200; ++i) {
                 o.push_back(i * 10.0);
             }
             o.back() = 60001.0;
             Accel(m).erase("rate_hz");
             Accel(m)["offsets_ms"] = o;
         }},
        {"t0 before 2000", [](json::object& m) { Accel(m)["t0_ms"] = 946684799999LL; }},
        {"t0 fractional", [](json::object& m) { Accel(m)["t0_ms"] = 1763900000000.5; }},
        {"sample 160", [](json::object& m) { Accel(m)["x"].as_array()[3] = 160.0; }},
        {"sample -160.5", [](json::object& m) { Accel(m)["y"].as_array()[3] = -160.5; }},
        {"sample a string", [](json::object& m) { Accel(m)["z"].as_array()[3] = "9.8"; }},
        {"no samples", [](json::object& m) { SetAll(m, 0, 0.0); }},
        {"24000 samples",
         [](json::object& m) {
             SetAll(m, 24000, 0.5);
             Accel(m)["rate_hz"] = 400;
         }},
        {"24001 samples",
         [](json::object& m) {
             SetAll(m, 24001, 0.5);
             Accel(m)["rate_hz"] = 400;
         }},
        {"16 g",
         [](json::object& m) {
             Accel(m)["unit"] = "g";
             Accel(m)["z"].as_array()[0] = 16.0;
         }},
        {"16.5 g",
         [](json::object& m) {
             Accel(m)["unit"] = "g";
             Accel(m)["z"].as_array()[0] = -16.5;
         }},
        {"no gps", [](json::object& m) { m.erase("gps"); }},
        {"empty gps", [](json::object& m) { m["gps"] = json::array(); }},
        {"600 fixes",
         [](json::object& m) {
             json::array gps;
             for (int i = 0; i < 600; ++i) {
                 gps.push_back(Fix(m, 0));
             }
             m["gps"] = gps;
         }},
        {"601 fixes",
         [](json::object& m) {
             json::array gps;
             for (int i = 0; i < 601; ++i) {
                 gps.push_back(Fix(m, 0));
             }
             m["gps"] = gps;
         }},
        {"lat 90", [](json::object& m) { Fix(m, 0)["lat"] = 90.0; }},
        {"lat 90.5", [](json::object& m) { Fix(m, 0)["lat"] = 90.5; }},
        {"lon -181", [](json::object& m) { Fix(m, 1)["lon"] = -181.0; }},
        {"speed 70", [](json::object& m) { Fix(m, 0)["speed_mps"] = 70.0; }},
        {"speed 70.1", [](json::object& m) { Fix(m, 0)["speed_mps"] = 70.1; }},
        {"speed -1", [](json::object& m) { Fix(m, 0)["speed_mps"] = -1.0; }},
        {"no speed", [](json::object& m) { Fix(m, 0).erase("speed_mps"); }},
        {"no heading", [](json::object& m) { Fix(m, 0).erase("heading_deg"); }},
        {"heading 360", [](json::object& m) { Fix(m, 0)["heading_deg"] = 360.0; }},
        {"heading 361", [](json::object& m) { Fix(m, 0)["heading_deg"] = 361.0; }},
        {"no accuracy", [](json::object& m) { Fix(m, 1).erase("accuracy_m"); }},
        {"accuracy 500.5", [](json::object& m) { Fix(m, 1)["accuracy_m"] = 500.5; }},
        {"fix without time", [](json::object& m) { Fix(m, 1).erase("t_ms"); }},
        {"fix not an object", [](json::object& m) { m["gps"].as_array()[0] = 3; }},
        {"unknown member (ignored)", [](json::object& m) { m["firmware"] = "1.2"; }},
    };
}

/// Valid embedded messages of each kind, with the schema file of each.
std::vector<std::pair<json::object, std::string>> ValidEmbedded() {
    return {
        {json::object{
             {"kind", "wim"},
             {"schema_version", 1},
             {"sensor_id", "wim-001"},
             {"t_ms", kT0},
             {"lane", 2},
             {"speed_mps", 14.0},
             {"axle_loads_kn", json::array{50.0, 90.0, 85.0}},
             {"axle_spacings_m", json::array{3.5, 1.3}}},
         "wim.schema.json"},
        {json::object{
             {"kind", "strain"},
             {"sensor_id", "strain-001"},
             {"t_ms", kT0},
             {"peak_microstrain", json::array{80.0, 120.5}}},
         "strain.schema.json"},
        {json::object{
             {"kind", "temperature"}, {"sensor_id", "temp-1"}, {"t_ms", kT0}, {"celsius", -12.5}},
         "temperature.schema.json"},
        {json::object{
             {"kind", "moisture"}, {"sensor_id", "moist-1"}, {"t_ms", kT0}, {"vwc_percent", 23.0}},
         "moisture.schema.json"},
    };
}

std::vector<Mutation> EmbeddedMutations(const std::string& kind) {
    std::vector<Mutation> m = {
        {"valid as it is", [](json::object&) {}},
        {"no sensor_id", [](json::object& o) { o.erase("sensor_id"); }},
        {"sensor_id of 65", [](json::object& o) { o["sensor_id"] = std::string(65, 's'); }},
        {"sensor_id with a slash", [](json::object& o) { o["sensor_id"] = "a/b"; }},
        {"no t_ms", [](json::object& o) { o.erase("t_ms"); }},
        {"t_ms after 2100", [](json::object& o) { o["t_ms"] = 4102444800001LL; }},
        {"schema_version 3", [](json::object& o) { o["schema_version"] = 3; }},
    };
    if (kind == "wim") {
        m.insert(
            m.end(),
            {{"lane 0", [](json::object& o) { o["lane"] = 0; }},
             {"lane 16", [](json::object& o) { o["lane"] = 16; }},
             {"lane 17", [](json::object& o) { o["lane"] = 17; }},
             {"no lane", [](json::object& o) { o.erase("lane"); }},
             {"speed 70.5", [](json::object& o) { o["speed_mps"] = 70.5; }},
             {"no speed", [](json::object& o) { o.erase("speed_mps"); }},
             {"load 400", [](json::object& o) { o["axle_loads_kn"].as_array()[0] = 400.0; }},
             {"load 401", [](json::object& o) { o["axle_loads_kn"].as_array()[0] = 401.0; }},
             {"load -1", [](json::object& o) { o["axle_loads_kn"].as_array()[1] = -1.0; }},
             {"no axles",
              [](json::object& o) {
                  o["axle_loads_kn"] = json::array();
                  o["axle_spacings_m"] = json::array();
              }},
             {"16 axles",
              [](json::object& o) {
                  json::array loads;
                  json::array spacings;
                  for (int i = 0; i < 16; ++i) {
                      loads.push_back(60.0);
                      if (i > 0) {
                          spacings.push_back(1.3);
                      }
                  }
                  o["axle_loads_kn"] = loads;
                  o["axle_spacings_m"] = spacings;
              }},
             {"17 axles",
              [](json::object& o) {
                  json::array loads;
                  json::array spacings;
                  for (int i = 0; i < 17; ++i) {
                      loads.push_back(60.0);
                      if (i > 0) {
                          spacings.push_back(1.3);
                      }
                  }
                  o["axle_loads_kn"] = loads;
                  o["axle_spacings_m"] = spacings;
              }},
             {"spacing 0.2", [](json::object& o) { o["axle_spacings_m"].as_array()[0] = 0.2; }},
             {"spacing 30.5", [](json::object& o) { o["axle_spacings_m"].as_array()[1] = 30.5; }},
             {"single axle without spacings",
              [](json::object& o) {
                  o["axle_loads_kn"] = json::array{70.0};
                  o.erase("axle_spacings_m");
              }}}
        );
    } else if (kind == "strain") {
        m.insert(
            m.end(),
            {{"strain 5000", [](json::object& o) { o["peak_microstrain"].as_array()[0] = 5000.0; }},
             {"strain 5000.5",
              [](json::object& o) { o["peak_microstrain"].as_array()[0] = 5000.5; }},
             {"no peaks", [](json::object& o) { o["peak_microstrain"] = json::array(); }},
             {"17 peaks",
              [](json::object& o) {
                  json::array a;
                  for (int i = 0; i < 17; ++i) {
                      a.push_back(50.0);
                  }
                  o["peak_microstrain"] = a;
              }}}
        );
    } else if (kind == "temperature") {
        m.insert(
            m.end(),
            {{"-60 degC", [](json::object& o) { o["celsius"] = -60.0; }},
             {"-60.5 degC", [](json::object& o) { o["celsius"] = -60.5; }},
             {"90.5 degC", [](json::object& o) { o["celsius"] = 90.5; }},
             {"celsius a string", [](json::object& o) { o["celsius"] = "warm"; }}}
        );
    } else {
        m.insert(
            m.end(),
            {{"100 %", [](json::object& o) { o["vwc_percent"] = 100.0; }},
             {"100.5 %", [](json::object& o) { o["vwc_percent"] = 100.5; }},
             {"no value", [](json::object& o) { o.erase("vwc_percent"); }}}
        );
    }
    return m;
}

// ---- tests -------------------------------------------------------------------------------

TEST(Schemas, LimitsEqualRawLimits) {
    using L = RawLimits;
    const auto v = LoadSchema("vehicle.schema.json");
    const auto accel = std::initializer_list<std::string_view>{"properties", "accel", "properties"};
    (void)accel;
    EXPECT_EQ(At(v, {"properties", "accel", "properties", "rate_hz", "minimum"}), L::kMinRateHz);
    EXPECT_EQ(At(v, {"properties", "accel", "properties", "rate_hz", "maximum"}), L::kMaxRateHz);
    EXPECT_EQ(
        At(v, {"properties", "accel", "properties", "offsets_ms", "maxItems"}),
        static_cast<double>(L::kMaxSamples)
    );
    EXPECT_EQ(At(v, {"$defs", "samples", "maxItems"}), static_cast<double>(L::kMaxSamples));
    EXPECT_EQ(At(v, {"$defs", "samples", "items", "minimum"}), -L::kMaxAccelMs2);
    EXPECT_EQ(At(v, {"$defs", "samples", "items", "maximum"}), L::kMaxAccelMs2);
    const double g_bound =
        At(v, {"properties", "accel", "then", "properties", "z", "items", "maximum"});
    EXPECT_LE(g_bound * kStandardGravity, L::kMaxAccelMs2);
    EXPECT_GT(g_bound * kStandardGravity, L::kMaxAccelMs2 - 0.001);
    EXPECT_EQ(At(v, {"properties", "gps", "maxItems"}), static_cast<double>(L::kMaxGpsFixes));
    EXPECT_EQ(At(v, {"$defs", "id", "maxLength"}), static_cast<double>(L::kMaxIdLength));
    EXPECT_EQ(At(v, {"$defs", "epoch_ms", "minimum"}), static_cast<double>(L::kMinTimeMs));
    EXPECT_EQ(At(v, {"$defs", "epoch_ms", "maximum"}), static_cast<double>(L::kMaxTimeMs));
    EXPECT_EQ(At(v, {"$defs", "gps_fix", "properties", "speed_mps", "maximum"}), L::kMaxSpeedMps);
    EXPECT_EQ(At(v, {"$defs", "gps_fix", "properties", "accuracy_m", "maximum"}), L::kMaxAccuracyM);

    for (const char* file :
         {"wim.schema.json",
          "strain.schema.json",
          "temperature.schema.json",
          "moisture.schema.json"}) {
        const auto e = LoadSchema(file);
        EXPECT_EQ(
            At(e, {"properties", "sensor_id", "maxLength"}), static_cast<double>(L::kMaxIdLength)
        ) << file;
        EXPECT_EQ(At(e, {"properties", "t_ms", "minimum"}), static_cast<double>(L::kMinTimeMs))
            << file;
        EXPECT_EQ(At(e, {"properties", "t_ms", "maximum"}), static_cast<double>(L::kMaxTimeMs))
            << file;
    }
    const auto wim = LoadSchema("wim.schema.json");
    EXPECT_EQ(
        At(wim, {"properties", "axle_loads_kn", "maxItems"}), static_cast<double>(L::kMaxAxles)
    );
    EXPECT_EQ(At(wim, {"properties", "axle_loads_kn", "items", "maximum"}), L::kMaxAxleLoadKn);
    EXPECT_EQ(
        At(wim, {"properties", "axle_spacings_m", "maxItems"}),
        static_cast<double>(L::kMaxAxles - 1)
    );
    EXPECT_EQ(At(wim, {"properties", "speed_mps", "maximum"}), L::kMaxSpeedMps);
    const auto strain = LoadSchema("strain.schema.json");
    EXPECT_EQ(
        At(strain, {"properties", "peak_microstrain", "maxItems"}),
        static_cast<double>(L::kMaxAxles)
    );
    EXPECT_EQ(
        At(strain, {"properties", "peak_microstrain", "items", "maximum"}), L::kMaxMicrostrain
    );
    const auto temperature = LoadSchema("temperature.schema.json");
    EXPECT_EQ(At(temperature, {"properties", "celsius", "minimum"}), L::kMinTemperatureC);
    EXPECT_EQ(At(temperature, {"properties", "celsius", "maximum"}), L::kMaxTemperatureC);
    const auto registry = LoadSchema("sensor-registry.schema.json");
    EXPECT_EQ(
        At(registry, {"properties", "sensors", "items", "properties", "sensor_id", "maxLength"}),
        static_cast<double>(L::kMaxIdLength)
    );
}

TEST(Schemas, VehicleSamplesAreAcceptedAndRefusedLikeTheParserDoes) {
    const Validator schema(LoadSchema("vehicle.schema.json"));
    int refused = 0;
    for (const auto& [name, mutate] : VehicleMutations()) {
        json::object m = ValidVehicle();
        mutate(m);
        const std::string why = schema.Check(m);
        const auto parsed = ParseVehicleMessage(json::serialize(m));
        EXPECT_EQ(why.empty(), parsed.has_value())
            << name << ": schema says \"" << why << "\", parser says "
            << (parsed ? std::string("ok") : parsed.error().Describe());
        refused += parsed ? 0 : 1;
    }
    EXPECT_GE(refused, 25);  // the samples exercise refusals, not just the happy path
}

TEST(Schemas, EmbeddedSamplesAreAcceptedAndRefusedLikeTheParserDoes) {
    for (const auto& [valid, file] : ValidEmbedded()) {
        const Validator schema(LoadSchema(file));
        const std::string kind(valid.at("kind").as_string());
        int refused = 0;
        for (const auto& [name, mutate] : EmbeddedMutations(kind)) {
            json::object m = valid;
            mutate(m);
            const std::string why = schema.Check(m);
            const auto parsed = ParseEmbeddedMessage(json::serialize(m));
            EXPECT_EQ(why.empty(), parsed.has_value())
                << kind << " / " << name << ": schema says \"" << why << "\", parser says "
                << (parsed ? std::string("ok") : parsed.error().Describe());
            refused += parsed ? 0 : 1;
        }
        EXPECT_GE(refused, 5) << kind;
    }
}

TEST(Schemas, CrossFieldRulesBelongToTheParserAlone) {
    // What each schema's $comment says it cannot express: valid by the schema, refused by the
    // parser.
    const Validator vehicle(LoadSchema("vehicle.schema.json"));
    const std::vector<Mutation> rules = {
        {"x shorter than z", [](json::object& m) { Accel(m)["x"].as_array().pop_back(); }},
        {"offsets not increasing",
         [](json::object& m) {
             json::array o;
             for (int i = 0; i < 200; ++i) {
                 o.push_back(i == 100 ? 985.0 : i * 10.0);
             }
             Accel(m).erase("rate_hz");
             Accel(m)["offsets_ms"] = o;
         }},
        {"fixes out of order", [](json::object& m) { Fix(m, 1)["t_ms"] = kT0 - 1000; }},
        {"fixes far from the batch",
         [](json::object& m) {
             Fix(m, 0)["t_ms"] = kT0 + 60000;
             Fix(m, 1)["t_ms"] = kT0 + 61000;
         }},
    };
    for (const auto& [name, mutate] : rules) {
        json::object m = ValidVehicle();
        mutate(m);
        EXPECT_EQ(vehicle.Check(m), "") << name;
        EXPECT_FALSE(ParseVehicleMessage(json::serialize(m))) << name;
    }
    const Validator wim(LoadSchema("wim.schema.json"));
    json::object w = ValidEmbedded()[0].first;
    w["axle_spacings_m"] = json::array{3.5};  // one spacing for three axles
    EXPECT_EQ(wim.Check(w), "");
    EXPECT_FALSE(ParseEmbeddedMessage(json::serialize(w)));
}

TEST(Schemas, RegistrySamplesAreAcceptedAndRefusedLikeTheLoaderDoes) {
    const auto network = RoadNetwork::FromGeoJson(R"({"features":[
      {"type":"Feature","properties":{"osmid":"a"},"geometry":{"type":"LineString","coordinates":[[76.9000,43.2000],[76.9000,43.2005]]}}]})"
    );
    ASSERT_TRUE(network);
    const MapMatcher matcher(*network);
    const std::string segment = ToString(network->segments().front().id);
    const Validator schema(LoadSchema("sensor-registry.schema.json"));
    const auto sensor = [&](const json::object& fields) {
        json::object s{{"sensor_id", "wim-1"}, {"kind", "wim"}, {"segment_id", segment}};
        for (const auto& [k, v] : fields) {
            s[k] = v;
        }
        return s;
    };
    const std::vector<std::pair<const char*, json::value>> samples = {
        {"one sensor", json::object{{"sensors", json::array{sensor({})}}}},
        {"no sensors", json::object{{"sensors", json::array()}}},
        {"no sensors member", json::object{{"things", json::array()}}},
        {"kind radar", json::object{{"sensors", json::array{sensor({{"kind", "radar"}})}}}},
        {"depth 2000", json::object{{"sensors", json::array{sensor({{"depth_mm", 2000.0}})}}}},
        {"depth 2001", json::object{{"sensors", json::array{sensor({{"depth_mm", 2001.0}})}}}},
        {"gain 0",
         json::object{
             {"sensors", json::array{sensor({{"calibration", json::object{{"gain", 0.0}}}})}}}},
        {"offset 999",
         json::object{
             {"sensors", json::array{sensor({{"calibration", json::object{{"offset", 999.0}}}})}}}},
        {"offset 1001",
         json::object{
             {"sensors",
              json::array{sensor({{"calibration", json::object{{"offset", 1001.0}}}})}}}},
        {"id too long",
         json::object{{"sensors", json::array{sensor({{"sensor_id", std::string(65, 'w')}})}}}},
        {"placed by position",
         json::object{
             {"sensors",
              json::array{json::object{
                  {"sensor_id", "t-1"},
                  {"kind", "temperature"},
                  {"lat", 43.2002},
                  {"lon", 76.90001}}}}}},
        {"neither segment nor position",
         json::object{
             {"sensors",
              json::array{json::object{{"sensor_id", "t-1"}, {"kind", "temperature"}}}}}},
        {"latitude 91",
         json::object{
             {"sensors",
              json::array{json::object{
                  {"sensor_id", "t-1"}, {"kind", "temperature"}, {"lat", 91.0}, {"lon", 76.9}}}}}},
    };
    int refused = 0;
    for (const auto& [name, doc] : samples) {
        const std::string why = schema.Check(doc);
        const auto loaded = SensorRegistry::FromJson(json::serialize(doc), matcher);
        EXPECT_EQ(why.empty(), loaded.has_value())
            << name << ": schema says \"" << why << "\", loader says "
            << (loaded ? std::string("ok") : loaded.error().Describe());
        refused += loaded ? 0 : 1;
    }
    EXPECT_GE(refused, 6);
    // Cross-field: a segment that is not in the network.
    const json::object unknown{{"sensors", json::array{sensor({{"segment_id", "12345"}})}}};
    EXPECT_EQ(schema.Check(unknown), "");
    EXPECT_FALSE(SensorRegistry::FromJson(json::serialize(unknown), matcher));
}

Observation Make(std::int64_t t_ms, decltype(Observation::body) body) {
    Observation o;
    o.segment = SegmentId{4242};
    o.t_ms = t_ms;
    o.body = std::move(body);
    return o;
}

TEST(Schemas, ConditionRecordsOfTheCodeFollowTheSchema) {
    const Validator schema(LoadSchema("condition.schema.json"));
    const ModelConfig config;
    SegmentState state;
    // Only climate so far: no index, no roughness.
    Apply(state, Make(kT0, PavementTemperature{-3.0F, 50.0F}), config);
    const std::string first = ConditionToJson(state, config);
    EXPECT_EQ(schema.Check(json::parse(first)), "") << first;

    // Three days of traffic: traversals with IRI, detections by four vehicles at one place,
    // weigh-in-motion, strain, moisture and a contractor's action.
    for (int day = 0; day < 3; ++day) {
        for (int k = 0; k < 12; ++k) {
            const std::int64_t t = kT0 + day * 86400000LL + k * 60000LL;
            Traversal tr;
            tr.vehicle_key = 100 + static_cast<std::uint64_t>(k % 6);
            tr.vehicle_class = VehicleClass::kCar;
            tr.speed_mps = 12.0F + static_cast<float>(k % 4);
            tr.from_m = 0.0F;
            tr.to_m = 90.0F;
            tr.iri_m_per_km = 2.0F + 0.1F * static_cast<float>(k % 5);
            tr.samples = 500;
            tr.sample_rate_hz = 100.0F;
            tr.confidence = 0.8F;
            Apply(state, Make(t, tr), config);
            if (k < 4) {
                HazardEvent e;
                e.vehicle_key = 100 + static_cast<std::uint64_t>(k);
                e.offset_m = 40.0F + 0.3F * static_cast<float>(k);
                e.uncertainty_m = 4.0F;
                e.peak_ms2 = 9.0F;
                e.speed_mps = 12.0F;
                Apply(state, Make(t + 1, e), config);
            }
            AxleLoads a;
            a.axles = 2;
            a.load_kn = {50.0F, 90.0F};
            a.spacing_m = {0.0F, 4.0F};
            a.speed_mps = 14.0F;
            Apply(state, Make(t + 2, a), config);
            StrainPasses s;
            s.passes = 2;
            s.microstrain = {90.0F, 140.0F};
            s.depth_mm = 100.0F;
            Apply(state, Make(t + 3, s), config);
        }
        Apply(state, Make(kT0 + day * 86400000LL + 1, SoilMoisture{24.0F}), config);
    }
    HazardAction action;
    action.hazard_id = 1;
    action.action = HazardActionKind::kAcknowledge;
    action.actor = "acme";
    Apply(state, Make(kT0 + 3 * 86400000LL, action), config);
    action.hazard_id = 99;  // refused: unknown hazard
    Apply(state, Make(kT0 + 3 * 86400000LL + 1, action), config);
    const std::string full = ConditionToJson(state, config);
    const auto doc = json::parse(full);
    EXPECT_EQ(schema.Check(doc), "") << full;
    EXPECT_FALSE(doc.at("hazards").as_array().empty());
    EXPECT_FALSE(doc.at("roughness").is_null());
    EXPECT_FALSE(doc.at("today").is_null());
    // The history record of the same state follows its own schema.
    const Validator history_schema(LoadSchema("condition-history.schema.json"));
    const std::string history = HistoryToJson(state);
    const auto history_doc = json::parse(history);
    EXPECT_EQ(history_schema.Check(history_doc), "") << history;
    EXPECT_EQ(history_doc.at("days").as_array().size(), 3U) << history;
    auto broken_history = history_doc;
    broken_history.as_object()["days"].as_array()[0].as_object()["condition_index"] = -1;
    EXPECT_NE(history_schema.Check(broken_history), "");

    // And the schema has teeth.
    auto broken = doc;
    broken.as_object()["condition_index"] = 101.5;
    EXPECT_NE(schema.Check(broken), "");
    broken = doc;
    broken.as_object()["surprise"] = true;
    EXPECT_NE(schema.Check(broken), "");
    broken = doc;
    broken.as_object()["hazards"].as_array()[0].as_object()["status"] = "fixed";
    EXPECT_NE(schema.Check(broken), "");
}

}  // namespace
}  // namespace pavewatch::pipeline
