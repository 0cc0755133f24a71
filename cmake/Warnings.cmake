# SPDX-License-Identifier: GPL-2.0-or-later
# veeamha_warnings(target): the project's warning set; -Werror when VEEAMHA_WERROR is on (CI).
add_library(veeamha_warnings INTERFACE)
target_compile_options(veeamha_warnings INTERFACE -Wall -Wextra -Wnon-virtual-dtor
                       $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>)  # clang has no -Wshadow=local
if(VEEAMHA_WERROR)
  target_compile_options(veeamha_warnings INTERFACE -Werror)
endif()
if(VEEAMHA_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
