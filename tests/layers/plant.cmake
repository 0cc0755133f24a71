# SPDX-License-Identifier: GPL-2.0-or-later
# A test of a tree check (cmake/check_layers.cmake, daemon/engine/check_purity.cmake): copies the
# layered folders of ROOT into WORK, appends LINE to WORK/FILE (nothing when LINE is empty) and
# runs CHECK on the copy. Without a plant the check must pass; with one it must fail and say
# EXPECT (a regular expression), so a check that no plant can make fail is caught here.
#   cmake -DROOT=src -DWORK=dir -DCHECK=script [-DFILE=rel -DLINE=text -DEXPECT=regex] -P plant.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
foreach(folder IN ITEMS base proto config daemon net storage fencing migrate)
  file(COPY ${ROOT}/${folder} DESTINATION ${WORK})
endforeach()
if(LINE)
  if(NOT EXISTS ${WORK}/${FILE})
    message(FATAL_ERROR "plant.cmake: ${FILE} does not exist in the tree")
  endif()
  file(APPEND ${WORK}/${FILE} "\n${LINE}\n")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -DROOT=${WORK} -P ${CHECK}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(REMOVE_RECURSE ${WORK})
if(NOT LINE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the check fails on the unmodified tree:\n${out}${err}")
  endif()
  return()
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "the check passed although ${FILE} had this planted in it: ${LINE}")
endif()
# CMake wraps its messages: compare with the white space folded.
string(REGEX REPLACE "[ \t\r\n]+" " " said "${out}${err}")
if(NOT said MATCHES "${EXPECT}")
  message(FATAL_ERROR "the check failed, but without saying '${EXPECT}':\n${out}${err}")
endif()
message(STATUS "caught, as it must be: ${FILE}: ${LINE}")
