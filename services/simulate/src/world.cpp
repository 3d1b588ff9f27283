#include "pavewatch/simulate/world.hpp"

#include "pavewatch/pipeline/ids.hpp"
#include "pavewatch/pipeline/iri.hpp"
#include "pavewatch/pipeline/json_writer.hpp"
#include "pavewatch/pipeline/model_config.hpp"
#include "pavewatch/pipeline/quarter_car.hpp"
#include "pavewatch/pipeline/structural.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_map>

namespace pavewatch::simulate {

using pipeline::EpochMs;
using pipeline::Xoshiro256;

namespace {

constexpr double kGravity = pipeline::kStandardGravity;
constexpr double kLeadInM = 15.0;            ///< road kept from the previous batch (continuity)
constexpr std::size_t kProfileCache = 1500;  ///< segment profiles kept in memory

using Matrix3 = std::array<std::array<double, 3>, 3>;

/// A uniformly random rotation (Shoemake's random unit quaternion).
Matrix3 RandomRotation(Xoshiro256& rng) {
    const double u1 = rng.Uniform();
    const double u2 = rng.Uniform() * 2 * pipeline::kPi;
    const double u3 = rng.Uniform() * 2 * pipeline::kPi;
    const double a = std::sqrt(1 - u1);
    const double b = std::sqrt(u1);
    const double w = a * std::sin(u2);
    const double x = a * std::cos(u2);
    const double y = b * std::sin(u3);
    const double z = b * std::cos(u3);
    return {
        {{1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)},
         {2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)},
         {2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)}}};
}

std::uint64_t Mix(std::uint64_t a, std::uint64_t b) {
    std::uint64_t z = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

pipeline::VehicleClass DrawClass(Xoshiro256& rng) {
    const double u = rng.Uniform();
    if (u < 0.70) {
        return pipeline::VehicleClass::kCar;
    }
    if (u < 0.80) {
        return pipeline::VehicleClass::kSuv;
    }
    if (u < 0.88) {
        return pipeline::VehicleClass::kVan;
    }
    if (u < 0.95) {
        return pipeline::VehicleClass::kBus;
    }
    return pipeline::VehicleClass::kTruck;
}

double CruiseSpeed(const std::string& highway) {
    if (highway.find("link") != std::string::npos) {
        return 9.0;
    }
    if (highway.find("trunk") != std::string::npos ||
        highway.find("primary") != std::string::npos) {
        return 15.0;
    }
    return 12.0;
}

std::string Padded(const char* prefix, int n) {
    char text[32];
    std::snprintf(text, sizeof(text), "%s-%04d", prefix, n);
    return text;
}

/// Pavement temperature near the surface in Almaty: annual mean 10 °C, January about -5 °C,
/// July about +25 °C, daily swing largest in summer (see docs/simulator.md).
double PavementTemperature(EpochMs t_ms, Xoshiro256& rng) {
    const double days = static_cast<double>(t_ms) / 86400000.0;
    const double day_of_year = std::fmod(days, 365.25);
    const double hour = std::fmod(days * 24.0 + 6.0, 24.0);  // UTC+6
    const double seasonal =
        10.0 - 15.0 * std::cos(2 * pipeline::kPi * (day_of_year - 15.0) / 365.25);
    const double daily_amplitude =
        7.0 - 3.0 * std::cos(2 * pipeline::kPi * (day_of_year - 15.0) / 365.25);
    return seasonal + daily_amplitude * std::sin(2 * pipeline::kPi * (hour - 9.0) / 24.0) +
           0.3 * rng.Normal();
}

}  // namespace

struct World::Vehicle {
    int index = 0;
    std::string id;
    std::string device;
    pipeline::VehicleClass klass = pipeline::VehicleClass::kCar;
    pipeline::QuarterCarParams car;
    double rate_hz = 100.0;
    Matrix3 rotation{};
    double gps_sigma_m = 4.0;
    double noise_ms2 = 0.03;
    Xoshiro256 rng{1};
    std::size_t segment = 0;
    double offset_m = 0.0;
    double speed_mps = 10.0;
    double target_mps = 12.0;
    double accel_noise_mps2 = 0.0;  ///< the driver's own speed changes (OU process)
    double lateral_m = 0.0;         ///< wheel path's offset right of the lane centre
    EpochMs next_batch_ms = 0;
    std::vector<double> tail;  ///< last kLeadInM of road under the wheel
    bool teleport = false;
};

struct World::Site {
    int index = 0;
    std::size_t segment = 0;
    Xoshiro256 rng{1};
    EpochMs next_wim_ms = 0;
    EpochMs next_temperature_ms = 0;
    EpochMs next_moisture_ms = 0;
    double last_temperature_c = 10.0;
    double moisture = 20.0;
    SiteTruth truth;
};

