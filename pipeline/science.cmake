# Sources of the science core, appended to pavewatch::pipeline (see CMakeLists.txt beside this).
set(PAVEWATCH_SCIENCE_SOURCES
  src/model_config.cpp
  src/iso8608.cpp
  src/iri.cpp
  src/quarter_car.cpp
  src/signal.cpp
  src/roughness_estimator.cpp
  src/calibration.cpp
  src/robust.cpp
  src/roughness_aggregate.cpp
  src/event_detector.cpp
  src/hazard_tracker.cpp
  src/structural.cpp
  src/condition_index.cpp
)
