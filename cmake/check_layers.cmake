# SPDX-License-Identifier: GPL-2.0-or-later
# Fails when an include points up the layers (README "Layout"). Run as
#   cmake -DROOT=<tree> -P cmake/check_layers.cmake
# by the build (target veeamha_layers) on the source tree, and by tests/layers on trees with a
# planted violation, which it must reject.
#
# A folder may include, besides the standard library and system headers ("<...>"), only what
# is listed for it ("..." includes written from the project root). The daemon (daemon/ outside
# daemon/engine/) and tests/ sit on top and may include anything.
if(NOT ROOT)
  message(FATAL_ERROR "check_layers.cmake: -DROOT=<source tree> is required")
endif()

set(layers base proto config daemon/engine net storage fencing migrate)
set(may_include_base    base)
set(may_include_proto   proto)
set(may_include_config  config base)
# The engine is pure: its own allow-list (daemon/engine/check_purity.cmake) is stricter still.
set(may_include_daemon/engine daemon/engine config base)
set(may_include_net     net base config proto)
set(may_include_storage storage base config)
set(may_include_fencing fencing base config)
set(may_include_migrate migrate config)

set(violations "")
foreach(layer IN LISTS layers)
  file(GLOB_RECURSE sources ${ROOT}/${layer}/*.h ${ROOT}/${layer}/*.cc ${ROOT}/${layer}/*.proto)
  foreach(src IN LISTS sources)
    file(STRINGS ${src} lines REGEX "^[ \t]*(#[ \t]*include|import)[ \t]*\"")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^[^\"]*\"([^\"]*)\".*$" "\\1" target "${line}")
      string(REPLACE "${ROOT}/" "" where "${src}")
      if(target MATCHES "\\.\\.")
        list(APPEND violations "${where}: ${line}: no '..' in includes; write the path from the project root")
        continue()
      endif()
      set(ok FALSE)
      # A .proto imports its siblings by bare name (protoc's import path is proto/).
      if(layer STREQUAL "proto" AND NOT target MATCHES "/")
        set(ok TRUE)
      endif()
      # protobuf's own well-known types (Timestamp) are the dependency's, like a system header.
      if(layer STREQUAL "proto" AND target MATCHES "^google/protobuf/[a-z_]+\\.proto$")
        set(ok TRUE)
      endif()
      foreach(allowed IN LISTS may_include_${layer})
        if(target MATCHES "^${allowed}/")
          set(ok TRUE)
        endif()
      endforeach()
      if(NOT ok)
        string(REPLACE ";" ", " allowed_text "${may_include_${layer}}")
        list(APPEND violations "${where}: ${line}: ${layer}/ may include only ${allowed_text} (includes must point down the layers)")
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations)
  list(JOIN violations "\n" text)
  message(FATAL_ERROR "includes that point up the layers:\n${text}")
endif()