World::World(
    const pipeline::RoadNetwork& network,
    const pipeline::MapMatcher& matcher,
    WorldConfig config,
    EpochMs start_ms
)
    : network_(network),
      matcher_(matcher),
      config_(std::move(config)),
      now_(start_ms),
      start_ms_(start_ms) {
    const auto& segments = network_.segments();
    truth_.resize(segments.size());
    if (config_.segment_subset.empty()) {
        for (std::size_t i = 0; i < segments.size(); ++i) {
            config_.segment_subset.push_back(i);
        }
    }
    allowed_.assign(segments.size(), false);
    for (const auto i : config_.segment_subset) {
        allowed_.at(i) = true;
    }
    const auto& allowed = allowed_;

    // Successors: where a road ends, the roads that start within 12 m of its end (not the
    // same road turned back).
    std::unordered_map<std::int64_t, std::vector<std::size_t>> starts;  // 20 m grid cells
    const auto cell = [&](pipeline::LonLat p) {
        const auto xy = network_.projection().Forward(p);
        return (static_cast<std::int64_t>(std::floor(xy.x / 20.0)) << 32) ^
               static_cast<std::int64_t>(std::floor(xy.y / 20.0) + 1e6);
    };
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (segments[i].piece == 0 && allowed[i]) {
            starts[cell(segments[i].points.front())].push_back(i);
        }
    }
    successors_.resize(segments.size());
    for (std::size_t i = 0; i < segments.size(); ++i) {
        const auto& s = segments[i];
        if (s.piece != s.pieces - 1) {
            continue;
        }
        const auto end = s.points.back();
        const auto end_xy = network_.projection().Forward(end);
        const double bearing_in = pipeline::BearingDeg(s.points[s.points.size() - 2], end);
        for (int dx = -1; dx <= 1; ++dx) {
            for (int dy = -1; dy <= 1; ++dy) {
                const auto key =
                    ((static_cast<std::int64_t>(std::floor(end_xy.x / 20.0)) + dx) << 32) ^
                    (static_cast<std::int64_t>(std::floor(end_xy.y / 20.0) + 1e6) + dy);
                const auto it = starts.find(key);
                if (it == starts.end()) {
                    continue;
                }
                for (const auto j : it->second) {
                    const auto& n = segments[j];
                    if (j == i || pipeline::HaversineM(end, n.points.front()) > 12.0) {
                        continue;
                    }
                    const double bearing_out = pipeline::BearingDeg(n.points[0], n.points[1]);
                    if (pipeline::BearingDiffDeg(bearing_in, bearing_out) < 150.0) {
                        successors_[i].push_back(j);
                    }
                }
            }
        }
    }

    Xoshiro256 fleet(Mix(config_.seed, 0xF1EE7));
    double share_total = 0;
    for (const auto& [rate, share] : config_.rates) {
        share_total += share;
    }
    for (int i = 0; i < config_.vehicles; ++i) {
        auto v = std::make_unique<Vehicle>();
        v->index = i;
        v->rng = Xoshiro256(Mix(config_.seed, 1000 + static_cast<std::uint64_t>(i)));
        v->id = Padded("veh", i + 1);
        v->device = Padded("dev", i + 1);
        v->klass = DrawClass(v->rng);
        v->car = pipeline::DefaultQuarterCar(v->klass);
        // Each vehicle differs from its class's typical one by up to +-15 %.
        const auto jitter = [&](double x) { return x * v->rng.Uniform(0.85, 1.15); };
        v->car.sprung_mass_kg = jitter(v->car.sprung_mass_kg);
        v->car.unsprung_mass_kg = jitter(v->car.unsprung_mass_kg);
        v->car.suspension_stiffness_n_m = jitter(v->car.suspension_stiffness_n_m);
        v->car.suspension_damping_ns_m = jitter(v->car.suspension_damping_ns_m);
        v->car.tyre_stiffness_n_m = jitter(v->car.tyre_stiffness_n_m);
        double u = v->rng.Uniform() * share_total;
        v->rate_hz = config_.rates.front().first;
        for (const auto& [rate, share] : config_.rates) {
            if (u < share) {
                v->rate_hz = rate;
                break;
            }
            u -= share;
        }
        v->rotation = RandomRotation(v->rng);
        v->gps_sigma_m = v->rng.Uniform(2.0, 6.0);
        v->noise_ms2 = v->rng.Uniform(0.02, 0.06);
        v->segment = RandomSegment(v->rng);
        v->offset_m = v->rng.Uniform(0.0, segments[v->segment].length_m);
        v->target_mps = CruiseSpeed(segments[v->segment].highway) * v->rng.Uniform(0.8, 1.2);
        v->speed_mps = v->target_mps;
        v->lateral_m = v->rng.Uniform(-0.4, 0.4);
        // Stagger the fleet's messages over one batch period.
        v->next_batch_ms =
            start_ms +
            static_cast<EpochMs>(1000.0 * config_.batch_seconds * (i + 1) / config_.vehicles);
        v->teleport = true;
        vehicles_.push_back(std::move(v));
    }

    Xoshiro256 siting(Mix(config_.seed, 0x517E));
    std::vector<std::size_t> candidates;
    for (const auto i : config_.segment_subset) {
        if (segments[i].length_m >= 40.0 && segments[i].highway.find("link") == std::string::npos) {
            candidates.push_back(i);
        }
    }
    for (int k = 0; k < config_.sensor_sites && !candidates.empty(); ++k) {
        auto s = std::make_unique<Site>();
        s->index = k;
        const auto pick =
            static_cast<std::size_t>(siting.Uniform() * static_cast<double>(candidates.size()));
        s->segment = candidates[std::min(pick, candidates.size() - 1)];
        s->rng = Xoshiro256(Mix(config_.seed, 5000 + static_cast<std::uint64_t>(k)));
        s->next_wim_ms = start_ms + static_cast<EpochMs>(1000.0 * s->rng.Uniform(0.0, 5.0));
        s->next_temperature_ms = start_ms + EpochMs{1000} * (k % 60);
        s->next_moisture_ms = start_ms + EpochMs{5000} * (k % 60);
        s->moisture = s->rng.Uniform(15.0, 28.0);
        s->truth.segment_index = s->segment;
        s->truth.wim_id = Padded("wim", k + 1);
        s->truth.strain_id = Padded("strain", k + 1);
        sites_.push_back(std::move(s));
    }
}

