# Sources of the science core, appended to pavewatch::pipeline (see CMakeLists.txt beside this).
set(PAVEWATCH_SCIENCE_SOURCES
)
