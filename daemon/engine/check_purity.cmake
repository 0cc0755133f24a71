# SPDX-License-Identifier: GPL-2.0-or-later
# The engine is pure (docs/design.md §3): time, randomness and results reach it only as inputs.
# This is an allow-list: an engine file may include
#   - these headers of the standard library, which do no I/O, read no clock and make no threads;
#   - config/config.h (the typed configuration, plain structs);
#   - daemon/engine/ (itself);
#   - the two vocabulary headers it shares with the resources and the logger, base/level.h and
#     base/outcome.h (one Level and one Outcome type in the whole program), which must
#     themselves include nothing at all (checked below);
# and may not call a clock, global randomness, the environment or a stream even through
# something allowed. Anything else fails the build. Run as
#   cmake -DROOT=<tree> -P daemon/engine/check_purity.cmake
# by the build on the source tree, and by tests/layers on a tree with a planted violation.
if(NOT ROOT)
  message(FATAL_ERROR "check_purity.cmake: -DROOT=<source tree> is required")
endif()

set(pure_std
  algorithm array cassert cstddef cstdint compare deque functional initializer_list iterator
  limits map memory numeric optional random set string string_view tuple type_traits
  unordered_map unordered_set utility variant vector)
set(project_allowed config/config.h base/level.h base/outcome.h)
set(vocabulary base/level.h base/outcome.h)

set(violations "")
file(GLOB sources ${ROOT}/daemon/engine/*.h ${ROOT}/daemon/engine/*.cc)
foreach(src IN LISTS sources)
  string(REPLACE "${ROOT}/" "" where "${src}")
  file(STRINGS ${src} includes REGEX "^[ \t]*#[ \t]*include")
  foreach(line IN LISTS includes)
    if(line MATCHES "<([^>]*)>")
      list(FIND pure_std "${CMAKE_MATCH_1}" at)
      if(at EQUAL -1)
        list(APPEND violations "${where}: '${line}' is not one of the standard library's pure headers the engine may use")
      endif()
    elseif(line MATCHES "\"([^\"]*)\"")
      set(target "${CMAKE_MATCH_1}")
      list(FIND project_allowed "${target}" at)
      if(at EQUAL -1 AND NOT target MATCHES "^daemon/engine/[^/]+$")
        list(APPEND violations "${where}: '${line}': the engine may include only config/config.h, base/level.h, base/outcome.h and daemon/engine/")
      endif()
    else()
      list(APPEND violations "${where}: '${line}': not an include the check understands")
    endif()
  endforeach()
  # Even through an allowed header: no clock, no global randomness, no environment, no stream.
  file(STRINGS ${src} calls REGEX "(_clock|::now\\(|[^_a-z]rand\\(|random_device|getenv|fopen|std::c(out|err|in)|printf|::log::|time\\()")
  if(calls)
    list(APPEND violations "${where}: uses a clock, global randomness, the environment, a stream or the logger: ${calls}")
  endif()
endforeach()

foreach(v IN LISTS vocabulary)
  if(EXISTS ${ROOT}/${v})
    file(STRINGS ${ROOT}/${v} includes REGEX "^[ \t]*#[ \t]*include")
    if(includes)
      list(APPEND violations "${v}: a vocabulary header the engine includes must include nothing: ${includes}")
    endif()
  endif()
endforeach()

if(violations)
  list(JOIN violations "\n" text)
  message(FATAL_ERROR "the engine must stay pure (no I/O, no clock, no threads):\n${text}")
endif()