World::~World() = default;

std::size_t World::RandomSegment(Xoshiro256& rng) const {
    const auto& subset = config_.segment_subset;
    const auto pick = static_cast<std::size_t>(rng.Uniform() * static_cast<double>(subset.size()));
    return subset[std::min(pick, subset.size() - 1)];
}

std::size_t World::NextSegment(std::size_t segment, Xoshiro256& rng) const {
    const auto& s = network_.segments()[segment];
    if (s.piece + 1 < s.pieces) {
        // The next piece of the same road, unless it lies outside the driven subset.
        return allowed_[segment + 1] ? segment + 1 : SIZE_MAX;
    }
    const auto& next = successors_[segment];
    if (next.empty()) {
        return SIZE_MAX;
    }
    const auto pick = static_cast<std::size_t>(rng.Uniform() * static_cast<double>(next.size()));
    return next[std::min(pick, next.size() - 1)];
}

const SegmentTruth& World::Truth(std::size_t i) {
    if (!truth_[i]) {
        const auto& segment = network_.segments()[i];
        Xoshiro256 rng(Mix(config_.seed, segment.id.value()));
        SegmentTruth t;
        double u = rng.Uniform();
        // Most pieces of a road take the road's draw of the class instead of their own: a
        // uniform draw either way, so the class shares hold per segment. Own generators, so
        // that the rest of the segment (its Gd0 within the class, its potholes) is unchanged.
        Xoshiro256 follows(Mix(Mix(config_.seed, segment.id.value()), 0x40ADULL));
        if (!segment.source_id.empty() && follows.Uniform() < config_.road_class_share) {
            Xoshiro256 road(Mix(config_.seed, pipeline::Fnv1a64(segment.source_id)));
            u = road.Uniform();
        }
        int klass = 0;
        for (std::size_t c = 0; c < config_.class_shares.size(); ++c) {
            if (u < config_.class_shares[c]) {
                klass = static_cast<int>(c);
                break;
            }
            u -= config_.class_shares[c];
            klass = static_cast<int>(c) + 1;
        }
        klass = std::min(klass, 4);
        t.iso_class = static_cast<pipeline::Iso8608Class>(klass);
        // Within a class the PSD spans a factor 4 around its geometric mean (log-uniform),
        // except class A, which ISO 8608 bounds only from above (32e-6 m^3): it spans 2e-6 m^3
        // (new asphalt, IRI ~0.8 m/km) to that bound, so that a city has good roads (FHWA
        // IRI < 1.5 m/km) too.
        const double u_class = rng.Uniform(-0.5, 0.5);
        t.gd0_m3 = t.iso_class == pipeline::Iso8608Class::kA
                       ? 32e-6 * std::pow(16.0, u_class - 0.5)
                       : pipeline::Iso8608Gd0(t.iso_class) * std::pow(4.0, u_class);
        if (rng.Uniform() < config_.pothole_segment_share && segment.length_m > 20.0) {
            const int n = 1 + static_cast<int>(rng.Uniform() * 3.0);
            for (int k = 0; k < n; ++k) {
                TruthPothole p;
                p.at_m = rng.Uniform(8.0, segment.length_m - 8.0);
                p.depth_m = rng.Uniform(0.03, 0.09);
                p.length_m = rng.Uniform(0.4, 1.2);
                p.lateral_m = rng.Uniform(-0.3, 0.3);
                p.width_m = rng.Uniform(0.6, 1.2);
                bool clash = false;
                for (const auto& other : t.potholes) {
                    clash = clash || std::fabs(other.at_m - p.at_m) < 10.0;
                }
                if (!clash) {
                    t.potholes.push_back(p);
                }
            }
            std::sort(t.potholes.begin(), t.potholes.end(), [](const auto& a, const auto& b) {
                return a.at_m < b.at_m;
            });
            // Repairs draw from their own generator so that they leave the road as it was.
            Xoshiro256 repairs(Mix(Mix(config_.seed, 0x2E9A12), segment.id.value()));
            const auto from = static_cast<double>(config_.repair_window_start.count());
            const auto to = std::max(from, static_cast<double>(config_.repair_window_end.count()));
            for (auto& p : t.potholes) {
                if (repairs.Uniform() < config_.repair_share) {
                    p.repaired_at_ms =
                        start_ms_ + static_cast<EpochMs>(std::llround(repairs.Uniform(from, to)));
                }
            }
        }
        truth_[i] = std::move(t);
    }
    return *truth_[i];
}

