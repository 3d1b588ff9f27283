#pragma once

#include <cmath>

namespace pavewatch::pipeline {

/// A WGS 84 position in degrees, longitude first as in GeoJSON.
struct LonLat {
    double lon = 0.0;
    double lat = 0.0;
    friend bool operator==(const LonLat&, const LonLat&) = default;
};

/// A planar position in metres (east, north) relative to a local origin.
struct Xy {
    double x = 0.0;
    double y = 0.0;
};

inline constexpr double kEarthRadiusM = 6371008.8;  // IUGG mean Earth radius
inline constexpr double kPi = 3.14159265358979323846;

constexpr double DegToRad(double deg) {
    return deg * kPi / 180.0;
}
constexpr double RadToDeg(double rad) {
    return rad * 180.0 / kPi;
}

/// Great-circle distance in metres.
double HaversineM(LonLat a, LonLat b);

/// Initial bearing from a to b, degrees clockwise from north in [0, 360).
double BearingDeg(LonLat a, LonLat b);

/// Smallest absolute difference between two bearings, degrees in [0, 180].
double BearingDiffDeg(double a, double b);

/// Equirectangular projection around an origin: metres east and north. Within a city (tens of
/// kilometres) its distance error is far below GPS error (< 0.1 % at 20 km), and it is a few
/// multiplications, which keeps map matching fast.
class LocalProjection {
public:
    LocalProjection() = default;
    explicit LocalProjection(LonLat origin)
        : origin_(origin),
          kx_(DegToRad(1.0) * kEarthRadiusM * std::cos(DegToRad(origin.lat))),
          ky_(DegToRad(1.0) * kEarthRadiusM) {}

    Xy Forward(LonLat p) const {
        return {(p.lon - origin_.lon) * kx_, (p.lat - origin_.lat) * ky_};
    }
    LonLat Inverse(Xy p) const { return {origin_.lon + p.x / kx_, origin_.lat + p.y / ky_}; }
    LonLat origin() const { return origin_; }

private:
    LonLat origin_{};
    double kx_ = DegToRad(1.0) * kEarthRadiusM;
    double ky_ = DegToRad(1.0) * kEarthRadiusM;
};

}  // namespace pavewatch::pipeline
