# SPDX-License-Identifier: GPL-2.0-or-later
# Every dependency is a Debian 12 package (scripts/install-deps), found the normal way.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)                 # Asio and Beast are header-only
find_package(Protobuf REQUIRED)                   # libprotobuf + protoc
find_package(OpenSSL 3 REQUIRED)
find_package(yaml-cpp REQUIRED)
pkg_check_modules(MNL REQUIRED IMPORTED_TARGET libmnl)
pkg_check_modules(DEVMAPPER REQUIRED IMPORTED_TARGET devmapper)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(GSOAPSSL REQUIRED IMPORTED_TARGET gsoapssl++)
find_program(SOAPCPP2 soapcpp2 REQUIRED)
find_path(GSOAP_IMPORT_DIR stl.h PATHS /usr/share/gsoap/import REQUIRED NO_DEFAULT_PATH)
if(VEEAMHA_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()