namespace {

/// The profile without potholes, ends pinned to zero so that consecutive segments join without
/// a step (a linear trend does not change IRI).
std::vector<double> BaseProfile(
    const pipeline::Segment& segment,
    const SegmentTruth& truth,
    double spacing,
    std::uint64_t seed
) {
    auto e = pipeline::PsdProfile(
        truth.gd0_m3, segment.length_m, spacing, Mix(seed, ~segment.id.value())
    );
    if (e.size() >= 2) {
        const double first = e.front();
        const double slope = (e.back() - e.front()) / static_cast<double>(e.size() - 1);
        for (std::size_t k = 0; k < e.size(); ++k) {
            e[k] -= first + slope * static_cast<double>(k);
        }
    }
    return e;
}

}  // namespace

const std::vector<double>& World::Profile(std::size_t i) {
    auto it = profiles_.find(i);
    if (it != profiles_.end()) {
        return it->second;
    }
    if (profiles_.size() >= kProfileCache) {
        profiles_.erase(profile_order_.front());
        profile_order_.erase(profile_order_.begin());
    }
    const auto& truth = Truth(i);
    auto e = BaseProfile(network_.segments()[i], truth, config_.profile_spacing_m, config_.seed);
    profile_order_.push_back(i);
    return profiles_.emplace(i, std::move(e)).first->second;
}

double World::TrueIri(std::size_t i) {
    std::vector<double> e = Profile(i);
    for (const auto& p : Truth(i).potholes) {
        if (std::fabs(p.lateral_m) < p.width_m / 2) {  // in the lane-centre wheel path
            pipeline::AddPothole(e, config_.profile_spacing_m, p.at_m, p.depth_m, p.length_m);
        }
    }
    return pipeline::ReferenceIriMPerKm(e, config_.profile_spacing_m);
}

