# Unit tests of the science core (roughness, hazards, structural wear, condition index).
set(SCIENCE_UNIT_TESTS
  model_config_test.cpp
  iso8608_test.cpp
  iri_test.cpp
  quarter_car_test.cpp
  signal_test.cpp
  roughness_estimator_test.cpp
  calibration_test.cpp
  robust_test.cpp
  roughness_aggregate_test.cpp
  event_detector_test.cpp
  hazard_tracker_test.cpp
  structural_test.cpp
  condition_index_test.cpp
)
