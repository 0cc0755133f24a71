# SPDX-License-Identifier: GPL-2.0-or-later
# The project's compile flags: warnings (veeamha_warnings, -Werror when VEEAMHA_WERROR is on, as in CI),
# sanitizers (VEEAMHA_SANITIZE) and fuzzing coverage (VEEAMHA_FUZZ) for every target.
add_library(veeamha_warnings INTERFACE)
# -Wshadow=local is GCC's; clang (the fuzz build) rejects it as unknown, fatal under -Werror.
target_compile_options(veeamha_warnings INTERFACE -Wall -Wextra -Wnon-virtual-dtor
                       $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>)
# property_tree's JSON parser (the LVM report, tests reading status JSON) includes the deprecated
# boost/bind.hpp, which prints a note about its placeholders in every file that includes it.
target_compile_definitions(veeamha_warnings INTERFACE BOOST_BIND_GLOBAL_PLACEHOLDERS)
if(VEEAMHA_WERROR)
  target_compile_options(veeamha_warnings INTERFACE -Werror)
endif()
if(VEEAMHA_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(VEEAMHA_FUZZ)
  # Coverage in every library, not just in the fuzz targets' own files: without it libFuzzer
  # sees no new edges inside the decoder or the loader and cannot grow a corpus there.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