void World::DriveBatch(Vehicle& v, std::vector<RawMessage>& out) {
    const auto& segments = network_.segments();
    const double dt = 1.0 / v.rate_hz;
    const auto n = static_cast<std::size_t>(std::llround(config_.batch_seconds * v.rate_hz));
    const EpochMs t0 = v.next_batch_ms;
    v.next_batch_ms += static_cast<EpochMs>(std::llround(1000.0 * config_.batch_seconds));
    if (v.teleport) {
        v.segment = RandomSegment(v.rng);
        v.offset_m = v.rng.Uniform(0.0, segments[v.segment].length_m * 0.5);
        v.tail.clear();
        v.teleport = false;
    }

    // Speeds at the device's sample times: the driver closes on a cruise speed that changes
    // now and then, plus speed changes of their own, an Ornstein-Uhlenbeck acceleration (time
    // constant 2 s, 0.3 m/s^2 standard deviation), so that acceleration is smooth as a car's is.
    constexpr double kAccelTauS = 2.0;
    constexpr double kAccelSigma = 0.3;
    std::vector<double> speed(n);
    std::vector<double> accel(n);
    std::vector<double> along(n);  // metres driven since the batch start
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (v.rng.Uniform() < dt / 40.0) {
            v.target_mps = CruiseSpeed(segments[v.segment].highway) * v.rng.Uniform(0.7, 1.25);
        }
        v.accel_noise_mps2 += -v.accel_noise_mps2 / kAccelTauS * dt +
                              kAccelSigma * std::sqrt(2.0 * dt / kAccelTauS) * v.rng.Normal();
        const double a = 0.4 * (v.target_mps - v.speed_mps) + v.accel_noise_mps2;
        const double clamped = std::clamp(v.speed_mps + a * dt, 2.0, 26.0);
        if (i > 0) {
            s += 0.5 * (speed[i - 1] + clamped) * dt;
        }
        accel[i] = (clamped - v.speed_mps) / dt;
        v.speed_mps = clamped;
        speed[i] = clamped;
        along[i] = s;
    }
    const double distance = s + speed.back() * dt;

    // The path: consecutive pieces of segments from the current position.
    struct Piece {
        std::size_t segment;
        double from_m;
        double to_m;
        double start_along;  // metres since the batch start where the piece begins
    };
    std::vector<Piece> path;
    double remaining = distance;
    std::size_t seg = v.segment;
    double offset = v.offset_m;
    double covered = 0;
    bool dead_end = false;
    while (remaining > 1e-9) {
        const double length = segments[seg].length_m;
        if (offset >= length - 1e-9) {
            const std::size_t next = NextSegment(seg, v.rng);
            if (next == SIZE_MAX) {
                dead_end = true;
                break;
            }
            seg = next;
            offset = 0;
            continue;
        }
        const double take = std::min(remaining, length - offset);
        path.push_back({seg, offset, offset + take, covered});
        covered += take;
        remaining -= take;
        offset += take;
    }
    // A dead end cuts the batch where the road ends; the vehicle then appears elsewhere.
    std::size_t used = n;
    if (dead_end) {
        while (used > 0 && along[used - 1] > covered) {
            --used;
        }
        v.teleport = true;
    }
    if (path.empty() ||
        used < static_cast<std::size_t>(v.rate_hz)) {  // under a second: nothing to send
        v.teleport = true;
        return;
    }
    v.segment = seg;
    v.offset_m = offset;

    // Time after t0 at which the vehicle has driven `at` metres since the batch start
    // (extrapolated at the first or last speed outside the batch).
    const auto time_at = [&](double at) {
        if (at <= 0.0) {
            return at / std::max(0.1, speed[0]);
        }
        const auto it = std::upper_bound(along.begin(), along.end(), at);
        const auto i = static_cast<std::size_t>(it - along.begin()) - 1;
        return static_cast<double>(i) * dt + (at - along[i]) / std::max(0.1, speed[i]);
    };
    const double used_s = static_cast<double>(used) * dt;

    // Road under the wheel along the path, with the potholes this wheel path hits (unless
    // repaired by the time the wheel gets there).
    const double spacing = config_.profile_spacing_m;
    std::vector<double> road = v.tail;
    const std::size_t lead = road.size();
    std::vector<PotholeEncounter> encounters;
    for (const auto& piece : path) {
        const auto& profile = Profile(piece.segment);
        const auto from = static_cast<std::size_t>(piece.from_m / spacing);
        const auto to = std::min(profile.size(), static_cast<std::size_t>(piece.to_m / spacing));
        const std::size_t start = road.size();
        for (std::size_t k = from; k < to; ++k) {
            road.push_back(profile[k]);
        }
        const auto& potholes = Truth(piece.segment).potholes;
        for (std::size_t k = 0; k < potholes.size(); ++k) {
            const auto& p = potholes[k];
            if (p.at_m + p.length_m < piece.from_m || p.at_m > piece.to_m) {
                continue;
            }
            const double t = time_at(piece.start_along + p.centre_m() - piece.from_m);
            const EpochMs t_ms = t0 + static_cast<EpochMs>(std::llround(1000.0 * t));
            const bool repaired = p.repaired_at_ms && *p.repaired_at_ms <= t_ms;
            const bool overlaps = std::fabs(v.lateral_m - p.lateral_m) < p.width_m / 2;
            if (overlaps && !repaired) {
                std::span<double> view(road.data() + start, road.size() - start);
                pipeline::AddPothole(view, spacing, p.at_m - piece.from_m, p.depth_m, p.length_m);
            }
            // The encounter belongs to the batch in which the wheel passes the centre.
            const bool centre_here = p.centre_m() >= piece.from_m && p.centre_m() < piece.to_m;
            if (centre_here && t >= 0.0 && t < used_s) {
                PotholeEncounter e;
                e.segment_index = piece.segment;
                e.pothole = k;
                e.t_ms = t_ms;
                e.speed_mps = speed[std::min(used - 1, static_cast<std::size_t>(t / dt))];
                e.wheel_lateral_m = v.lateral_m;
                e.hit = overlaps && !repaired;
                e.repaired = repaired;
                encounters.push_back(e);
            }
        }
    }
    if (road.size() < 4) {
        v.teleport = true;
        return;
    }
    // Wheel-path wander between batches.
    v.lateral_m = std::clamp(v.lateral_m + 0.15 * v.rng.Normal(), -0.6, 0.6);
    // Keep the last stretch of road for the next batch's lead-in.
    const auto keep = static_cast<std::size_t>(kLeadInM / spacing);
    v.tail.assign(
        road.size() > keep ? road.end() - static_cast<std::ptrdiff_t>(keep) : road.begin(),
        road.end()
    );

    // The vehicle was driving before the batch: without a tail (a new start) the lead-in is
    // the mirror image of the batch's first metres, so the suspension is in motion, not at
    // rest, when the device starts sampling.
    std::size_t lead_points = lead;
    if (lead_points == 0) {
        const std::size_t m = std::min(road.size() - 1, keep);
        std::vector<double> mirror(road.begin() + 1, road.begin() + 1 + static_cast<long>(m));
        std::reverse(mirror.begin(), mirror.end());
        road.insert(road.begin(), mirror.begin(), mirror.end());
        lead_points = m;
    }
    // Lead-in samples at the first speed; the lead-in is lengthened (flat, at its first
    // elevation) to a whole number of samples, so that the batch's first sample is where the
    // path starts (within one profile spacing) at every rate.
    const auto lead_samples = static_cast<std::size_t>(
        std::ceil(static_cast<double>(lead_points) * spacing / speed[0] / dt)
    );
    const auto extra = static_cast<std::size_t>(std::max(
        0.0,
        std::round(
            (static_cast<double>(lead_samples) * speed[0] * dt -
             static_cast<double>(lead_points) * spacing) /
            spacing
        )
    ));
    road.insert(road.begin(), extra, road.front());
    // The tyre's envelope and the last sample interval look a little past the path's end: the
    // road continues (flat, 3 m) rather than stopping the simulation early.
    road.insert(road.end(), static_cast<std::size_t>(3.0 / spacing), road.back());

    // The vehicle's response: lead-in samples at the first speed, then the batch.
    std::vector<double> qc_speed(lead_samples, speed[0]);
    qc_speed.insert(
        qc_speed.end(), speed.begin(), speed.begin() + static_cast<std::ptrdiff_t>(used)
    );
    const auto response = pipeline::SimulateQuarterCar(road, spacing, qc_speed, v.rate_hz, v.car);
    pipeline::VehicleMessage m;
    m.vehicle_id = pipeline::VehicleId{v.id};
    m.device_id = pipeline::DeviceId{v.device};
    m.vehicle_class = v.klass;
    m.accel.t0_ms = t0;
    m.accel.rate_hz = v.rate_hz;
    m.accel.x.reserve(used);
    m.accel.y.reserve(used);
    m.accel.z.reserve(used);
    for (std::size_t i = 0; i < used; ++i) {
        const std::size_t r = lead_samples + i;
        const double vertical =
            r < response.accel_vertical_mps2.size() ? response.accel_vertical_mps2[r] : 0.0;
        const double longitudinal = accel[i];
        const double lateral = 0.05 * v.rng.Normal();
        const std::array<double, 3> body{longitudinal, lateral, kGravity + vertical};
        std::array<double, 3> device{};
        for (int a = 0; a < 3; ++a) {
            device[a] = v.rotation[a][0] * body[0] + v.rotation[a][1] * body[1] +
                        v.rotation[a][2] * body[2] + v.noise_ms2 * v.rng.Normal();
        }
        m.accel.x.push_back(static_cast<float>(device[0]));
        m.accel.y.push_back(static_cast<float>(device[1]));
        m.accel.z.push_back(static_cast<float>(device[2]));
    }
    // GPS at 1 Hz: the lane's position (right of the centre line) plus noise.
    const double batch_s = static_cast<double>(used) * dt;
    for (std::size_t second = 0; static_cast<double>(second) < batch_s; ++second) {
        const auto t = static_cast<double>(second);
        const auto i = std::min(used - 1, static_cast<std::size_t>(t / dt));
        const double at = along[i];
        const Piece* piece = &path.front();
        for (const auto& p : path) {
            if (p.start_along <= at + 1e-9) {
                piece = &p;
            }
        }
        const double seg_offset = std::min(piece->to_m, piece->from_m + (at - piece->start_along));
        const auto& segment = segments[piece->segment];
        const pipeline::LonLat on_road = matcher_.PointAt(piece->segment, seg_offset);
        const pipeline::LonLat ahead =
            matcher_.PointAt(piece->segment, std::min(segment.length_m, seg_offset + 1.0));
        const pipeline::LonLat behind =
            matcher_.PointAt(piece->segment, std::max(0.0, seg_offset - 1.0));
        const double bearing = pipeline::BearingDeg(behind, ahead);
        auto xy = network_.projection().Forward(on_road);
        const double right = pipeline::DegToRad(bearing + 90.0);
        const double lane = 1.75 + v.lateral_m;
        xy.x += lane * std::sin(right) + v.gps_sigma_m * v.rng.Normal();
        xy.y += lane * std::cos(right) + v.gps_sigma_m * v.rng.Normal();
        const auto fix_position = network_.projection().Inverse(xy);
        pipeline::GpsFix fix;
        fix.t_ms = t0 + static_cast<EpochMs>(std::llround(t * 1000.0));
        fix.lat = fix_position.lat;
        fix.lon = fix_position.lon;
        fix.speed_mps = std::max(0.0, speed[i] + 0.2 * v.rng.Normal());
        fix.heading_deg = std::fmod(bearing + 3.0 * v.rng.Normal() + 360.0, 360.0);
        fix.accuracy_m = v.gps_sigma_m * v.rng.Uniform(0.8, 1.2);
        m.gps.push_back(fix);
    }
    RawMessage raw;
    raw.vehicle = true;
    raw.key = v.id;
    raw.t_ms = t0;
    raw.json = pipeline::ToJson(m);
    raw.rate_hz = v.rate_hz;
    raw.end_ms = t0 + static_cast<EpochMs>(std::llround(1000.0 * (used_s - dt)));
    raw.encounters = std::move(encounters);
    if (config_.invalid_share > 0 && v.rng.Uniform() < config_.invalid_share) {
        raw.corrupted = true;
        // A broken device: cut the JSON short, or send a latitude out of range.
        if (v.rng.Uniform() < 0.5) {
            raw.json.resize(raw.json.size() / 2);
        } else {
            const auto at = raw.json.find("\"lat\":");
            if (at != std::string::npos) {
                raw.json.replace(at, 6, "\"lat\":9");
            }
        }
    }
    ++vehicle_messages_;
    out.push_back(std::move(raw));
}

