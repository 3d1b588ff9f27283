#include "pavewatch/pipeline/geo.hpp"

#include <cmath>

namespace pavewatch::pipeline {

double HaversineM(LonLat a, LonLat b) {
    const double dlat = DegToRad(b.lat - a.lat);
    const double dlon = DegToRad(b.lon - a.lon);
    const double s = std::sin(dlat / 2) * std::sin(dlat / 2) +
                     std::cos(DegToRad(a.lat)) * std::cos(DegToRad(b.lat)) * std::sin(dlon / 2) *
                         std::sin(dlon / 2);
    return 2.0 * kEarthRadiusM * std::asin(std::min(1.0, std::sqrt(s)));
}

double BearingDeg(LonLat a, LonLat b) {
    const double phi1 = DegToRad(a.lat);
    const double phi2 = DegToRad(b.lat);
    const double dlon = DegToRad(b.lon - a.lon);
    const double y = std::sin(dlon) * std::cos(phi2);
    const double x =
        std::cos(phi1) * std::sin(phi2) - std::sin(phi1) * std::cos(phi2) * std::cos(dlon);
    const double deg = RadToDeg(std::atan2(y, x));
    return deg < 0 ? deg + 360.0 : deg;
}

double BearingDiffDeg(double a, double b) {
    const double d = std::fmod(std::fabs(a - b), 360.0);
    return d > 180.0 ? 360.0 - d : d;
}

}  // namespace pavewatch::pipeline
