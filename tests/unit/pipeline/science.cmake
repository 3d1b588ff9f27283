# Unit tests of the science core (roughness, hazards, structural wear, condition index).
set(SCIENCE_UNIT_TESTS
)
