# SPDX-License-Identifier: GPL-2.0-or-later
# Fails the build if the engine includes anything that does I/O, reads a clock, makes threads or
# uses global randomness. The engine gets time, randomness and results only as inputs.
file(GLOB sources ${ENGINE_DIR}/*.h ${ENGINE_DIR}/*.cc)
set(forbidden
  "boost/" "asio" "sys/" "netinet/" "arpa/" "unistd.h" "fcntl.h" "fstream" "iostream" "cstdio"
  "stdio.h" "filesystem" "thread" "mutex" "future" "ctime" "time.h" "chrono" "random_device"
  "stdsoap2" "gsoap" "libmnl" "libdevmapper" "systemd/" "yaml-cpp" "openssl/" "proto/")
foreach(src IN LISTS sources)
  file(STRINGS ${src} includes REGEX "^[ \t]*#[ \t]*include")
  foreach(line IN LISTS includes)
    foreach(bad IN LISTS forbidden)
      string(FIND "${line}" "${bad}" at)
      if(NOT at EQUAL -1)
        message(FATAL_ERROR "${src}: '${line}' is not allowed in the engine (it must stay free of I/O, clocks and threads)")
      endif()
    endforeach()
  endforeach()
  file(STRINGS ${src} calls REGEX "(std::chrono::(system|steady)_clock|::now\\(\\)|rand\\(\\)|getenv|fopen|std::cout|std::cerr)")
  if(calls)
    message(FATAL_ERROR "${src}: uses a clock, global randomness, the environment or a stream: ${calls}")
  endif()
endforeach()