void World::SiteEvents(Site& s, EpochMs until_ms, std::vector<RawMessage>& out) {
    const std::string wim_id = Padded("wim", s.index + 1);
    const std::string strain_id = Padded("strain", s.index + 1);
    const auto emit = [&](const pipeline::EmbeddedMessage& m, const std::string& key, EpochMs t) {
        out.push_back({false, key, pipeline::ToJson(m), t});
        ++embedded_messages_;
    };
    static const pipeline::StructuralConfig kStructure{};
    const double modulus_ref = pipeline::AsphaltModulusMpa(20.0, kStructure);
    while (s.next_temperature_ms <= until_ms) {
        s.last_temperature_c = PavementTemperature(s.next_temperature_ms, s.rng);
        emit(
            pipeline::TemperatureReading{
                pipeline::SensorId{Padded("temp", s.index + 1)},
                s.next_temperature_ms,
                std::round(s.last_temperature_c * 100) / 100},
            Padded("temp", s.index + 1),
            s.next_temperature_ms
        );
        s.next_temperature_ms += 60000;
    }
    while (s.next_moisture_ms <= until_ms) {
        s.moisture = std::clamp(
            s.moisture + 0.3 * s.rng.Normal() + (s.rng.Uniform() < 0.01 ? 6.0 : 0.0) -
                0.02 * (s.moisture - 20.0),
            5.0,
            45.0
        );
        emit(
            pipeline::MoistureReading{
                pipeline::SensorId{Padded("moist", s.index + 1)},
                s.next_moisture_ms,
                std::round(s.moisture * 10) / 10},
            Padded("moist", s.index + 1),
            s.next_moisture_ms
        );
        s.next_moisture_ms += 300000;
    }
    while (s.next_wim_ms <= until_ms) {
        const EpochMs t = s.next_wim_ms;
        s.next_wim_ms += static_cast<EpochMs>(
                             1000.0 * -std::log(1.0 - s.rng.Uniform()) / config_.wim_rate_per_s
                         ) +
                         1;
        pipeline::WimReading w;
        w.sensor_id = pipeline::SensorId{wim_id};
        w.t_ms = t;
        w.lane = 1 + static_cast<int>(s.rng.Uniform() * 2.0);
        w.speed_mps = s.rng.Uniform(8.0, 20.0);
        const double u = s.rng.Uniform();
        const double load = s.rng.Uniform(0.8, 1.25);  // empty to overloaded
        if (u < 0.6) {                                 // two-axle truck
            w.axle_loads_kn = {45.0 * load, 85.0 * load};
            w.axle_spacings_m = {s.rng.Uniform(3.5, 5.5)};
        } else if (u < 0.8) {  // bus
            w.axle_loads_kn = {60.0 * load, 105.0 * load};
            w.axle_spacings_m = {s.rng.Uniform(5.5, 6.5)};
        } else {  // five-axle semi-trailer: steer, tandem drive, tandem trailer
            w.axle_loads_kn = {55.0 * load, 75.0 * load, 75.0 * load, 70.0 * load, 70.0 * load};
            w.axle_spacings_m = {3.6, 1.3, s.rng.Uniform(6.0, 8.0), 1.3};
        }
        for (auto& a : w.axle_loads_kn) {
            a = std::round(a * 10) / 10;
        }
        s.truth.vehicles += 1;
        s.truth.axles += w.axle_loads_kn.size();
        s.truth.esal += pipeline::VehicleEsal(w.axle_loads_kn, w.axle_spacings_m, kStructure);
        pipeline::StrainReading strain;
        strain.sensor_id = pipeline::SensorId{strain_id};
        strain.t_ms = t;
        // Strain grows with load and falls as the asphalt stiffens in the cold.
        const double modulus = pipeline::AsphaltModulusMpa(s.last_temperature_c, kStructure);
        for (const double a : w.axle_loads_kn) {
            const double e = 70.0 * std::pow(a / 40.0, 0.9) * std::pow(modulus_ref / modulus, 0.6) *
                             s.rng.Uniform(0.95, 1.05);
            strain.peak_microstrain.push_back(std::round(std::min(e, 4000.0) * 10) / 10);
        }
        // The damage the reported strains do at the pavement's real temperature and moisture.
        const double wet =
            s.moisture > kStructure.wet_threshold_vwc_percent ? kStructure.wet_fatigue_factor : 1.0;
        for (const double e : strain.peak_microstrain) {
            s.truth.fatigue_damage +=
                1.0 / (wet * pipeline::AllowableRepetitions(e, modulus, kStructure));
            s.truth.strain_peaks += 1;
        }
        emit(w, wim_id, t);
        emit(strain, strain_id, t);
    }
}

