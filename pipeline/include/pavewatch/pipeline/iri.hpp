#pragma once

#include <span>

namespace pavewatch::pipeline {

// The Golden Car of ASTM E1926-08 (Sayers 1995; World Bank Technical Paper 46, Sayers,
// Gillespie & Paterson 1986): a quarter-car normalised by its sprung mass. These are fixed by the
// standard, so they are constants, not configuration.
inline constexpr double kGoldenCarK1 = 653.0;       ///< tyre stiffness / sprung mass, s^-2
inline constexpr double kGoldenCarK2 = 63.3;        ///< suspension stiffness / sprung mass, s^-2
inline constexpr double kGoldenCarC = 6.0;          ///< suspension damping / sprung mass, s^-1
inline constexpr double kGoldenCarMu = 0.15;        ///< unsprung mass / sprung mass
inline constexpr double kIriSpeedMps = 80.0 / 3.6;  ///< simulated speed, 80 km/h
inline constexpr double kIriBaseLengthM = 0.25;     ///< moving-average baselength, m
inline constexpr double kIriInitLengthM = 11.0;     ///< initialisation length, m

/// Reference International Roughness Index of a longitudinal profile, m/km (= mm/m).
///
/// ASTM E1926-08 computation: the profile is smoothed by a 250 mm moving average (when the
/// spacing is below 250 mm), the Golden Car is initialised with the slope over the first 11 m
/// (over one interval at least, for a spacing above 22 m)
/// and driven at 80 km/h by the smoothed slope, using the exact state-transition matrix of each
/// step (zero-order hold of the slope, as in the standard); IRI is the mean of |z_s' - z_u'|.
/// `elevation_m`: evenly spaced elevations, metres; `spacing_m` > 0.
/// Returns NaN when the profile is shorter than one baselength plus one interval. Pure;
/// thread-safe.
double ReferenceIriMPerKm(std::span<const double> elevation_m, double spacing_m);

}  // namespace pavewatch::pipeline
