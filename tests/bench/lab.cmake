# SPDX-License-Identifier: GPL-2.0-or-later
# veeamha_failover_bench (root): two real veeam-had daemons in the lab (tests/lab). Crash
# failover and planned switchover as the client sees them, split from the daemons' logs, and
# the idle cost of one node. Prints a table; not a test.
#   build/tests/bench/veeamha_failover_bench [--runs 10] [--idle-seconds 180] [--only crash|move|idle]
if(TARGET veeamha_e2e)
  add_executable(veeamha_failover_bench ${CMAKE_CURRENT_LIST_DIR}/lab_bench.cc)
  target_link_libraries(veeamha_failover_bench PRIVATE veeamha_e2e veeamha_warnings)
  # The idle run's baseline: the heartbeat rounds with only their system calls.
  add_executable(veeamha_round_floor ${CMAKE_CURRENT_LIST_DIR}/round_floor.cc)
  target_link_libraries(veeamha_round_floor PRIVATE veeamha_warnings)
  target_compile_definitions(veeamha_failover_bench PRIVATE VEEAMHA_ROUND_FLOOR="$<TARGET_FILE:veeamha_round_floor>")
  add_dependencies(veeamha_failover_bench veeamha_round_floor)
endif()