void World::Advance(EpochMs until_ms, std::vector<RawMessage>& out) {
    const std::size_t first = out.size();
    for (auto& v : vehicles_) {
        while (v->next_batch_ms + static_cast<EpochMs>(1000.0 * config_.batch_seconds) <= until_ms
        ) {
            DriveBatch(*v, out);
        }
    }
    for (auto& s : sites_) {
        SiteEvents(*s, until_ms, out);
    }
    now_ = std::max(now_, until_ms);
    std::stable_sort(
        out.begin() + static_cast<std::ptrdiff_t>(first),
        out.end(),
        [](const RawMessage& a, const RawMessage& b) { return a.t_ms < b.t_ms; }
    );
}

std::vector<SiteTruth> World::SiteTruths() const {
    std::vector<SiteTruth> out;
    out.reserve(sites_.size());
    for (const auto& s : sites_) {
        out.push_back(s->truth);
    }
    return out;
}

std::vector<std::size_t> ConnectedSubset(
    const pipeline::RoadNetwork& network,
    std::size_t target_segments,
    std::uint64_t seed
) {
    const auto& segments = network.segments();
    std::vector<std::size_t> all;
    if (target_segments == 0 || target_segments >= segments.size()) {
        all.resize(segments.size());
        for (std::size_t i = 0; i < all.size(); ++i) {
            all[i] = i;
        }
        return all;
    }
    // Roads: runs of consecutive pieces. Two roads touch when an end of one lies within 12 m of
    // an end of the other (20 m grid cells, neighbours searched).
    std::vector<std::size_t> road_first;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (segments[i].piece == 0 || road_first.empty()) {
            road_first.push_back(i);
        }
    }
    const auto cell_key = [](std::int64_t cx, std::int64_t cy) {
        return (cx << 32) ^ (cy + 1000000);
    };
    std::unordered_map<std::int64_t, std::vector<std::pair<std::size_t, pipeline::LonLat>>> ends;
    const auto cell_of = [&](pipeline::LonLat p) {
        const auto xy = network.projection().Forward(p);
        return std::pair{
            static_cast<std::int64_t>(std::floor(xy.x / 20.0)),
            static_cast<std::int64_t>(std::floor(xy.y / 20.0))};
    };
    const auto road_ends = [&](std::size_t road) {
        const std::size_t first = road_first[road];
        const std::size_t last =
            road + 1 < road_first.size() ? road_first[road + 1] : segments.size();
        return std::pair{segments[first].points.front(), segments[last - 1].points.back()};
    };
    for (std::size_t r = 0; r < road_first.size(); ++r) {
        const auto [a, b] = road_ends(r);
        for (const auto& p : {a, b}) {
            const auto [cx, cy] = cell_of(p);
            ends[cell_key(cx, cy)].push_back({r, p});
        }
    }
    Xoshiro256 rng(Mix(seed, 0x5B5E7));
    std::vector<bool> taken(road_first.size(), false);
    std::vector<std::size_t> out;
    std::vector<std::size_t> queue;
    std::size_t head = 0;
    while (out.size() < target_segments) {
        if (head == queue.size()) {
            // Start (or restart, when a component is exhausted) from a random untaken road.
            std::vector<std::size_t> free;
            for (std::size_t r = 0; r < road_first.size(); ++r) {
                if (!taken[r]) {
                    free.push_back(r);
                }
            }
            if (free.empty()) {
                break;
            }
            const auto pick = std::min(
                free.size() - 1,
                static_cast<std::size_t>(rng.Uniform() * static_cast<double>(free.size()))
            );
            taken[free[pick]] = true;
            queue.push_back(free[pick]);
        }
        const std::size_t road = queue[head++];
        const std::size_t first = road_first[road];
        const std::size_t last =
            road + 1 < road_first.size() ? road_first[road + 1] : segments.size();
        for (std::size_t i = first; i < last; ++i) {
            out.push_back(i);
        }
        {
            const auto [a, b] = road_ends(road);
            for (const auto& p : {a, b}) {
                const auto [cx, cy] = cell_of(p);
                for (std::int64_t dx = -1; dx <= 1; ++dx) {
                    for (std::int64_t dy = -1; dy <= 1; ++dy) {
                        const auto it = ends.find(cell_key(cx + dx, cy + dy));
                        if (it == ends.end()) {
                            continue;
                        }
                        for (const auto& [other, q] : it->second) {
                            if (!taken[other] && pipeline::HaversineM(p, q) <= 12.0) {
                                taken[other] = true;
                                queue.push_back(other);
                            }
                        }
                    }
                }
            }
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string World::SensorRegistryJson() const {
    std::string out;
    pipeline::JsonWriter w(out);
    w.BeginObject();
    w.Key("sensors").BeginArray();
    for (const auto& s : sites_) {
        const std::string segment = pipeline::ToString(network_.segments()[s->segment].id);
        const auto add = [&](const std::string& id, const char* kind, double depth) {
            w.BeginObject();
            w.Key("sensor_id").String(id);
            w.Key("kind").String(kind);
            w.Key("segment_id").String(segment);
            w.Key("depth_mm").Number(depth);
            w.Key("calibration")
                .BeginObject()
                .Key("gain")
                .Number(1.0)
                .Key("offset")
                .Number(0.0)
                .EndObject();
            w.EndObject();
        };
        add(Padded("wim", s->index + 1), "wim", 0.0);
        add(Padded("strain", s->index + 1), "strain", 100.0);
        add(Padded("temp", s->index + 1), "temperature", 50.0);
        add(Padded("moist", s->index + 1), "moisture", 300.0);
    }
    w.EndArray();
    w.EndObject();
    return out;
}

}  // namespace pavewatch::simulate
