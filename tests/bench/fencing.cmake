# SPDX-License-Identifier: GPL-2.0-or-later
# fencing_bench: full vSphere fence vs. inventory size, against the vCenter simulator.
#   build/tests/bench/fencing_bench [--runs N]
add_executable(fencing_bench ${CMAKE_CURRENT_LIST_DIR}/fencing_bench.cc)
target_link_libraries(fencing_bench PRIVATE veeamha_fencing veeamha_vcsim_fixture veeamha_warnings)
