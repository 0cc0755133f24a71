# SPDX-License-Identifier: GPL-2.0-or-later
# Fails when veeam-ha-sim knows a mutant that tests/sim/CMakeLists.txt does not test.
execute_process(COMMAND ${SIM} --list-mutants OUTPUT_VARIABLE names RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "veeam-ha-sim --list-mutants failed")
endif()
file(READ ${LIST} tests)
string(REPLACE "\n" ";" names "${names}")
foreach(name IN LISTS names)
  if(name AND NOT tests MATCHES "[ (]${name}[ )\n]")
    message(FATAL_ERROR "mutant ${name} has no sim-catches-${name} test in ${LIST}")
  endif()
endforeach()
