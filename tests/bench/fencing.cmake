# SPDX-License-Identifier: GPL-2.0-or-later
# fencing_bench: cold and warm vSphere fences, the simulator as is and as a realistic vCenter.
#   build/tests/bench/fencing_bench [--runs N] [--realistic-runs N]
add_executable(fencing_bench ${CMAKE_CURRENT_LIST_DIR}/fencing_bench.cc)
target_link_libraries(fencing_bench PRIVATE veeamha_fencing veeamha_vcsim_fixture veeamha_warnings)
