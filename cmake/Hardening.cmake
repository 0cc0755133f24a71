# SPDX-License-Identifier: GPL-2.0-or-later
# Debian's hardening build flags (what dpkg-buildflags gives with hardening=+all), for every
# target: the daemon runs as root on a network. `hardening-check` and lintian's hardening tags
# check the packaged binaries (tests/package). The sanitizer and fuzz builds skip
# _FORTIFY_SOURCE (ASan replaces the same functions); a Debug build (-O0) skips it too (glibc
# warns that it needs optimisation, an error under -Werror).
include(CheckCXXCompilerFlag)
include(CheckPIESupported)
check_pie_supported()  # executables link as PIE (POSITION_INDEPENDENT_CODE is ON)

add_compile_options(-fstack-protector-strong)
foreach(flag -fstack-clash-protection -fcf-protection)
  string(MAKE_C_IDENTIFIER "VEEAMHA_HAS${flag}" var)
  check_cxx_compiler_flag(${flag} ${var})  # both are x86/arm64-only on some compilers
  if(${var})
    add_compile_options(${flag})
  endif()
endforeach()
if(NOT VEEAMHA_SANITIZE AND NOT VEEAMHA_FUZZ)
  add_compile_options($<$<NOT:$<CONFIG:Debug>>:-U_FORTIFY_SOURCE>
                      $<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=2>)
endif()
add_link_options(LINKER:-z,relro LINKER:-z,now)
