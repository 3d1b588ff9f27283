#pragma once

#include "pavewatch/pipeline/raw_message.hpp"

#include <span>
#include <vector>

namespace pavewatch::pipeline {

/// A vehicle's vertical dynamics as a quarter-car: sprung mass on a spring-damper suspension,
/// unsprung mass (wheel, axle) on a tyre spring, the tyre a rigid disc over the road. SI units.
/// The defaults are a mid-size passenger car's quarter (DefaultQuarterCar(kCar)).
struct QuarterCarParams {
    double sprung_mass_kg = 400.0;              ///< a quarter of the body, kg
    double unsprung_mass_kg = 40.0;             ///< wheel, brake, part of the axle, kg
    double suspension_stiffness_n_m = 20000.0;  ///< N/m
    double suspension_damping_ns_m = 1500.0;    ///< N s/m
    double tyre_stiffness_n_m = 180000.0;       ///< N/m
    /// Rigid-disc tyre radius for the road envelope, m; 0 follows the profile point-wise.
    double tyre_radius_m = 0.3;
    /// Two-track model only: distance between the left and right wheel paths, m.
    double track_width_m = 1.5;
    /// Two-track model only: height of the sensor above the roll axis, m.
    double sensor_height_m = 0.5;
};

/// Typical parameters of a vehicle class (kUnknown gives the car). The values are typical
/// textbook magnitudes (body bounce 1.0-1.6 Hz, damping ratio 0.2-0.4, wheel hop 9-13 Hz;
/// Gillespie 1992 ch. 5; Cebon 1999 ch. 3 for heavy vehicles); see docs/condition-model.md.
QuarterCarParams DefaultQuarterCar(VehicleClass vehicle_class);

/// Body-bounce natural frequency sqrt(ks / ms) / 2 pi, Hz (tyre compliance ignored).
double BodyBounceHz(const QuarterCarParams& p);

/// How the simulated sensor samples.
struct SimulationOptions {
    /// Output samples are the mean of the continuous acceleration over one sample interval
    /// centred on the sample time (a MEMS accelerometer's decimation filter, crudely), rather
    /// than point samples. Default true: keeps 10 Hz wheel hop from aliasing at 5 Hz.
    bool average_over_sample = true;
    /// Longest internal integration step, s. The step is also kept below one profile spacing
    /// of travel. Default 2 ms.
    double max_step_s = 0.002;
};

/// What a vehicle-mounted sensor sees, one entry per output sample (time i / rate).
struct VehicleResponse {
    std::vector<double>
        accel_vertical_mps2;  ///< sprung-mass vertical acceleration, gravity excluded, up positive
    std::vector<double> accel_lateral_mps2;  ///< two-track model only (else empty): roll-induced
                                             ///< lateral acceleration
    std::vector<double> position_m;          ///< distance of the axle from the profile's start
    std::vector<double> speed_mps;           ///< speed used for the sample
};

/// Simulates a quarter-car driving along a profile, exactly for a piecewise-linear road input
/// (first-order-hold state-transition matrix). `speed_mps` has one entry (constant speed; the
/// run lasts until the end of the profile) or one entry per output sample (the run stops at the
/// end of the profile or of the speeds). The car starts in equilibrium on the initial 11 m
/// slope, as the IRI does. Speeds must be > 0; returns empty on invalid input. Pure.
VehicleResponse SimulateQuarterCar(
    std::span<const double> elevation_m,
    double spacing_m,
    std::span<const double> speed_mps,
    double sample_rate_hz,
    const QuarterCarParams& params,
    const SimulationOptions& options = {}
);

/// Convenience: the vertical acceleration of the sprung mass (m/s^2) at constant speed.
std::vector<double> SimulateSprungAcceleration(
    std::span<const double> elevation_m,
    double spacing_m,
    double speed_mps,
    double sample_rate_hz,
    const QuarterCarParams& params
);

/// Two independent quarter-cars on the left and right wheel paths (no anti-roll coupling):
/// the vertical output is their mean, the lateral one the roll-induced acceleration at the
/// sensor, sensor_height * roll'' + g * roll, with roll = (zs_left - zs_right) / track.
/// Profiles must have the same spacing; the shorter one bounds the run.
VehicleResponse SimulateTwoTrack(
    std::span<const double> left_elevation_m,
    std::span<const double> right_elevation_m,
    double spacing_m,
    std::span<const double> speed_mps,
    double sample_rate_hz,
    const QuarterCarParams& params,
    const SimulationOptions& options = {}
);

}  // namespace pavewatch::pipeline
