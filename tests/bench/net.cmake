# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark of net/ (root): failure detection, false alarms under load and loss, idle cost.
#   build/tests/bench/veeamha_net_bench [--runs 20] [--minutes 10 | --seconds S] [--only detect|false|idle]
if(TARGET veeamha_netnode)
  add_executable(veeamha_net_bench ${CMAKE_CURRENT_SOURCE_DIR}/net_bench.cc)
  target_include_directories(veeamha_net_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests/net)
  target_link_libraries(veeamha_net_bench PRIVATE veeamha_net veeamha_base veeamha_warnings)
  target_compile_definitions(veeamha_net_bench PRIVATE
    VEEAMHA_NETNODE="$<TARGET_FILE:veeamha_netnode>"
    VEEAMHA_NETATTACK="$<TARGET_FILE:veeamha_netattack>")
  add_dependencies(veeamha_net_bench veeamha_netnode veeamha_netattack)
endif()
